package recipe

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestEmbeddedJSONIsFlat: a type that embeds Recipe reads and writes the
// recipe's fields at its own level, as the types did before they shared it.
func TestEmbeddedJSONIsFlat(t *testing.T) {
	type spec struct {
		Space string `json:"space"`
		Recipe
		ValFraction float64 `json:"val_fraction,omitempty"`
	}
	in := `{"space":"s","epochs":3,"batch":8,"micro_batch":4,"lr":0.1,"momentum":0.8,"nesterov":true,"dropout":0.2,"seed":5,"val_fraction":0.1}`
	var s spec
	dec := json.NewDecoder(strings.NewReader(in))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		t.Fatal(err)
	}
	want := spec{Space: "s", Recipe: Recipe{Epochs: 3, Batch: 8, MicroBatch: 4, LR: 0.1, Momentum: 0.8, Nesterov: true, Dropout: 0.2, Seed: 5}, ValFraction: 0.1}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("decoded %+v, want %+v", s, want)
	}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("encoded %s, want %s", out, in)
	}
}

// TestWithDefaults: zero momentum is 0.9, negative stays negative (none)
// so that defaults applied twice change nothing; everything else off.
func TestWithDefaults(t *testing.T) {
	for _, tc := range []struct {
		in           Recipe
		wantMomentum float64
		wantRate     float64
	}{
		{Recipe{}, 0.9, 0.9},
		{Recipe{Momentum: 0.5}, 0.5, 0.5},
		{Recipe{Momentum: -1}, -1, 0},
	} {
		r := tc.in.WithDefaults()
		if r.Momentum != tc.wantMomentum || r.MomentumRate() != tc.wantRate || r.EMAInterval != 1 {
			t.Errorf("%+v: momentum %v (rate %v), EMA interval %d", tc.in, r.Momentum, r.MomentumRate(), r.EMAInterval)
		}
		if again := r.WithDefaults(); again != r {
			t.Errorf("%+v: defaults applied twice give %+v, once %+v", tc.in, again, r)
		}
		rest := r
		rest.Momentum, rest.EMAInterval = 0, 0
		if rest != (Recipe{}) {
			t.Errorf("%+v: defaults set other fields: %+v", tc.in, rest)
		}
	}
	for _, d := range []float64{0, -1} {
		if rate := (Recipe{Dropout: d}).DropoutRate(); rate != 0 {
			t.Errorf("dropout %v: rate %v, want none", d, rate)
		}
	}
}

// TestValidate names the JSON field of each problem and suggests a fix.
func TestValidate(t *testing.T) {
	if err := (Recipe{}).Validate(); err != nil {
		t.Errorf("zero recipe: %v", err)
	}
	paper := Recipe{Epochs: 500, Batch: 2048, MicroBatch: 256, LR: 0.8, Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5, LabelSmoothing: 0.1,
		WarmupEpochs: 5, Dropout: 0.2, RandAugmentN: 2, RandAugmentM: 9, RandomErasing: 0.2, EMADecay: 0.9999, Seed: 1}
	if err := paper.Validate(); err != nil {
		t.Errorf("the paper's recipe: %v", err)
	}
	for _, tc := range []struct {
		field, json string
		set         func(*Recipe)
		fix         string
	}{
		{"MicroBatch", "micro_batch", func(r *Recipe) { r.Batch, r.MicroBatch = 32, 12 }, "such as 8"},
		{"MicroBatch", "micro_batch", func(r *Recipe) { r.Batch, r.MicroBatch = 2048, -1 }, "divisor of batch 2048"},
		{"Epochs", "epochs", func(r *Recipe) { r.Epochs = -1 }, "positive"},
		{"LR", "lr", func(r *Recipe) { r.LR = -0.1 }, "positive"},
		{"Momentum", "momentum", func(r *Recipe) { r.Momentum = 1 }, "negative one for none"},
		{"WeightDecay", "weight_decay", func(r *Recipe) { r.WeightDecay = -1e-4 }, "0 for none"},
		{"LabelSmoothing", "label_smoothing", func(r *Recipe) { r.LabelSmoothing = 1 }, "0 for none"},
		{"WarmupEpochs", "warmup_epochs", func(r *Recipe) { r.Epochs, r.WarmupEpochs = 2, 3 }, "fewer epochs"},
		{"EMADecay", "ema_decay", func(r *Recipe) { r.EMADecay = 1 }, "0.9999"},
		{"ClipNorm", "clip_norm", func(r *Recipe) { r.ClipNorm = -1 }, "no clipping"},
		{"Dropout", "dropout", func(r *Recipe) { r.Dropout = 1 }, "0 for none"},
		{"MinScale", "min_scale", func(r *Recipe) { r.MinScale = 2 }, "0.08"},
		{"CropFraction", "crop_fraction", func(r *Recipe) { r.CropFraction = 1.5 }, "0.875"},
		{"RandAugmentM", "randaugment_m", func(r *Recipe) { r.RandAugmentM = 31 }, "m 9"},
		{"RandomErasing", "random_erasing", func(r *Recipe) { r.RandomErasing = 1.5 }, "0.2"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			r := paper
			tc.set(&r)
			err := r.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || fe.JSON() != tc.json {
				t.Fatalf("err %v, want a FieldError of %s", err, tc.field)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, tc.json+" ") || !strings.Contains(msg, tc.fix) {
				t.Errorf("message %q: want it to start with %s and say %q", msg, tc.json, tc.fix)
			}
		})
	}
}
