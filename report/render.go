package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot size and PNG resolution.
const (
	plotWidth  = 7 * vg.Inch
	plotHeight = 4.5 * vg.Inch
	pngDPI     = 120
	// legendRoom is the share of the Y range added per legend row.
	legendRoom = 0.06
)

var (
	colourMean = color.RGBA{A: 255}
	// Non-premultiplied, so the band lets the lines under it show.
	colourBand     = color.NRGBA{R: 70, G: 110, B: 200, A: 70}
	colourBaseline = color.RGBA{R: 200, G: 30, B: 30, A: 255}
	colourWindow   = color.RGBA{R: 110, G: 110, B: 110, A: 255}
	paperColours   = []color.Color{color.RGBA{G: 140, B: 60, A: 255}, color.RGBA{R: 150, G: 60, B: 170, A: 255}, color.RGBA{R: 200, G: 120, A: 255}}
)

// Rendered is a figure drawn as PNG and SVG.
type Rendered struct {
	Figure Figure
	PNG    []byte
	SVG    []byte
}

// Render draws a figure as PNG and SVG (fonts embedded, so the SVG shows
// the same anywhere).
func Render(f Figure) (Rendered, error) {
	p, err := build(f)
	if err != nil {
		return Rendered{}, fmt.Errorf("plot %s: %w", f.Name, err)
	}
	out := Rendered{Figure: f}

	img := vgimg.NewWith(vgimg.UseWH(plotWidth, plotHeight), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(img))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&buf); err != nil {
		return Rendered{}, fmt.Errorf("plot %s as PNG: %w", f.Name, err)
	}
	out.PNG = buf.Bytes()

	svg := vgsvg.NewWith(vgsvg.UseWH(plotWidth, plotHeight), vgsvg.EmbedFonts(true))
	p.Draw(draw.New(svg))
	var sb bytes.Buffer
	if _, err := svg.WriteTo(&sb); err != nil {
		return Rendered{}, fmt.Errorf("plot %s as SVG: %w", f.Name, err)
	}
	out.SVG = sb.Bytes()
	return out, nil
}

// build turns the figure's series into a gonum plot; bands go first so
// lines draw over them.
func build(f Figure) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = f.Title
	p.X.Label.Text = f.XLabel
	p.Y.Label.Text = f.YLabel
	p.Add(plotter.NewGrid())
	// Where the lines usually leave room: ranks and losses fall,
	// best-so-far rises.
	p.Legend.Top = f.Name == FigRank || f.Name == FigRetrainLoss || f.Name == FigBestSoFar || f.Name == FigFLOPs
	p.Legend.Left = f.Name == FigBestSoFar
	p.Legend.TextStyle.Font.Size = vg.Points(8)

	ylo, yhi := yRange(f)
	hasMean := false
	for _, s := range f.Series {
		hasMean = hasMean || s.Role == RoleMean
	}
	legend := make([]plot.Thumbnailer, len(f.Series))
	for _, pass := range []bool{true, false} {
		for i, s := range f.Series {
			if (s.Role == RoleBand) != pass {
				continue
			}
			if s.Role == RoleTrial && !hasMean {
				// A lone trial is drawn as the main line.
				s.Role = RoleCurve
			}
			th, err := addSeries(p, s, ylo, yhi)
			if err != nil {
				return nil, fmt.Errorf("series %q: %w", s.Label, err)
			}
			legend[i] = th
		}
	}
	// A margin, so markers at the extremes show whole, and headroom (or
	// footroom) for the legend so it does not hide the lines.
	rows := 0
	for i, s := range f.Series {
		if legend[i] != nil && s.Label != "" {
			rows++
		}
	}
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		span := a.Max - a.Min
		if span == 0 {
			span = 1
		}
		lo, hi := 0.03*span, 0.03*span
		if a == &p.Y {
			room := legendRoom * float64(rows) * span
			if p.Legend.Top {
				hi += room
			} else {
				lo += room
			}
		}
		a.Min, a.Max = a.Min-lo, a.Max+hi
	}
	if f.IntegerX {
		p.X.Tick.Marker = integerTicks{}
	}
	for i, s := range f.Series {
		if legend[i] != nil && s.Label != "" {
			p.Legend.Add(s.Label, legend[i])
		}
	}
	return p, nil
}

// yRange spans every finite Y, Lo and Hi, for drawing vertical lines.
func yRange(f Figure) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range f.Series {
		for _, vs := range [][]float64{s.Y, s.Lo, s.Hi} {
			for _, v := range vs {
				if !math.IsNaN(v) && !math.IsInf(v, 0) {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
			}
		}
	}
	if lo > hi {
		return 0, 1
	}
	return lo, hi
}

