// Package training is the training engine of genius: it builds a network
// from an architecture (package networks), trains it with SGD, a warm-up +
// cosine schedule and optional EMA (package optim) on batches prepared in
// the background (package data), evaluates top-1/top-5 and loss, and saves
// and restores checkpoints (package checkpoint). Layers live in package nn
// and run their heavy kernels through a tensor.Backend (CPU today).
//
// Run is one network with its optimiser state, stepped by hand (benchmarks)
// or by Loop, the one training loop: it drives a Trainee (Classifier, a Run
// with its Loader; or a RetinaNet of package detector) over its epochs with
// hooks for progress, the checkpoint policy, epoch ends and a stop step.
// Train (proxy training, genius train) and the retraining chunks of
// activities/trainact both use it; Train adds resumption, a final
// checkpoint and evaluation. With Config.MicroBatch a batch goes through
// the network in micro-batches whose gradients accumulate into one step
// (Loader hands them out, Run.TrainMicro takes them), so memory follows
// the micro-batch; a memory limit (GOMEMLIMIT) is checked against an
// estimate before training starts.
package training
