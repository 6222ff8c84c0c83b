package history_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/workers"
)

// FuzzHistory feeds the audit and replay paths malformed, truncated and
// mutated history exports: each must end in an error or a result, never a
// panic.
func FuzzHistory(f *testing.F) {
	files, err := filepath.Glob(filepath.Join(golden, "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("golden histories: %v %v", files, err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)*2/3]) // truncated mid-event
	}
	for _, s := range []string{"", "{", `{"events":null}`, `{"events":[{}]}`,
		`{"events":[{"eventId":"1","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED"}]}`,
		`{"events":[{"eventId":"1","eventType":"EVENT_TYPE_WORKFLOW_EXECUTION_STARTED","workflowExecutionStartedEventAttributes":{"workflowType":{"name":"GeniusSearch"},"input":{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"e30="}]}}},{"eventId":"2","eventType":"EVENT_TYPE_ACTIVITY_TASK_COMPLETED"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := history.Parse(data)
		if err != nil {
			return
		}
		if tr, err := history.Build(h); err == nil {
			if err := history.Render(io.Discard, tr); err != nil {
				t.Logf("render: %v", err)
			}
		}
		_ = history.Replay(h, workers.RegisterWorkflows, nil) // an error is fine, a panic is not
	})
}

// TestTruncatedHistoriesError cuts a golden history at 200 points: every
// cut is an error that says how to export a whole history, never a panic
// or a partial trail.
func TestTruncatedHistoriesError(t *testing.T) {
	b := load(t, "search-llm-fresh.json")
	for i := 1; i <= 200; i++ {
		cut := len(b) * i / 201
		if _, err := history.Parse(b[:cut]); err == nil || !strings.Contains(err.Error(), "temporal workflow show") {
			t.Fatalf("history cut at byte %d of %d: error %v, want one naming `temporal workflow show`", cut, len(b), err)
		}
	}
}
