package reports

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/evalctl/evalctl/harness/record"
)

// paretoPoint is one backend at one length: the mean of the speed measure
// and the mean of the score.
type paretoPoint struct {
	Backend string
	Speed   float64
	Score   float64
}

// paretoFrontier reports, for each point, whether it is on the Pareto
// frontier: no other point is at least as good in both speed and score
// and strictly better in one. A higher score is better; a higher speed is
// better unless lowerBetter (a time). Equal points are all on the frontier.
func paretoFrontier(pts []paretoPoint, lowerBetter bool) []bool {
	sp := func(p paretoPoint) float64 {
		if lowerBetter {
			return -p.Speed
		}
		return p.Speed
	}
	on := make([]bool, len(pts))
	for i, p := range pts {
		on[i] = true
		for j, q := range pts {
			if i == j {
				continue
			}
			if sp(q) >= sp(p) && q.Score >= p.Score && (sp(q) > sp(p) || q.Score > p.Score) {
				on[i] = false
				break
			}
		}
	}
	return on
}

// paretoSpeedValue returns the value named speed of r, from its Metrics or
// else its Timings, and whether it is a timing.
func paretoSpeedValue(r *record.Record, speed string) (record.Value, bool, bool) {
	if v, ok := r.Metrics[speed]; ok {
		return v, false, true
	}
	if v, ok := r.Timings[speed]; ok {
		return v, true, true
	}
	return record.Value{}, false, false
}

// paretoData holds the points of one length and what the axes need.
type paretoData struct {
	Length      int
	Points      []paretoPoint // by backend name
	Unit        string
	LowerBetter bool
	Runs        []string
}

// paretoCollect averages, per length and backend, score and the speed
// measure over the successful records of task (each mean over the records
// that carry the value; NaN and infinite values ignored). A backend
// appears at a length only if it has both means. The direction of speed
// is its Better field (first one seen); a timing without one counts as
// lower-is-better, a metric without one as higher-is-better.
func paretoCollect(recs []*record.Record, task, score, speed string) []paretoData {
	type acc struct{ ss, sn, vs, vn float64 }
	cells := map[int]map[string]*acc{}
	runs := map[int]map[string]bool{}
	unit, dirSet, lower := "", false, false
	for _, r := range recs {
		if r == nil || r.Task != task || !r.OK() {
			continue
		}
		s, okS := r.Scores[score]
		v, timing, okV := paretoSpeedValue(r, speed)
		okS = okS && !math.IsNaN(s) && !math.IsInf(s, 0)
		okV = okV && !math.IsNaN(v.Value) && !math.IsInf(v.Value, 0)
		if !okS && !okV {
			continue
		}
		if cells[r.Length] == nil {
			cells[r.Length] = map[string]*acc{}
			runs[r.Length] = map[string]bool{}
		}
		a := cells[r.Length][r.Backend]
		if a == nil {
			a = &acc{}
			cells[r.Length][r.Backend] = a
		}
		if r.Run != "" {
			runs[r.Length][r.Run] = true
		}
		if okS {
			a.ss += s
			a.sn++
		}
		if okV {
			a.vs += v.Value
			a.vn++
			if unit == "" {
				unit = v.Unit
			}
			if !dirSet {
				switch {
				case v.Better == record.Lower:
					lower, dirSet = true, true
				case v.Better == record.Higher:
					lower, dirSet = false, true
				case timing:
					lower = true
				}
			}
		}
	}
	lengths := make([]int, 0, len(cells))
	for l := range cells {
		lengths = append(lengths, l)
	}
	sort.Ints(lengths)
	var out []paretoData
	for _, l := range lengths {
		d := paretoData{Length: l, Unit: unit, LowerBetter: lower}
		for b, a := range cells[l] {
			if a.sn > 0 && a.vn > 0 {
				d.Points = append(d.Points, paretoPoint{Backend: b, Speed: a.vs / a.vn, Score: a.ss / a.sn})
			}
		}
		if len(d.Points) == 0 {
			continue
		}
		sort.Slice(d.Points, func(i, j int) bool { return d.Points[i].Backend < d.Points[j].Backend })
		for r := range runs[l] {
			d.Runs = append(d.Runs, r)
		}
		sort.Strings(d.Runs)
		out = append(out, d)
	}
	return out
}

