package retrain

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestTransferChain(t *testing.T) {
	base := `{"space":"mobilenetv2-imagenet","arch":[1,2],"epochs":2,"batch":4,"lr":0.1,"transfer":[%s]}`
	s, err := Parse([]byte(fmt.Sprintf(base, `{"data":{"dir":"/c","format":"cifar100"},"epochs":3,"batch":8,"lr":0.01}`)))
	if err != nil {
		t.Fatal(err)
	}
	ts := s.TransferSpecs("retrain/r/step-000000004.ckpt")
	if len(ts) != 1 || ts[0].Space != s.Space || !slices.Equal(ts[0].Arch, s.Arch) || ts[0].FromCheckpoint != "retrain/r/step-000000004.ckpt" ||
		ts[0].Input != DefaultInput || ts[0].TaskQueue != DefaultTaskQueue {
		t.Fatalf("chained specs %+v", ts)
	}
	for _, tc := range []struct{ entry, errPart string }{
		{`{"epochs":3,"batch":8}`, "transfer[0]: lr 0"},
		{`{"epochs":1,"batch":8,"lr":0.1,"transfer":[{"epochs":1,"batch":1,"lr":1}]}`, "transfer[0].transfer"},
		{`{"epochs":1,"batch":8,"lr":0.1,"data":{"format":"svhn"}}`, "transfer[0]: data.format"},
	} {
		if _, err := Parse([]byte(fmt.Sprintf(base, tc.entry))); err == nil || !strings.Contains(err.Error(), tc.errPart) {
			t.Errorf("%s: err = %v, want containing %q", tc.entry, err, tc.errPart)
		}
	}
}
