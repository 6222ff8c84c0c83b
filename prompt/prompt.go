package prompt

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/genius-nas/genius/space"
)

//go:embed templates
var embedded embed.FS

// Template file names.
const (
	SystemFile     = "system.tmpl"
	TaskFile       = "task.tmpl"
	FeedbackFile   = "feedback.tmpl"
	ConstraintFile = "constraint.tmpl"
)

// Experiment is one measured architecture.
type Experiment struct {
	// Arch is the architecture as the model sees it (space.Format).
	Arch string `json:"arch"`
	// Accuracy in percent (validation accuracy for NAS-Bench-201).
	Accuracy float64 `json:"accuracy"`
	// FLOPsM is the architecture's FLOPs in millions; 0 where the space has
	// no FLOPs constraint.
	FLOPsM float64 `json:"flops_m,omitempty"`
}

// SlotTable is the per-slot FLOPs table of the mobilenetv2-imagenet
// prompt, in millions. It has the shape of flops.SlotTable, which callers
// copy in, so this package does not depend on the counter.
type SlotTable struct {
	// First[s][op]: op in slot 0 of stage s (0-based); Rest[s][op]: op in
	// any of slots 1..5 (0 for op 0, which removes the layer).
	First, Rest [space.ImageNetStageCount][space.ImageNetOps]float64
	// Fixed lists the parts outside the searched stages, in network order.
	Fixed []FixedLayer
}

// FixedLayer is the cost of a part the search does not change.
type FixedLayer struct {
	Name   string
	MFLOPs float64
}

// Data is what a prompt reports.
type Data struct {
	// History lists the experiments so far, oldest first.
	History []Experiment
	// MinFLOPsM and MaxFLOPsM bound the FLOPs in millions
	// (mobilenetv2-imagenet only).
	MinFLOPsM, MaxFLOPsM float64
	// SlotFLOPs is the per-slot table (mobilenetv2-imagenet only; required there).
	SlotFLOPs *SlotTable
	// Dataset is a dataset id ("cifar10", "cifar100", "imagenet16-120",
	// "imagenet"); empty means the space's usual one.
	Dataset string
}

// View is what templates execute on: the Data, the space's name and, for
// feedback and constraint messages, the experiment being reported.
type View struct {
	Data
	Space string
	Last  *Experiment
}

// Templates renders the prompts of one space.
type Templates struct {
	space   string
	sp      space.Space
	system  string
	tmpl    map[string]*template.Template
	sources map[string]string // file name → where it was read from
}

