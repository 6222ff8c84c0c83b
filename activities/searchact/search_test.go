package searchact

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/bench/benchtest"

	"go.temporal.io/sdk/temporal"

	"github.com/genius-nas/genius/bench"
	"github.com/genius-nas/genius/flops"
	"github.com/genius-nas/genius/llm"
	"github.com/genius-nas/genius/llm/llmtest"
	"github.com/genius-nas/genius/prompt"
	"github.com/genius-nas/genius/space"
	"github.com/genius-nas/genius/specs"
)

var (
	genius329 = []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	genius401 = []int{1, 0, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 4, 4, 0, 4, 0, 4, 4, 5, 0, 5, 0, 5, 6, 5, 0, 6, 0, 5}
)

func dataDir(t testing.TB) string { return benchtest.DataDir(t) }

func mustSpace(t *testing.T, name string) space.Space {
	t.Helper()
	sp, err := space.New(name)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func appErrorType(err error) (string, bool) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return "", false
	}
	return appErr.Type(), appErr.NonRetryable()
}

func TestCheckProposal(t *testing.T) {
	macro := mustSpace(t, "nas-bench-macro")
	img := mustSpace(t, space.ImageNetName)
	window := &specs.FLOPsWindow{MinM: 280, MaxM: 330, Input: 224, Classes: 1000}
	measured := []activities.Measured{{Iteration: 1, Arch: []int{1, 0, 1, 1, 0, 1, 0, 0}, Canonical: macro.Canonical(space.Arch{1, 0, 1, 1, 0, 1, 0, 0}), Accuracy: 88.123}}
	tests := []struct {
		name     string
		in       activities.CheckInput
		outcome  string
		feedback string // substring
	}{
		{"bare list", activities.CheckInput{Space: "nas-bench-macro", Reply: "[2, 2, 2, 2, 2, 2, 2, 2]", Measured: measured}, activities.OutcomeOK, ""},
		{"prose", activities.CheckInput{Space: "nas-bench-macro", Reply: "I think\n[1, 2, 0, 1, 2, 1, 0, 2]\nwill do well.", Measured: measured}, activities.OutcomeOK, ""},
		{"unparsable", activities.CheckInput{Space: "nas-bench-macro", Reply: "Something deeper."}, activities.OutcomeUnparsable, "I could not read an architecture"},
		{"out of range", activities.CheckInput{Space: "nas-bench-macro", Reply: "[1, 0, 5, 0, 0, 1, 0, 0]"}, activities.OutcomeUnparsable, "entry 3 is 5"},
		{"duplicate", activities.CheckInput{Space: "nas-bench-macro", Reply: "[1, 0, 1, 1, 0, 1, 0, 0]", Measured: measured}, activities.OutcomeDuplicate, "already measured in iteration 1 (accuracy 88.12%)"},
		{"same network", activities.CheckInput{Space: "nas-bench-macro", Reply: "[1, 0, 1, 0, 1, 1, 0, 0]", Measured: measured}, activities.OutcomeDuplicate, "builds the same network as [1, 0, 1, 1, 0, 1, 0, 0]"},
		{"give up", activities.CheckInput{Space: "nas-bench-macro", Reply: "I cannot improve on these results any further.", GiveUp: true}, activities.OutcomeGiveUp, ""},
		{"give up ignored for baselines", activities.CheckInput{Space: "nas-bench-macro", Reply: "I cannot improve on these results any further."}, activities.OutcomeUnparsable, ""},
		{"give up with an answer", activities.CheckInput{Space: "nas-bench-macro", Reply: "It is hard to improve, but try [2, 2, 2, 2, 2, 2, 2, 1].", GiveUp: true}, activities.OutcomeOK, ""},
		{"in window", activities.CheckInput{Space: space.ImageNetName, Reply: img.Format(genius329), FLOPs: window}, activities.OutcomeOK, ""},
		{"above window", activities.CheckInput{Space: space.ImageNetName, Reply: img.Format(genius401), FLOPs: window}, activities.OutcomeFLOPsAbove, "has 401.50 M FLOPs, 71.50 M above the upper bound of 330 M"},
		{"below window", activities.CheckInput{Space: space.ImageNetName, Reply: img.Format(genius329), FLOPs: &specs.FLOPsWindow{MinM: 340, MaxM: 400, Input: 224, Classes: 1000}}, activities.OutcomeFLOPsBelow, "has 329.41 M FLOPs, 10.59 M below the lower bound of 340 M"},
	}
	a := &SearchActivities{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := a.CheckProposal(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome || !strings.Contains(res.Feedback, tt.feedback) {
				t.Errorf("outcome %q feedback %q, want %q containing %q", res.Outcome, res.Feedback, tt.outcome, tt.feedback)
			}
			if res.Outcome != activities.OutcomeOK && res.Outcome != activities.OutcomeGiveUp && res.Feedback == "" {
				t.Errorf("no feedback for %s", res.Outcome)
			}
			if res.Outcome == activities.OutcomeOK && (res.Key == "" || res.Canonical == "" || len(res.Arch) == 0) {
				t.Errorf("accepted without key: %+v", res)
			}
		})
	}
	if _, err := a.CheckProposal(context.Background(), activities.CheckInput{Space: "darts", Reply: "[1]"}); err == nil {
		t.Error("unknown space accepted")
	} else if typ, nonRetryable := appErrorType(err); typ != activities.ErrBadInput || !nonRetryable {
		t.Errorf("unknown space: %v", err)
	}
}

