// Package trainact implements the activities GPU workers run (task queue
// genius-gpu): proxy training and validation of candidates
// (TrainingActivities) and chunked final retraining with checkpoints in a
// store (RetrainActivities). Their names, inputs and outputs are in
// package activities.
package trainact
