// Package taskqueue names genius's Temporal task queues, once for every
// package that starts, polls or documents them (see ARCHITECTURE.md).
package taskqueue

const (
	// CPU is where CPU workers run the workflows and the search activities
	// (LLM proposals, proposal checks, table look-ups).
	CPU = "genius"
	// GPU is where GPU workers run training: proxy training, validation and
	// retraining chunks.
	GPU = "genius-gpu"
)