// paretoPlot builds the scatter plot of one length. colors gives each
// backend's palette index, so that a backend keeps its colour across
// lengths.
func paretoPlot(task, score, speed string, d paretoData, colors map[string]int) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %s vs %s at %s (%s)", task, score, speed, FormatLength(d.Length), runsText(d.Runs))
	p.X.Label.Text = speed
	if d.Unit != "" {
		p.X.Label.Text += " (" + d.Unit + ")"
	}
	if d.LowerBetter {
		p.X.Label.Text += ", lower is better"
	} else {
		p.X.Label.Text += ", higher is better"
	}
	p.Y.Label.Text = score

	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, pt := range d.Points {
		xmin, xmax = math.Min(xmin, pt.Speed), math.Max(xmax, pt.Speed)
		ymin, ymax = math.Min(ymin, pt.Score), math.Max(ymax, pt.Score)
	}
	logX := xmin > 0 && xmax/xmin > 10
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = log10Ticks{}
	}

	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{0xe0}
	grid.Horizontal.Color = color.Gray{0xe0}
	p.Add(grid)

	// The frontier, by increasing speed, under the points.
	on := paretoFrontier(d.Points, d.LowerBetter)
	var front plotter.XYs
	for i, pt := range d.Points {
		if on[i] {
			front = append(front, plotter.XY{X: pt.Speed, Y: pt.Score})
		}
	}
	sort.Slice(front, func(i, j int) bool {
		if front[i].X != front[j].X {
			return front[i].X < front[j].X
		}
		return front[i].Y < front[j].Y
	})
	line, err := plotter.NewLine(front)
	if err != nil {
		return nil, fmt.Errorf("reports: pareto %s: %w", task, err)
	}
	line.Color = color.Gray{0x60}
	line.Width = vg.Points(1.5)
	line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	p.Add(line)
	p.Legend.Add("Pareto frontier", line)

	// Points: frontier points filled, dominated ones hollow.
	labels := plotter.XYLabels{}
	for i, pt := range d.Points {
		sc, err := plotter.NewScatter(plotter.XYs{{X: pt.Speed, Y: pt.Score}})
		if err != nil {
			return nil, fmt.Errorf("reports: pareto %s: %w", task, err)
		}
		k := colors[pt.Backend]
		sc.Color = palette[k%len(palette)]
		sc.Radius = vg.Points(4)
		if on[i] {
			sc.Shape = draw.CircleGlyph{}
		} else {
			sc.Shape = draw.RingGlyph{}
		}
		p.Add(sc)
		labels.XYs = append(labels.XYs, plotter.XY{X: pt.Speed, Y: pt.Score})
		labels.Labels = append(labels.Labels, pt.Backend)
	}
	lab, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, fmt.Errorf("reports: pareto %s: %w", task, err)
	}
	for i := range lab.TextStyle {
		lab.TextStyle[i].Font.Size = vg.Points(8)
		lab.TextStyle[i].YAlign = draw.YCenter
	}
	lab.Offset = vg.Point{X: vg.Points(7)}
	p.Add(lab)

	// Ranges: the data, widened when degenerate; labels and glyphs get
	// room through their glyph boxes.
	if xmin == xmax {
		pad := math.Max(math.Abs(xmin)*0.2, 0.5)
		if logX || xmin-pad <= 0 && xmin > 0 {
			pad = xmin / 2
		}
		p.X.Min, p.X.Max = xmin-pad, xmax+pad
	}
	if ymin == ymax {
		pad := math.Max(math.Abs(ymin)*0.1, 0.05)
		p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
	}
	// No point lies beyond the frontier, so the best corner (top right
	// when speed is better higher, top left when lower) is usually free.
	p.Legend.Top = true
	p.Legend.Left = d.LowerBetter
	p.Legend.XOffs = -vg.Points(4)
	if p.Legend.Left {
		p.Legend.XOffs = vg.Points(4)
	}
	p.Legend.YOffs = -vg.Points(4)
	p.Legend.ThumbnailWidth = vg.Points(24)
	return p, nil
}

// ParetoPlots writes, for each context length of task, a scatter plot of
// score against a speed measure into dir (created if needed), and returns
// the paths written. format is "png" (the default when empty) or "svg".
//
// speed names a metric of the records (Metrics, e.g. "speedup_prefill")
// or, failing that, a timing (Timings). Each backend with both values at
// a length is one point, labelled with its name: x is the mean of speed,
// y the mean of score, both over the successful records. The x axis is
// logarithmic when the speeds are positive and span more than a factor of
// 10. The Pareto frontier (the points that no other point beats in both
// speed and score) is a dashed line, its points filled and the dominated
// ones hollow. Speed is better higher unless its Better field says
// "lower" or, without a Better field, it is a timing. Lengths without any
// point are skipped; it is an error if that leaves none.
//
// Files are named <task>_pareto_<score>_<speed>_<LEN>.<ext> with LEN as
// [FormatLength] writes it (1K, 32K), sanitised like [Summary.Plots].
func ParetoPlots(recs []*record.Record, task, score, speed, dir, format string) ([]string, error) {
	ext, err := plotFormat(format)
	if err != nil {
		return nil, err
	}
	data := paretoCollect(recs, task, score, speed)
	if len(data) == 0 {
		return nil, fmt.Errorf("reports: no data for task %q with score %q and speed %q", task, score, speed)
	}
	files, err := newPlotFiles(dir, ext)
	if err != nil {
		return nil, err
	}
	var backends []string
	seen := map[string]bool{}
	for _, d := range data {
		for _, pt := range d.Points {
			if !seen[pt.Backend] {
				seen[pt.Backend] = true
				backends = append(backends, pt.Backend)
			}
		}
	}
	sort.Strings(backends)
	colors := map[string]int{}
	for i, b := range backends {
		colors[b] = i
	}
	for _, d := range data {
		p, err := paretoPlot(task, score, speed, d, colors)
		if err != nil {
			return files.paths, err
		}
		if err := files.save(p, sanitize(task)+"_pareto_"+sanitize(score)+"_"+sanitize(speed)+"_"+sanitize(FormatLength(d.Length))); err != nil {
			return files.paths, err
		}
	}
	return files.paths, nil
}
