package searchact

import (
	"fmt"
	"sync"

	"github.com/genius-nas/genius/activities"
	"github.com/genius-nas/genius/flops"
	"github.com/genius-nas/genius/prompt"
	"github.com/genius-nas/genius/space"
)

// embeddedPrompts caches the built-in templates per space: they never
// change, and parsing them on every proposal would be waste. Templates from
// an override directory are read on every call so edits take effect.
var embeddedPrompts sync.Map // space name → *prompt.Templates

// LoadPrompter returns the templates of package prompt for a space, from
// overrideDir where it has them.
func LoadPrompter(spaceName, overrideDir string) (Prompter, error) {
	sp, err := space.New(spaceName)
	if err != nil {
		return nil, err
	}
	var t *prompt.Templates
	if v, ok := embeddedPrompts.Load(spaceName); ok && overrideDir == "" {
		t = v.(*prompt.Templates)
	} else {
		if t, err = prompt.Load(spaceName, overrideDir); err != nil {
			return nil, err
		}
		if overrideDir == "" {
			embeddedPrompts.Store(spaceName, t)
		}
	}
	return templates{t: t, sp: sp}, nil
}

type templates struct {
	t  *prompt.Templates
	sp space.Space
}

func (p templates) System() string { return p.t.System() }

func (p templates) Task(in activities.ProposeInput) (string, error) {
	d, err := p.data(in)
	if err != nil {
		return "", err
	}
	return p.t.Task(d)
}

func (p templates) Feedback(last activities.Measured, in activities.ProposeInput) (string, error) {
	d, err := p.data(in)
	if err != nil {
		return "", err
	}
	return p.t.Feedback(p.experiment(last), d)
}

func (p templates) experiment(m activities.Measured) prompt.Experiment {
	return prompt.Experiment{Arch: p.sp.Format(m.Arch), Accuracy: m.Accuracy, FLOPsM: m.FLOPsM}
}

func (p templates) data(in activities.ProposeInput) (prompt.Data, error) {
	d := prompt.Data{Dataset: in.Dataset}
	for _, m := range in.History {
		d.History = append(d.History, p.experiment(m))
	}
	if p.sp.Name() != space.ImageNetName {
		return d, nil
	}
	opts := flops.Options{}
	if w := in.FLOPs; w != nil {
		d.MinFLOPsM, d.MaxFLOPsM = w.MinM, w.MaxM
		opts = flops.Options{Input: w.Input, Classes: w.Classes}
	}
	st := flops.Slots(opts)
	tbl := &prompt.SlotTable{}
	if len(st.First) != len(tbl.First) || len(st.First[0]) != len(tbl.First[0]) {
		return d, fmt.Errorf("FLOPs table shape %dx%d does not match the prompt's", len(st.First), len(st.First[0]))
	}
	for s := range st.First {
		copy(tbl.First[s][:], st.First[s][:])
		copy(tbl.Rest[s][:], st.Rest[s][:])
	}
	for _, f := range st.Fixed {
		tbl.Fixed = append(tbl.Fixed, prompt.FixedLayer{Name: f.Name, MFLOPs: f.MFLOPs})
	}
	d.SlotFLOPs = tbl
	return d, nil
}