// Spaces lists the spaces with embedded templates.
func Spaces() []string {
	entries, err := embedded.ReadDir("templates")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// Load reads the templates of a space: from overrideDir where it has them
// (<dir>/<space>/<file>, else <dir>/<file>), else the embedded ones. An
// empty overrideDir uses the embedded templates only. Every template is
// parsed and executed once on sample data, so errors surface here, naming
// the file.
func Load(spaceName, overrideDir string) (*Templates, error) {
	sp, err := space.New(spaceName)
	if err != nil {
		return nil, err
	}
	if overrideDir != "" {
		st, err := os.Stat(overrideDir)
		if err != nil {
			return nil, fmt.Errorf("prompt prompt_dir %q: %w (give an existing directory, or leave prompt_dir empty for the built-in prompts)", overrideDir, err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("prompt prompt_dir %q is not a directory: give a directory of template overrides, or leave prompt_dir empty for the built-in prompts", overrideDir)
		}
	}
	t := &Templates{space: spaceName, sp: sp, tmpl: map[string]*template.Template{}, sources: map[string]string{}}
	for _, name := range []string{SystemFile, TaskFile, FeedbackFile, ConstraintFile} {
		text, src, err := readTemplate(spaceName, overrideDir, name)
		if errors.Is(err, fs.ErrNotExist) && name == ConstraintFile {
			continue // optional: only constrained spaces have one
		}
		if err != nil {
			return nil, err
		}
		tp, err := template.New(src).Funcs(t.funcs()).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("prompt template %s: %w", src, err)
		}
		t.tmpl[name], t.sources[name] = tp, src
	}
	sys, err := t.render(SystemFile, View{Space: spaceName})
	if err != nil {
		return nil, err
	}
	t.system = sys
	// Dry runs with sample data catch execution errors (unknown fields,
	// wrong argument types) before a search starts.
	// Each runs as at search time: Task without Last, at the first
	// iteration (no history) and later; Feedback and Constraint with Last.
	sample := sampleData()
	first := sample
	first.History = nil
	last := sample.History[len(sample.History)-1]
	runs := []struct {
		name string
		v    View
	}{
		{TaskFile, View{Data: first, Space: spaceName}},
		{TaskFile, View{Data: sample, Space: spaceName}},
		{FeedbackFile, View{Data: sample, Space: spaceName, Last: &last}},
		{ConstraintFile, View{Data: sample, Space: spaceName, Last: &last}},
	}
	for _, r := range runs {
		if _, ok := t.tmpl[r.name]; !ok {
			continue
		}
		if _, err := t.render(r.name, r.v); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readTemplate finds one file; src names it for error messages.
func readTemplate(spaceName, dir, name string) (text, src string, err error) {
	if dir != "" {
		for _, p := range []string{filepath.Join(dir, spaceName, name), filepath.Join(dir, name)} {
			b, err := os.ReadFile(p)
			if err == nil {
				return string(b), p, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return "", p, fmt.Errorf("prompt template %s: %w", p, err)
			}
		}
	}
	p := path.Join("templates", spaceName, name)
	b, err := embedded.ReadFile(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", p, fmt.Errorf("prompt template %s (built in): %w", p, fs.ErrNotExist)
		}
		return "", p, err
	}
	return string(b), "built-in " + p, nil
}

// sampleData fills every field a template may use.
func sampleData() Data {
	st := &SlotTable{Fixed: []FixedLayer{{Name: "stem", MFLOPs: 5.4}}}
	for s := range st.First {
		for o := range st.First[s] {
			st.First[s][o], st.Rest[s][o] = 1, 1
		}
	}
	return Data{
		History:   []Experiment{{Arch: "[1, 0]", Accuracy: 90.5, FLOPsM: 350}, {Arch: "[0, 1]", Accuracy: 91.25, FLOPsM: 420}},
		MinFLOPsM: 300, MaxFLOPsM: 400, SlotFLOPs: st, Dataset: "cifar10",
	}
}

// Space is the name of the space the templates are for.
func (t *Templates) Space() string { return t.space }

// Source says where a template file was read from (an override path or
// "built-in templates/<space>/<file>"); empty when the space has none.
func (t *Templates) Source(file string) string { return t.sources[file] }

// System is the system message.
func (t *Templates) System() string { return t.system }

// Task is a complete problem statement with every past result in d.History
// (none at the first iteration).
func (t *Templates) Task(d Data) (string, error) {
	return t.render(TaskFile, View{Data: d, Space: t.space})
}

// Feedback is the follow-up message of a growing chat after last was
// measured; d.History includes last.
func (t *Templates) Feedback(last Experiment, d Data) (string, error) {
	return t.render(FeedbackFile, View{Data: d, Space: t.space, Last: &last})
}

// Constraint tells the model that last (whose FLOPsM is set) is outside the
// FLOPs window and asks for another answer.
func (t *Templates) Constraint(last Experiment, d Data) (string, error) {
	if _, ok := t.tmpl[ConstraintFile]; !ok {
		return "", fmt.Errorf("space %s has no %s: it has no FLOPs constraint", t.space, ConstraintFile)
	}
	return t.render(ConstraintFile, View{Data: d, Space: t.space, Last: &last})
}

func (t *Templates) render(name string, v View) (string, error) {
	var b bytes.Buffer
	if err := t.tmpl[name].Execute(&b, v); err != nil {
		return "", fmt.Errorf("prompt template %s: %w", t.sources[name], err)
	}
	return strings.TrimSpace(b.String()), nil
}

// OpInfo describes one ImageNet inverted-residual operator for templates.
type OpInfo struct{ ID, Kernel, Expansion int }

func (t *Templates) funcs() template.FuncMap {
	return template.FuncMap{
		"acc":    FormatAccuracy,
		"mflops": func(x float64) string { return roundHalfUp(x, 2) },
		"m4":     func(x float64) string { return roundHalfUp(x, 4) },
		"list": func(xs []int) string {
			parts := make([]string, len(xs))
			for i, x := range xs {
				parts[i] = strconv.Itoa(x)
			}
			return "[" + strings.Join(parts, ", ") + "]"
		},
		"add":     func(a, b int) int { return a + b },
		"dataset": datasetName,
		"channels": func() ([][]int, error) {
			c, ok := space.ChannelChoices(t.sp)
			if !ok {
				return nil, fmt.Errorf("channels: space %s has no channel choices", t.space)
			}
			return c, nil
		},
		"stages": space.ImageNetStages,
		"ops": func() []OpInfo {
			var out []OpInfo
			for op := 1; op < space.ImageNetOps; op++ {
				k, e, _ := space.ImageNetOp(op)
				out = append(out, OpInfo{ID: op, Kernel: k, Expansion: e})
			}
			return out
		},
		"best": func(h []Experiment) *Experiment {
			var b *Experiment
			for i := range h {
				if b == nil || h[i].Accuracy > b.Accuracy {
					b = &h[i]
				}
			}
			return b
		},
		"require": func(v any, what string) (string, error) {
			if v == nil {
				return "", fmt.Errorf("this prompt needs %s", what)
			}
			rv := reflect.ValueOf(v)
			if rv.IsZero() || ((rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.Len() == 0) {
				return "", fmt.Errorf("this prompt needs %s", what)
			}
			return "", nil
		},
	}
}
