package specs

import (
	"errors"
	"strings"
	"testing"
)

func TestProxyMicroBatch(t *testing.T) {
	s, err := Parse([]byte(`{"space":"mobilenetv2-imagenet","evaluator":{"train":{"batch":1024,"micro_batch":128}}}`))
	if err != nil || s.Evaluator.Train.MicroBatch != 128 {
		t.Fatalf("micro_batch 128 of 1024: %v", err)
	}
	for _, tc := range []struct{ json, fix string }{
		{`{"batch":1024,"micro_batch":100}`, "divisor of batch"},
		{`{"micro_batch":128}`, "set batch too"},
	} {
		_, err := Parse([]byte(`{"space":"mobilenetv2-imagenet","evaluator":{"train":` + tc.json + `}}`))
		var fe *FieldError
		found := false
		for _, e := range flatten(err) {
			if errors.As(e, &fe) && fe.Field == "evaluator.train.micro_batch" && strings.Contains(e.Error(), tc.fix) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %v", tc.json, err)
		}
	}
}
