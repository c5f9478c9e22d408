package reports

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot geometry: plots are PlotWidth x PlotHeight; PNGs are rendered at
// PlotDPI dots per inch (16 cm x 10 cm gives 945 x 591 pixels).
const (
	PlotWidth  = 16 * vg.Centimeter
	PlotHeight = 10 * vg.Centimeter
	PlotDPI    = 150
)

// logSpan is the ratio between the largest and smallest positive plotted
// value above which a metric gets a logarithmic y axis.
const logSpan = 100

// Plots writes one plot per (task, metric) with data into dir, creating
// dir if needed, and returns the paths written. format is "png" (the
// default when empty) or "svg". Files are named <task>_<metric>.<ext>, with
// every character other than letters, digits, '.', '-' and '_' replaced by
// '_' (and a numeric suffix should two names collide). Metrics without any
// finite value are skipped. See [Summary.Plot] for what a plot shows.
func (s *Summary) Plots(dir, format string) ([]string, error) {
	ext, err := plotFormat(format)
	if err != nil {
		return nil, err
	}
	files, err := newPlotFiles(dir, ext)
	if err != nil {
		return nil, err
	}
	for _, task := range s.Tasks() {
		for _, m := range s.Metrics(task) {
			if !s.hasData(task, m.Name) {
				continue
			}
			p, err := s.Plot(task, m.Name)
			if err != nil {
				return files.paths, err
			}
			if err := files.save(p, sanitize(task)+"_"+sanitize(m.Name)); err != nil {
				return files.paths, err
			}
		}
	}
	return files.paths, nil
}

// plotFormat validates a plot format ("" means png) and returns the file
// extension.
func plotFormat(format string) (string, error) {
	ext := strings.ToLower(format)
	if ext == "" {
		ext = "png"
	}
	if ext != "png" && ext != "svg" {
		return "", fmt.Errorf("reports: plot format %q: want \"png\" or \"svg\"", format)
	}
	return ext, nil
}

// plotFiles writes the plots of one call into one directory, each under a
// unique name, and keeps the paths written.
type plotFiles struct {
	dir, ext string
	used     map[string]bool
	paths    []string
}

// newPlotFiles creates dir for plots with extension ext.
func newPlotFiles(dir, ext string) (*plotFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("reports: plot directory: %w", err)
	}
	return &plotFiles{dir: dir, ext: ext, used: map[string]bool{}}, nil
}

// save writes p as dir/base.ext, with a -2, -3 ... suffix when an earlier
// plot of this call took that name.
func (f *plotFiles) save(p *plot.Plot, base string) error {
	name := base
	for i := 2; f.used[name]; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	f.used[name] = true
	path := filepath.Join(f.dir, name+"."+f.ext)
	if err := savePlot(p, path, f.ext); err != nil {
		return err
	}
	f.paths = append(f.paths, path)
	return nil
}

// sanitize keeps letters, digits, '.', '-' and '_' and replaces anything
// else with '_'.
func sanitize(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// savePlot renders p to path in format ext ("png" or "svg").
func savePlot(p *plot.Plot, path, ext string) (err error) {
	var wt io.WriterTo
	switch ext {
	case "svg":
		c := vgsvg.New(PlotWidth, PlotHeight)
		p.Draw(withMargin(draw.New(c)))
		wt = c
	default:
		c := vgimg.NewWith(vgimg.UseWH(PlotWidth, PlotHeight), vgimg.UseDPI(PlotDPI))
		p.Draw(withMargin(draw.New(c)))
		wt = vgimg.PngCanvas{Canvas: c}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("reports: %w", cerr)
		}
	}()
	if _, err := wt.WriteTo(f); err != nil {
		return fmt.Errorf("reports: writing %s: %w", path, err)
	}
	return nil
}

// withMargin leaves a small white margin around the plot, so that the
// title and the last tick label do not touch the image border.
func withMargin(c draw.Canvas) draw.Canvas {
	m := vg.Points(6)
	return draw.Crop(c, m, -m, m, -m)
}

// palette is the Okabe–Ito colour-blind-safe palette (without yellow, which
// is unreadable on white).
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x00, 0x00, 0x00, 0xff}, // black
}

// dashes tell lines apart without colour; since len(dashes) and
// len(palette) are coprime, colour and dash pairs stay distinct for 28
// backends.
var dashes = [][]vg.Length{
	nil,
	{vg.Points(6), vg.Points(3)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(6), vg.Points(2), vg.Points(2), vg.Points(2)},
}

var glyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{},
	draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.PlusGlyph{},
}

// series is one backend's points of one metric, by increasing length.
type series struct {
	backend string
	xs      []float64
	stats   []Stat
}

// Plot builds the plot of one metric of one task; [Summary.Plots] saves
// these. The x axis is the context length on a log2 scale ([Log2Scale],
// [Log2Ticks]: 1K, 2K, 4K ...), or linear if a length is not positive. The
// y axis is the mean of the metric, labelled with its unit; it is
// logarithmic for timings and for metrics whose positive means span more
// than a factor of 100, provided every plotted value is positive (a log
// axis cannot show zero), and linear otherwise. Each backend is one line
// with point markers, in its own colour, dash pattern and marker shape, and
// a legend entry; its 95% intervals are a translucent band, or error bars
// for points whose neighbours have no interval. The title is
// "<task>: <metric> vs context length (run <ids>)".
func (s *Summary) Plot(task, metric string) (*plot.Plot, error) {
	var info MetricInfo
	found := false
	for _, m := range s.Metrics(task) {
		if m.Name == metric {
			info, found = m, true
		}
	}
	if !found || !s.hasData(task, metric) {
		return nil, fmt.Errorf("reports: no data for task %q metric %q", task, metric)
	}
	lengths := s.Lengths(task)
	var all []series
	for _, b := range s.Backends(task) {
		sr := series{backend: b}
		for _, l := range lengths {
			if st, ok := s.Cell(task, metric, b, l); ok {
				sr.xs = append(sr.xs, float64(l))
				sr.stats = append(sr.stats, st)
			}
		}
		if len(sr.xs) > 0 {
			all = append(all, sr)
		}
	}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %s vs context length (%s)", task, metric, runsText(s.taskRuns(task)))
	p.X.Label.Text = "context length (tokens)"
	p.Y.Label.Text = metric
	if info.Unit != "" {
		p.Y.Label.Text += " (" + info.Unit + ")"
	}
	logX := lengths[0] > 0
	if logX {
		p.X.Scale = Log2Scale{}
		p.X.Tick.Marker = Log2Ticks{}
		if !allPowersOfTwo(lengths) {
			p.X.Tick.Marker = lengthTicks(lengths)
		}
	}
	logY, yMin, yMax := chooseYScale(info, all)
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = log10Ticks{}
	}

	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{0xe0}
	grid.Horizontal.Color = color.Gray{0xe0}
	p.Add(grid)

	// Bands first, so that lines and markers are drawn over them.
	for i, sr := range all {
		if err := addIntervals(p, sr, palette[i%len(palette)], logY, yMin); err != nil {
			return nil, err
		}
	}
	for i, sr := range all {
		xys := make(plotter.XYs, len(sr.xs))
		for j := range sr.xs {
			xys[j] = plotter.XY{X: sr.xs[j], Y: sr.stats[j].Mean}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("reports: plot %s/%s: %w", task, metric, err)
		}
		c := palette[i%len(palette)]
		line.Color = c
		line.Width = vg.Points(1.5)
		line.Dashes = dashes[i%len(dashes)]
		points.Color = c
		points.Radius = vg.Points(2.5)
		points.Shape = glyphs[i%len(glyphs)]
		p.Add(line, points)
		p.Legend.Add(sr.backend, line, points)
	}

	// Axis ranges: the data range, widened when it is a single point.
	if logX {
		if p.X.Min == p.X.Max {
			p.X.Min, p.X.Max = p.X.Min/2, p.X.Max*2
		}
	}
	if logY {
		p.Y.Min, p.Y.Max = yMin, yMax
		if p.Y.Min == p.Y.Max {
			p.Y.Min, p.Y.Max = p.Y.Min/2, p.Y.Max*2
		}
	}
	placeLegend(p, all)
	return p, nil
}

// allPowersOfTwo reports whether every length is a power of two.
func allPowersOfTwo(lengths []int) bool {
	for _, l := range lengths {
		if l <= 0 || l&(l-1) != 0 {
			return false
		}
	}
	return true
}

// lengthTicks ticks the measured lengths themselves, for lengths that are
// not powers of two (1000, 4000 ...), which Log2Ticks would miss. Beyond 10
// lengths only every other one is labelled, counting from the largest.
func lengthTicks(lengths []int) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(lengths))
	for i, l := range lengths {
		ticks[i].Value = float64(l)
		if len(lengths) <= 10 || (len(lengths)-1-i)%2 == 0 {
			ticks[i].Label = FormatLength(l)
		}
	}
	return ticks
}

