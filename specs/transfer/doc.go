// Package transfer holds ready transfer specs (workflow GeniusTransfer):
// fine-tuning a retrained network on CIFAR-10 or CIFAR-100 with a new
// classifier head, as the paper's Table 5 does. A transfer spec is a
// retrain spec (specs/retrain) whose from_checkpoint names the store key of
// the weights to start from; "cifar10" and "cifar100" upsample the 32x32
// images to 224 like the paper, "cpu-demo" fine-tunes at 32x32 in a minute
// or two on a CPU.
package transfer
