package reports

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/evalctl/evalctl/harness/record"
)

// heatmapGrid is the needle-in-a-haystack grid of one backend: the mean of
// one score per (depth, length) cell. Rows are depths in ascending order
// (row 0 is the shallowest needle, drawn at the top), columns are lengths
// in ascending order.
type heatmapGrid struct {
	Lengths []int
	Depths  []float64
	Mean    [][]float64 // [row][col]; NaN where the cell has no scored sample
	N       [][]int     // scored samples per cell
	Errors  [][]int     // error records per cell
}

// heatmapDepthKey rounds a depth so that 0.1+0.2 and 0.3 share a row.
func heatmapDepthKey(d float64) float64 { return math.Round(d*1e9) / 1e9 }

// heatmapAxes returns the sorted lengths and depths of the records of task
// that either carry score or failed, over all backends, so that every
// backend's heatmap of a task has the same rows and columns.
func heatmapAxes(recs []*record.Record, task, score string) ([]int, []float64) {
	ls, ds := map[int]bool{}, map[float64]bool{}
	for _, r := range recs {
		if r == nil || r.Task != task {
			continue
		}
		if _, ok := r.Scores[score]; ok || !r.OK() {
			ls[r.Length] = true
			ds[heatmapDepthKey(r.Depth)] = true
		}
	}
	lengths := make([]int, 0, len(ls))
	for l := range ls {
		lengths = append(lengths, l)
	}
	sort.Ints(lengths)
	depths := make([]float64, 0, len(ds))
	for d := range ds {
		depths = append(depths, d)
	}
	sort.Float64s(depths)
	return lengths, depths
}

// computeHeatmapGrid computes the grid of backend on the given axes: each
// cell is the mean of score over the successful records of that (length,
// depth) that carry it; error records are only counted. Scores that are
// NaN or infinite are ignored.
func computeHeatmapGrid(recs []*record.Record, task, score, backend string, lengths []int, depths []float64) heatmapGrid {
	g := heatmapGrid{Lengths: lengths, Depths: depths}
	col := map[int]int{}
	for i, l := range lengths {
		col[l] = i
	}
	row := map[float64]int{}
	for i, d := range depths {
		row[heatmapDepthKey(d)] = i
	}
	sum := make([][]float64, len(depths))
	g.Mean = make([][]float64, len(depths))
	g.N = make([][]int, len(depths))
	g.Errors = make([][]int, len(depths))
	for i := range depths {
		sum[i] = make([]float64, len(lengths))
		g.Mean[i] = make([]float64, len(lengths))
		g.N[i] = make([]int, len(lengths))
		g.Errors[i] = make([]int, len(lengths))
	}
	for _, r := range recs {
		if r == nil || r.Task != task || r.Backend != backend {
			continue
		}
		i, okr := row[heatmapDepthKey(r.Depth)]
		j, okc := col[r.Length]
		if !okr || !okc {
			continue
		}
		if !r.OK() {
			g.Errors[i][j]++
			continue
		}
		v, ok := r.Scores[score]
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		sum[i][j] += v
		g.N[i][j]++
	}
	for i := range depths {
		for j := range lengths {
			g.Mean[i][j] = math.NaN()
			if g.N[i][j] > 0 {
				g.Mean[i][j] = sum[i][j] / float64(g.N[i][j])
			}
		}
	}
	return g
}

// heatmapStops are the colours of normalised scores 0, 0.25, 0.5, 0.75 and
// 1: ColorBrewer's RdYlGn, red through yellow to green.
var heatmapStops = []color.RGBA{
	{0xd7, 0x30, 0x27, 0xff},
	{0xfc, 0x8d, 0x59, 0xff},
	{0xfe, 0xe0, 0x8b, 0xff},
	{0x91, 0xcf, 0x60, 0xff},
	{0x1a, 0x98, 0x50, 0xff},
}

// heatmapErrorColor fills cells whose records all failed.
var heatmapErrorColor = color.RGBA{0xa0, 0xa0, 0xa0, 0xff}

// heatmapColor maps a normalised score (clamped to [0,1]) to a colour.
func heatmapColor(v float64) color.RGBA {
	if math.IsNaN(v) {
		return heatmapErrorColor
	}
	v = math.Max(0, math.Min(1, v))
	f := v * float64(len(heatmapStops)-1)
	i := int(f)
	if i >= len(heatmapStops)-1 {
		return heatmapStops[len(heatmapStops)-1]
	}
	t := f - float64(i)
	a, b := heatmapStops[i], heatmapStops[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + t*(float64(y)-float64(x)))) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// heatmapScale returns the divisor that brings the score of task into
