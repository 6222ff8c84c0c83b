package workers

import (
	"fmt"
	"strings"
	"sync"

	"go.temporal.io/sdk/log"

	"github.com/genius-nas/genius/workflows"
)

// failureRepeat is how many failures of the same workflow task (or with the
// same error) make it an ERROR: the SDK retries a failing workflow task for
// ever and logs each failure at INFO or WARN only, so a search can hang
// without a word at the default level.
const failureRepeat = 3

// The SDK's log messages for a failed workflow task (go.temporal.io/sdk
// internal, pinned by the integration tests).
const (
	sdkTaskFailed       = "Task processing failed with error"
	sdkTaskFailedClient = "Task processing failed with client side error"
	sdkWorkflowFailed   = "Failed to process workflow task."
)

// TaskFailureLogger passes everything to the SDK logger it wraps, and logs a
// workflow task that keeps failing at ERROR with what to do: at the
// failureRepeat-th failure and every 20th after that.
type TaskFailureLogger struct {
	log.Logger
	st *taskFailures
	// workerType is the SDK's WorkerType of a per-worker logger (With).
	workerType string
}

type taskFailures struct {
	namespace string
	mu        sync.Mutex
	byError   map[string]int // by failureKey
}

// NewTaskFailureLogger wraps l for a worker of namespace.
func NewTaskFailureLogger(l log.Logger, namespace string) *TaskFailureLogger {
	return &TaskFailureLogger{Logger: l, st: &taskFailures{namespace: namespace, byError: map[string]int{}}}
}

// With keeps the wrapper around the SDK's per-worker loggers.
func (t *TaskFailureLogger) With(keyvals ...any) log.Logger {
	wt := t.workerType
	if v, ok := value(keyvals, "WorkerType").(string); ok {
		wt = v
	}
	return &TaskFailureLogger{Logger: log.With(t.Logger, keyvals...), st: t.st, workerType: wt}
}

// Info passes msg on and watches for failed tasks.
func (t *TaskFailureLogger) Info(msg string, keyvals ...any) {
	t.Logger.Info(msg, keyvals...)
	if (msg == sdkTaskFailed || msg == sdkTaskFailedClient) && (t.workerType == "" || t.workerType == "WorkflowWorker") {
		errText := fmt.Sprint(value(keyvals, "Error"))
		if n := t.st.count(failureKey(errText)); repeatNow(n) {
			t.Logger.Error(fmt.Sprintf("workflow tasks keep failing (%d times) with the same cause: %s", n, t.st.advice(errText)), "Error", errText)
		}
	}
}

// Warn passes msg on and watches for failed workflow tasks.
func (t *TaskFailureLogger) Warn(msg string, keyvals ...any) {
	t.Logger.Warn(msg, keyvals...)
	if msg != sdkWorkflowFailed {
		return
	}
	var attempt int
	switch a := value(keyvals, "Attempt").(type) {
	case int32:
		attempt = int(a)
	case int:
		attempt = a
	}
	if repeatNow(attempt) {
		errText := fmt.Sprint(value(keyvals, "Error"))
		t.Logger.Error(fmt.Sprintf("workflow task of %v failed %d times: %s", value(keyvals, "WorkflowID"), attempt, t.st.advice(errText)),
			"WorkflowID", value(keyvals, "WorkflowID"), "Error", errText)
	}
}

func repeatNow(n int) bool {
	return n == failureRepeat || (n > failureRepeat && (n-failureRepeat)%20 == 0)
}

func (s *taskFailures) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byError) > 1000 {
		clear(s.byError)
	}
	s.byError[key]++
	return s.byError[key]
}

// failureKey groups failures with the same cause: the server names one
// missing search attribute, not always the same one.
func failureKey(errText string) string {
	if isSearchAttributeError(errText) {
		return "search attributes"
	}
	return errText
}

func isSearchAttributeError(errText string) bool {
	low := strings.ToLower(errText)
	return strings.Contains(low, "badsearchattributes") || strings.Contains(low, "search attribute")
}

// advice says what to do about a workflow task failing with errText.
func (s *taskFailures) advice(errText string) string {
	switch low := strings.ToLower(errText); {
	case isSearchAttributeError(errText):
		e := MissingSearchAttributesError{Namespace: s.namespace, Missing: workflows.SearchAttributes()}
		return "the namespace lacks genius's search attributes: restart this worker with --search-attributes register (the default; it registers them where the server allows), " +
			"or create them: " + strings.Join(e.Commands(), "; ") + "; or set \"search_attributes\": false in the spec"
	case strings.Contains(low, "nondetermin"):
		return "the workflow code does not match the workflow's history (a change without workflow.GetVersion): run the genius version that started it, or reset it with `temporal workflow reset`"
	default:
		return "the workflow makes no progress until the cause is fixed; `temporal workflow describe --workflow-id ID` shows the failure, `temporal workflow terminate` ends it"
	}
}

// value returns the value after key in keyvals, or nil.
func value(keyvals []any, key string) any {
	for i := 0; i+1 < len(keyvals); i += 2 {
		if k, ok := keyvals[i].(string); ok && k == key {
			return keyvals[i+1]
		}
	}
	return nil
}
