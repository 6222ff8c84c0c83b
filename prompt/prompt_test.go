package prompt

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/genius-nas/genius/space"
)

func mustLoad(t *testing.T, sp, dir string) *Templates {
	t.Helper()
	tp, err := Load(sp, dir)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// paperTable is the paper's per-slot table with the paper's fixed layers.
func paperTable() *SlotTable {
	return &SlotTable{
		First: [5][7]float64{
			{1.5053, 23.7855, 26.9967, 31.8136, 35.5292, 40.3461, 47.5715},
			{0.8781, 12.5486, 13.7528, 15.5592, 18.7648, 20.5711, 23.2806},
			{0.6899, 8.5114, 9.0131, 9.7658, 12.7472, 13.4998, 14.6288},
			{1.5805, 12.2314, 13.2349, 14.7402, 18.3479, 19.8532, 22.1111},
			{0.9408, 11.495, 11.7961, 12.2477, 17.279, 17.7306, 18.408},
		},
		Rest: [5][7]float64{
			{0.0, 19.8743, 24.6912, 31.9165, 29.6655, 36.8909, 47.7289},
			{0.0, 12.3059, 14.313, 17.3235, 18.4077, 21.4182, 25.9341},
			{0.0, 11.2154, 12.2189, 13.7242, 16.8301, 18.3354, 20.5933},
			{0.0, 15.8792, 17.0834, 18.8897, 23.8364, 25.6428, 28.3523},
			{0.0, 15.423, 16.0251, 16.9283, 23.3368, 24.24, 25.5948},
		},
		Fixed: []FixedLayer{{"stem conv 3x3 3→16", 5.419}, {"classifier", 1.28}},
	}
}

func TestSpacesHaveTemplates(t *testing.T) {
	if got, want := Spaces(), space.Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Spaces() = %v, want every space %v", got, want)
	}
	for _, sp := range space.Names() {
		tp := mustLoad(t, sp, "")
		if tp.System() == "" || tp.Space() != sp {
			t.Errorf("%s: empty system prompt", sp)
		}
		if !strings.HasPrefix(tp.Source(TaskFile), "built-in templates/"+sp) {
			t.Errorf("%s: task source %q", sp, tp.Source(TaskFile))
		}
	}
	if _, err := Load("nas-bench-101", ""); err == nil {
		t.Error("Load of an unknown space succeeded")
	}
}

func TestFormatAccuracy(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{85.70333201090495, "85.70"},
		{85.705, "85.71"},
		{85.7049999, "85.70"},
		{1.005, "1.01"}, // stored as 1.00499999..., meant as 1.005
		{93.1267, "93.13"},
		{99.995, "100.00"},
		{9.999, "10.00"},
		{0, "0.00"},
		{91.6, "91.60"},
		{-1.005, "-1.01"},
		{-0.001, "0.00"},
	}
	for _, tt := range tests {
		if got := FormatAccuracy(tt.x); got != tt.want {
			t.Errorf("FormatAccuracy(%v) = %q, want %q", tt.x, got, tt.want)
		}
	}
	if got := roundHalfUp(14.313, 4); got != "14.3130" {
		t.Errorf("roundHalfUp(14.313, 4) = %q", got)
	}
}

func TestTaskHistory(t *testing.T) {
	tests := []struct {
		space   string
		history []Experiment
		want    []string
	}{
		{"nas-bench-macro", []Experiment{{Arch: "[1, 0, 1, 0, 0, 1, 0, 0]", Accuracy: 85.70333}, {Arch: "[2, 2, 2, 1, 2, 2, 2, 0]", Accuracy: 93.005}},
			[]string{"[1, 0, 1, 0, 0, 1, 0, 0] gives an accuracy of 85.70%\n[2, 2, 2, 1, 2, 2, 2, 0] gives an accuracy of 93.01%", "higher accuracy than every result above", "3 to 32 channels", "0, 1 or 2"}},
		{"channel-bench-resnet", []Experiment{{Arch: "[64, 128, 128, 256, 384, 256, 384]", Accuracy: 92.67}},
			[]string{"[64, 128, 128, 256, 384, 256, 384] gives an accuracy of 92.67%", "C4: [128, 256, 384, 512]", "7 channel numbers"}},
		{"channel-bench-mobilenet", []Experiment{{Arch: "[64, 384, 576, 768, 128, 768, 512]", Accuracy: 91.03}},
			[]string{"gives an accuracy of 91.03%", "C1: [32, 64, 96, 128]", "C6: [384, 768, 1152, 1536]", "C7: [256, 512, 768, 1024]"}},
		{"nas-bench-201", []Experiment{{Arch: "[3, 3, 3, 1, 3, 3]", Accuracy: 91.5533}},
			[]string{"[3, 3, 3, 1, 3, 3] gives an accuracy of 91.55%", "s3 = op3(s0) + op4(s1) + op5(s2)", "do not repeat"}},
	}
	for _, tt := range tests {
		t.Run(tt.space, func(t *testing.T) {
			tp := mustLoad(t, tt.space, "")
			got, err := tp.Task(Data{History: tt.history})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("task prompt lacks %q:\n%s", w, got)
				}
			}
			first, err := tp.Task(Data{})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(first, "gives an accuracy of") || len(first) >= len(got) {
				t.Errorf("first prompt should list no results:\n%s", first)
			}
			if strings.Contains(got, "<no value>") || strings.Contains(first, "<no value>") {
				t.Errorf("a template printed a missing value")
			}
		})
	}
}

