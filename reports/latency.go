package reports

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// latencyTimings are the timings LatencyPlots draws, each with the
// cost-model speedup metric that bounds it.
var latencyTimings = []struct{ timing, bound string }{
	{"prefill_ms", "cost_speedup_prefill"},
	{"decode_ms", "cost_speedup_decode"},
}

// latencyErrNoData is returned (wrapped) by LatencyPlot when the timing has
// nothing to draw; LatencyPlots skips such plots.
var latencyErrNoData = errors.New("no data")

// latencyBoundDashes is the dash pattern of the cost-model bound lines.
var latencyBoundDashes = []vg.Length{vg.Points(4), vg.Points(2.5)}

// latencyBound returns the fastest a backend could be by the cost model:
// the dense mean divided by the backend's cost-model speedup. It is false
// when either value is not finite and positive (no bound can be drawn on a
// log axis).
func latencyBound(denseMean, speedup float64) (float64, bool) {
	if !latencyPositive(denseMean) || !latencyPositive(speedup) {
		return 0, false
	}
	v := denseMean / speedup
	return v, latencyPositive(v)
}

func latencyPositive(v float64) bool {
	return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v)
}

// latencyBounds returns, for each length that has both, the bound
// dense[length] / speedup[length], sorted by length as given in lengths.
func latencyBounds(lengths []int, dense, speedup map[int]float64) plotter.XYs {
	var out plotter.XYs
	for _, l := range lengths {
		d, ok1 := dense[l]
		sp, ok2 := speedup[l]
		if !ok1 || !ok2 {
			continue
		}
		if v, ok := latencyBound(d, sp); ok {
			out = append(out, plotter.XY{X: float64(l), Y: v})
		}
	}
	return out
}

// latencyMeans returns the positive finite means of metric for one backend
// by positive length.
func (s *Summary) latencyMeans(task, metric, backend string, lengths []int) map[int]float64 {
	out := map[int]float64{}
	for _, l := range lengths {
		if l <= 0 {
			continue
		}
		if st, ok := s.Cell(task, metric, backend, l); ok && latencyPositive(st.Mean) {
			out[l] = st.Mean
		}
	}
	return out
}

