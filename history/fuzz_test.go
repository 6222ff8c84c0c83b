package history_test

import (
	"io"
	"os"
	"path/filepath"
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
