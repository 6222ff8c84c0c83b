package workflows

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/specs/retrain"
	"github.com/genius-nas/genius/specs/secretfield"
)

// RetrainName is the registered name of GeniusRetrain.
const RetrainName = "GeniusRetrain"

// retrainChunksPerRun bounds the chunks one workflow run executes before it
// continues as new, whatever the server suggests (each chunk adds a few
// events and its epochs to the carried state).
const retrainChunksPerRun = 100

// RetrainInput is GeniusRetrain's input: a retrain spec as it stands in its
// JSON file, plus what earlier runs learnt (Continue-As-New).
type RetrainInput struct {
	retrain.Spec
	State *RetrainState `json:"state,omitempty"`

	// secretFields are the key-like fields the input held that the schema
	// does not define: the run refuses to start.
	secretFields []string
}

// UnmarshalJSON decodes the input as encoding/json would and notes its
// key-like fields.
func (in *RetrainInput) UnmarshalJSON(data []byte) error {
	type plain RetrainInput // without this method
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	p.secretFields = secretfield.Find(data, reflect.TypeFor[plain]())
	*in = RetrainInput(p)
	return nil
}

// RetrainState is the run's progress; Continue-As-New carries it.
type RetrainState struct {
	// CheckpointRun names the checkpoint folder, retrain/<run>/.
	CheckpointRun string                     `json:"run"`
	EpochsDone    int                        `json:"epochs_done"`
	Step          int                        `json:"step"`
	TotalSteps    int                        `json:"total_steps"`
	Checkpoint    string                     `json:"checkpoint,omitempty"`
	Best          *activities.RetrainBest    `json:"best,omitempty"`
	Epochs        []activities.RetrainEpoch  `json:"epochs,omitempty"`
	Resumes       []activities.RetrainResume `json:"resumes,omitempty"`
	// PendingUploads is the last chunk's count of checkpoints not yet in
	// the remote store.
	PendingUploads int `json:"pending_uploads,omitempty"`
	Chunks         int `json:"chunks"`
	// WorkflowRuns counts workflow runs (1 + Continue-As-News).
	WorkflowRuns int `json:"runs"`
}

// RetrainProgress is what the progress query returns.
type RetrainProgress struct {
	Name string `json:"name,omitempty"`
	// Phase is "training", "transferring" (chained transfers) or "done".
	Phase       string `json:"phase"`
	TotalEpochs int    `json:"total_epochs"`
	RetrainState
}

// RetrainResult is GeniusRetrain's result.
type RetrainResult struct {
	// CheckpointRun names the checkpoint folder, retrain/<run>/.
	CheckpointRun string `json:"run"`
	// BestEMATop1 and BestEMATop5 (fractions) of the EMA network at its
	// best epoch, whose state is BestCheckpoint.
	BestEMATop1    float64 `json:"best_ema_top1"`
	BestEMATop5    float64 `json:"best_ema_top5"`
	BestEpoch      int     `json:"best_epoch"`
	BestCheckpoint string  `json:"best_checkpoint"`
	// FinalCheckpoint is the state after the last step.
	FinalCheckpoint string                     `json:"final_checkpoint"`
	Steps           int                        `json:"steps"`
	Epochs          []activities.RetrainEpoch  `json:"epochs"`
	Resumes         []activities.RetrainResume `json:"resumes,omitempty"`
	// Transfers are the fine-tuning runs the spec chains (spec transfer).
	Transfers []TransferHandoff `json:"transfers,omitempty"`
}

// checkpointRunName derives the checkpoint folder from the workflow ID when the
// spec names none.
func checkpointRunName(id string) string {
	var b strings.Builder
	for i, r := range id {
		ok := r == '-' || r == '_' || (r == '.' && i > 0) || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			r = '-'
		}
		b.WriteRune(r)
		if b.Len() == 128 {
			break
		}
	}
	return b.String()
}

// GeniusRetrain retrains an architecture with the spec's recipe, one
// activity per chunk of epochs on the spec's task queue (genius-gpu). Each
// chunk checkpoints to the workers' store and resumes from it when retried,
// on the same worker or another. Register it under RetrainName.
func GeniusRetrain(ctx workflow.Context, in RetrainInput) (*RetrainResult, error) {
	r, err := trainInChunks(ctx, in, RetrainName, "retrain", retrain.Spec.Validate)
	if err != nil {
		return nil, err
	}
	spec, st := r.spec, r.st
	r.phase = "transferring"
	best := ""
	if st.Best != nil {
		best = st.Best.Checkpoint
	}
	transfers := chainTransfers(ctx, spec, best)
	r.phase = "done"
	out := &RetrainResult{Transfers: transfers, CheckpointRun: st.CheckpointRun, FinalCheckpoint: st.Checkpoint, Steps: st.Step, Epochs: st.Epochs,
		Resumes: st.Resumes}
	if st.Best != nil {
		out.BestEMATop1, out.BestEMATop5, out.BestEpoch, out.BestCheckpoint = st.Best.EMATop1, st.Best.EMATop5, st.Best.Epoch, st.Best.Checkpoint
	}
	return out, nil
}

