package specs

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/genius-nas/genius/specs/recipe"
	"github.com/genius-nas/genius/specs/retrain"
)

// TestProxyRecipe: evaluator.train takes the recipe fields of a retrain
// spec, checked by the same rules and named under evaluator.train; its
// seed is the search's alone.
func TestProxyRecipe(t *testing.T) {
	s, err := Parse([]byte(`{"space":"mobilenetv2-imagenet","evaluator":{"train":{"batch":256,"lr":0.1,"nesterov":true,"label_smoothing":0.1,"dropout":0.1,"ema_decay":0.99}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := recipe.Recipe{Batch: 256, LR: 0.1, Nesterov: true, LabelSmoothing: 0.1, Dropout: 0.1, EMADecay: 0.99}
	if got := s.Evaluator.Train.Recipe; got != want {
		t.Errorf("recipe %+v, want %+v (defaults are proxy training's, left to it)", got, want)
	}
	// The same rules as a retrain spec's, under evaluator.train.
	for _, tc := range []struct{ json, field, fix string }{
		{`{"label_smoothing":1}`, "label_smoothing", "0 for none"},
		{`{"ema_decay":1.5}`, "ema_decay", "0.9999"},
		{`{"momentum":1}`, "momentum", "negative one for none"},
		{`{"epochs":-2}`, "epochs", "positive"},
		{`{"seed":3}`, "seed", "the spec's seed"},
	} {
		_, err := Parse([]byte(`{"space":"mobilenetv2-imagenet","evaluator":{"train":` + tc.json + `}}`))
		var fe *FieldError
		found := false
		for _, e := range flatten(err) {
			if errors.As(e, &fe) && fe.Field == "evaluator.train."+tc.field && strings.Contains(e.Error(), tc.fix) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %v, want a problem with evaluator.train.%s saying %q", tc.json, err, tc.field, tc.fix)
		}
		r := retrain.Spec{Space: "mobilenetv2-imagenet", Arch: []int{0}, Recipe: recipe.Recipe{Epochs: 1, Batch: 8, LR: 0.1}}
		if tc.field == "seed" || json.Unmarshal([]byte(tc.json), &r) != nil {
			continue
		}
		if err := r.WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), tc.fix) {
			t.Errorf("retrain spec with %s: %v", tc.json, err)
		}
	}
}
