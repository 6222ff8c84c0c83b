package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/genius-nas/genius/cocoeval/cocoevaltest"
)

// TestCocoEvalCommand runs genius coco-eval on every reference case and
// checks its JSON against the reference's numbers, and its table against
// the reference's summary lines.
func TestCocoEvalCommand(t *testing.T) {
	for _, dir := range cocoevaltest.Cases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			gt, dt := filepath.Join(dir, "gt.json"), filepath.Join(dir, "dt.json")
			out, err := runGenius(t, "coco-eval", "--gt", gt, "--dt", dt, "--json")
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			got := decodeCocoEval(t, out)
			var want struct {
				Stats         map[string]float64 `json:"stats"`
				PerCategoryAP map[string]float64 `json:"per_category_AP"`
			}
			data, err := os.ReadFile(filepath.Join(dir, "expected.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			for name, w := range want.Stats {
				if g, ok := got.Stats[name]; !ok || math.Abs(g-w) > 1e-9 {
					t.Errorf("%s = %v (present %v), reference %v", name, g, ok, w)
				}
			}
			if len(got.PerCategoryAP) != len(want.PerCategoryAP) {
				t.Errorf("per_category_AP has %d categories, reference %d", len(got.PerCategoryAP), len(want.PerCategoryAP))
			}
			for id, w := range want.PerCategoryAP {
				if g, ok := got.PerCategoryAP[id]; !ok || math.Abs(g-w) > 1e-9 {
					t.Errorf("per_category_AP[%s] = %v (present %v), reference %v", id, g, ok, w)
				}
			}

			out, err = runGenius(t, "coco-eval", "--gt", gt, "--dt", dt)
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			line := regexp.MustCompile(`(?m)^ Average Precision  \(AP\) @\[ IoU=0\.50:0\.95 \| area=   all \| maxDets=100 \] = (-?\d\.\d{3})$`)
			m := line.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no AP summary line in:\n%s", out)
			}
			if w := strconv.FormatFloat(want.Stats["AP"], 'f', 3, 64); m[1] != w {
				t.Errorf("AP line says %s, reference %s", m[1], w)
			}
			if n := strings.Count(out, "@[ IoU="); n != 12 {
				t.Errorf("%d summary lines, want 12:\n%s", n, out)
			}
		})
	}
}

type cocoEvalJSON struct {
	Stats         map[string]float64
	PerCategoryAP map[string]float64
}

func decodeCocoEval(t *testing.T, out string) cocoEvalJSON {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &fields); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	got := cocoEvalJSON{Stats: map[string]float64{}}
	for name, raw := range fields {
		var err error
		if name == "per_category_AP" {
			err = json.Unmarshal(raw, &got.PerCategoryAP)
		} else {
			var v float64
			err = json.Unmarshal(raw, &v)
			got.Stats[name] = v
		}
		if err != nil {
			t.Fatalf("%s: %v in %q", name, err, out)
		}
	}
	if len(got.Stats) != 12 {
		t.Errorf("%d stats, want 12: %s", len(got.Stats), out)
	}
	return got
}

// TestCocoEvalCommandOrdersCategories checks per_category_AP lists ids in
// numeric order, as a reader expects (a plain map would put 10 before 4).
func TestCocoEvalCommandOrdersCategories(t *testing.T) {
	dir := t.TempDir()
	gt := filepath.Join(dir, "gt.json")
	dt := filepath.Join(dir, "dt.json")
	write(t, gt, `{"images": [{"id": 1}], "categories": [{"id": 10, "name": "ten"}, {"id": 4, "name": "four"}],
		"annotations": [{"id": 1, "image_id": 1, "category_id": 4, "bbox": [0, 0, 50, 50], "area": 2500, "iscrowd": 0}]}`)
	write(t, dt, `[{"image_id": 1, "category_id": 4, "bbox": [0, 0, 50, 50], "score": 0.9}]`)
	out, err := runGenius(t, "coco-eval", "--gt", gt, "--dt", dt, "--json")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if i4, i10 := strings.Index(out, `"4":`), strings.Index(out, `"10":`); i4 < 0 || i10 < i4 {
		t.Errorf("output %s lacks per_category_AP in id order", out)
	}
	// A perfect detection scores 1/(1+ε) in the reference, not 1.
	got := decodeCocoEval(t, out)
	if math.Abs(got.Stats["AP"]-1) > 1e-12 || got.Stats["APs"] != -1 || got.PerCategoryAP["10"] != -1 {
		t.Errorf("output %s: want AP 1, APs -1 and category 10 -1", out)
	}
}

func TestCocoEvalCommandErrors(t *testing.T) {
	dir := t.TempDir()
	gt := filepath.Join(dir, "gt.json")
	write(t, gt, `{"images": [{"id": 1}], "categories": [{"id": 4}], "annotations": []}`)
	bad := filepath.Join(dir, "bad.json")
	write(t, bad, `[{"image_id": 1, "category_id": 4, "bbox": [0, 0, 5, 5], "score": 0.9},
		{"image_id": 2, "category_id": 4, "bbox": [0, 0, 5, 5], "score": 0.8}]`)
	notJSON := filepath.Join(dir, "not.json")
	write(t, notJSON, "image_id,score\n1,0.5\n")
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--dt", bad}, []string{"--gt is required"}},
		{[]string{"--gt", gt}, []string{"--dt is required"}},
		{[]string{"--gt", gt, "--dt", bad}, []string{"--dt " + bad, "detections[1] (image_id 2, category_id 4)", "image_id 2 is not among"}},
		{[]string{"--gt", gt, "--dt", notJSON}, []string{"--dt " + notJSON, "JSON array of detections; this one is not JSON"}},
		{[]string{"--gt", notJSON, "--dt", bad}, []string{"--gt " + notJSON, "JSON object"}},
		{[]string{"--gt", filepath.Join(dir, "missing.json"), "--dt", bad}, []string{"--gt", "no such file"}},
	}
	for _, tt := range tests {
		out, err := runGenius(t, append([]string{"coco-eval"}, tt.args...)...)
		if err == nil {
			t.Errorf("%v: no error; output %s", tt.args, out)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q does not say %q", tt.args, err, w)
			}
		}
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An annotation with id 0 is never counted as found by the reference; the
// command says so rather than leave a silently low AP.
func TestCocoEvalCommandWarnsOnIDZero(t *testing.T) {
	dir := t.TempDir()
	gt := filepath.Join(dir, "gt.json")
	dt := filepath.Join(dir, "dt.json")
	write(t, gt, `{"images": [{"id": 1}], "categories": [{"id": 4}],
		"annotations": [{"id": 0, "image_id": 1, "category_id": 4, "bbox": [0, 0, 50, 50], "area": 2500, "iscrowd": 0}]}`)
	write(t, dt, `[{"image_id": 1, "category_id": 4, "bbox": [0, 0, 50, 50], "score": 0.9}]`)
	out, err := runGenius(t, "coco-eval", "--gt", gt, "--dt", dt)
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(out, "annotations[0] has id 0") {
		t.Errorf("no warning about id 0 in:\n%s", out)
	}
}
