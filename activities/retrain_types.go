package activities

import (
	"github.com/genius-nas/genius/cocoeval"
	"github.com/genius-nas/genius/specs/retrain"
)

// RetrainChunkName is the registered name of trainact.RetrainActivities.RetrainChunk
// (task queue genius-gpu).
const RetrainChunkName = "RetrainChunk"

// Error types of retraining failures that retrying cannot fix.
const (
	ErrRetrainBadSpec = "RetrainBadSpec"
	ErrRetrainNoStore = "RetrainNoStore"
	// ErrRetrainDiverged: a training step failed (the loss stopped being
	// finite); retrying the chunk would fail the same way.
	ErrRetrainDiverged = "RetrainDiverged"
)

// RetrainChunkInput asks for the epochs (FromEpoch, UntilEpoch] of a
// retraining run. The chunk resumes from the newest verified checkpoint among
// Resume, the last heartbeat's and the store's.
type RetrainChunkInput struct {
	Spec retrain.Spec `json:"spec"`
	// CheckpointRun names the checkpoint folder: retrain/<run>/.
	CheckpointRun string `json:"run"`
	FromEpoch     int    `json:"from_epoch"`
	UntilEpoch    int    `json:"until_epoch"`
	// Resume is the newest checkpoint key the workflow knows of ("" at start).
	Resume string `json:"resume,omitempty"`
	// Best is the best epoch so far (its checkpoint is never deleted).
	Best *RetrainBest `json:"best,omitempty"`
}

// RetrainEpoch is one epoch's evaluation on the validation data.
type RetrainEpoch struct {
	// Epoch counts completed epochs (1-based); Step the optimiser steps.
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
	// Partial is set when a step cap ended training mid-epoch.
	Partial bool `json:"partial,omitempty"`
	// TrainLoss is the mean training loss over the epoch's steps run by the
	// attempt that finished it.
	TrainLoss float64 `json:"train_loss"`
	// Top1, Top5 (fractions) and Loss of the live network.
	Top1 float64 `json:"top1"`
	Top5 float64 `json:"top5"`
	Loss float64 `json:"loss"`
	// EMATop1, EMATop5 and EMALoss of the EMA network (the live one's when
	// the spec keeps no EMA).
	EMATop1 float64 `json:"ema_top1"`
	EMATop5 float64 `json:"ema_top5"`
	EMALoss float64 `json:"ema_loss"`
	// COCO holds a detector's twelve COCO bbox stats on the validation
	// split (task detection; the top-1 fields are then 0).
	COCO *cocoeval.Stats `json:"coco,omitempty"`
	// Checkpoint is the key of the state at the epoch's end.
	Checkpoint string  `json:"checkpoint"`
	ImagesPerS float64 `json:"images_per_s,omitempty"`
	// PeakMemoryB is the worker process's peak resident memory when the
	// epoch ended.
	PeakMemoryB int64 `json:"peak_memory_bytes,omitempty"`
	// DevicePeakB is the GPU's peak memory (0 on the CPU).
	DevicePeakB int64 `json:"peak_device_memory_bytes,omitempty"`
}

// RetrainBest is the epoch with the best EMA top-1 so far.
type RetrainBest struct {
	Epoch   int     `json:"epoch"`
	EMATop1 float64 `json:"ema_top1"`
	EMATop5 float64 `json:"ema_top5"`
	// COCO is a detector's best epoch's stats (the highest AP).
	COCO       *cocoeval.Stats `json:"coco,omitempty"`
	Checkpoint string          `json:"checkpoint"`
}

// RetrainResume says where an attempt resumed and what it redid.
type RetrainResume struct {
	// Attempt is the activity attempt that resumed (1 = first).
	Attempt int `json:"attempt"`
	// Checkpoint and Step are where training resumed from; Source says
	// which candidate was newest: "heartbeat", "store" or "input".
	Checkpoint string `json:"checkpoint"`
	Step       int    `json:"step"`
	Source     string `json:"source"`
	// ReachedStep is the last step the previous attempt heartbeated
	// (0 when unknown); RedoneSteps = ReachedStep - Step, at least 0. The SDK
	// sends heartbeats at most every 0.8 x the heartbeat timeout, so the
	// server may not have heard of the attempt's newest steps: RedoneSteps is
	// a lower bound, and resuming from the newest stored checkpoint is what
	// keeps the real loss under one checkpoint interval.
	ReachedStep int `json:"reached_step,omitempty"`
	RedoneSteps int `json:"redone_steps,omitempty"`
	// Skipped lists newer checkpoints that failed verification.
	Skipped []string `json:"skipped,omitempty"`
	// LoadSeconds is the time spent reading and restoring the checkpoint.
	LoadSeconds float64 `json:"load_seconds"`
}

// RetrainChunkResult is what a chunk did.
type RetrainChunkResult struct {
	// Epochs completed in (FromEpoch, UntilEpoch], read back from the store
	// so epochs finished by earlier attempts are included.
	Epochs []RetrainEpoch `json:"epochs"`
	// Checkpoint is the newest checkpoint (the chunk's end state); Step and
	// Epoch where it is; TotalSteps the run's length.
	Checkpoint string `json:"checkpoint"`
	Step       int    `json:"step"`
	Epoch      int    `json:"epoch"`
	TotalSteps int    `json:"total_steps"`
	// Done is set when the run has taken all its steps.
	Done bool         `json:"done"`
	Best *RetrainBest `json:"best,omitempty"`
	// Resumed is set when this attempt continued from a checkpoint written
	// by an attempt that did not finish the chunk.
	Resumed *RetrainResume `json:"resumed,omitempty"`
	// PendingUploads counts checkpoints not yet in the remote store when the
	// chunk ended (a write-back store with S3 down); they upload later.
	PendingUploads int `json:"pending_uploads,omitempty"`
	// Backend is what the chunk trained on ("cpu-avx512", "cuda:0 ...").
	Backend string `json:"backend,omitempty"`
}

// RetrainHeartbeat is the progress RetrainChunk records as heartbeat details.
type RetrainHeartbeat struct {
	Step       int     `json:"step"`
	TotalSteps int     `json:"total_steps"`
	Epoch      int     `json:"epoch"`
	Loss       float64 `json:"loss"`
	// Checkpoint is the newest checkpoint written, at CheckpointStep.
	Checkpoint     string `json:"checkpoint,omitempty"`
	CheckpointStep int    `json:"checkpoint_step,omitempty"`
	// PeakMemoryB is the worker process's peak resident memory so far.
	PeakMemoryB int64 `json:"peak_memory_bytes,omitempty"`
	// DevicePeakB is the GPU's peak memory (0 on the CPU).
	DevicePeakB int64 `json:"peak_device_memory_bytes,omitempty"`
	// Backend is what the chunk trains on.
	Backend string `json:"backend,omitempty"`
}
