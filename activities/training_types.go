package activities

import "github.com/genius-nas/genius/specs/recipe"

// ProxyTrainName is the name under which the GPU worker registers proxy
// training; the search workflow calls it by name on the GPU task queue so
// workflows never import the training engine.
//
// Proxy training validates its candidate itself, on the search's held-out
// split, while the data is open: a separate validation activity would
// re-open the dataset (listing an ImageNet folder takes minutes) to
// evaluate 1% of it. Re-running a validation needs no such activity
// either: ProxyTrain with the same input finds the candidate's final
// checkpoint in the store, on any worker, and only evaluates.
const ProxyTrainName = "ProxyTrain"

// ErrNoCheckpointStore is the non-retryable error type of a training
// activity on a worker started without a checkpoint store.
const ErrNoCheckpointStore = "NoCheckpointStore"

// ErrWorkerStopping is the retryable error type of a training activity
// that stopped early because its worker is shutting down; it wrote a
// checkpoint first, so the retry resumes there.
const ErrWorkerStopping = "WorkerStopping"

// ErrBadCheckpoint (non-retryable): a stored checkpoint does not load or
// does not match the network it should restore.
const ErrBadCheckpoint = "BadCheckpoint"

// DataSpec says where a training dataset is and how it is stored.
type DataSpec struct {
	// Dir is the dataset directory on the worker. Empty means random tensors
	// (throughput runs only).
	Dir string `json:"dir,omitempty"`
	// Format is "cifar10", "cifar100" or "imagefolder". Default "imagefolder".
	Format string `json:"format,omitempty"`
}

// ProxyTrainInput asks for the paper's proxy training of one candidate.
// Zero values take the paper's proxy-training defaults.
//
// Its JSON names the candidate's checkpoints (a hash of it): the field
// order is that of inputs from before the recipe was shared, so a retry
// after an upgrade finds the checkpoints of the attempt before.
type ProxyTrainInput struct {
	Space   string   `json:"space"`
	Arch    []int    `json:"arch"`
	Data    DataSpec `json:"data"`
	Classes int      `json:"classes,omitempty"` // default 1000
	Input   int      `json:"input,omitempty"`   // input resolution, default 196
	// Recipe is how to train; zero Epochs, Batch, LR, WeightDecay and
	// Dropout take the paper's proxy recipe (20, 1024, 0.5, 1e-4, 0.2).
	// Its Seed is unused: Seed below, a signed number as searches derive
	// it, takes its place (and its JSON name).
	recipe.Recipe
	// ValFraction is the share of the training set held out for validation,
	// default 0.01 as in the paper.
	ValFraction float64 `json:"val_fraction,omitempty"`
	// Seed initialises the candidate's weights and orders its batches.
	Seed int64 `json:"seed,omitempty"`
	// SplitSeed picks the held-out images (and, without a data directory,
	// the random ones). A search passes its own seed, so every candidate
	// is measured on the same images. Nil, as in inputs from before it
	// existed, splits with Seed: a split per candidate.
	SplitSeed *int64 `json:"split_seed,omitempty"`
}

// TrainResult is what a training or validation run measured.
type TrainResult struct {
	Top1        float64 `json:"top1"` // fraction in [0,1]
	Top5        float64 `json:"top5"`
	Loss        float64 `json:"loss"`
	ImagesPerS  float64 `json:"images_per_s"`
	ParamsM     float64 `json:"params_m"`
	Steps       int     `json:"steps"`
	Epochs      int     `json:"epochs"`
	Checkpoint  string  `json:"checkpoint,omitempty"` // store key of the trained weights
	PeakMemoryB int64   `json:"peak_memory_bytes,omitempty"`
	// DevicePeakB is the GPU's peak memory (0 on the CPU).
	DevicePeakB int64 `json:"peak_device_memory_bytes,omitempty"`
	// HeldOut names the images validated on: their count and a digest of
	// their indices, equal for every candidate of a search.
	HeldOut string `json:"held_out,omitempty"`
	// Backend is what trained it: "cpu-avx512", "cpu-go", or a GPU
	// ("cuda:0 NVIDIA H100 80GB HBM3 bf16").
	Backend string `json:"backend,omitempty"`
}
