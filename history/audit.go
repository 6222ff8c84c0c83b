package history

import (
	"encoding/json"
	"fmt"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
)

// Kinds of Step.
const (
	KindActivity       = "activity"
	KindSignal         = "signal"
	KindContinuedAsNew = "continued-as-new"
	KindChild          = "child-workflow"
)

// Statuses of an activity Step.
const (
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusTimedOut  = "timed-out"
	StatusCanceled  = "canceled"
	StatusPending   = "pending" // scheduled, not closed when the history was taken
)

// Step is one thing that happened in a run, in history order (activities
// ordered by when they were scheduled).
type Step struct {
	Kind string `json:"kind"`
	// Run is the 1-based run of the workflow (Continue-As-New starts a new one).
	Run int `json:"run"`
	// EventID is the event that opened the step (activity scheduled, signal).
	EventID int64     `json:"event_id"`
	Time    time.Time `json:"time"`
	// Name is the activity type, the signal name, the child workflow's
	// type, or the run continued into.
	Name string `json:"name"`
	// WorkflowID is the child workflow's ID (child steps).
	WorkflowID string `json:"workflow_id,omitempty"`
	// Local marks a local activity: the history records its result (a
	// marker) but not its input, and no duration.
	Local bool `json:"local,omitempty"`
	// Attempt is the activity attempt that closed the step (1 = no retry).
	Attempt int32  `json:"attempt,omitempty"`
	Status  string `json:"status,omitempty"`
	// Duration is from scheduling to closing, retries included.
	Duration time.Duration   `json:"duration,omitempty"`
	Input    json.RawMessage `json:"input,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Failure  string          `json:"failure,omitempty"`
}

// Trail is a workflow's audit trail across its runs.
type Trail struct {
	WorkflowType string          `json:"workflow_type"`
	WorkflowID   string          `json:"workflow_id,omitempty"`
	RunIDs       []string        `json:"run_ids"`
	Input        json.RawMessage `json:"input,omitempty"`
	Steps        []Step          `json:"steps"`
	// Status is the last run's close event type (COMPLETED, FAILED, ...),
	// or RUNNING.
	Status  string          `json:"status"`
	Result  json.RawMessage `json:"result,omitempty"`
	Failure string          `json:"failure,omitempty"`
}

// Build reads the runs of one workflow, oldest first, into a Trail.
// Payloads are decoded with the SDK's default data converter into JSON.
func Build(runs ...*historypb.History) (*Trail, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("no history given")
	}
	dc := converter.GetDefaultDataConverter()
	t := &Trail{}
	for ri, h := range runs {
		run := ri + 1
		info := Describe(h)
		if ri == 0 {
			t.WorkflowType = info.WorkflowType
			t.WorkflowID = info.WorkflowID
		}
		if ri > 0 && info.ContinuedFrom != t.RunIDs[ri-1] {
			return nil, fmt.Errorf("run %d (%s) of %s did not continue from run %d (%s): give the runs of one workflow, oldest first",
				run, info.RunID, info.Name(), ri, t.RunIDs[ri-1])
		}
		t.RunIDs = append(t.RunIDs, info.RunID)
		open := map[int64]int{} // scheduled/initiated event ID -> index in t.Steps
		// closeStep ends the open step of a scheduled (initiated) event.
		closeStep := func(id int64, status string, when time.Time, f *failurepb.Failure, result *commonpb.Payloads) {
			i, ok := open[id]
			if !ok {
				return
			}
			s := &t.Steps[i]
			s.Status, s.Duration = status, when.Sub(s.Time)
			if f != nil {
				s.Failure = failureText(f)
			}
			if result != nil {
				s.Result = payloadsJSON(dc, result)
			}
		}
		for _, ev := range h.GetEvents() {
			when := ev.GetEventTime().AsTime()
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
				if ri == 0 {
					t.Input = payloadsJSON(dc, ev.GetWorkflowExecutionStartedEventAttributes().GetInput())
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				a := ev.GetActivityTaskScheduledEventAttributes()
				open[ev.GetEventId()] = len(t.Steps)
				t.Steps = append(t.Steps, Step{
					Kind: KindActivity, Run: run, EventID: ev.GetEventId(), Time: when,
					Name: a.GetActivityType().GetName(), Status: StatusPending,
					Input: payloadsJSON(dc, a.GetInput()),
				})
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				a := ev.GetActivityTaskStartedEventAttributes()
				if i, ok := open[a.GetScheduledEventId()]; ok {
					t.Steps[i].Attempt = a.GetAttempt()
				}
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				a := ev.GetActivityTaskCompletedEventAttributes()
				closeStep(a.GetScheduledEventId(), StatusCompleted, when, nil, a.GetResult())
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED:
				a := ev.GetActivityTaskFailedEventAttributes()
				closeStep(a.GetScheduledEventId(), StatusFailed, when, a.GetFailure(), nil)
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
				a := ev.GetActivityTaskTimedOutEventAttributes()
				closeStep(a.GetScheduledEventId(), StatusTimedOut, when, a.GetFailure(), nil)
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
				closeStep(ev.GetActivityTaskCanceledEventAttributes().GetScheduledEventId(), StatusCanceled, when, nil, nil)
			case enumspb.EVENT_TYPE_MARKER_RECORDED:
				if st, ok := localActivityStep(dc, ev); ok {
					st.Run = run
					t.Steps = append(t.Steps, st)
				}
			case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
				a := ev.GetStartChildWorkflowExecutionInitiatedEventAttributes()
				open[ev.GetEventId()] = len(t.Steps)
				t.Steps = append(t.Steps, Step{
					Kind: KindChild, Run: run, EventID: ev.GetEventId(), Time: when,
					Name: a.GetWorkflowType().GetName(), WorkflowID: a.GetWorkflowId(), Status: StatusPending,
					Input: payloadsJSON(dc, a.GetInput()),
				})
			case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
				a := ev.GetChildWorkflowExecutionCompletedEventAttributes()
				closeStep(a.GetInitiatedEventId(), StatusCompleted, when, nil, a.GetResult())
			case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED:
				a := ev.GetChildWorkflowExecutionFailedEventAttributes()
				closeStep(a.GetInitiatedEventId(), StatusFailed, when, a.GetFailure(), nil)
			case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT:
				closeStep(ev.GetChildWorkflowExecutionTimedOutEventAttributes().GetInitiatedEventId(), StatusTimedOut, when, nil, nil)
			case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED:
				closeStep(ev.GetChildWorkflowExecutionCanceledEventAttributes().GetInitiatedEventId(), StatusCanceled, when, nil, nil)
			case enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED:
				closeStep(ev.GetChildWorkflowExecutionTerminatedEventAttributes().GetInitiatedEventId(), StatusCanceled, when, nil, nil)
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
				a := ev.GetWorkflowExecutionSignaledEventAttributes()
				t.Steps = append(t.Steps, Step{
					Kind: KindSignal, Run: run, EventID: ev.GetEventId(), Time: when,
					Name: a.GetSignalName(), Input: payloadsJSON(dc, a.GetInput()),
				})
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
				a := ev.GetWorkflowExecutionContinuedAsNewEventAttributes()
				t.Steps = append(t.Steps, Step{
					Kind: KindContinuedAsNew, Run: run, EventID: ev.GetEventId(), Time: when,
					Name: a.GetNewExecutionRunId(),
				})
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
				t.Result = payloadsJSON(dc, ev.GetWorkflowExecutionCompletedEventAttributes().GetResult())
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
				t.Failure = failureText(ev.GetWorkflowExecutionFailedEventAttributes().GetFailure())
			case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
				t.Failure = ev.GetWorkflowExecutionTerminatedEventAttributes().GetReason()
			}
		}
		if last := h.GetEvents()[len(h.GetEvents())-1]; ri < len(runs)-1 && last.GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW {
			return nil, fmt.Errorf("run %d of %s (%s) ends with %s, not Continue-As-New: give the runs of one workflow, oldest first",
				run, info.Name(), info.RunID, last.GetEventType())
		}
	}
	t.Status = statusOf(runs[len(runs)-1])
	return t, nil
}

// localActivityMarker is the SDK's name of the marker that records a local
// activity's result.
const localActivityMarker = "LocalActivity"

// localActivityStep reads a local activity's marker: its type and attempt
// from the "data" detail, its result from "result", or its failure.
func localActivityStep(dc converter.DataConverter, ev *historypb.HistoryEvent) (Step, bool) {
	a := ev.GetMarkerRecordedEventAttributes()
	if a.GetMarkerName() != localActivityMarker {
		return Step{}, false
	}
	var data struct {
		ActivityType string
		Attempt      int32
	}
	if ps := a.GetDetails()["data"].GetPayloads(); len(ps) > 0 {
		_ = dc.FromPayload(ps[0], &data)
	}
	s := Step{
		Kind: KindActivity, Local: true, EventID: ev.GetEventId(), Time: ev.GetEventTime().AsTime(),
		Name: data.ActivityType, Attempt: data.Attempt, Status: StatusCompleted,
	}
	if f := a.GetFailure(); f != nil {
		s.Status, s.Failure = StatusFailed, failureText(f)
	} else {
		s.Result = payloadsJSON(dc, a.GetDetails()["result"])
	}
	return s, true
}

// statusOf names how the run ended as the CLI does (COMPLETED, FAILED,
// CONTINUED_AS_NEW, ...), or RUNNING.
func statusOf(h *historypb.History) string {
	ev := h.GetEvents()
	switch ev[len(ev)-1].GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
		return "COMPLETED"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
		return "FAILED"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
		return "TIMED_OUT"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
		return "CANCELED"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
		return "TERMINATED"
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		return "CONTINUED_AS_NEW"
	}
	return "RUNNING"
}

// payloadsJSON decodes payloads to JSON: one payload as itself, several as
// an array. Non-JSON payloads become their default-converter decoding.
func payloadsJSON(dc converter.DataConverter, ps *commonpb.Payloads) json.RawMessage {
	list := ps.GetPayloads()
	if len(list) == 0 {
		return nil
	}
	out := make([]json.RawMessage, len(list))
	for i, p := range list {
		out[i] = payloadJSON(dc, p)
	}
	if len(out) == 1 {
		return out[0]
	}
	b, _ := json.Marshal(out)
	return b
}

func payloadJSON(dc converter.DataConverter, p *commonpb.Payload) json.RawMessage {
	var raw json.RawMessage
	if err := dc.FromPayload(p, &raw); err == nil && json.Valid(raw) {
		return raw
	}
	var v any
	if err := dc.FromPayload(p, &v); err == nil {
		if b, err := json.Marshal(v); err == nil {
			return b
		}
	}
	b, _ := json.Marshal(fmt.Sprintf("<%d bytes, encoding %s>", len(p.GetData()), p.GetMetadata()["encoding"]))
	return b
}

// failureText flattens a failure and its causes into one line.
func failureText(f *failurepb.Failure) string {
	s := ""
	for ; f != nil; f = f.GetCause() {
		msg := f.GetMessage()
		if a := f.GetApplicationFailureInfo(); a != nil && a.GetType() != "" {
			msg = a.GetType() + ": " + msg
		}
		if s != "" {
			s += ": "
		}
		s += msg
	}
	return s
}
