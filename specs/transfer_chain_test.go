package specs

import (
	"strings"
	"testing"
)

// A search chains transfers through its retraining's spec.
func TestSearchChainsTransferThroughRetrain(t *testing.T) {
	const base = `{"space":"mobilenetv2-imagenet","retrain":{"spec":{"epochs":1,"batch":8,"lr":0.1,"transfer":[%s]}}}`
	s, err := Parse([]byte(strings.Replace(base, "%s", `{"data":{"dir":"/c","format":"cifar10"},"epochs":2,"batch":8,"lr":0.01}`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Retrain.Resolve(s.Space)
	if err != nil {
		t.Fatal(err)
	}
	if ts := r.TransferSpecs("k"); len(ts) != 1 || ts[0].Space != s.Space || ts[0].Data.Format != "cifar10" {
		t.Fatalf("chained transfers %+v", ts)
	}
	_, err = Parse([]byte(strings.Replace(base, "%s", `{"epochs":2,"batch":8}`, 1)))
	if err == nil || !strings.Contains(err.Error(), "transfer[0]: lr") {
		t.Fatalf("a transfer without lr: %v", err)
	}
}
