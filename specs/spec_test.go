package specs

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadySpecsLoad(t *testing.T) {
	want := []string{
		"channel-bench-mobilenet", "channel-bench-resnet", "imagenet-300m", "imagenet-400m",
		"imagenet-cpu-demo", "nas-bench-201-cifar10", "nas-bench-201-cifar100",
		"nas-bench-201-imagenet16-120", "nas-bench-macro",
	}
	if got := Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range want {
		t.Run(name, func(t *testing.T) {
			s, err := Ready(name)
			if err != nil {
				t.Fatal(err)
			}
			// The file on disk is the one `temporal workflow start --input-file` reads.
			fromDisk, err := Load(filepath.Join(".", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s, fromDisk) {
				t.Errorf("embedded and on-disk specs differ")
			}
			if s.Name != name {
				t.Errorf("name %q, want %q", s.Name, name)
			}
		})
	}
}

func TestImageNetWindowsArePapers(t *testing.T) {
	for _, tt := range []struct {
		spec       string
		flopsM     float64 // the architecture the paper found in the window
		minM, maxM float64 // the window of the paper's released search
	}{{"imagenet-300m", 329.41, 270, 330}, {"imagenet-400m", 401.50, 370, 430}} {
		s, err := Ready(tt.spec)
		if err != nil {
			t.Fatal(err)
		}
		if s.FLOPs == nil || s.FLOPs.MinM != tt.minM || s.FLOPs.MaxM != tt.maxM || !s.FLOPs.RoundMillions {
			t.Fatalf("%s window %+v, want [%g, %g] M rounded to whole millions", tt.spec, s.FLOPs, tt.minM, tt.maxM)
		}
		if !s.FLOPs.Contains(tt.flopsM) {
			t.Errorf("%s window %+v does not hold %.2f M", tt.spec, s.FLOPs, tt.flopsM)
		}
		if s.Evaluator.Kind != EvaluatorProxyTrain || s.Evaluator.TaskQueue != "genius-gpu" {
			t.Errorf("%s evaluator %+v", tt.spec, s.Evaluator)
		}
	}
}

func TestDefaults(t *testing.T) {
	s, err := Parse([]byte(`{"space":"nas-bench-macro"}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Iterations != 10 || s.MaxAttempts != 10 || s.Conversation != ConversationFresh ||
		s.OnIterationFailure != OnFailureContinue || s.Proposer.Kind != ProposerLLM ||
		s.Proposer.Model != DefaultModel || s.Benchmark != "nas-bench-macro" ||
		s.Evaluator.Kind != EvaluatorLookup || !s.UseSearchAttributes() ||
		s.Experiment.Trials != 3 || s.Proposer.TimeoutS != 180 {
		t.Errorf("defaults not applied: %+v", s)
	}
	img, err := Parse([]byte(`{"space":"mobilenetv2-imagenet","proposer":{"kind":"evolution"},"flops":{"min_m":1,"max_m":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	if img.Evaluator.Kind != EvaluatorProxyTrain || img.Evaluator.TaskQueue != DefaultTrainTaskQueue ||
		img.Evaluator.Train == nil || img.Evaluator.Train.TimeoutM != DefaultTrainTimeoutM ||
		img.Proposer.Population != 5 || img.Proposer.Sample != 2 || img.FLOPs.Input != 224 || img.FLOPs.Classes != 1000 {
		t.Errorf("imagenet defaults not applied: %+v %+v", img, img.Evaluator.Train)
	}
}

func TestValidationNamesFieldAndFix(t *testing.T) {
	tests := []struct {
		name, json, field, fix string
	}{
		{"missing space", `{}`, "space", "set it to one of"},
		{"unknown space", `{"space":"darts"}`, "space", "use one of"},
		{"bad iterations", `{"space":"nas-bench-macro","iterations":-1}`, "iterations", "from 1 to"},
		{"bad attempts", `{"space":"nas-bench-macro","max_attempts":-3}`, "max_attempts", "attempts per iteration"},
		{"bad conversation", `{"space":"nas-bench-macro","conversation":"forever"}`, "conversation", `"fresh"`},
		{"bad failure", `{"space":"nas-bench-macro","on_iteration_failure":"panic"}`, "on_iteration_failure", `"continue" or "stop"`},
		{"bad proposer", `{"space":"nas-bench-macro","proposer":{"kind":"oracle"}}`, "proposer.kind", `"llm", "random" or "evolution"`},
		{"hot temperature", `{"space":"nas-bench-macro","proposer":{"temperature":3}}`, "proposer.temperature", "0 to 2"},
		{"bad sample", `{"space":"nas-bench-macro","proposer":{"kind":"evolution","population":3,"sample":4}}`, "proposer.sample", "1 to proposer.population"},
		{"empty window", `{"space":"mobilenetv2-imagenet","flops":{"min_m":330,"max_m":280}}`, "flops", "min_m < flops.max_m"},
		{"window on table", `{"space":"nas-bench-macro","flops":{"min_m":1,"max_m":2}}`, "flops", "remove the field"},
		{"lookup imagenet", `{"space":"mobilenetv2-imagenet","evaluator":{"kind":"lookup"}}`, "evaluator.kind", `"proxy-train"`},
		{"bad trials", `{"space":"nas-bench-macro","experiment":{"trials":-1}}`, "experiment.trials", "use 1 to"},
		{"unknown field", `{"space":"nas-bench-macro","iteration":3}`, "iteration", "schema.json"},
		{"key in spec", `{"space":"nas-bench-macro","api_key":"sk-123"}`, "api_key", "OPENAI_API_KEY"},
		{"camel-case key", `{"space":"nas-bench-macro","apiKey":"sk-123"}`, "apiKey", "OPENAI_API_KEY"},
		{"nested password", `{"space":"nas-bench-macro","proposer":{"Password":"sk-123"}}`, "proposer.Password", "rotate"},
		{"token in an unknown object", `{"space":"nas-bench-macro","llm":{"OPENAI_TOKEN":"sk-123"}}`, "llm.OPENAI_TOKEN", "OPENAI_API_KEY"},
		{"secret in retrain", `{"space":"nas-bench-macro","retrain":{"spec":{"data":{"s3_secret":"sk-123"}}}}`, "retrain.spec.data.s3_secret", "OPENAI_API_KEY"},
		{"wrong type", `{"space":"nas-bench-macro","iterations":"ten"}`, "iterations", "give a int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json))
			if err == nil {
				t.Fatal("no error")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("%v is not a FieldError", err)
			}
			found := false
			for _, e := range flatten(err) {
				if errors.As(e, &fe) && fe.Field == tt.field && strings.Contains(e.Error(), tt.fix) {
					found = true
				}
			}
			if !found {
				t.Errorf("error %q does not name field %q with fix %q", err, tt.field, tt.fix)
			}
			if strings.Contains(err.Error(), "sk-123") {
				t.Errorf("error repeats the key: %v", err)
			}
		})
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// namesField reports whether one of err's errors is a FieldError for field
// whose message gives fix.
func namesField(err error, field, fix string) bool {
	for _, e := range flatten(err) {
		var fe *FieldError
		if errors.As(e, &fe) && fe.Field == field && strings.Contains(e.Error(), fix) {
			return true
		}
	}
	return false
}

// TestSchemaCoversSpec keeps schema.json and the Go type in step: every JSON
// field of Spec (recursively) has a schema property and vice versa.
func TestSchemaCoversSpec(t *testing.T) {
	var schema map[string]any
	if err := json.Unmarshal(Schema(), &schema); err != nil {
		t.Fatal(err)
	}
	compare(t, "", reflect.TypeFor[Spec](), schema)
}

func compare(t *testing.T, path string, typ reflect.Type, schema map[string]any) {
	t.Helper()
	props, _ := schema["properties"].(map[string]any)
	seen := map[string]bool{}
	for _, f := range reflect.VisibleFields(typ) {
		if f.Anonymous || !f.IsExported() {
			continue // an embedded struct's fields are listed too, as JSON inlines them
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		seen[name] = true
		p, ok := props[name].(map[string]any)
		if !ok {
			t.Errorf("schema.json lacks %s%s", path, name)
			continue
		}
		if _, ok := p["description"]; !ok && p["type"] != "object" {
			if _, ok := p["default"]; !ok && len(p) <= 2 && path == "" {
				t.Errorf("schema.json %s%s has no description", path, name)
			}
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct {
			compare(t, path+name+".", ft, p)
		}
	}
	for name := range props {
		if !seen[name] {
			t.Errorf("schema.json documents %s%s, which Spec does not have", path, name)
		}
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

func TestFLOPsWindowRounding(t *testing.T) {
	exact := FLOPsWindow{MinM: 270, MaxM: 330}
	rounded := FLOPsWindow{MinM: 270, MaxM: 330, RoundMillions: true}
	for _, tt := range []struct {
		w           FLOPsWindow
		fM          float64
		figure, out float64
	}{
		{rounded, 330.2, 330, 0},
		{rounded, 330.6, 331, 1},
		{rounded, 330.5, 331, 1}, // half away from zero
		{rounded, 269.5, 270, 0},
		{rounded, 269.4, 269, -1},
		{exact, 330.5, 330.5, 0.5},
		{exact, 330, 330, 0}, // inclusive
		{exact, 270, 270, 0},
	} {
		if got := tt.w.Figure(tt.fM); got != tt.figure {
			t.Errorf("%+v Figure(%v) = %v, want %v", tt.w, tt.fM, got, tt.figure)
		}
		if got := tt.w.Excess(tt.fM); got != tt.out {
			t.Errorf("%+v Excess(%v) = %v, want %v", tt.w, tt.fM, got, tt.out)
		}
		if got := tt.w.Contains(tt.fM); got != (tt.out == 0) {
			t.Errorf("%+v Contains(%v) = %v", tt.w, tt.fM, got)
		}
	}
}
