package retrain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"

	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/specs/secretfield"
	"github.com/genius-nas/genius/taskqueue"
)

// Spec is one retraining run. It is the input of workflow GeniusRetrain as
// it stands (temporal workflow start --type GeniusRetrain --input-file spec.json).
type Spec struct {
	// Name labels the run; it also names the run's folder in the checkpoint
	// store (retrain/<run>/) unless Run is set.
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	// CheckpointRun names the checkpoint folder; default: the workflow ID. Letters,
	// digits, '-', '_' and '.' (not first).
	CheckpointRun string `json:"run,omitempty"`

	// Task is "classification" (default) or "detection": RetinaNet on
	// COCO-format data (data.format coco), sized by Detector.
	Task     string    `json:"task,omitempty"`
	Detector *Detector `json:"detector,omitempty"`

	// Space and Arch are the network to train (the search's winner).
	Space string `json:"space"`
	Arch  []int  `json:"arch"`
	// Data is where the images are on the GPU workers.
	Data Data `json:"data"`
	// Classes; default: the dataset's.
	Classes int `json:"classes,omitempty"`
	// Input resolution in pixels; default 224.
	Input int `json:"input,omitempty"`

	// Recipe is how to train. Epochs, Batch and LR are required; Momentum
	// defaults to 0.9 and the rest is off when zero.
	recipe.Recipe

	// FromCheckpoint, when set, is a store key of a checkpoint of the same
	// architecture whose weights (its EMA weights when it has them) start
	// the run, with a fresh classifier head: transfer learning (workflow
	// GeniusTransfer).
	FromCheckpoint string `json:"from_checkpoint,omitempty"`
	// Transfer lists fine-tuning runs (GeniusTransfer) started from this
	// run's best checkpoint once it ends; space and arch default to this
	// run's. See TransferSpecs.
	Transfer []Spec `json:"transfer,omitempty"`

	// Durability. Defaults in parentheses.
	// ChunkEpochs is the number of epochs one activity trains (1); epoch
	// results reach the workflow's progress query when their chunk ends.
	ChunkEpochs int `json:"chunk_epochs,omitempty"`
	// CheckpointEverySteps (500) and CheckpointEveryMinutes (10): a
	// checkpoint is written when either is reached, and at every epoch's end.
	CheckpointEverySteps   int     `json:"checkpoint_every_steps,omitempty"`
	CheckpointEveryMinutes float64 `json:"checkpoint_every_minutes,omitempty"`
	// KeepCheckpoints is how many of the newest step checkpoints are kept
	// besides the best one (2).
	KeepCheckpoints int `json:"keep_checkpoints,omitempty"`
	// TaskQueue of the training activities ("genius-gpu").
	TaskQueue string `json:"task_queue,omitempty"`
	// HeartbeatTimeoutS is how long a silent worker is trusted before the
	// chunk is retried elsewhere (120).
	HeartbeatTimeoutS int `json:"heartbeat_timeout_s,omitempty"`
	// ChunkTimeoutM bounds one attempt of a chunk (1440 = a day).
	ChunkTimeoutM int `json:"chunk_timeout_m,omitempty"`
}

// Data says where a dataset is on the workers.
type Data struct {
	// Dir holds the images: an image folder with train/ and val/, or the
	// CIFAR binary files. Empty means random images (demos, throughput).
	Dir string `json:"dir,omitempty"`
	// Format is "imagefolder" (default), "cifar10", "cifar100" or "coco"
	// (annotations/instances_{train,val}2017.json with the train2017/ and
	// val2017/ image folders; task detection).
	Format string `json:"format,omitempty"`
	// TrainSamples and ValSamples size the random dataset when Dir is empty
	// (defaults 16 batches and 2 batches).
	TrainSamples int `json:"train_samples,omitempty"`
	ValSamples   int `json:"val_samples,omitempty"`
}

// Defaults of the run-control fields.
const (
	DefaultInput                  = 224
	DefaultChunkEpochs            = 1
	DefaultCheckpointEverySteps   = 500
	DefaultCheckpointEveryMinutes = 10
	DefaultKeepCheckpoints        = 2
	DefaultTaskQueue              = taskqueue.GPU
	DefaultHeartbeatTimeoutS      = 120
	DefaultChunkTimeoutM          = 1440
)

