package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/genius-nas/genius/space"
)

// Roles of a Series: how it is drawn.
const (
	RoleTrial    = "trial"    // one trial, thin line
	RoleMean     = "mean"     // mean over trials, thick line
	RoleBand     = "band"     // mean ± std, filled between Lo and Hi
	RoleBaseline = "baseline" // the exact random baseline, dashed
	RolePaper    = "paper"    // a --compare overlay, dotted
	RolePoints   = "points"   // markers without lines
	RoleWindow   = "window"   // a vertical line at X[0] (a FLOPs bound)
	RoleCurve    = "curve"    // a line of its own colour (retraining)
)

// Figure is one plot as numbers: what Render draws and the tests check.
type Figure struct {
	// Name is the file stem: Name.png and Name.svg.
	Name string `json:"name"`
	// IntegerX puts a tick at every whole X (iterations, epochs).
	IntegerX bool     `json:"integer_x,omitempty"`
	Title    string   `json:"title"`
	XLabel   string   `json:"x_label"`
	YLabel   string   `json:"y_label"`
	Series   []Series `json:"series"`
}

// Series is one thing drawn; points with a NaN Y are gaps.
type Series struct {
	Label string `json:"label,omitempty"`
	Role  string `json:"role"`
	X     Values `json:"x"`
	Y     Values `json:"y,omitempty"`
	// Lo and Hi bound a band (RoleBand).
	Lo Values `json:"lo,omitempty"`
	Hi Values `json:"hi,omitempty"`
	// Index tells trials (and paper settings) apart for colours.
	Index int `json:"index,omitempty"`
}

// Figure names.
const (
	FigAccuracy     = "accuracy"
	FigRank         = "rank"
	FigBestSoFar    = "best-so-far"
	FigFLOPs        = "flops-accuracy"
	FigRetrainLoss  = "retrain-loss"
	FigRetrainTop1  = "retrain-ema-top1"
	accuracyPercent = "accuracy (%)"
)

// Figures lists the plots the report has data for, in reading order.
func Figures(r *Report) []Figure {
	var figs []Figure
	if len(r.PerIteration) > 0 {
		figs = append(figs, r.iterationFigure(FigAccuracy, "Accuracy per iteration", r.accuracyLabel(), MetricAccuracy))
		if r.hasRanks() {
			figs = append(figs, r.iterationFigure(FigRank, "Rank per iteration (1 = best in the table)", "rank", MetricRank))
		}
		figs = append(figs, r.bestSoFarFigure())
		if r.Space == space.ImageNetName {
			figs = append(figs, r.flopsFigure())
		}
	}
	if rt := r.Retrain; rt != nil && len(rt.Epochs) > 0 {
		figs = append(figs, retrainFigures(rt)...)
	}
	return figs
}

func (r *Report) accuracyLabel() string {
	if r.hasTest() {
		return "validation accuracy (%)"
	}
	return accuracyPercent
}

func iterations(T int) []float64 {
	x := make([]float64, T)
	for i := range x {
		x[i] = float64(i + 1)
	}
	return x
}

// lastIteration is the highest iteration in the statistics.
func (r *Report) lastIteration() int {
	T := 0
	for _, s := range r.PerIteration {
		T = max(T, s.Iteration)
	}
	return T
}

// iterationFigure draws each trial's accuracy (or rank) per iteration,
// then mean ± std as a band, then the paper's mean per setting.
func (r *Report) iterationFigure(name, title, ylabel, metric string) Figure {
	f := Figure{Name: name, Title: title, XLabel: "iteration", YLabel: ylabel, IntegerX: true}
	for _, t := range r.Trials {
		if len(t.Iterations) == 0 {
			continue
		}
		s := Series{Label: fmt.Sprintf("trial %d", t.Trial), Role: RoleTrial, Index: t.Trial}
		for _, it := range t.Iterations {
			s.X = append(s.X, float64(it.Iteration))
			if metric == MetricRank {
				s.Y = append(s.Y, float64(it.Rank))
			} else {
				s.Y = append(s.Y, it.Accuracy)
			}
		}
		f.Series = append(f.Series, s)
	}
	band := Series{Label: "mean ± std", Role: RoleBand}
	mean := Series{Label: fmt.Sprintf("mean of %d trials", len(r.Trials)), Role: RoleMean}
	for _, s := range r.PerIteration {
		m, sd := s.AccuracyMean, s.AccuracyStd
		if metric == MetricRank {
			m, sd = s.RankMean, s.RankStd
		}
		band.X = append(band.X, float64(s.Iteration))
		band.Lo = append(band.Lo, m-sd)
		band.Hi = append(band.Hi, m+sd)
		mean.X = append(mean.X, float64(s.Iteration))
		mean.Y = append(mean.Y, m)
	}
	// One trial is its own mean.
	if len(r.Trials) > 1 {
		f.Series = append(f.Series, band, mean)
	}
	for i, set := range paperSettings(r.Paper) {
		if y := paperMean(r.Paper, set, metric, false); hasValue(y) {
			f.Series = append(f.Series, Series{Label: "paper, " + set, Role: RolePaper, X: iterations(len(y)), Y: y, Index: i})
		}
	}
	return f
}