// [0,1]: 100 if any successful value exceeds 1 (a 0..100 scale), else 1.
func heatmapScale(recs []*record.Record, task, score string) float64 {
	for _, r := range recs {
		if r == nil || r.Task != task || !r.OK() {
			continue
		}
		if v, ok := r.Scores[score]; ok && v > 1 && !math.IsInf(v, 0) {
			return 100
		}
	}
	return 1
}

// heatmapCells is a plot.Plotter drawing a heatmapGrid: column j spans
// x in [j-0.5, j+0.5], row i spans y in [-i-0.5, -i+0.5] (so that row 0 is
// on top), each cell filled with its colour and annotated with its mean.
type heatmapCells struct {
	grid  heatmapGrid
	scale float64 // divisor that normalises the means to [0,1]
}

func (h heatmapCells) DataRange() (xmin, xmax, ymin, ymax float64) {
	return -0.5, float64(len(h.grid.Lengths)) - 0.5, -float64(len(h.grid.Depths)) + 0.5, 0.5
}

// heatmapLabel is the annotation of a mean: two decimals on a 0..1 scale,
// whole numbers when a 0..100 scale is in use (at most one decimal).
func heatmapLabel(mean, scale float64) string {
	if scale > 1 {
		return strconv.FormatFloat(math.Round(mean*10)/10, 'f', -1, 64)
	}
	return strconv.FormatFloat(mean, 'f', 2, 64)
}

func (h heatmapCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	nc := len(h.grid.Lengths)
	if nc == 0 || len(h.grid.Depths) == 0 {
		return
	}
	cellW := trX(0.5) - trX(-0.5)
	cellH := trY(0.5) - trY(-0.5)
	sty := text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, vg.Points(9)),
		XAlign:  draw.XCenter,
		YAlign:  draw.YCenter,
		Handler: p.TextHandler,
	}
	// One font size for every cell: the largest up to 9 pt at which the
	// widest label fits its cell; below 5 pt, labels are left out.
	widest := "0.00"
	if h.scale > 1 {
		widest = "100"
	}
	for sz := vg.Points(9); ; sz -= vg.Points(0.5) {
		sty.Font.Size = sz
		if sz < vg.Points(5) {
			sty.Font.Size = 0
			break
		}
		if sty.Width(widest) <= cellW*0.9 && sty.Height(widest) <= cellH*0.9 {
			break
		}
	}
	white := color.Gray{0xff}
	for i := range h.grid.Depths {
		for j := range h.grid.Lengths {
			x0, x1 := trX(float64(j)-0.5), trX(float64(j)+0.5)
			y0, y1 := trY(-float64(i)-0.5), trY(-float64(i)+0.5)
			rect := []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
			mean := h.grid.Mean[i][j]
			var fill color.Color
			label := ""
			switch {
			case h.grid.N[i][j] > 0:
				fill = heatmapColor(mean / h.scale)
				label = heatmapLabel(mean, h.scale)
			case h.grid.Errors[i][j] > 0:
				fill = heatmapErrorColor
				label = "err"
			default:
				// No record: left white, outlined and marked "n/a".
				c.StrokeLines(draw.LineStyle{Color: color.Gray{0xd0}, Width: vg.Points(0.75)}, append(rect, rect[0]))
				if sty.Font.Size > 0 {
					na := sty
					na.Color = color.Gray{0x90}
					c.FillText(na, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, "n/a")
				}
				continue
			}
			c.FillPolygon(fill, rect)
			// A thin white border separates the cells.
			c.StrokeLines(draw.LineStyle{Color: white, Width: vg.Points(0.75)}, append(rect, rect[0]))
			if sty.Font.Size > 0 {
				ts := sty
				if heatmapDark(fill) {
					ts.Color = color.White
				}
				c.FillText(ts, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, label)
			}
		}
	}
}

// heatmapDark reports whether c is dark enough to want white text.
func heatmapDark(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return (0.299*float64(r)+0.587*float64(g)+0.114*float64(b))/0xffff < 0.45
}

// heatmapDepthLabel formats a depth in [0,1] as a percentage: "0%",
// "12.5%", "100%".
func heatmapDepthLabel(d float64) string {
	return strconv.FormatFloat(math.Round(d*100*1e4)/1e4, 'f', -1, 64) + "%"
}