// addSeries draws s and returns what stands for it in the legend (nil for
// nothing drawn).
func addSeries(p *plot.Plot, s Series, ylo, yhi float64) (plot.Thumbnailer, error) {
	switch s.Role {
	case RoleBand:
		var pts plotter.XYs
		for i := range s.X {
			pts = append(pts, plotter.XY{X: s.X[i], Y: s.Hi[i]})
		}
		for i := len(s.X) - 1; i >= 0; i-- {
			pts = append(pts, plotter.XY{X: s.X[i], Y: s.Lo[i]})
		}
		if len(pts) < 3 {
			return nil, nil
		}
		poly, err := plotter.NewPolygon(pts)
		if err != nil {
			return nil, err
		}
		poly.Color = colourBand
		poly.LineStyle.Width = 0
		p.Add(poly)
		return poly, nil
	case RolePoints:
		pts := xys(s.X, s.Y)
		if len(pts) == 0 {
			return nil, nil
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = plotutil.Color(s.Index)
		sc.GlyphStyle.Shape = plotutil.Shape(s.Index)
		sc.GlyphStyle.Radius = vg.Points(3)
		if s.Index == 0 {
			sc.GlyphStyle.Color = colourBaseline
			sc.GlyphStyle.Radius = vg.Points(4)
		}
		p.Add(sc)
		return sc, nil
	case RoleWindow:
		v := &vline{x: s.X[0], ylo: ylo, yhi: yhi, style: draw.LineStyle{Color: colourWindow, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}}
		p.Add(v)
		return v, nil
	}
	style := lineStyle(s)
	var first *plotter.Line
	for _, seg := range segments(s.X, s.Y) {
		l, err := plotter.NewLine(seg)
		if err != nil {
			return nil, err
		}
		l.LineStyle = style
		p.Add(l)
		if first == nil {
			first = l
		}
		// A lone point would not show as a line.
		if len(seg) == 1 {
			sc, err := plotter.NewScatter(seg)
			if err != nil {
				return nil, err
			}
			sc.GlyphStyle.Color, sc.GlyphStyle.Radius = style.Color, vg.Points(2)
			p.Add(sc)
		}
	}
	if first == nil {
		return nil, nil
	}
	return first, nil
}

func lineStyle(s Series) draw.LineStyle {
	switch s.Role {
	case RoleTrial:
		return draw.LineStyle{Color: plotutil.Color(s.Index), Width: vg.Points(0.8)}
	case RoleMean:
		return draw.LineStyle{Color: colourMean, Width: vg.Points(2.2)}
	case RoleBaseline:
		return draw.LineStyle{Color: colourBaseline, Width: vg.Points(1.8), Dashes: []vg.Length{vg.Points(6), vg.Points(3)}}
	case RolePaper:
		return draw.LineStyle{Color: paperColours[s.Index%len(paperColours)], Width: vg.Points(1.6), Dashes: []vg.Length{vg.Points(2), vg.Points(2)}}
	}
	return draw.LineStyle{Color: plotutil.Color(s.Index), Width: vg.Points(1.5)}
}

// xys pairs finite points.
func xys(x, y []float64) plotter.XYs {
	var out plotter.XYs
	for i := range x {
		if i < len(y) && !math.IsNaN(y[i]) && !math.IsNaN(x[i]) {
			out = append(out, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	return out
}

// segments splits a line at NaN values.
func segments(x, y []float64) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for i := range x {
		if i >= len(y) || math.IsNaN(y[i]) {
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
			continue
		}
		cur = append(cur, plotter.XY{X: x[i], Y: y[i]})
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// integerTicks labels whole numbers: every one up to 15, else every 5th
// (every 10th past 60), with unlabelled ticks between.
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := int(math.Ceil(lo)), int(math.Floor(hi))
	step := 1
	switch n := last - first; {
	case n > 300:
		return plot.DefaultTicks{}.Ticks(lo, hi)
	case n > 60:
		step = 10
	case n > 15:
		step = 5
	}
	var out []plot.Tick
	for v := first; v <= last; v++ {
		t := plot.Tick{Value: float64(v)}
		if v%step == 0 || step == 1 {
			t.Label = strconv.Itoa(v)
		}
		out = append(out, t)
	}
	return out
}

// vline is a vertical line across the whole plot at x.
type vline struct {
	x, ylo, yhi float64
	style       draw.LineStyle
}

func (v *vline) Plot(c draw.Canvas, plt *plot.Plot) {
	trX, _ := plt.Transforms(&c)
	x := trX(v.x)
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

// DataRange makes the X axis include the line.
func (v *vline) DataRange() (xmin, xmax, ymin, ymax float64) { return v.x, v.x, v.ylo, v.yhi }

func (v *vline) Thumbnail(c *draw.Canvas) {
	y := c.Center().Y
	c.StrokeLine2(v.style, c.Min.X, y, c.Max.X, y)
}
