package reports

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/evalctl/evalctl/harness/record"
)

// latencyTestSummary has one task, "niah", with dense and sparse at 1K..16K,
// two samples each: dense prefill 100 ms at 1K growing 4x per doubling,
// sparse 2x per doubling; sparse carries the cost-model speedups. A
// second task, "qa", has decode_ms only (no prefill).
func latencyTestSummary() *Summary {
	s := New()
	for i, length := range []int{1024, 2048, 4096, 8192, 16384} {
		for sample := range 2 {
			noise := 1 + 0.01*float64(sample)
			dense := 100 * math.Pow(4, float64(i)) * noise
			sparse := 120 * math.Pow(2, float64(i)) * noise
			s.Add(&record.Record{
				V: record.Version, Run: "r1", Backend: "dense", Task: "niah", Length: length, Sample: sample,
				Scores: map[string]float64{"accuracy": 0.95},
				Timings: map[string]record.Value{
					"prefill_ms": {Value: dense, Unit: "ms", Better: record.Lower},
					"decode_ms":  {Value: 10 * float64(i+1), Unit: "ms", Better: record.Lower},
				},
			})
			s.Add(&record.Record{
				V: record.Version, Run: "r1", Backend: "sparse", Task: "niah", Length: length, Sample: sample,
				Scores: map[string]float64{"accuracy": 0.9},
				Metrics: map[string]record.Value{
					"cost_speedup_prefill": {Value: math.Pow(2, float64(i)) * 4, Better: record.Higher},
					"cost_speedup_decode":  {Value: 2, Better: record.Higher},
				},
				Timings: map[string]record.Value{
					"prefill_ms": {Value: sparse, Unit: "ms", Better: record.Lower},
					"decode_ms":  {Value: 8 * float64(i+1), Unit: "ms", Better: record.Lower},
				},
			})
		}
	}
	for _, length := range []int{1024, 4096} {
		for _, b := range []string{"dense", "sparse"} {
			s.Add(&record.Record{
				V: record.Version, Run: "r2", Backend: b, Task: "qa", Length: length,
				Timings: map[string]record.Value{
					"decode_ms": {Value: float64(length) / 100, Unit: "ms", Better: record.Lower},
				},
			})
		}
	}
	return s
}

func TestLatencyBound(t *testing.T) {
	if v, ok := latencyBound(100, 4); !ok || v != 25 {
		t.Errorf("latencyBound(100, 4) = %v, %v; want 25, true", v, ok)
	}
	for _, c := range [][2]float64{{100, 0}, {0, 4}, {-1, 4}, {100, math.NaN()}, {math.Inf(1), 4}, {100, -2}} {
		if v, ok := latencyBound(c[0], c[1]); ok {
			t.Errorf("latencyBound(%v, %v) = %v, true; want false", c[0], c[1], v)
		}
	}
	got := latencyBounds([]int{1024, 2048, 4096, 8192},
		map[int]float64{1024: 100, 2048: 400, 8192: 50},
		map[int]float64{1024: 4, 2048: 8, 4096: 2, 8192: 0})
	want := plotter.XYs{{X: 1024, Y: 25}, {X: 2048, Y: 50}}
	if !slices.Equal(got, want) {
		t.Errorf("latencyBounds = %v, want %v", got, want)
	}
}

