package retrain

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse feeds the retrain spec parser malformed and mutated specs: an
// error or a spec that validates and survives a JSON round trip, never a
// panic.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(`{"space":"mobilenetv2-imagenet","arch":[1],"epochs":1,"batch":1,"lr":1e308,"chunk_epochs":-1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a spec that does not validate: %v", err)
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("accepted spec does not encode: %v", err)
		}
		s2, err := Parse(again)
		if err != nil || !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip of %s: %v\n%+v\n%+v", again, err, s, s2)
		}
	})
}