// TestFLOPsRoundingBoundary checks the paper's rule (spec
// flops.round_millions) on its boundary cases: its 300M search accepted a
// 330.2 M design against an upper bound of 330 and reported a 330.6 M one
// as 331, 1 higher. Without the setting both are refused with exact figures.
func TestFLOPsRoundingBoundary(t *testing.T) {
	img := mustSpace(t, space.ImageNetName)
	at330_2 := []int{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 2, 0, 4, 3, 0, 0, 4, 4, 0, 4, 4, 0, 4, 0, 5, 5, 5, 0} // 330.17 M
	at330_6 := []int{1, 0, 0, 0, 1, 0, 2, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0} // 330.62 M
	for _, arch := range [][]int{at330_2, at330_6} {
		if c, err := flops.MobileNetV2(arch, flops.Options{}); err != nil || math.Abs(c.FLOPsM()-330.4) > 0.25 {
			t.Fatalf("fixture %v: %v M, %v", arch, c.FLOPsM(), err)
		}
	}
	rounded := &specs.FLOPsWindow{MinM: 270, MaxM: 330, Input: 224, Classes: 1000, RoundMillions: true}
	exact := &specs.FLOPsWindow{MinM: 270, MaxM: 330, Input: 224, Classes: 1000}
	tests := []struct {
		name             string
		arch             []int
		window           *specs.FLOPsWindow
		outcome          string
		feedback, reason string
	}{
		{"330.2 rounded", at330_2, rounded, activities.OutcomeOK, "", ""},
		{"330.6 rounded", at330_6, rounded, activities.OutcomeFLOPsAbove,
			"has 331 M FLOPs, 1 M above the upper bound of 330 M. Please propose an architecture whose FLOPs lie between 270 M and 330 M.",
			"330.62 M FLOPs (331 M in whole millions) outside [270, 330] M"},
		{"330.2 exact", at330_2, exact, activities.OutcomeFLOPsAbove, "has 330.17 M FLOPs, 0.17 M above the upper bound of 330 M", "330.17 M FLOPs outside [270, 330] M"},
		{"330.6 exact", at330_6, exact, activities.OutcomeFLOPsAbove, "has 330.62 M FLOPs, 0.62 M above the upper bound of 330 M", ""},
		{"below rounded", genius329, &specs.FLOPsWindow{MinM: 330, MaxM: 400, Input: 224, Classes: 1000, RoundMillions: true}, activities.OutcomeFLOPsBelow,
			"has 329 M FLOPs, 1 M below the lower bound of 330 M", ""},
		{"lower bound inclusive", at330_6, &specs.FLOPsWindow{MinM: 331, MaxM: 400, Input: 224, Classes: 1000, RoundMillions: true}, activities.OutcomeOK, "", ""},
	}
	a := &SearchActivities{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := a.CheckProposal(context.Background(), activities.CheckInput{Space: space.ImageNetName, Reply: img.Format(tt.arch), FLOPs: tt.window})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome || !strings.Contains(res.Feedback, tt.feedback) || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("outcome %q feedback %q reason %q, want %q, %q, %q", res.Outcome, res.Feedback, res.Reason, tt.outcome, tt.feedback, tt.reason)
			}
			if res.FLOPsM < 330 && tt.window.MaxM == 330 {
				t.Errorf("FLOPs recorded as %v: the history keeps the exact count", res.FLOPsM)
			}
		})
	}
}

