package history_test

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/genius-nas/genius/history"
	"github.com/genius-nas/genius/workers"
)

// FuzzHistory feeds the audit and replay paths malformed, truncated and
// mutated history exports: each must end in an error or a result, never a
// panic. Run it with -fuzzminimizetime 0: minimising a new 40 kB input
// replays it thousands of times and stalls the fuzzer.
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

// TestMutatedHistoriesNeverPanic changes a few bytes of golden histories
// to characters that keep the JSON well-formed more often than random
// bytes do (the fuzzer's mutations mostly break the JSON and stop at
// Parse): audit and replay of each must end in an error or a result. It
// found the SDK replayer's nil dereference on an event whose attributes do
// not match its type.
func TestMutatedHistoriesNeverPanic(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(golden, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("golden histories: %v %v", files, err)
	}
	var docs [][]byte
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	r := rand.New(rand.NewPCG(12, 2304))
	const alphabet = "0123456789\"{}[],:aeADTZ_ -"
	tried, parsed := 0, 0
	for n := 0; n < 2000; n++ {
		b := slices.Clone(docs[r.IntN(len(docs))])
		for k := 0; k < 1+r.IntN(3); k++ {
			b[r.IntN(len(b))] = alphabet[r.IntN(len(alphabet))]
		}
		tried++
		h, err := history.Parse(b)
		if err != nil {
			continue
		}
		parsed++
		if tr, err := history.Build(h); err == nil {
			_ = history.Render(io.Discard, tr)
		}
		_ = history.Replay(h, workers.RegisterWorkflows, nil)
	}
	t.Logf("%d mutated histories, %d parsed and replayed", tried, parsed)
}