func TestChannelPromptMatchesSpace(t *testing.T) {
	for _, name := range []string{space.ChannelResNetName, space.ChannelMobileNetName} {
		sp, _ := space.New(name)
		choices, _ := space.ChannelChoices(sp)
		got, err := mustLoad(t, name, "").Task(Data{})
		if err != nil {
			t.Fatal(err)
		}
		for i, row := range choices {
			parts := make([]string, len(row))
			for j, c := range row {
				parts[j] = strconv.Itoa(c)
			}
			line := fmt.Sprintf("C%d: [%s]", i+1, strings.Join(parts, ", "))
			if !strings.Contains(got, line) {
				t.Errorf("%s prompt lacks %q", name, line)
			}
		}
	}
}

func TestImageNetPrompt(t *testing.T) {
	tp := mustLoad(t, space.ImageNetName, "")
	sp, _ := space.New(space.ImageNetName)
	g329 := space.Arch{1, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 4, 0, 4, 3, 0, 0, 4, 3, 0, 4, 4, 0, 5, 0, 5, 5, 5, 0}
	d := Data{
		History:   []Experiment{{Arch: sp.Format(g329), Accuracy: 71.2349, FLOPsM: 329.41}},
		MinFLOPsM: 320, MaxFLOPsM: 330, SlotFLOPs: paperTable(), Dataset: "imagenet",
	}
	got, err := tp.Task(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"between 320.00M and 330.00M",
		"Stage 1 first layer: op 0 = 1.5053, op 1 = 23.7855",
		"Stage 2 later layer: op 0 = 0.0000, op 1 = 12.3059, op 2 = 14.3130",
		"Stage 5 later layer: op 0 = 0.0000, op 1 = 15.4230, op 2 = 16.0251, op 3 = 16.9283, op 4 = 23.3368, op 5 = 24.2400, op 6 = 25.5948",
		"Fixed parts: stem conv 3x3 3→16 = 5.4190, classifier = 1.2800",
		"Stage 4 (Layer 19 to Layer 24): 80 to 96 channels, stride 1",
		"Stage 5 (Layer 25 to Layer 30): 96 to 192 channels, stride 2",
		"6: inverted residual block, 7x7 depthwise kernel, expansion ratio 6",
		"Stage 5 (Layer 25 to Layer 30): [x, x, x, x, x, x]",
		"Architecture 1, 329.41M FLOPs, gives an accuracy of 71.23%:\nStage 1 (Layer 1 to Layer 6): [1, 0, 0, 0, 1, 0]",
		"ImageNet image classification",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("ImageNet prompt lacks %q", w)
		}
	}
	// A reply in the requested format parses back.
	if a, err := sp.Parse("```\n" + sp.Format(g329) + "\n```"); err != nil || !a.Equal(g329) {
		t.Errorf("requested format does not parse: %v %v", a, err)
	}

	upper, err := tp.Task(Data{MaxFLOPsM: 400, SlotFLOPs: paperTable()})
	if err != nil || !strings.Contains(upper, "at or below 400.00M") {
		t.Errorf("upper bound only: %v\n%s", err, upper)
	}

	_, err = tp.Task(Data{MinFLOPsM: 320, MaxFLOPsM: 330})
	if err == nil || !strings.Contains(err.Error(), "SlotFLOPs") || !strings.Contains(err.Error(), "task.tmpl") {
		t.Errorf("missing table: error %v, want one naming SlotFLOPs and task.tmpl", err)
	}
	_, err = tp.Task(Data{SlotFLOPs: paperTable()})
	if err == nil || !strings.Contains(err.Error(), "MaxFLOPsM") {
		t.Errorf("missing bound: error %v", err)
	}

	fb, err := tp.Feedback(d.History[0], d)
	if err != nil || !strings.Contains(fb, "329.41M FLOPs, gives an accuracy of 71.23%") || !strings.Contains(fb, "between 320.00M and 330.00M") {
		t.Errorf("feedback = %q, %v", fb, err)
	}
	over, err := tp.Constraint(Experiment{FLOPsM: 401.495}, d)
	if err != nil || !strings.Contains(over, "401.50M FLOPs") || !strings.Contains(over, "above the upper bound of 330.00M") || !strings.Contains(over, "remove layers") {
		t.Errorf("constraint (over) = %q, %v", over, err)
	}
	under, err := tp.Constraint(Experiment{FLOPsM: 250}, d)
	if err != nil || !strings.Contains(under, "below the lower bound of 320.00M") || !strings.Contains(under, "add layers") {
		t.Errorf("constraint (under) = %q, %v", under, err)
	}
	if _, err := mustLoad(t, "nas-bench-macro", "").Constraint(Experiment{}, Data{}); err == nil {
		t.Error("Constraint on an unconstrained space succeeded")
	}
}

