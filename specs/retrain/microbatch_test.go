package retrain

import (
	"strings"
	"testing"
)

func TestMicroBatchSetting(t *testing.T) {
	s, err := Parse([]byte(`{"space":"mobilenetv2-imagenet","arch":[1],"epochs":1,"batch":2048,"lr":0.8,"micro_batch":256}`))
	if err != nil || s.MicroBatch != 256 {
		t.Fatalf("micro_batch 256 of 2048: %+v, %v", s, err)
	}
	for _, bad := range []string{`"micro_batch":300`, `"micro_batch":-1`} {
		_, err := Parse([]byte(`{"space":"mobilenetv2-imagenet","arch":[1],"epochs":1,"batch":2048,"lr":0.8,` + bad + `}`))
		if err == nil || !strings.Contains(err.Error(), "micro_batch") || !strings.Contains(err.Error(), "divisor of batch 2048") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
