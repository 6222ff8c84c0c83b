// Package retrain holds the spec of a final retraining run (workflow
// GeniusRetrain): the winning architecture, the paper's retraining recipe
// (Nesterov SGD without weight decay on batch norm, warm-up + cosine, label
// smoothing, dropout, RandAugment, random erasing, EMA), and how the run is
// cut into durable chunks and checkpoints. It embeds ready specs: "paper"
// (the paper's 500-epoch ImageNet recipe) and "cpu-demo" (minutes on a CPU).
//
// Zero values of recipe fields mean "off" (no label smoothing, no EMA ...),
// so a spec says exactly what it trains; the ready "paper" spec holds the
// paper's settings. Only the run-control fields have defaults (see Spec).
package retrain