func TestFeedback(t *testing.T) {
	tp := mustLoad(t, "nas-bench-201", "")
	last := Experiment{Arch: "[3, 3, 3, 1, 3, 3]", Accuracy: 91.555}
	got, err := tp.Feedback(last, Data{History: []Experiment{last}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "reached an accuracy of 91.56%") || len(got) > 400 || strings.Contains(got, "s1 = op0") {
		t.Errorf("NB201 follow-up should be short and report 91.56%%: %q", got)
	}
	got, err = mustLoad(t, "channel-bench-resnet", "").Feedback(Experiment{Arch: "[256, 192, 256, 512, 512, 256, 512]", Accuracy: 93.8933}, Data{})
	if err != nil || !strings.Contains(got, "[256, 192, 256, 512, 512, 256, 512] gives an accuracy of 93.89%") {
		t.Errorf("channel feedback = %q, %v", got, err)
	}
}

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOverride(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "task.tmpl"), "GENERIC {{len .History}} results, best {{with best .History}}{{acc .Accuracy}}{{end}}")
	write(t, filepath.Join(dir, "nas-bench-201", "task.tmpl"), "NB201 {{range .History}}{{.Arch}}={{acc .Accuracy}} {{end}}")
	write(t, filepath.Join(dir, "system.tmpl"), "You are a careful engineer.\n")

	h := []Experiment{{Arch: "[1]", Accuracy: 90.125}, {Arch: "[2]", Accuracy: 91.5}}
	macro := mustLoad(t, "nas-bench-macro", dir)
	if got, _ := macro.Task(Data{History: h}); got != "GENERIC 2 results, best 91.50" {
		t.Errorf("override task = %q", got)
	}
	if macro.System() != "You are a careful engineer." {
		t.Errorf("override system = %q", macro.System())
	}
	if src := macro.Source(FeedbackFile); src != "built-in templates/nas-bench-macro/feedback.tmpl" {
		t.Errorf("feedback should fall back to the built-in file, source %q", src)
	}
	if got, err := macro.Feedback(h[1], Data{History: h}); err != nil || !strings.Contains(got, "91.50%") {
		t.Errorf("fallback feedback = %q, %v", got, err)
	}
	nb := mustLoad(t, "nas-bench-201", dir)
	if got, _ := nb.Task(Data{History: h}); got != "NB201 [1]=90.13 [2]=91.50" {
		t.Errorf("space-specific override = %q", got)
	}
	if nb.Source(TaskFile) != filepath.Join(dir, "nas-bench-201", "task.tmpl") {
		t.Errorf("source = %q", nb.Source(TaskFile))
	}
}

func TestOverrideErrors(t *testing.T) {
	tests := []struct {
		name, file, text string
		want             []string
	}{
		{"parse error", "feedback.tmpl", "{{.Last.Accuracy", []string{"feedback.tmpl", "unclosed action"}},
		{"unknown field", "task.tmpl", "{{range .History}}{{.Accuracyy}}{{end}}", []string{"task.tmpl", "Accuracyy"}},
		{"unknown function", "system.tmpl", "{{shout .Space}}", []string{"system.tmpl", "shout"}},
		{"last in task", "task.tmpl", "{{.Last.Accuracy}}", []string{"task.tmpl", "nil pointer"}},
		{"first history entry at T=0", "task.tmpl", "{{(index .History 0).Arch}}", []string{"task.tmpl", "index out of range"}},
		{"wrong argument", "constraint.tmpl", "{{acc .Last.Arch}}", []string{"constraint.tmpl", "expected float64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, tt.file), tt.text)
			_, err := Load(space.ImageNetName, dir)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range append(tt.want, dir) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	_, err := Load("nas-bench-macro", filepath.Join(t.TempDir(), "missing"))
	if err == nil || !strings.Contains(err.Error(), "prompt_dir") {
		t.Errorf("missing dir: %v", err)
	}
}