func TestLatencyPlotBounds(t *testing.T) {
	s := latencyTestSummary()
	p, err := s.LatencyPlot("niah", "prefill_ms", "dense", "cost_speedup_prefill")
	if err != nil {
		t.Fatal(err)
	}
	svg := latencySVG(t, p)
	for _, entry := range []string{">dense<", ">sparse<", ">sparse bound<"} {
		if !strings.Contains(svg, entry) {
			t.Errorf("svg has no legend entry %s", entry)
		}
	}
	if strings.Contains(svg, ">dense bound<") {
		t.Error("the dense backend got a bound")
	}
	// dense mean at 1K is 100.5 (100 and 101), bound 4: 25.125; the y axis
	// must reach down to it.
	if p.Y.Min > 25.125+1e-9 || p.Y.Min < 25.125-1e-9 {
		t.Errorf("y axis starts at %v, want the lowest bound 25.125", p.Y.Min)
	}
	if !strings.Contains(p.Title.Text, "prefill_ms") || !strings.Contains(p.Y.Label.Text, "(ms)") {
		t.Errorf("title %q, y label %q", p.Title.Text, p.Y.Label.Text)
	}
	// Without a bound metric: no bound lines.
	p, err = s.LatencyPlot("niah", "prefill_ms", "dense", "no_such_metric")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(latencySVG(t, p), " bound<") {
		t.Error("bound legend entry without a bound metric")
	}
	if _, err := s.LatencyPlot("niah", "no_such_timing", "dense", "cost_speedup_prefill"); err == nil {
		t.Error("LatencyPlot of a missing timing: no error")
	}
}

func TestLatencyPlotsPNG(t *testing.T) {
	dir := t.TempDir()
	paths, err := latencyTestSummary().LatencyPlots(dir, "", "dense")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	want := []string{"niah_latency_prefill_ms.png", "niah_latency_decode_ms.png", "qa_latency_decode_ms.png"}
	if !slices.Equal(names, want) {
		t.Fatalf("LatencyPlots wrote %v, want %v", names, want)
	}
	for _, p := range paths {
		latencyCheckPNG(t, p)
	}
	// Both backends in their palette colours, the bound included.
	img := decodePNG(t, paths[0])
	for i, b := range []string{"dense", "sparse"} {
		if n := countNear(img, palette[i]); n < 50 {
			t.Errorf("backend %s: %d pixels of its colour, want a line's worth", b, n)
		}
	}
}

// latencyCheckPNG decodes a PNG and checks it is a real, non-blank,
// colourful picture.
func latencyCheckPNG(t *testing.T, path string) {
	t.Helper()
	img := decodePNG(t, path)
	b := img.Bounds()
	if b.Dx() <= 100 || b.Dy() <= 100 {
		t.Fatalf("%s is %dx%d, want more than 100 px each way", path, b.Dx(), b.Dy())
	}
	nonWhite, colours := 0, map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				nonWhite++
			}
			colours[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	if frac := float64(nonWhite) / float64(b.Dx()*b.Dy()); frac < 0.01 {
		t.Errorf("%s is nearly blank: %.2f%% non-white pixels", path, 100*frac)
	}
	if len(colours) < 10 {
		t.Errorf("%s has only %d distinct colours", path, len(colours))
	}
}

func TestLatencyPlotsSVG(t *testing.T) {
	dir := t.TempDir()
	paths, err := latencyTestSummary().LatencyPlots(dir, "SVG", "dense")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("wrote %v, want 3 files", paths)
	}
	for _, p := range paths {
		if filepath.Ext(p) != ".svg" {
			t.Errorf("%s: want .svg", p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "<svg") {
			t.Errorf("%s has no <svg", p)
		}
	}
	data, _ := os.ReadFile(paths[0])
	if !strings.Contains(string(data), "sparse bound") {
		t.Errorf("%s has no \"sparse bound\" legend entry", paths[0])
	}
}

func TestLatencyPlotsSkipsAndRejects(t *testing.T) {
	if _, err := latencyTestSummary().LatencyPlots(t.TempDir(), "jpg", "dense"); err == nil {
		t.Error("format jpg: no error")
	}
	// The fixture has neither prefill_ms nor decode_ms: nothing written.
	paths, err := fixtureSummary().LatencyPlots(t.TempDir(), "png", "dense")
	if err != nil || len(paths) != 0 {
		t.Errorf("fixture: %v, %v; want nothing, no error", paths, err)
	}
}

// latencySVG renders a plot as SVG text, to look for its labels.
func latencySVG(t *testing.T, p *plot.Plot) string {
	t.Helper()
	c := vgsvg.New(PlotWidth, PlotHeight)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
