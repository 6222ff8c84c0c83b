package specs

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/genius-nas/genius/specs/secretfield"
)

// FuzzParse feeds Parse malformed, truncated and mutated specs: it must
// return an error or a valid spec, never panic, and a spec it accepts must
// survive a JSON round trip unchanged (what the CLI submits is what the
// workflow runs).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("*.json")
	for _, p := range files {
		if strings.HasSuffix(p, "schema.json") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	for _, s := range []string{`{}`, `{"space":"nas-bench-macro","api_key":"x"}`, `{"space":"nas-bench-201","flops":{"min_m":1e308,"max_m":-1e308}}`,
		`{"space":"mobilenetv2-imagenet","retrain":{"ready":"paper","spec":{}}}`, `[]`, `null`, `{"space":"nas-bench-macro"}{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\x00") {
				t.Errorf("error holds a NUL byte: %q", err)
			}
			return
		}
		if len(secretfield.Find(data, reflect.TypeFor[Spec]())) > 0 {
			t.Fatalf("accepted a spec with key-like fields: %s", data)
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("accepted spec does not encode: %v", err)
		}
		s2, err := Parse(again)
		if err != nil {
			t.Fatalf("accepted spec %s fails to parse after a round trip: %v", again, err)
		}
		if !reflect.DeepEqual(s, s2) {
			t.Fatalf("round trip changed the spec:\n%+v\n%+v", s, s2)
		}
	})
}