// chooseYScale decides whether the y axis is logarithmic and, if so,
// returns the range of the plotted values (means and positive interval
// bounds).
func chooseYScale(info MetricInfo, all []series) (logY bool, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, sr := range all {
		for _, st := range sr.stats {
			if st.Mean <= 0 {
				return false, 0, 0
			}
			lo, hi = math.Min(lo, st.Mean), math.Max(hi, st.Mean)
		}
	}
	if info.Kind != KindTiming && hi/lo <= logSpan {
		return false, 0, 0
	}
	for _, sr := range all {
		for _, st := range sr.stats {
			if st.HasInterval {
				if st.Low > 0 {
					lo = math.Min(lo, st.Low)
				}
				hi = math.Max(hi, st.High)
			}
		}
	}
	return true, lo, hi
}

// addIntervals draws the 95% intervals of one series: a translucent band
// over each run of consecutive points that all have an interval, and an
// error bar for an isolated point. On a log axis, lower bounds at or below
// zero are clipped to floor.
func addIntervals(p *plot.Plot, sr series, c color.RGBA, logY bool, floor float64) error {
	low := func(st Stat) float64 {
		if logY && st.Low <= 0 {
			return floor
		}
		return st.Low
	}
	fill := color.NRGBA{c.R, c.G, c.B, 0x30}
	for i := 0; i < len(sr.stats); {
		if !sr.stats[i].HasInterval {
			i++
			continue
		}
		j := i
		for j < len(sr.stats) && sr.stats[j].HasInterval {
			j++
		}
		if j-i == 1 {
			bars, err := plotter.NewYErrorBars(errPoints{x: sr.xs[i], st: sr.stats[i], low: low(sr.stats[i])})
			if err != nil {
				return err
			}
			bars.Color = c
			bars.Width = vg.Points(1)
			p.Add(bars)
		} else {
			ring := make(plotter.XYs, 0, 2*(j-i))
			for k := i; k < j; k++ {
				ring = append(ring, plotter.XY{X: sr.xs[k], Y: sr.stats[k].High})
			}
			for k := j - 1; k >= i; k-- {
				ring = append(ring, plotter.XY{X: sr.xs[k], Y: low(sr.stats[k])})
			}
			band, err := plotter.NewPolygon(ring)
			if err != nil {
				return err
			}
			band.Color = fill
			band.LineStyle.Width = 0
			p.Add(band)
		}
		i = j
	}
	return nil
}

// errPoints is one point with its interval, for plotter.NewYErrorBars.
type errPoints struct {
	x   float64
	st  Stat
	low float64
}

func (e errPoints) Len() int                      { return 1 }
func (e errPoints) XY(int) (float64, float64)     { return e.x, e.st.Mean }
func (e errPoints) YError(int) (float64, float64) { return e.st.Mean - e.low, e.st.High - e.st.Mean }

// placeLegend puts the legend in a corner the lines are likely to leave
// free: top left when values mostly grow with length (timings), bottom
// left when they mostly fall (accuracy that degrades with length).
func placeLegend(p *plot.Plot, all []series) {
	rising := 0
	for _, sr := range all {
		n := len(sr.stats)
		if n < 2 {
			continue
		}
		if sr.stats[n-1].Mean > sr.stats[0].Mean {
			rising++
		} else if sr.stats[n-1].Mean < sr.stats[0].Mean {
			rising--
		}
	}
	p.Legend.Left = true
	p.Legend.Top = rising >= 0
	p.Legend.XOffs = vg.Points(6)
	if p.Legend.Top {
		p.Legend.YOffs = -vg.Points(4)
	} else {
		p.Legend.YOffs = vg.Points(4)
	}
	p.Legend.ThumbnailWidth = vg.Points(24)
}

// runsText formats run ids for a title: "run a", "runs a, b", or
// "runs a, b +3 more".
func runsText(runs []string) string {
	switch len(runs) {
	case 0:
		return "no run id"
	case 1:
		return "run " + runs[0]
	case 2:
		return "runs " + runs[0] + ", " + runs[1]
	default:
		return fmt.Sprintf("runs %s, %s +%d more", runs[0], runs[1], len(runs)-2)
	}
}

// Log2Scale is a plot.Normalizer for a base-2 logarithmic axis, such as
// context length. Like plot.LogScale it panics on values that are not
// positive; Summary.Plot only uses it when every length is positive.
type Log2Scale struct{}

