package cocoeval

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/genius-nas/genius/cocoeval/cocoevaltest"
)

type expectation struct {
	Stats         map[string]float64 `json:"stats"`
	PerCategoryAP map[string]float64 `json:"per_category_AP"`
}

func readFixture(t *testing.T, dir string) (*GroundTruth, []Detection, expectation) {
	t.Helper()
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	gt, err := ReadGroundTruth(open("gt.json"))
	if err != nil {
		t.Fatalf("gt.json: %v", err)
	}
	dts, err := ReadDetections(open("dt.json"))
	if err != nil {
		t.Fatalf("dt.json: %v", err)
	}
	var want expectation
	if err := json.NewDecoder(open("expected.json")).Decode(&want); err != nil {
		t.Fatalf("expected.json: %v", err)
	}
	if len(want.Stats) != 12 {
		t.Fatalf("expected.json has %d stats, want 12", len(want.Stats))
	}
	return gt, dts, want
}

// TestReferenceCases checks every case the reference implementation
// scored, with one worker and with several, to 1e-9.
func TestReferenceCases(t *testing.T) {
	for _, dir := range cocoevaltest.Cases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			gt, dts, want := readFixture(t, dir)
			for _, workers := range []int{1, 4} {
				// Several workers with tiny chunks split every category.
				res, err := Evaluate(context.Background(), gt, dts, Options{Workers: workers, chunk: 3 * (workers - 1)})
				if err != nil {
					t.Fatal(err)
				}
				got, err := json.Marshal(res.Stats)
				if err != nil {
					t.Fatal(err)
				}
				var gotStats map[string]float64
				if err := json.Unmarshal(got, &gotStats); err != nil {
					t.Fatal(err)
				}
				for name, w := range want.Stats {
					g, ok := gotStats[name]
					if !ok {
						t.Errorf("workers %d: no stat %s", workers, name)
					} else if math.Abs(g-w) > 1e-9 {
						t.Errorf("workers %d: %s = %.17g, reference %.17g (off by %.3g)", workers, name, g, w, g-w)
					}
				}
				if len(res.PerCategory) != len(want.PerCategoryAP) {
					t.Errorf("workers %d: %d categories, reference %d", workers, len(res.PerCategory), len(want.PerCategoryAP))
				}
				for _, c := range res.PerCategory {
					w, ok := want.PerCategoryAP[strconv.FormatInt(c.ID, 10)]
					if !ok {
						t.Errorf("workers %d: category %d not in the reference", workers, c.ID)
					} else if math.Abs(c.AP-w) > 1e-9 {
						t.Errorf("workers %d: category %d AP = %.17g, reference %.17g", workers, c.ID, c.AP, w)
					}
				}
			}
		})
	}
}
