package reports

import (
	"bytes"
	"fmt"
	"html"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Method figure geometry: panels of methodPanelW x methodPanelH, at most
// methodCols lengths per row of panels, a title strip and a legend strip.
const (
	methodPanelW = 7 * vg.Centimeter
	methodPanelH = 5.5 * vg.Centimeter
	methodCols   = 4
	methodTitleH = 1.3 * vg.Centimeter
	methodLegRow = 0.55 * vg.Centimeter
	// methodSpan is how far from its mean (as a factor) an interval end
	// is drawn at most.
	methodSpan = 100
)

// methodFigure is the figure of one family: for each length a panel of
// accuracy against the ranking phase's speedup and, under it, one of
// accuracy against density.
type methodFigure struct {
	fam    MethodFamily
	phase  string
	tol    float64
	title  string // the figure's accessible label: both title lines
	lines  [2]string
	colors map[string]int
	order  []string // methods in first-seen order
	rows   [][]*plot.Plot
	w, h   vg.Length
	legend int // rows of the legend strip
}

// methodFigure builds the figure of a family (see MethodPlots).
func (s *Summary) methodFigure(f MethodFamily, opts MethodOptions) (*methodFigure, error) {
	fig := &methodFigure{fam: f, phase: opts.Phase, tol: opts.Tolerance, colors: map[string]int{}}
	var runs []string
	seenRun := map[string]bool{}
	for _, t := range f.Tasks {
		for _, r := range s.taskRuns(t) {
			if !seenRun[r] {
				seenRun[r] = true
				runs = append(runs, r)
			}
		}
	}
	fig.lines = [2]string{
		fmt.Sprintf("%s: %s vs %s speedup over dense (top) and %s density (bottom)", f.Family, f.Score, opts.Phase, opts.Phase),
		fmt.Sprintf("%s; circled: the best method by the report's rule", runsText(runs)),
	}
	fig.title = fig.lines[0] + ", " + fig.lines[1]
	for _, ml := range f.Lengths {
		for _, r := range ml.Rows {
			if _, ok := fig.colors[r.Method]; !ok {
				fig.colors[r.Method] = len(fig.order)
				fig.order = append(fig.order, r.Method)
			}
		}
	}
	n := len(f.Lengths)
	cols := min(n, methodCols)
	chunks := (n + methodCols - 1) / methodCols
	yMax := 1.0
	for _, ml := range f.Lengths {
		for _, r := range ml.Rows {
			if r.HasAccuracy && r.Accuracy.High > 1 {
				yMax = math.Max(yMax, r.Accuracy.High)
			}
		}
	}
	for c := range chunks {
		top, bottom := make([]*plot.Plot, cols), make([]*plot.Plot, cols)
		for j := range cols {
			i := c*methodCols + j
			if i >= n {
				continue
			}
			var err error
			if top[j], err = fig.panel(f.Lengths[i], true, yMax); err != nil {
				return nil, err
			}
			if bottom[j], err = fig.panel(f.Lengths[i], false, yMax); err != nil {
				return nil, err
			}
		}
		fig.rows = append(fig.rows, top, bottom)
	}
	fig.w = vg.Length(cols) * methodPanelW
	fig.legend = 1
	for _, p := range fig.legendLayout(fig.w) {
		fig.legend = max(fig.legend, int(p.Y/methodLegRow)+1)
	}
	fig.h = methodTitleH + vg.Length(len(fig.rows))*methodPanelH + vg.Length(fig.legend)*methodLegRow + methodLegRow/2
	return fig, nil
}

// panel is one length's plot: accuracy against speedup (top) or density.
func (fig *methodFigure) panel(ml MethodLength, speed bool, yMax float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = FormatLength(ml.Length)
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.Text = fig.fam.Score
	if speed {
		p.X.Label.Text = fig.phase + " speedup (x)"
	} else {
		p.X.Label.Text = fig.phase + " density"
		if src := fig.densitySource(); src == "density" || src == "attended_fraction" {
			p.X.Label.Text = "density (" + src + ")"
		}
	}
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Size = vg.Points(9)
		a.Tick.Label.Font.Size = vg.Points(8)
	}
	p.Y.Min, p.Y.Max = 0, yMax
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{0xe6}
	grid.Horizontal.Color = color.Gray{0xe6}
	p.Add(grid)

	type pt struct {
		row  MethodRow
		x    Stat // x with its interval
		best bool
	}
	var pts []pt
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, r := range ml.Rows {
		if !r.HasAccuracy {
			continue
		}
		var x Stat
		if speed {
			sp, ok := fig.speedup(r)
			if !ok {
				continue
			}
			x = Stat{N: sp.N, Mean: sp.Mean, Low: sp.Low, High: sp.High, HasInterval: sp.HasInterval}
		} else {
			d, ok := r.Density[fig.phase]
			if !ok || d.Mean <= 0 {
				continue
			}
			x = d
		}
		if math.IsNaN(x.Mean) || math.IsInf(x.Mean, 0) {
			continue
		}
		// On these log axes an interval end more than a factor of
		// methodSpan from the mean is drawn at that factor: a two-sample
		// interval can span 1e-50 to 1e50, which would leave the points
		// in a corner (and x - (x - low) cancels to 0 on a log axis).
		x.Low = math.Min(x.Mean, math.Max(x.Low, x.Mean/methodSpan))
		x.High = math.Max(x.Mean, math.Min(x.High, x.Mean*methodSpan))
		pts = append(pts, pt{r, x, r.Best})
		xmin, xmax = math.Min(xmin, math.Min(x.Low, x.Mean)), math.Max(xmax, math.Max(x.High, x.Mean))
	}
	if speed {
		xmin, xmax = math.Min(xmin, 1), math.Max(xmax, 1)
	}
	if len(pts) == 0 {
		xmin, xmax = 0.5, 2
	}
	// Log axes: speedups and densities are ratios. Pad by 15% either way.
	xmin, xmax = xmin/1.15, xmax*1.15
	if xmax/xmin < 2.2 {
		mid := math.Sqrt(xmin * xmax)
		xmin, xmax = mid/1.5, mid*1.5
	}
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = log10Ticks{}
	p.X.Min, p.X.Max = xmin, xmax

	// Dense: its accuracy as a dashed line, the tolerance band under it,
	// and (speed panels) the speedup 1 line.
	for _, r := range ml.Rows {
		if r.Method != fig.fam.Reference || !r.HasAccuracy {
			continue
		}
		band, err := plotter.NewPolygon(plotter.XYs{{X: xmin, Y: r.Accuracy.Mean - fig.tol}, {X: xmax, Y: r.Accuracy.Mean - fig.tol},
			{X: xmax, Y: r.Accuracy.Mean}, {X: xmin, Y: r.Accuracy.Mean}})
		if err != nil {
			return nil, err
		}
		band.Color = color.NRGBA{0x00, 0x9E, 0x73, 0x30}
		band.LineStyle.Width = 0
		p.Add(band)
		line, err := plotter.NewLine(plotter.XYs{{X: xmin, Y: r.Accuracy.Mean}, {X: xmax, Y: r.Accuracy.Mean}})
		if err != nil {
			return nil, err
		}
		line.Color = color.Gray{0x70}
		line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(line)
	}
	if speed {
		one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: 0}, {X: 1, Y: yMax}})
		if err != nil {
			return nil, err
		}
		one.Color = color.Gray{0x70}
		one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(one)
	}
	for _, q := range pts {
		c := palette[fig.colors[q.row.Method]%len(palette)]
		shape := glyphs[fig.colors[q.row.Method]%len(glyphs)]
		xy := plotter.XYs{{X: q.x.Mean, Y: q.row.Accuracy.Mean}}
		if q.row.Accuracy.HasInterval {
			ey, err := plotter.NewYErrorBars(methodErr{x: q.x, y: q.row.Accuracy})
			if err != nil {
				return nil, err
			}
			ey.Color, ey.Width = c, vg.Points(0.8)
			ey.CapWidth = vg.Points(4)
			p.Add(ey)
		}
		if q.x.HasInterval {
			ex, err := plotter.NewXErrorBars(methodErr{x: q.x, y: q.row.Accuracy})
			if err != nil {
				return nil, err
			}
			ex.Color, ex.Width = c, vg.Points(0.8)
			ex.CapWidth = vg.Points(4)
			p.Add(ex)
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			return nil, err
		}
		sc.Color, sc.Shape, sc.Radius = c, shape, vg.Points(3)
		p.Add(sc)
		if q.best {
			ring, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, err
			}
			ring.Color, ring.Shape, ring.Radius = color.Black, draw.RingGlyph{}, vg.Points(6.5)
			p.Add(ring)
		}
	}
	return p, nil
}

