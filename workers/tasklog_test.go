package workers

import (
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
)

// recorder keeps what reaches the wrapped logger.
type recorder struct{ lines []string }

func (r *recorder) add(level, msg string, kv []any) {
	r.lines = append(r.lines, fmt.Sprintf("%s %s %v", level, msg, kv))
}
func (r *recorder) Debug(msg string, kv ...any) { r.add("DEBUG", msg, kv) }
func (r *recorder) Info(msg string, kv ...any)  { r.add("INFO", msg, kv) }
func (r *recorder) Warn(msg string, kv ...any)  { r.add("WARN", msg, kv) }
func (r *recorder) Error(msg string, kv ...any) { r.add("ERROR", msg, kv) }

func (r *recorder) errors() []string {
	var out []string
	for _, l := range r.lines {
		if strings.HasPrefix(l, "ERROR ") {
			out = append(out, l)
		}
	}
	return out
}

func TestTaskFailureLoggerNonDeterminism(t *testing.T) {
	rec := &recorder{}
	var l log.Logger = NewTaskFailureLogger(rec, "default")
	l = log.With(l, "Namespace", "default")
	for attempt := int32(1); attempt <= 24; attempt++ {
		l.Warn(sdkWorkflowFailed, "WorkflowID", "s1", "Attempt", attempt, "Error", "[TMPRL1100] nondeterministic workflow: history event is ActivityTaskScheduled, replay command is ScheduleLocalActivity")
	}
	errs := rec.errors()
	if len(errs) != 2 { // attempts 3 and 23
		t.Fatalf("%d ERROR lines, want 2 (attempts 3 and 23):\n%s", len(errs), strings.Join(rec.lines, "\n"))
	}
	if !strings.Contains(errs[0], "workflow task of s1 failed 3 times") || !strings.Contains(errs[0], "temporal workflow reset") {
		t.Errorf("ERROR line lacks the workflow, count or advice: %s", errs[0])
	}
	if len(rec.lines) != 26 {
		t.Errorf("%d lines reached the logger, want the 24 warnings and 2 errors", len(rec.lines))
	}
}

func TestTaskFailureLoggerGroupsSearchAttributes(t *testing.T) {
	rec := &recorder{}
	l := NewTaskFailureLogger(rec, "ns1")
	for _, name := range []string{"GeniusBenchmark", "GeniusProposer", "GeniusBenchmark"} {
		l.Info(sdkTaskFailed, "Error", "BadSearchAttributes: Namespace ns1 has no mapping defined for search attribute "+name)
	}
	l.Info("Task processing failed with error", "Error", "something else")
	// Activity workers' failures are not workflow tasks.
	al := l.With("WorkerType", "ActivityWorker")
	for range 5 {
		al.Info(sdkTaskFailed, "Error", "BadSearchAttributes: no mapping defined for search attribute GeniusProposer")
	}
	errs := rec.errors()
	if len(errs) != 1 {
		t.Fatalf("%d ERROR lines, want 1:\n%s", len(errs), strings.Join(rec.lines, "\n"))
	}
	if want := "temporal operator search-attribute create --namespace ns1 --name GeniusBestAccuracy --type Double"; !strings.Contains(errs[0], want) {
		t.Errorf("ERROR line lacks %q: %s", want, errs[0])
	}
}
