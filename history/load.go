package history

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
)

// Load reads a history file written by `temporal workflow show --output json`
// (protojson, camelCase field names).
func Load(path string) (*historypb.History, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	h, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", path, err)
	}
	return h, nil
}

// Parse decodes a history exported as JSON by the Temporal CLI.
func Parse(data []byte) (*historypb.History, error) {
	h, err := client.HistoryFromJSON(bytes.NewReader(data), client.HistoryJSONOptions{})
	if err != nil {
		return nil, fmt.Errorf("not a workflow history in the CLI's JSON format (write one with `temporal workflow show --workflow-id ID --output json`): %w", err)
	}
	if len(h.GetEvents()) == 0 {
		return nil, errors.New("history has no events: export it with `temporal workflow show --workflow-id ID --output json`")
	}
	if h.GetEvents()[0].GetEventType() != enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED {
		return nil, fmt.Errorf("history starts with %s, not WorkflowExecutionStarted: export the whole history", h.GetEvents()[0].GetEventType())
	}
	if err := checkEvents(h); err != nil {
		return nil, fmt.Errorf("%w: the file was edited or damaged; export it again with `temporal workflow show --workflow-id ID --output json`", err)
	}
	return h, nil
}

// checkEvents checks what the SDK's replayer takes for granted (it
// dereferences attributes without checking): event IDs run 1, 2, 3, ... and
// each event carries the attributes of its type.
func checkEvents(h *historypb.History) error {
	for i, ev := range h.GetEvents() {
		if ev.GetEventId() != int64(i+1) {
			return fmt.Errorf("event %d has ID %d", i+1, ev.GetEventId())
		}
		t := ev.GetEventType()
		if _, known := enumspb.EventType_name[int32(t)]; !known || t == enumspb.EVENT_TYPE_UNSPECIFIED {
			return fmt.Errorf("event %d has no known event type (%s)", i+1, t)
		}
		want := "HistoryEvent_" + t.String() + "EventAttributes" // String is CamelCase: WorkflowExecutionStarted
		got := "none"
		if a := ev.GetAttributes(); a != nil {
			got = reflect.TypeOf(a).Elem().Name()
			if reflect.ValueOf(a).Elem().Field(0).IsNil() {
				got = "empty " + got
			}
		}
		if got != want {
			return fmt.Errorf("event %d (%s) carries %s attributes", i+1, ev.GetEventType(), strings.TrimPrefix(got, "HistoryEvent_"))
		}
	}
	return nil
}

// Info identifies the run a history belongs to.
type Info struct {
	// WorkflowType is the registered workflow name, e.g. "GeniusSearch".
	WorkflowType string
	// WorkflowID is empty where the server does not record it in the
	// started event.
	WorkflowID string
	// RunID is the run's original execution run ID.
	RunID string
	// ContinuedFrom is the run this one continued as new from, if any.
	ContinuedFrom string
	// ContinuedAs is the run this one continued as new into, if any.
	ContinuedAs string
	// Events is the number of events.
	Events int
	// Closed is the final event type when the run has closed, else "".
	Closed string
}

// Describe returns what the first and last events say about the run.
func Describe(h *historypb.History) Info {
	ev := h.GetEvents()
	info := Info{Events: len(ev)}
	if len(ev) == 0 {
		return info
	}
	if a := ev[0].GetWorkflowExecutionStartedEventAttributes(); a != nil {
		info.WorkflowType = a.GetWorkflowType().GetName()
		info.WorkflowID = a.GetWorkflowId()
		info.RunID = a.GetOriginalExecutionRunId()
		info.ContinuedFrom = a.GetContinuedExecutionRunId()
	}
	last := ev[len(ev)-1]
	switch last.GetEventType() {
	case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
		enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
		info.Closed = last.GetEventType().String()
	}
	if a := last.GetWorkflowExecutionContinuedAsNewEventAttributes(); a != nil {
		info.ContinuedAs = a.GetNewExecutionRunId()
	}
	return info
}

// Name is how messages refer to the run: its type and workflow ID (or run ID
// where the history does not hold the workflow ID).
func (i Info) Name() string {
	id := i.WorkflowID
	if id == "" {
		id = "run " + i.RunID
	}
	return fmt.Sprintf("%s (%s)", i.WorkflowType, id)
}
