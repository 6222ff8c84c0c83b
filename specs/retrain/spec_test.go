package retrain

import (
	"strings"
	"testing"

	"github.com/genius-nas/genius/specs/recipe"
)

func TestReadySpecs(t *testing.T) {
	if got := strings.Join(Names(), " "); got != "cpu-demo paper" {
		t.Fatalf("Names() = %q", got)
	}
	p, err := Ready("paper")
	if err != nil {
		t.Fatal(err)
	}
	// The paper's final retraining recipe (section 5).
	if p.Epochs != 500 || p.Batch != 2048 || p.LR != 0.8 || p.Momentum != 0.9 || !p.Nesterov || p.WeightDecay != 4e-5 ||
		p.WarmupEpochs != 5 || p.LabelSmoothing != 0.1 || p.Dropout != 0.2 || p.RandAugmentN != 2 || p.RandAugmentM != 9 ||
		p.RandomErasing != 0.2 || p.EMADecay <= 0 || p.Input != 224 || p.Classes != 1000 || p.TaskQueue != "genius-gpu" {
		t.Errorf("paper spec %+v", p)
	}
	d, err := Ready("cpu-demo.json")
	if err != nil {
		t.Fatal(err)
	}
	if d.Steps != 0 || d.Epochs*d.Data.TrainSamples/d.Batch > 64 || d.Data.Dir != "" {
		t.Errorf("cpu demo is not small: %+v", d)
	}
	if _, err := Ready("nope"); err == nil || !strings.Contains(err.Error(), "cpu-demo, paper") {
		t.Errorf("unknown name: %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := Spec{Space: "mobilenetv2-imagenet", Arch: make([]int, 30), Recipe: recipe.Recipe{Epochs: 2, Batch: 8, LR: 0.1}}
	tests := []struct {
		name string
		edit func(*Spec)
		want string
	}{
		{"ok", func(*Spec) {}, ""},
		{"no arch", func(s *Spec) { s.Arch = nil }, "arch is empty"},
		{"no epochs", func(s *Spec) { s.Epochs = 0 }, "epochs 0"},
		{"smoothing", func(s *Spec) { s.LabelSmoothing = 1 }, "label_smoothing"},
		{"warmup", func(s *Spec) { s.WarmupEpochs = 3 }, "warmup_epochs"},
		{"erasing", func(s *Spec) { s.RandomErasing = 1.5 }, "random_erasing"},
		{"randaugment", func(s *Spec) { s.RandAugmentM = 31 }, "randaugment"},
		{"ema", func(s *Spec) { s.EMADecay = 1 }, "ema_decay"},
		{"format", func(s *Spec) { s.Data.Format = "tfrecord" }, "data.format"},
		{"run", func(s *Spec) { s.CheckpointRun = "../up" }, "run"},
		{"chunk", func(s *Spec) { s.ChunkEpochs = 5 }, "chunk_epochs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := ok
			tc.edit(&s)
			err := s.WithDefaults().Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want containing %q", err, tc.want)
			}
		})
	}
	if _, err := Parse([]byte(`{"space":"x","arch":[1],"epochs":1,"batch":1,"lr":1,"lr_typo":2}`)); err == nil || !strings.Contains(err.Error(), "lr_typo") {
		t.Errorf("unknown field: %v", err)
	}
}