// densitySource is the metric the figure's densities come from (the first
// found).
func (fig *methodFigure) densitySource() string {
	for _, ml := range fig.fam.Lengths {
		for _, r := range ml.Rows {
			if src := r.DensitySource[fig.phase]; src != "" {
				return src
			}
		}
	}
	return ""
}

// speedup is a row's speedup in the figure's phase.
func (fig *methodFigure) speedup(r MethodRow) (Ratio, bool) {
	sp, ok := r.Speedup[fig.phase]
	return sp, ok && sp.N > 0 && sp.Mean > 0
}

// methodErr is one point with both intervals, for the error-bar plotters.
type methodErr struct{ x, y Stat }

func (e methodErr) Len() int                      { return 1 }
func (e methodErr) XY(int) (float64, float64)     { return e.x.Mean, e.y.Mean }
func (e methodErr) YError(int) (float64, float64) { return e.y.Mean - e.y.Low, e.y.High - e.y.Mean }
func (e methodErr) XError(int) (float64, float64) { return e.x.Mean - e.x.Low, e.x.High - e.x.Mean }

// draw renders the figure onto c (of the figure's size).
func (fig *methodFigure) draw(c draw.Canvas) {
	c.SetColor(color.White)
	c.Fill(c.Rectangle.Path())
	// Two title lines, shrunk to the width when they would not fit.
	width := c.Max.X - c.Min.X - vg.Points(8)
	for i, line := range fig.lines {
		size := vg.Points([]float64{12, 9}[i])
		sty := draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, size),
			XAlign: draw.XCenter, YAlign: draw.YTop, Handler: plot.DefaultTextHandler}
		if w := sty.Width(line); w > width {
			sty.Font.Size = size * width / w
		}
		y := c.Max.Y - vg.Points(5) - vg.Length(i)*vg.Points(14)
		c.FillText(sty, vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: y}, line)
	}

	legendH := vg.Length(fig.legend)*methodLegRow + methodLegRow/2
	grid := draw.Crop(c, 0, 0, legendH, -methodTitleH)
	tiles := draw.Tiles{Rows: len(fig.rows), Cols: len(fig.rows[0]), PadX: vg.Points(6), PadY: vg.Points(8),
		PadLeft: vg.Points(4), PadRight: vg.Points(8), PadTop: vg.Points(2), PadBottom: vg.Points(2)}
	canvases := plot.Align(fig.rows, tiles, grid)
	for i, row := range fig.rows {
		for j, p := range row {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}

	// The legend: each method's glyph and name, flowing left to right in
	// rows (legendLayout sized the strip).
	lsty := legendStyle()
	for i, pos := range fig.legendLayout(c.Max.X - c.Min.X) {
		m := fig.order[i]
		k := fig.colors[m]
		x := c.Min.X + pos.X
		y := c.Min.Y + legendH - pos.Y
		c.DrawGlyph(draw.GlyphStyle{Color: palette[k%len(palette)], Radius: vg.Points(3), Shape: glyphs[k%len(glyphs)]}, vg.Point{X: x, Y: y})
		c.FillText(lsty, vg.Point{X: x + vg.Points(7), Y: y}, fig.legendLabel(m))
	}
}