// LatencyPlot builds a log-log plot of a timing (such as "prefill_ms")
// against context length for one task: one solid line with markers per
// backend (the timing's mean; x on a log2 axis labelled 1K, 2K ..., y on a
// log10 axis), and, for every backend other than dense that has the metric
// bound (such as "cost_speedup_prefill"), a thin dashed line of the same
// colour at dense mean / bound mean per length: the fastest that backend
// could be by the cost model. Legend entries are "<backend>" and
// "<backend> bound". Lengths and means that are not positive cannot be
// shown on log axes and are left out. It fails when nothing is left to
// draw.
func (s *Summary) LatencyPlot(task, timing, dense, bound string) (*plot.Plot, error) {
	var info MetricInfo
	found := false
	for _, m := range s.Metrics(task) {
		if m.Name == timing {
			info, found = m, true
		}
	}
	if !found {
		return nil, fmt.Errorf("reports: latency plot: task %q metric %q: %w", task, timing, latencyErrNoData)
	}
	lengths := s.Lengths(task)
	backends := s.Backends(task)
	denseMeans := s.latencyMeans(task, timing, dense, lengths)

	type latencyLine struct {
		backend string
		colour  color.RGBA
		index   int
		xys     plotter.XYs
		bound   plotter.XYs
	}
	var lines []latencyLine
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, b := range backends {
		means := s.latencyMeans(task, timing, b, lengths)
		ln := latencyLine{backend: b, colour: palette[i%len(palette)], index: i}
		for _, l := range lengths {
			if v, ok := means[l]; ok {
				ln.xys = append(ln.xys, plotter.XY{X: float64(l), Y: v})
			}
		}
		if b != dense && bound != "" {
			ln.bound = latencyBounds(lengths, denseMeans, s.latencyMeans(task, bound, b, lengths))
		}
		if len(ln.xys) == 0 && len(ln.bound) == 0 {
			continue
		}
		for _, xy := range slices.Concat(ln.xys, ln.bound) {
			lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
		}
		lines = append(lines, ln)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("reports: latency plot: task %q metric %q: %w", task, timing, latencyErrNoData)
	}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %s vs context length, with cost-model bounds (%s)", task, timing, runsText(s.taskRuns(task)))
	p.X.Label.Text = "context length (tokens)"
	p.Y.Label.Text = timing
	if info.Unit != "" {
		p.Y.Label.Text += " (" + info.Unit + ")"
	}
	p.X.Scale = Log2Scale{}
	p.X.Tick.Marker = Log2Ticks{}
	var pos []int
	for _, l := range lengths {
		if l > 0 {
			pos = append(pos, l)
		}
	}
	if !allPowersOfTwo(pos) {
		p.X.Tick.Marker = lengthTicks(pos)
	}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = log10Ticks{}

	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{0xe0}
	grid.Horizontal.Color = color.Gray{0xe0}
	p.Add(grid)

	// Bounds first, so that the measured lines are drawn over them.
	boundLines := make([]*plotter.Line, len(lines))
	for i, ln := range lines {
		if len(ln.bound) == 0 {
			continue
		}
		l, err := plotter.NewLine(ln.bound)
		if err != nil {
			return nil, fmt.Errorf("reports: latency plot %s/%s: %w", task, timing, err)
		}
		l.Color = ln.colour
		l.Width = vg.Points(0.8)
		l.Dashes = latencyBoundDashes
		p.Add(l)
		boundLines[i] = l
	}
	for i, ln := range lines {
		if len(ln.xys) > 0 {
			line, points, err := plotter.NewLinePoints(ln.xys)
			if err != nil {
				return nil, fmt.Errorf("reports: latency plot %s/%s: %w", task, timing, err)
			}
			line.Color = ln.colour
			line.Width = vg.Points(1.5)
			points.Color = ln.colour
			points.Radius = vg.Points(2.5)
			points.Shape = glyphs[ln.index%len(glyphs)]
			p.Add(line, points)
			p.Legend.Add(ln.backend, line, points)
		}
		if boundLines[i] != nil {
			p.Legend.Add(ln.backend+" bound", boundLines[i])
		}
	}

	if p.X.Min == p.X.Max {
		p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
	}
	p.Y.Min, p.Y.Max = lo, hi
	if p.Y.Min == p.Y.Max {
		p.Y.Min, p.Y.Max = p.Y.Min/2, p.Y.Max*2
	}
	// Latency grows with length: the top left corner is the free one.
	p.Legend.Left, p.Legend.Top = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(4)
	p.Legend.ThumbnailWidth = vg.Points(24)
	return p, nil
}

// LatencyPlots writes a [Summary.LatencyPlot] for each task and each of
// the timings prefill_ms (bounded by cost_speedup_prefill) and decode_ms
// (bounded by cost_speedup_decode) that the task has, into dir (created if
// needed), and returns the paths written. Files are named
// <task>_latency_<timing>.<ext> (sanitized as by [Summary.Plots], with a
// numeric suffix should two names collide); format is "png" (the default
// when empty) or "svg". dense is the label of the dense backend. Timings
// that are absent or have nothing to draw are skipped quietly.
func (s *Summary) LatencyPlots(dir, format, dense string) ([]string, error) {
	ext, err := plotFormat(format)
	if err != nil {
		return nil, err
	}
	files, err := newPlotFiles(dir, ext)
	if err != nil {
		return nil, err
	}
	for _, task := range s.Tasks() {
		for _, tb := range latencyTimings {
			if !s.hasData(task, tb.timing) {
				continue
			}
			p, err := s.LatencyPlot(task, tb.timing, dense, tb.bound)
			if errors.Is(err, latencyErrNoData) {
				continue
			}
			if err != nil {
				return files.paths, err
			}
			if err := files.save(p, sanitize(task)+"_latency_"+sanitize(tb.timing)); err != nil {
				return files.paths, err
			}
		}
	}
	return files.paths, nil
}
