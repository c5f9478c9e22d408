package reports

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Colours and marks of the advice plot: within tolerance (bluish green
// circles) or not (vermillion triangles).
var (
	advicePlotAccurate   = palette[2]
	advicePlotInaccurate = palette[1]
	advicePlotGuide      = color.RGBA{0x55, 0x55, 0x55, 0xff}
)

// advicePlotLabel is the text by the recommended dense_len line.
func advicePlotLabel(denseLen int) string {
	return "recommended dense_len = " + FormatLength(denseLen)
}

// Plot draws the evidence of the advice: the speedup (dense time / sparse
// time) against context length (log2 axis, 1K, 2K ...; linear if a length
// is not positive), a horizontal "break-even" line at 1, the points marked
// by whether the sparse score stayed within Tolerance of dense's (green
// circles) or not (vermillion triangles), and, when DenseLen > 0, a vertical
// dashed line at DenseLen labelled "recommended dense_len = 16K". Rows
// whose speedup is not finite are left out. The title is
// "Switching advice: <sparse> vs <dense> (<task>)".
func (a *Advice) Plot() (*plot.Plot, error) {
	if a == nil {
		return nil, errors.New("reports: advice plot: nil advice")
	}
	var good, bad, all plotter.XYs
	logX := true
	for _, r := range a.Rows {
		if math.IsNaN(r.Speedup) || math.IsInf(r.Speedup, 0) {
			continue
		}
		xy := plotter.XY{X: float64(r.Length), Y: r.Speedup}
		all = append(all, xy)
		if r.Accurate {
			good = append(good, xy)
		} else {
			bad = append(bad, xy)
		}
		if r.Length <= 0 {
			logX = false
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("reports: advice plot: no finite speedup for %s vs %s (%s)", a.Sparse, a.Dense, a.Task)
	}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("Switching advice: %s vs %s (%s)", a.Sparse, a.Dense, a.Task)
	p.X.Label.Text = "context length (tokens)"
	p.Y.Label.Text = "speedup of " + a.Sparse
	if a.Timing != "" {
		p.Y.Label.Text += " (" + a.Timing + ": " + a.Dense + " / " + a.Sparse + ")"
	}
	var lengths []int
	for _, xy := range all {
		lengths = append(lengths, int(xy.X))
	}
	if logX {
		p.X.Scale = Log2Scale{}
		p.X.Tick.Marker = Log2Ticks{}
		if !allPowersOfTwo(lengths) {
			p.X.Tick.Marker = lengthTicks(lengths)
		}
	}

	// Axis ranges: every point, the break-even line and the recommendation.
	xlo, xhi := math.Inf(1), math.Inf(-1)
	ylo, yhi := 0.0, 1.0
	for _, xy := range all {
		xlo, xhi = math.Min(xlo, xy.X), math.Max(xhi, xy.X)
		ylo, yhi = math.Min(ylo, xy.Y), math.Max(yhi, xy.Y)
	}
	if a.DenseLen > 0 {
		xlo, xhi = math.Min(xlo, float64(a.DenseLen)), math.Max(xhi, float64(a.DenseLen))
	}
	if logX {
		xlo, xhi = xlo/math.Sqrt2, xhi*math.Sqrt2
	} else {
		pad := math.Max((xhi-xlo)*0.05, 1)
		xlo, xhi = xlo-pad, xhi+pad
	}
	yhi += (yhi - ylo) * 0.12 // room for the dense_len label

	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{0xe0}
	grid.Horizontal.Color = color.Gray{0xe0}
	p.Add(grid)

	even, err := plotter.NewLine(plotter.XYs{{X: xlo, Y: 1}, {X: xhi, Y: 1}})
	if err != nil {
		return nil, fmt.Errorf("reports: advice plot: %w", err)
	}
	even.Color = advicePlotGuide
	even.Width = vg.Points(1)
	p.Add(even)
	p.Legend.Add("break-even", even)

	if a.DenseLen > 0 {
		x := float64(a.DenseLen)
		rec, err := plotter.NewLine(plotter.XYs{{X: x, Y: ylo}, {X: x, Y: yhi}})
		if err != nil {
			return nil, fmt.Errorf("reports: advice plot: %w", err)
		}
		rec.Color = palette[0]
		rec.Width = vg.Points(1.2)
		rec.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(rec)
		lbl, err := plotter.NewLabels(plotter.XYLabels{
			XYs:    plotter.XYs{{X: x, Y: yhi}},
			Labels: []string{advicePlotLabel(a.DenseLen)},
		})
		if err != nil {
			return nil, fmt.Errorf("reports: advice plot: %w", err)
		}
		style := lbl.TextStyle[0]
		style.Color = palette[0]
		style.YAlign = text.YTop
		lbl.Offset = vg.Point{X: vg.Points(4), Y: -vg.Points(2)}
		// Near the right edge the label goes to the left of the line.
		if logX && math.Log2(xhi/x) < 0.4*math.Log2(xhi/xlo) || !logX && xhi-x < 0.4*(xhi-xlo) {
			style.XAlign = text.XRight
			lbl.Offset.X = -vg.Points(4)
		}
		lbl.TextStyle[0] = style
		p.Add(lbl)
	}

	trend, err := plotter.NewLine(all)
	if err != nil {
		return nil, fmt.Errorf("reports: advice plot: %w", err)
	}
	trend.Color = color.Gray{0xa0}
	trend.Width = vg.Points(1)
	p.Add(trend)
	for _, g := range []struct {
		xys    plotter.XYs
		colour color.RGBA
		shape  draw.GlyphDrawer
		label  string
	}{
		{good, advicePlotAccurate, draw.CircleGlyph{}, fmt.Sprintf("%s within %g of %s", a.Score, a.Tolerance, a.Dense)},
		{bad, advicePlotInaccurate, draw.PyramidGlyph{}, fmt.Sprintf("%s loses more than %g", a.Score, a.Tolerance)},
	} {
		if len(g.xys) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(g.xys)
		if err != nil {
			return nil, fmt.Errorf("reports: advice plot: %w", err)
		}
		sc.Color = g.colour
		sc.Shape = g.shape
		sc.Radius = vg.Points(3.5)
		p.Add(sc)
		p.Legend.Add(g.label, sc)
	}

	p.X.Min, p.X.Max = xlo, xhi
	p.Y.Min, p.Y.Max = ylo, yhi
	p.Legend.Left, p.Legend.Top = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(4)
	p.Legend.ThumbnailWidth = vg.Points(24)
	return p, nil
}

// SavePlot writes [Advice.Plot] to path, as PNG or SVG by its extension
// (".png" or ".svg", in any case).
func (a *Advice) SavePlot(path string) error {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(path), "."))
	if ext != "png" && ext != "svg" {
		return fmt.Errorf("reports: advice plot %s: want a .png or .svg file", path)
	}
	p, err := a.Plot()
	if err != nil {
		return err
	}
	return savePlot(p, path, ext)
}