func legendStyle() draw.TextStyle {
	return draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, vg.Points(9)),
		XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: plot.DefaultTextHandler}
}

func (fig *methodFigure) legendLabel(m string) string {
	if m == fig.fam.Reference {
		return m + " (reference: dashed line over the tolerance band)"
	}
	return m
}

// legendLayout places the legend entries in rows across width: each
// entry's glyph position, x from the left, y from the top of the strip.
func (fig *methodFigure) legendLayout(width vg.Length) []vg.Point {
	sty := legendStyle()
	x, row := vg.Points(12), 0
	out := make([]vg.Point, len(fig.order))
	for i, m := range fig.order {
		w := vg.Points(7) + sty.Width(fig.legendLabel(m)) + vg.Points(18)
		if x > vg.Points(12) && x+w > width {
			x, row = vg.Points(12), row+1
		}
		out[i] = vg.Point{X: x, Y: vg.Length(row)*methodLegRow + methodLegRow*3/4}
		x += w
	}
	return out
}

// render writes the figure as "png" or "svg".
func (fig *methodFigure) render(w io.Writer, ext string) error {
	var wt io.WriterTo
	switch ext {
	case "svg":
		cv := vgsvg.New(fig.w, fig.h)
		fig.draw(draw.New(cv))
		wt = cv
	default:
		cv := vgimg.NewWith(vgimg.UseWH(fig.w, fig.h), vgimg.UseDPI(PlotDPI))
		fig.draw(draw.New(cv))
		wt = vgimg.PngCanvas{Canvas: cv}
	}
	_, err := wt.WriteTo(w)
	return err
}