var _ plot.Normalizer = Log2Scale{}

// Normalize returns the fractional base-2 logarithmic distance of x between
// min and max.
func (Log2Scale) Normalize(min, max, x float64) float64 {
	if min <= 0 || max <= 0 || x <= 0 {
		panic("reports: Log2Scale needs positive values")
	}
	lmin := math.Log2(min)
	return (math.Log2(x) - lmin) / (math.Log2(max) - lmin)
}

// Log2Ticks is a plot.Ticker for a base-2 logarithmic length axis: a tick
// at every power of two in range, labelled with FormatLength (1K, 2K, 4K
// ...); beyond 10 ticks only every other one is labelled. When the range
// holds fewer than two powers of two, its ends are ticked and labelled
// instead.
type Log2Ticks struct{}

var _ plot.Ticker = Log2Ticks{}

// Ticks returns the ticks between min and max.
func (Log2Ticks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || max <= 0 || min > max {
		return nil
	}
	lo, hi := int(math.Ceil(math.Log2(min)-1e-9)), int(math.Floor(math.Log2(max)+1e-9))
	if hi-lo+1 < 2 {
		return []plot.Tick{
			{Value: min, Label: lengthLabel(min)},
			{Value: max, Label: lengthLabel(max)},
		}
	}
	step := 1
	if hi-lo+1 > 10 {
		step = 2
	}
	ticks := make([]plot.Tick, 0, hi-lo+1)
	for k := lo; k <= hi; k++ {
		t := plot.Tick{Value: math.Exp2(float64(k))}
		if (hi-k)%step == 0 { // always label the largest length
			t.Label = lengthLabel(t.Value)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// lengthLabel formats a length-axis value: FormatLength for whole numbers,
// up to three significant digits otherwise.
func lengthLabel(v float64) string {
	if v >= 1 && v == math.Trunc(v) && v < math.MaxInt32 {
		return FormatLength(int(v))
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// log10Ticks is a plot.Ticker for a logarithmic value axis. It ticks 1..9
// times each power of ten in range. It labels only the powers of ten when
// the range spans more than two decades, else 1, 2 and 5 times them, and
// every tick when that would leave fewer than three labels.
type log10Ticks struct{}

func (log10Ticks) Ticks(min, max float64) []plot.Tick {
	if min <= 0 || max <= 0 || min > max {
		return nil
	}
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	var ticks []plot.Tick
	var mant []int // leading digit of each tick
	for k := lo; k <= hi; k++ {
		for m := 1; m <= 9; m++ {
			// Parsing "3e-1" gives the float nearest to 0.3, unlike 3*0.1.
			v, _ := strconv.ParseFloat(strconv.Itoa(m)+"e"+strconv.Itoa(k), 64)
			if v >= min*(1-1e-9) && v <= max*(1+1e-9) {
				ticks = append(ticks, plot.Tick{Value: v})
				mant = append(mant, m)
			}
		}
	}
	label := func(keep func(m int) bool) int {
		n := 0
		for i := range ticks {
			ticks[i].Label = ""
			if keep(mant[i]) {
				ticks[i].Label = tickLabel(ticks[i].Value)
				n++
			}
		}
		return n
	}
	if hi-lo > 2 {
		if label(func(m int) bool { return m == 1 }) >= 2 {
			return ticks
		}
	}
	if label(func(m int) bool { return m == 1 || m == 2 || m == 5 }) >= 3 {
		return ticks
	}
	if label(func(int) bool { return true }) >= 2 {
		return ticks
	}
	// Less than one step of the 1..9 grid: label the ends.
	return []plot.Tick{
		{Value: min, Label: tickLabel(min)},
		{Value: max, Label: tickLabel(max)},
	}
}

// tickLabel formats a value-axis label: plainly from 0.0001 to 999999
// ("0.002", "50", "200000"), else as "1e9", "2.5e-5" (at most three
// significant digits).
func tickLabel(v float64) string {
	a := math.Abs(v)
	if a == 0 || (a >= 1e-4 && a < sciFrom) {
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
		return strconv.FormatFloat(r, 'f', -1, 64)
	}
	s := strconv.FormatFloat(v, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if len(mant) > 4 {
		mant = strconv.FormatFloat(v, 'e', 2, 64)
		mant, _, _ = strings.Cut(mant, "e")
	}
	sign := ""
	if exp[0] == '-' {
		sign = "-"
	}
	return mant + "e" + sign + strings.TrimLeft(exp[1:], "0")
}
