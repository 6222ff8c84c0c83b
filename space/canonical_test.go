package space

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/genius-nas/genius/testenv"
)

func TestImageNetCanonical(t *testing.T) {
	s := mustNew(t, ImageNetName)
	base := Arch{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	tests := []struct {
		name string
		a, b Arch
		same bool
	}{
		{"zeros move within stage 1", base, with(base, map[int]int{1: 1, 4: 0}), true},
		{"order of non-zero ops matters", with(base, map[int]int{12: 4, 14: 3, 15: 4}), with(base, map[int]int{12: 4, 14: 4, 15: 3}), false},
		{"slot 0 zero is a projection, not a removal", with(base, map[int]int{0: 0, 1: 1}), with(base, map[int]int{0: 1, 1: 0}), false},
		{"depth differs", base, with(base, map[int]int{5: 1}), false},
		{"stages do not mix", with(base, map[int]int{4: 0, 5: 1}), base, true},
		{"stage 1 op moves to stage 2", with(base, map[int]int{4: 0, 10: 0, 11: 1}), with(base, map[int]int{4: 1, 10: 1}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := s.Canonical(tt.a), s.Canonical(tt.b)
			if (ka == kb) != tt.same {
				t.Fatalf("Canonical(%v) = %s, Canonical(%v) = %s, same = %v, want %v", tt.a, ka, tt.b, kb, ka == kb, tt.same)
			}
			if s.Key(tt.a) != ka {
				t.Errorf("Key and Canonical differ for %v", tt.a)
			}
		})
	}
	if got := s.Canonical(base); got != "110000-111100-443000-434400-555500" {
		t.Errorf("Canonical(GENIUS-329) = %s", got)
	}
	// The canonical layout builds the same layers as any layout of its group.
	r := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < 300; i++ {
		a := s.Sample(r)
		c, err := s.Decode(s.Canonical(a))
		if err != nil {
			t.Fatal(err)
		}
		la, _ := ImageNetLayers(a)
		lc, _ := ImageNetLayers(c)
		if len(la) != len(lc) {
			t.Fatalf("%v and its canonical %v build %d and %d layers", a, c, len(la), len(lc))
		}
		for j := range la {
			x, y := la[j], lc[j]
			x.Slot, y.Slot = 0, 0 // slot numbers differ, the layers do not
			if x != y {
				t.Fatalf("%v layer %d = %+v, canonical %v gives %+v", a, j, la[j], c, lc[j])
			}
		}
	}
}

func with(a Arch, set map[int]int) Arch {
	b := a.Clone()
	for i, v := range set {
		b[i] = v
	}
	return b
}

func TestMacroCanonical(t *testing.T) {
	s := mustNew(t, NASBenchMacroName)
	tests := []struct{ a, want string }{
		{"10100100", "10100100"},
		{"12001020", "12010020"},
		{"00000000", "00000000"},
		{"20202020", "20220020"},
		{"22212202", "22212220"},
	}
	for _, tt := range tests {
		a, err := s.Decode(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Canonical(a); got != tt.want {
			t.Errorf("Canonical(%s) = %s, want %s", tt.a, got, tt.want)
		}
	}
}

// TestMacroCanonicalMatchesTable checks the canonical rule against the
// benchmark: the table stores one trained network per canonical group, so
// keys in one group have identical accuracies, and there are 3969 groups.
func TestMacroCanonicalMatchesTable(t *testing.T) {
	path := filepath.Join(dataDir(t), "nas-bench-macro", "nas-bench-macro_cifar10.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		testenv.Missing(t, "NAS-Bench-Macro table not available (%v): run `genius data fetch` or set GENIUS_DATA_DIR", err)
	}
	var table map[string]struct {
		MeanAcc float64   `json:"mean_acc"`
		TestAcc []float64 `json:"test_acc"`
	}
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	if len(table) != 6561 {
		t.Fatalf("table has %d keys, want 6561", len(table))
	}
	s := mustNew(t, NASBenchMacroName)
	groups := map[string][]string{}
	for key := range table {
		a, err := s.Decode(key)
		if err != nil {
			t.Fatalf("table key %q: %v", key, err)
		}
		groups[s.Canonical(a)] = append(groups[s.Canonical(a)], key)
	}
	if len(groups) != 3969 {
		t.Errorf("%d canonical groups, want 3969", len(groups))
	}
	sizes := map[int]int{}
	for c, keys := range groups {
		sizes[len(keys)]++
		for _, k := range keys[1:] {
			if table[k].MeanAcc != table[keys[0]].MeanAcc || fmt.Sprint(table[k].TestAcc) != fmt.Sprint(table[keys[0]].TestAcc) {
				t.Errorf("group %s: %s has mean_acc %v, %s has %v", c, keys[0], table[keys[0]].MeanAcc, k, table[k].MeanAcc)
			}
		}
	}
	for n := range sizes {
		if n != 1 && n != 2 && n != 4 {
			t.Errorf("a canonical group has %d keys, want 1, 2 or 4", n)
		}
	}
	// The rule merges no more than the table does: each group's three
	// trainings differ from every other group's.
	distinct := map[string]bool{}
	for _, keys := range groups {
		distinct[fmt.Sprint(table[keys[0]].TestAcc)] = true
	}
	if len(distinct) != len(groups) {
		t.Errorf("%d distinct training results over %d groups", len(distinct), len(groups))
	}
}