// MethodPlots writes one figure per task family of the method comparison
// into dir (created if needed) and returns the paths written: for each
// length, a panel of accuracy against the measured speedup of opts.Phase
// over dense and, under it, a panel of accuracy against that phase's
// density, both on log axes; every method a colour and marker with its
// 95% intervals as error bars in both directions, dense's accuracy as a
// dashed line over the band of the tolerance, speedup 1 as a dashed line,
// and the rule's best method circled; interval ends beyond a factor of 100
// from the point are drawn at that factor. Lengths go four to a row of
// panels.
// format is "png" (the default when empty) or "svg". Files are named
// methods_<family>.<ext>. Families the section would leave out (fewer than
// two methods at every length) get no figure.
func (s *Summary) MethodPlots(dir, format string, opts MethodOptions) ([]string, error) {
	ext, err := plotFormat(format)
	if err != nil {
		return nil, err
	}
	opts, err = opts.resolve()
	if err != nil {
		return nil, err
	}
	fams, err := s.MethodComparison(opts)
	if err != nil {
		return nil, err
	}
	fams = comparedFamilies(fams)
	if len(fams) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("reports: plot directory: %w", err)
	}
	var paths []string
	used := map[string]bool{}
	for _, f := range fams {
		fig, err := s.methodFigure(f, opts)
		if err != nil {
			return paths, err
		}
		name := "methods_" + sanitize(f.Family)
		for i := 2; used[name]; i++ {
			name = fmt.Sprintf("methods_%s-%d", sanitize(f.Family), i)
		}
		used[name] = true
		var buf bytes.Buffer
		if err := fig.render(&buf, ext); err != nil {
			return paths, fmt.Errorf("reports: method plot %s: %w", f.Family, err)
		}
		path := filepath.Join(dir, name+"."+ext)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return paths, fmt.Errorf("reports: %w", err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// htmlMethods writes the method comparison as a <section id="methods">:
// the tables of the markdown section, each family's figure inlined as SVG
// after its table. Nothing when the markdown report has no such section.
func (s *Summary) htmlMethods(w io.Writer) error {
	opts, _ := MethodOptions{}.resolve()
	fams, err := s.MethodComparison(opts)
	if err != nil {
		return err
	}
	fams = comparedFamilies(fams)
	if len(fams) == 0 {
		return nil
	}
	esc := html.EscapeString
	fmt.Fprintf(w, "\n<section id=\"methods\">\n<h2>Method comparison</h2>\n<p>%s</p>\n", esc(methodRule(opts)))
	fmt.Fprintf(w, "<h3>Best method per length</h3>\n")
	bestTable(fams, opts.Phase).writeHTML(w)
	for _, f := range fams {
		fmt.Fprintf(w, "<h3>%s</h3>\n", esc(familyHeading(f)))
		if p := pooledNote(f); p != "" {
			fmt.Fprintf(w, "<p class=\"note\">%s</p>\n", esc(p))
		}
		familyTable(f, opts.Phase).writeHTML(w)
		fig, err := s.methodFigure(f, opts)
		if err != nil {
			return err
		}
		var svg bytes.Buffer
		if err := fig.render(&svg, "svg"); err != nil {
			return fmt.Errorf("reports: method plot %s: %w", f.Family, err)
		}
		fmt.Fprintf(w, "<figure>\n%s</figure>\n", htmlInlineSVG(svg.String(), fig.title))
	}
	fmt.Fprintf(w, "</section>\n")
	return nil
}