// heatmapRuns returns the sorted distinct run ids of the records of task
// and backend.
func heatmapRuns(recs []*record.Record, keep func(*record.Record) bool) []string {
	seen := map[string]bool{}
	var runs []string
	for _, r := range recs {
		if r == nil || !keep(r) || r.Run == "" || seen[r.Run] {
			continue
		}
		seen[r.Run] = true
		runs = append(runs, r.Run)
	}
	sort.Strings(runs)
	return runs
}

// heatmapPlot builds the heatmap of one backend.
func heatmapPlot(recs []*record.Record, task, score, backend string, g heatmapGrid, scale float64) *plot.Plot {
	p := plot.New()
	runs := heatmapRuns(recs, func(r *record.Record) bool { return r.Task == task && r.Backend == backend })
	p.Title.Text = fmt.Sprintf("%s: %s by depth and length, %s (%s)", task, score, backend, runsText(runs))
	p.X.Label.Text = "context length (tokens)"
	p.Y.Label.Text = "needle depth"
	xt := make(plot.ConstantTicks, len(g.Lengths))
	for j, l := range g.Lengths {
		xt[j] = plot.Tick{Value: float64(j), Label: FormatLength(l)}
	}
	yt := make(plot.ConstantTicks, len(g.Depths))
	for i, d := range g.Depths {
		yt[i] = plot.Tick{Value: -float64(i), Label: heatmapDepthLabel(d)}
	}
	p.X.Tick.Marker = xt
	p.Y.Tick.Marker = yt
	// Categorical axes: no tick marks or axis lines over the cells.
	p.X.Tick.Length = 0
	p.Y.Tick.Length = 0
	p.X.LineStyle.Width = 0
	p.Y.LineStyle.Width = 0
	p.X.Padding = 0
	p.Y.Padding = 0
	p.Add(heatmapCells{grid: g, scale: scale})
	p.X.Min, p.X.Max = -0.5, float64(len(g.Lengths))-0.5
	p.Y.Min, p.Y.Max = -float64(len(g.Depths))+0.5, 0.5
	return p
}

// NeedleHeatmaps writes the needle-in-a-haystack heatmaps of score in task
// into dir (created if needed), one per backend label, and returns the
// paths written. format is "png" (the default when empty) or "svg".
//
// Columns are the context lengths in ascending order (labelled 1K, 2K ...
// by [FormatLength]), rows the needle depths from 0% at the top to 100% at
// the bottom; every backend of the task gets the same rows and columns.
// Each cell is the mean of score over the successful records of that
// (length, depth), written in the cell and coloured from red (0) through
// yellow to green (1). Scores on a 0..100 scale (any value of the task
// above 1) are divided by 100 for the colour. A cell whose records all
// failed is grey and reads "err"; a cell without records is white and
// reads "n/a".
// Backends without any successful record carrying score are skipped; it
// is an error if that leaves none.
//
// Files are named <task>_<score>_heatmap_<backend>.<ext>, sanitised like
// [Summary.Plots], with a numeric suffix should two names collide.
func NeedleHeatmaps(recs []*record.Record, task, score, dir, format string) ([]string, error) {
	ext, err := plotFormat(format)
	if err != nil {
		return nil, err
	}
	var backends []string
	seen := map[string]bool{}
	for _, r := range recs {
		if r == nil || r.Task != task || !r.OK() || seen[r.Backend] {
			continue
		}
		if _, ok := r.Scores[score]; ok {
			seen[r.Backend] = true
			backends = append(backends, r.Backend)
		}
	}
	sort.Strings(backends)
	if len(backends) == 0 {
		return nil, fmt.Errorf("reports: no data for task %q score %q", task, score)
	}
	files, err := newPlotFiles(dir, ext)
	if err != nil {
		return nil, err
	}
	lengths, depths := heatmapAxes(recs, task, score)
	scale := heatmapScale(recs, task, score)
	for _, b := range backends {
		g := computeHeatmapGrid(recs, task, score, b, lengths, depths)
		p := heatmapPlot(recs, task, score, b, g, scale)
		if err := files.save(p, sanitize(task)+"_"+sanitize(score)+"_heatmap_"+sanitize(b)); err != nil {
			return files.paths, err
		}
	}
	return files.paths, nil
}