func TestBaselinesAreDeterministicAndAvoidHistory(t *testing.T) {
	a := &SearchActivities{}
	sp := mustSpace(t, "channel-bench-mobilenet")
	in := activities.ProposeInput{Space: sp.Name(), Proposer: specs.Proposer{Kind: specs.ProposerRandom}, Seed: 9, Iteration: 3, Attempt: 1}
	first, err := a.Propose(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := a.Propose(context.Background(), in)
	if first.Reply != again.Reply || first.Proposer != "random" || first.PromptTokens != 0 {
		t.Errorf("same input, replies %q and %q", first.Reply, again.Reply)
	}
	in.Attempt = 2
	other, _ := a.Propose(context.Background(), in)
	if other.Reply == first.Reply {
		t.Errorf("attempt 2 repeated attempt 1: %q", other.Reply)
	}
	// With the first reply measured, the same seed moves on.
	arch, err := sp.Parse(first.Reply)
	if err != nil {
		t.Fatalf("baseline reply %q does not parse: %v", first.Reply, err)
	}
	in.Attempt = 1
	in.History = []activities.Measured{{Iteration: 1, Arch: arch, Canonical: sp.Canonical(arch), Accuracy: 90}}
	moved, _ := a.Propose(context.Background(), in)
	if moved.Reply == first.Reply {
		t.Errorf("random proposer repeated a measured architecture %q", moved.Reply)
	}
}

func TestEvolutionMutatesBestOfTournament(t *testing.T) {
	a := &SearchActivities{}
	sp := mustSpace(t, "nas-bench-macro")
	var hist []activities.Measured
	for i, arch := range [][]int{{0, 0, 0, 0, 0, 0, 0, 0}, {1, 1, 1, 1, 1, 1, 1, 1}, {2, 2, 2, 2, 2, 2, 2, 2}} {
		hist = append(hist, activities.Measured{Iteration: i + 1, Arch: arch, Canonical: sp.Canonical(arch), Accuracy: float64(80 + i)})
	}
	// Tournament over the whole population: the winner is always the best.
	in := activities.ProposeInput{Space: sp.Name(), Proposer: specs.Proposer{Kind: specs.ProposerEvolution, Population: 3, Sample: 3}, History: hist, Iteration: 4, Attempt: 1}
	for seed := range int64(20) {
		in.Seed = seed
		res, err := a.Propose(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		child, err := sp.Parse(res.Reply)
		if err != nil {
			t.Fatal(err)
		}
		d := 0
		for i := range child {
			if child[i] != 2 {
				d++
			}
		}
		if d != 1 {
			t.Errorf("seed %d: child %v is not a one-position mutation of the best [2 ...]", seed, child)
		}
	}
	// A population not yet full gives random samples (not mutations of
	// anything in particular), still new ones.
	in.Proposer.Population = 5
	res, _ := a.Propose(context.Background(), in)
	child, _ := sp.Parse(res.Reply)
	for _, h := range hist {
		if sp.Canonical(child) == h.Canonical {
			t.Errorf("evolution repeated %v", h.Arch)
		}
	}
}

func TestRandomBaselineFitsWindow(t *testing.T) {
	a := &SearchActivities{}
	sp := mustSpace(t, space.ImageNetName)
	w := &specs.FLOPsWindow{MinM: 360, MaxM: 410, Input: 224, Classes: 1000}
	for it := 1; it <= 20; it++ {
		res, err := a.Propose(context.Background(), activities.ProposeInput{Space: sp.Name(), Proposer: specs.Proposer{Kind: specs.ProposerRandom}, FLOPs: w, Iteration: it, Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
		arch, err := sp.Parse(res.Reply)
		if err != nil {
			t.Fatal(err)
		}
		c, err := flops.MobileNetV2(arch, flops.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c.FLOPsM() < w.MinM || c.FLOPsM() > w.MaxM {
			t.Errorf("iteration %d: %v has %.2f M FLOPs", it, arch, c.FLOPsM())
		}
	}
}

const key = "sk-activities-test-91b2"

func llmActivities(t *testing.T, steps ...llmtest.Step) (*SearchActivities, *llmtest.Server) {
	srv := llmtest.New(t, steps...)
	return &SearchActivities{LLM: llm.New(llm.Config{APIKey: key, BaseURL: srv.URL, Timeout: time.Second})}, srv
}

func TestProposeLLM(t *testing.T) {
	a, srv := llmActivities(t, llmtest.Step{Reply: "[1, 0, 1, 0, 0, 1, 0, 0]", PromptTokens: 321, CompletionTokens: 12}, llmtest.Reply("[2, 2, 2, 2, 2, 2, 2, 2]"))
	in := activities.ProposeInput{
		Space: "nas-bench-macro", Proposer: specs.Proposer{Kind: specs.ProposerLLM, Model: "gpt-4", Temperature: 0.5, SendSeed: true},
		Seed: 40, Iteration: 2, Attempt: 1, Total: 10,
		History: []activities.Measured{{Iteration: 1, Arch: []int{0, 0, 0, 0, 0, 0, 0, 1}, Accuracy: 71.255}},
		Next:    activities.Next{Kind: activities.NextTask},
	}
	res, err := a.Propose(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.System == "" || res.Prompt == "" || res.Reply != "[1, 0, 1, 0, 0, 1, 0, 0]" || res.PromptTokens != 321 || res.CompletionTokens != 12 || res.Proposer != "llm" {
		t.Errorf("result %+v", res)
	}
	req := srv.Requests()[0]
	if len(req.Messages) != 2 || req.Messages[0].Content != res.System || req.Last() != res.Prompt {
		t.Errorf("sent %+v", req.Messages)
	}
	if !strings.Contains(res.Prompt, prompt.FormatAccuracy(71.255)) {
		t.Errorf("task lacks the past accuracy:\n%s", res.Prompt)
	}
	if req.Seed == nil || *req.Seed != 42 || req.Temperature == nil || *req.Temperature != 0.5 {
		t.Errorf("seed %v temperature %v", req.Seed, req.Temperature)
	}
	// A correction continues the conversation verbatim.
	in.Messages = []llm.Message{{Role: "system", Content: res.System}, {Role: "user", Content: res.Prompt}, {Role: "assistant", Content: res.Reply}}
	in.Next = activities.Next{Kind: activities.NextText, Text: "Please try again."}
	res2, err := a.Propose(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if res2.System != "" || res2.Prompt != "Please try again." || len(srv.Requests()[1].Messages) != 4 {
		t.Errorf("correction turn %+v", res2)
	}
}

func TestProposeLLMErrors(t *testing.T) {
	base := activities.ProposeInput{Space: "nas-bench-macro", Proposer: specs.Proposer{Kind: "llm", Model: "gpt-4"}, Iteration: 1, Attempt: 1, Next: activities.Next{Kind: activities.NextTask}}
	tests := []struct {
		name         string
		step         llmtest.Step
		typ          string
		nonRetryable bool
	}{
		{"429", llmtest.Status(http.StatusTooManyRequests), activities.ErrLLMUnavailable, false},
		{"500", llmtest.Status(http.StatusInternalServerError), activities.ErrLLMUnavailable, false},
		{"timeout", llmtest.Step{Hang: true}, activities.ErrLLMUnavailable, false},
		{"400", llmtest.Status(http.StatusBadRequest), activities.ErrLLMRequest, true},
		{"401 echoing the key", llmtest.Step{Status: http.StatusUnauthorized, ErrorMessage: "bad key " + key}, activities.ErrLLMRequest, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := llmActivities(t, tt.step)
			_, err := a.Propose(context.Background(), base)
			typ, nonRetryable := appErrorType(err)
			if typ != tt.typ || nonRetryable != tt.nonRetryable {
				t.Errorf("err %v: type %q non-retryable %v", err, typ, nonRetryable)
			}
			if strings.Contains(fmt.Sprint(err), key) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
	noLLM := &SearchActivities{}
	_, err := noLLM.Propose(context.Background(), base)
	if typ, nr := appErrorType(err); typ != activities.ErrBadInput || !nr || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Errorf("without endpoint: %v", err)
	}
	a, _ := llmActivities(t)
	in := base
	in.Next = activities.Next{Kind: activities.NextFeedback}
	if _, err := a.Propose(context.Background(), in); err == nil {
		t.Error("feedback without a last result accepted")
	}
}

func TestImageNetPromptHasWindowAndTable(t *testing.T) {
	p, err := LoadPrompter(space.ImageNetName, "")
	if err != nil {
		t.Fatal(err)
	}
	task, err := p.Task(activities.ProposeInput{Space: space.ImageNetName, FLOPs: &specs.FLOPsWindow{MinM: 280, MaxM: 330, Input: 224, Classes: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	// The window and an entry of the per-slot table (paper, stage 1 first slot, op 1).
	for _, want := range []string{"330", "280", "23.7855"} {
		if !strings.Contains(task, want) {
			t.Errorf("ImageNet task lacks %q", want)
		}
	}
}

func TestEvaluateAndBaseline(t *testing.T) {
	a := &SearchActivities{Catalog: bench.NewCatalog(dataDir(t))}
	nb := mustSpace(t, "nas-bench-201")
	drnas := []int{3, 3, 3, 1, 3, 3}
	r, err := a.Evaluate(context.Background(), activities.EvaluateInput{Benchmark: "nas-bench-201", Dataset: "cifar100", Space: "nas-bench-201", Arch: drnas})
	if err != nil {
		t.Fatal(err)
	}
	// The data README: the DrNAS cell on CIFAR-100 has test 73.51, valid 73.49.
	if r.Key != nb.Key(drnas) || prompt.FormatAccuracy(r.TestAccuracy) != "73.51" || prompt.FormatAccuracy(r.Accuracy) != "73.49" || r.Accuracy != r.ValAccuracy || r.Of != 15625 {
		t.Errorf("DrNAS on CIFAR-100: %+v", r)
	}
	if _, err := a.Evaluate(context.Background(), activities.EvaluateInput{Benchmark: "nas-bench-macro", Key: "33333333"}); err == nil {
		t.Error("unknown key accepted")
	} else if typ, nr := appErrorType(err); typ != activities.ErrBadInput || !nr {
		t.Errorf("unknown key: %v", err)
	}
	b, err := a.RandomBaseline(context.Background(), activities.BaselineInput{Benchmark: "nas-bench-macro", Samples: 10})
	if err != nil {
		t.Fatal(err)
	}
	if prompt.FormatAccuracy(b.Accuracy) != "92.43" || prompt.FormatAccuracy(b.Optimum) != "93.13" || b.Of != 6561 {
		t.Errorf("baseline %+v", b)
	}
	empty := &SearchActivities{Catalog: bench.NewCatalog(t.TempDir())}
	if _, err := empty.Evaluate(context.Background(), activities.EvaluateInput{Benchmark: "nas-bench-macro", Key: "10100100"}); err == nil || !strings.Contains(err.Error(), "genius data fetch") {
		t.Errorf("missing table: %v", err)
	}
}
