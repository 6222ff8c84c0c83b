// Package bench loads the look-up tables of the three table benchmarks the
// GENIUS paper searches (NAS-Bench-Macro, Channel-Bench-Macro ResNet and
// MobileNet, NAS-Bench-201 on CIFAR-10, CIFAR-100 and ImageNet16-120) and
// answers look-ups and statistics on them.
//
// The tables are third-party data: the project does not ship them. Open
// reads them from a directory and checks each file's size and sha256
// against Files; Fetch downloads them from their public sources (raw GitHub
// files at pinned commits) and checks them the same way.
//
// Conventions:
//   - Accuracy is the figure shown to the LLM: mean_acc (NAS-Bench-Macro),
//     mean (Channel-Bench-Macro), val_acc_200 (NAS-Bench-201).
//   - The reported metric, by which ranks, percentiles, optima and the
//     random baseline are stated, is Accuracy, except on NAS-Bench-201
//     where it is the test accuracy (test_acc_200), as in the paper.
//   - Rank is the competition rank: 1 + the number of keys strictly better
//     by the reported metric, so keys with equal values share a rank.
//     NAS-Bench-Macro maps several keys to one trained network, so its
//     ranks have ties; the paper's ranks break ties by sort position.
//   - Percentile is 100 × (keys strictly worse) / (keys − 1): 100 for a
//     unique best, 0 for the worst.
//   - The random baseline is the paper's: the best of k uniform samples
//     (with replacement), averaged over repetitions, computed exactly from
//     order statistics: P(best is the i-th smallest of N) = (i^k −
//     (i−1)^k) / N^k. On NAS-Bench-201 the best sample is the one with the
//     highest validation accuracy and its test accuracy is reported (ties
//     in validation accuracy are broken uniformly at random, so a tied
//     group contributes its mean test accuracy). The expected rank uses
//     competition ranks: 595.2 on NAS-Bench-Macro, where the paper's
//     tie-breaking ordinal ranks give its "about 597".
package bench