// WithDefaults fills the defaulted fields.
func (s Spec) WithDefaults() Spec {
	if s.Input <= 0 {
		s.Input = DefaultInput
	}
	s.Recipe = s.Recipe.WithDefaults()
	if s.Data.Format == "" {
		s.Data.Format = "imagefolder"
	}
	if s.Data.Dir == "" {
		if s.Data.TrainSamples <= 0 {
			s.Data.TrainSamples = 16 * max(s.Batch, 1)
		}
		if s.Data.ValSamples <= 0 {
			s.Data.ValSamples = 2 * max(s.Batch, 1)
		}
	}
	if s.ChunkEpochs <= 0 {
		s.ChunkEpochs = DefaultChunkEpochs
	}
	if s.CheckpointEverySteps <= 0 {
		s.CheckpointEverySteps = DefaultCheckpointEverySteps
	}
	if s.CheckpointEveryMinutes <= 0 {
		s.CheckpointEveryMinutes = DefaultCheckpointEveryMinutes
	}
	if s.KeepCheckpoints <= 0 {
		s.KeepCheckpoints = DefaultKeepCheckpoints
	}
	if s.TaskQueue == "" {
		s.TaskQueue = DefaultTaskQueue
	}
	if s.HeartbeatTimeoutS <= 0 {
		s.HeartbeatTimeoutS = DefaultHeartbeatTimeoutS
	}
	if s.ChunkTimeoutM <= 0 {
		s.ChunkTimeoutM = DefaultChunkTimeoutM
	}
	return s
}

var runName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$`)

// ValidCheckpointRun reports whether name can name a run's checkpoint folder.
func ValidCheckpointRun(name string) bool { return runName.MatchString(name) }

// Validate checks a spec (after WithDefaults) and names the field to fix.
func (s Spec) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if s.Space == "" {
		bad("space is empty: set it to the search space of arch (for example mobilenetv2-imagenet)")
	}
	if len(s.Arch) == 0 {
		bad("arch is empty: set it to the architecture to retrain (the search result's best arch)")
	}
	if s.Epochs == 0 {
		bad("epochs %d: set a positive number of epochs (the paper trains 500)", s.Epochs)
	}
	if s.Batch == 0 {
		bad("batch %d: set a positive batch size (the paper uses 2048)", s.Batch)
	}
	if s.LR == 0 {
		bad("lr %v: set a positive peak learning rate (the paper uses 0.8 for batch 2048)", s.LR)
	}
	if err, ok := s.Recipe.Validate().(interface{ Unwrap() []error }); ok {
		errs = append(errs, err.Unwrap()...) // each names its field first
	}
	switch s.Data.Format {
	case "imagefolder", "cifar10", "cifar100", FormatCOCO:
	default:
		bad("data.format %q: use imagefolder, cifar10, cifar100 or coco", s.Data.Format)
	}
	errs = append(errs, s.validateTask()...)
	if s.CheckpointRun != "" && !ValidCheckpointRun(s.CheckpointRun) {
		bad("run %q: use letters, digits, '-', '_' and '.' (not first), at most 128", s.CheckpointRun)
	}
	if s.ChunkEpochs > s.Epochs && s.Epochs > 0 {
		bad("chunk_epochs %d exceeds epochs %d", s.ChunkEpochs, s.Epochs)
	}
	errs = append(errs, s.validateTransfer()...)
	return errors.Join(errs...)
}

// Parse decodes a spec strictly (unknown fields are errors), fills the
// defaults and validates it.
func Parse(data []byte) (Spec, error) {
	if err := SecretError(secretfield.Find(data, reflect.TypeFor[Spec]())); err != nil {
		return Spec{}, fmt.Errorf("retrain spec: %w", err)
	}
	var s Spec
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Spec{}, fmt.Errorf("retrain spec: %w", err)
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return Spec{}, fmt.Errorf("retrain spec: %w", err)
	}
	return s, nil
}

// SecretError reports key-like fields (paths from package secretfield) of
// a retrain spec or workflow input; nil when there are none.
func SecretError(paths []string) error {
	var errs []error
	for _, p := range paths {
		errs = append(errs, fmt.Errorf("field %q looks like a secret (a key, token, secret or password): retrain specs end up in workflow "+
			"histories, kept and shown to anyone who can read them; remove the field, give training workers their storage credentials "+
			"in their environment, and rotate any secret already submitted", p))
	}
	return errors.Join(errs...)
}

// Load reads and parses a spec file.
func Load(path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, err
	}
	s, err := Parse(data)
	if err != nil {
		return Spec{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