// chunkedRun is a retraining or a transfer in progress: its spec (with
// defaults), the state Continue-As-New carries and the phase its progress
// query reports.
type chunkedRun struct {
	spec  retrain.Spec
	st    *RetrainState
	phase string
}

// trainInChunks runs the chunks of a retraining (workflow RetrainName) or a
// transfer (TransferName): it refuses an input with key-like fields, checks
// the spec (what names it in the error), takes the state an earlier run
// carried over or starts one, answers the progress query, and continues as
// new when runRetrainChunks asks. The caller builds its result from the run.
func trainInChunks(ctx workflow.Context, in RetrainInput, name, what string, check func(retrain.Spec) error) (*chunkedRun, error) {
	if err := refuseSecrets(ctx, in.secretFields, retrain.SecretError); err != nil {
		return nil, err
	}
	spec := in.Spec.WithDefaults()
	if err := check(spec); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("invalid "+what+" spec: "+err.Error(), ErrInvalidSpec, nil)
	}
	r := &chunkedRun{spec: spec, st: in.State, phase: "training"}
	if r.st == nil {
		r.st = &RetrainState{CheckpointRun: spec.CheckpointRun}
		if r.st.CheckpointRun == "" {
			r.st.CheckpointRun = checkpointRunName(workflow.GetInfo(ctx).WorkflowExecution.ID)
		}
	}
	if err := workflow.SetQueryHandler(ctx, ProgressQuery, func() (RetrainProgress, error) {
		return RetrainProgress{Name: spec.Name, Phase: r.phase, TotalEpochs: spec.Epochs, RetrainState: *r.st}, nil
	}); err != nil {
		return nil, fmt.Errorf("register progress query: %w", err)
	}
	if err := runRetrainChunks(ctx, spec, r.st, func() error {
		next := in
		next.State = r.st
		return workflow.NewContinueAsNewError(ctx, name, next)
	}); err != nil {
		return nil, err
	}
	return r, nil
}

// runRetrainChunks runs the chunk activities of a retraining (or transfer)
// run until its epochs are done, updating st; after retrainChunksPerRun
// chunks, or when the server suggests it, it returns continueAsNew().
func runRetrainChunks(ctx workflow.Context, spec retrain.Spec, st *RetrainState, continueAsNew func() error) error {
	st.WorkflowRuns++
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue:           spec.TaskQueue,
		StartToCloseTimeout: time.Duration(spec.ChunkTimeoutM) * time.Minute,
		HeartbeatTimeout:    time.Duration(spec.HeartbeatTimeoutS) * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			// Crashes, drains and outages retry; a week-long run should not
			// stop for lack of attempts, but a broken setup should end.
			MaximumAttempts:        100,
			NonRetryableErrorTypes: []string{activities.ErrRetrainBadSpec, activities.ErrRetrainNoStore},
		},
	})
	chunks := 0
	for st.EpochsDone < spec.Epochs && (st.TotalSteps == 0 || st.Step < st.TotalSteps) {
		if chunks >= retrainChunksPerRun || (chunks > 0 && workflow.GetInfo(ctx).GetContinueAsNewSuggested()) {
			return continueAsNew()
		}
		until := min(st.EpochsDone+spec.ChunkEpochs, spec.Epochs)
		var res activities.RetrainChunkResult
		err := workflow.ExecuteActivity(actx, activities.RetrainChunkName, activities.RetrainChunkInput{
			Spec: spec, CheckpointRun: st.CheckpointRun, FromEpoch: st.EpochsDone, UntilEpoch: until, Resume: st.Checkpoint, Best: st.Best,
		}).Get(ctx, &res)
		if err != nil {
			return fmt.Errorf("retrain epochs %d..%d: %w", st.EpochsDone+1, until, err)
		}
		chunks++
		st.Chunks++
		st.Epochs = append(st.Epochs, res.Epochs...)
		st.Checkpoint, st.Step, st.TotalSteps = res.Checkpoint, res.Step, res.TotalSteps
		st.EpochsDone = until
		if res.Done {
			st.EpochsDone = spec.Epochs
		}
		if res.Best != nil {
			st.Best = res.Best
		}
		if res.Resumed != nil {
			st.Resumes = append(st.Resumes, *res.Resumed)
		}
		st.PendingUploads = res.PendingUploads
	}
	return nil
}