// bestSoFarFigure draws each trial's best so far, their mean ± std and the
// exact random baseline for t = 1..T samples.
func (r *Report) bestSoFarFigure() Figure {
	ylabel := "best accuracy so far (%)"
	if r.hasTest() {
		ylabel = "test accuracy of the best so far (%)"
	}
	T := r.lastIteration()
	f := Figure{Name: FigBestSoFar, Title: "Best so far against random search", XLabel: "iteration (samples for random search)", YLabel: ylabel, IntegerX: true}
	for _, t := range r.Trials {
		if len(t.Iterations) == 0 {
			continue
		}
		f.Series = append(f.Series, Series{Label: fmt.Sprintf("trial %d", t.Trial), Role: RoleTrial, Index: t.Trial, X: iterations(T), Y: t.BestSoFar(T)})
	}
	band := Series{Label: "mean ± std", Role: RoleBand}
	mean := Series{Label: "mean best so far", Role: RoleMean}
	for _, s := range r.PerIteration {
		band.X = append(band.X, float64(s.Iteration))
		band.Lo = append(band.Lo, s.BestSoFarMean-s.BestSoFarStd)
		band.Hi = append(band.Hi, s.BestSoFarMean+s.BestSoFarStd)
		mean.X = append(mean.X, float64(s.Iteration))
		mean.Y = append(mean.Y, s.BestSoFarMean)
	}
	if len(r.Trials) > 1 {
		f.Series = append(f.Series, band, mean)
	}
	if len(r.Baseline) > 0 {
		b := Series{Label: "random search (exact expected best of t samples)", Role: RoleBaseline}
		for _, p := range r.Baseline {
			b.X = append(b.X, float64(p.Samples))
			b.Y = append(b.Y, p.Accuracy)
		}
		f.Series = append(f.Series, b)
	} else if rb := r.RecordedBaseline; rb != nil {
		f.Series = append(f.Series, Series{Label: fmt.Sprintf("random search, best of %d samples", rb.Samples), Role: RolePoints,
			X: []float64{float64(rb.Samples)}, Y: []float64{rb.Accuracy}})
	}
	// The paper's NAS-Bench-201 rows are validation accuracies; this plot
	// is of test accuracy there.
	if !r.hasTest() {
		for i, set := range paperSettings(r.Paper) {
			if y := paperMean(r.Paper, set, MetricAccuracy, true); hasValue(y) {
				f.Series = append(f.Series, Series{Label: "paper, " + set, Role: RolePaper, X: iterations(len(y)), Y: y, Index: i})
			}
		}
	}
	return f
}

// flopsFigure plots each trial's architectures by FLOPs and accuracy, with
// the spec's FLOPs window as vertical lines.
func (r *Report) flopsFigure() Figure {
	f := Figure{Name: FigFLOPs, Title: "FLOPs against accuracy", XLabel: "FLOPs (M multiply-accumulates at 224)", YLabel: r.accuracyLabel()}
	for _, t := range r.Trials {
		s := Series{Label: fmt.Sprintf("trial %d", t.Trial), Role: RolePoints, Index: t.Trial}
		for _, it := range t.Iterations {
			s.X = append(s.X, it.FLOPsM)
			s.Y = append(s.Y, it.Accuracy)
		}
		if len(s.X) > 0 {
			f.Series = append(f.Series, s)
		}
	}
	if w := r.FLOPs; w != nil {
		if w.MinM > 0 {
			f.Series = append(f.Series, Series{Label: fmt.Sprintf("window %g–%g M", w.MinM, w.MaxM), Role: RoleWindow, X: []float64{w.MinM}})
		}
		if w.MaxM > 0 {
			lbl := ""
			if w.MinM <= 0 {
				lbl = fmt.Sprintf("window ≤ %g M", w.MaxM)
			}
			f.Series = append(f.Series, Series{Label: lbl, Role: RoleWindow, X: []float64{w.MaxM}})
		}
	}
	return f
}

// retrainFigures plot loss and EMA top-1 per epoch.
func retrainFigures(rt *Retrain) []Figure {
	var x, train, loss, emaLoss, top1, emaTop1 []float64
	for _, e := range rt.Epochs {
		x = append(x, float64(e.Epoch))
		train = append(train, e.TrainLoss)
		loss = append(loss, e.Loss)
		emaLoss = append(emaLoss, e.EMALoss)
		top1 = append(top1, 100*e.Top1)
		emaTop1 = append(emaTop1, 100*e.EMATop1)
	}
	return []Figure{
		{Name: FigRetrainLoss, Title: "Retraining: loss per epoch", XLabel: "epoch", YLabel: "loss", IntegerX: true, Series: []Series{
			{Label: "training loss", Role: RoleCurve, X: x, Y: train, Index: 0},
			{Label: "validation loss", Role: RoleCurve, X: x, Y: loss, Index: 1},
			{Label: "validation loss (EMA)", Role: RoleCurve, X: x, Y: emaLoss, Index: 2},
		}},
		{Name: FigRetrainTop1, Title: "Retraining: top-1 per epoch", XLabel: "epoch", YLabel: "top-1 (%)", IntegerX: true, Series: []Series{
			{Label: "top-1", Role: RoleCurve, X: x, Y: top1, Index: 1},
			{Label: "EMA top-1", Role: RoleCurve, X: x, Y: emaTop1, Index: 2},
		}},
	}
}

func hasValue(v []float64) bool {
	for _, x := range v {
		if !math.IsNaN(x) {
			return true
		}
	}
	return false
}

// Values are plotted numbers; NaN (a gap) is null in JSON.
type Values []float64

// MarshalJSON writes NaN and infinities as null.
func (v Values) MarshalJSON() ([]byte, error) {
	if v == nil {
		return []byte("null"), nil
	}
	b := []byte{'['}
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, x, 'g', -1, 64)
	}
	return append(b, ']'), nil
}

// UnmarshalJSON reads null as NaN.
func (v *Values) UnmarshalJSON(data []byte) error {
	var raw []*float64
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil {
		*v = nil
		return nil
	}
	out := make(Values, len(raw))
	for i, p := range raw {
		out[i] = math.NaN()
		if p != nil {
			out[i] = *p
		}
	}
	*v = out
	return nil
}
