package reports

import (
	"flag"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

var heatmapSample = flag.String("heatmap-sample", "", "also write one needle heatmap PNG to this path, for a look")

// heatmapTestRecords is a needle run: backends dense, sparse and window,
// lengths 1K..8K, depths 0, 0.5 and 1, two samples each. window fails
// both samples of (8K, 100%); sparse fails sample 1 of (4K, 50%) and has
// no record at all at (8K, 0%). Every OK record carries the metric
// speedup_prefill (x, higher better) and the timing prefill_ms.
func heatmapTestRecords() []*record.Record {
	var recs []*record.Record
	speedup := map[string]float64{"dense": 1, "sparse": 3, "window": 8}
	for _, b := range []string{"dense", "sparse", "window"} {
		for k, l := range []int{1024, 2048, 4096, 8192} {
			for _, d := range []float64{0, 0.5, 1} {
				for s := 0; s < 2; s++ {
					r := &record.Record{V: 1, Run: "r1", Backend: b, Task: "niah", Length: l, Depth: d, Sample: s}
					var score float64
					switch b {
					case "dense":
						score = 1
					case "sparse":
						if l == 8192 && d == 0 {
							continue
						}
						score = 1 - 0.1*float64(k) - 0.2*d - 0.1*float64(s)
						if l == 4096 && d == 0.5 && s == 1 {
							r.Error = "out of memory"
						}
					case "window":
						if d == 1 || l <= 2048 {
							score = 1
						}
						if l == 8192 && d == 1 {
							r.Error = "timeout"
						}
					}
					if r.OK() {
						r.Scores = map[string]float64{"accuracy": score}
						r.Metrics = map[string]record.Value{"speedup_prefill": {Value: speedup[b] * float64(k+1), Unit: "x", Better: record.Higher}}
						r.Timings = map[string]record.Value{"prefill_ms": {Value: 100 * float64(l) / 1024 / speedup[b], Unit: "ms"}}
					}
					recs = append(recs, r)
				}
			}
		}
	}
	return recs
}

func TestHeatmapGrid(t *testing.T) {
	recs := heatmapTestRecords()
	lengths, depths := heatmapAxes(recs, "niah", "accuracy")
	if len(lengths) != 4 || lengths[0] != 1024 || lengths[3] != 8192 {
		t.Fatalf("lengths %v", lengths)
	}
	if len(depths) != 3 || depths[0] != 0 || depths[1] != 0.5 || depths[2] != 1 {
		t.Fatalf("depths %v", depths)
	}
	g := computeHeatmapGrid(recs, "niah", "accuracy", "sparse", lengths, depths)
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-12 }
	// (1K, 0%): 1 and 0.9.
	if !near(g.Mean[0][0], 0.95) || g.N[0][0] != 2 {
		t.Errorf("sparse 1K/0%%: mean %v n %d, want 0.95 n 2", g.Mean[0][0], g.N[0][0])
	}
	// (2K, 50%): 0.8 and 0.7.
	if !near(g.Mean[1][1], 0.75) || g.N[1][1] != 2 {
		t.Errorf("sparse 2K/50%%: mean %v n %d, want 0.75 n 2", g.Mean[1][1], g.N[1][1])
	}
	// (4K, 50%): sample 1 failed, the mean is sample 0's 0.7.
	if !near(g.Mean[1][2], 0.7) || g.N[1][2] != 1 || g.Errors[1][2] != 1 {
		t.Errorf("sparse 4K/50%%: mean %v n %d errors %d, want 0.7 n 1 errors 1", g.Mean[1][2], g.N[1][2], g.Errors[1][2])
	}
	// (8K, 100%): 1-0.3-0.2 and that -0.1.
	if !near(g.Mean[2][3], 0.45) {
		t.Errorf("sparse 8K/100%%: mean %v, want 0.45", g.Mean[2][3])
	}
	// (8K, 0%): no record.
	if !math.IsNaN(g.Mean[0][3]) || g.N[0][3] != 0 || g.Errors[0][3] != 0 {
		t.Errorf("sparse 8K/0%%: mean %v n %d errors %d, want empty", g.Mean[0][3], g.N[0][3], g.Errors[0][3])
	}
	w := computeHeatmapGrid(recs, "niah", "accuracy", "window", lengths, depths)
	if !math.IsNaN(w.Mean[2][3]) || w.N[2][3] != 0 || w.Errors[2][3] != 2 {
		t.Errorf("window 8K/100%%: mean %v n %d errors %d, want errors only", w.Mean[2][3], w.N[2][3], w.Errors[2][3])
	}
	if !near(w.Mean[0][3], 0) || !near(w.Mean[0][0], 1) {
		t.Errorf("window 8K/0%% = %v, 1K/0%% = %v, want 0 and 1", w.Mean[0][3], w.Mean[0][0])
	}
}

func TestHeatmapColorAndLabels(t *testing.T) {
	if c := heatmapColor(0); c != heatmapStops[0] {
		t.Errorf("colour of 0 = %v", c)
	}
	if c := heatmapColor(1); c != heatmapStops[4] {
		t.Errorf("colour of 1 = %v", c)
	}
	if c := heatmapColor(2); c != heatmapStops[4] {
		t.Errorf("colour of 2 (clamped) = %v", c)
	}
	if c := heatmapColor(0.5); c != heatmapStops[2] {
		t.Errorf("colour of 0.5 = %v", c)
	}
	for d, want := range map[float64]string{0: "0%", 0.5: "50%", 1: "100%", 0.125: "12.5%", 0.1: "10%"} {
		if got := heatmapDepthLabel(d); got != want {
			t.Errorf("heatmapDepthLabel(%v) = %q, want %q", d, got, want)
		}
	}
	if got := heatmapLabel(0.955, 1); got != "0.95" && got != "0.96" {
		t.Errorf("heatmapLabel(0.955, 1) = %q", got)
	}
	if got := heatmapLabel(87.5, 100); got != "87.5" {
		t.Errorf("heatmapLabel(87.5, 100) = %q", got)
	}
	recs := heatmapTestRecords()
	if s := heatmapScale(recs, "niah", "accuracy"); s != 1 {
		t.Errorf("scale of 0..1 scores = %v", s)
	}
	recs[0].Scores["accuracy"] = 80
	if s := heatmapScale(recs, "niah", "accuracy"); s != 100 {
		t.Errorf("scale of 0..100 scores = %v", s)
	}
}

// heatmapCountPixels counts the pixels for which keep holds (8-bit RGB).
func heatmapCountPixels(img image.Image, keep func(r, g, b uint8) bool) int {
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if keep(uint8(r>>8), uint8(g>>8), uint8(b>>8)) {
				n++
			}
		}
	}
	return n
}

func TestNeedleHeatmapsPNG(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plots")
	recs := heatmapTestRecords()
	// A backend of another task and one with only another score: skipped.
	recs = append(recs,
		&record.Record{Run: "r1", Backend: "other", Task: "ruler", Length: 1024, Scores: map[string]float64{"accuracy": 1}},
		&record.Record{Run: "r1", Backend: "f1only", Task: "niah", Length: 1024, Scores: map[string]float64{"f1": 1}},
	)
	paths, err := NeedleHeatmaps(recs, "niah", "accuracy", dir, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"niah_accuracy_heatmap_dense.png", "niah_accuracy_heatmap_sparse.png", "niah_accuracy_heatmap_window.png"}
	if len(paths) != len(want) {
		t.Fatalf("paths %v, want %v", paths, want)
	}
	for i, p := range paths {
		if filepath.Base(p) != want[i] {
			t.Errorf("path %d = %s, want %s", i, filepath.Base(p), want[i])
		}
	}
	for _, p := range paths {
		img := decodePNG(t, p)
		if b := img.Bounds(); b.Dx() <= 100 || b.Dy() <= 100 {
			t.Errorf("%s: %dx%d pixels", p, b.Dx(), b.Dy())
		}
		colours := map[[3]uint8]bool{}
		heatmapCountPixels(img, func(r, g, b uint8) bool { colours[[3]uint8{r, g, b}] = true; return false })
		if len(colours) < 4 {
			t.Errorf("%s: only %d distinct colours", p, len(colours))
		}
	}
	// window has both red (0) and green (1) cells and a grey error cell.
	img := decodePNG(t, paths[2])
	red := heatmapCountPixels(img, func(r, g, b uint8) bool { return r > 180 && g < 80 && b < 80 })
	green := heatmapCountPixels(img, func(r, g, b uint8) bool { return g > 120 && r < 60 && b < 120 })
	grey := countNear(img, heatmapErrorColor)
	if red < 1000 || green < 1000 || grey < 1000 {
		t.Errorf("window heatmap: %d red, %d green, %d grey pixels; want a cell of each", red, green, grey)
	}
	// dense is all ones: green, no red.
	img = decodePNG(t, paths[0])
	if n := heatmapCountPixels(img, func(r, g, b uint8) bool { return r > 180 && g < 80 && b < 80 }); n != 0 {
		t.Errorf("dense heatmap: %d red pixels, want none", n)
	}
	if *heatmapSample != "" {
		// sparse to the path, window (with its error cell) beside it.
		for i, out := range []string{*heatmapSample, strings.TrimSuffix(*heatmapSample, ".png") + "_window.png"} {
			data, err := os.ReadFile(paths[1+i])
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestNeedleHeatmapsSVG(t *testing.T) {
	dir := t.TempDir()
	paths, err := NeedleHeatmaps(heatmapTestRecords(), "niah", "accuracy", dir, "svg")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("paths %v", paths)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		if !strings.HasSuffix(p, ".svg") || !strings.Contains(s, "<svg") {
			t.Errorf("%s is not an SVG", p)
		}
	}
}

func TestNeedleHeatmapsErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NeedleHeatmaps(heatmapTestRecords(), "niah", "accuracy", dir, "pdf"); err == nil {
		t.Error("format pdf: no error")
	}
	if _, err := NeedleHeatmaps(heatmapTestRecords(), "niah", "nosuchscore", dir, "png"); err == nil {
		t.Error("unknown score: no error")
	}
	// Names that sanitise alike get a suffix.
	recs := []*record.Record{
		{Backend: "a/b", Task: "t", Length: 1024, Scores: map[string]float64{"s": 1}},
		{Backend: "a_b", Task: "t", Length: 1024, Scores: map[string]float64{"s": 0}},
	}
	paths, err := NeedleHeatmaps(recs, "t", "s", dir, "png")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || filepath.Base(paths[0]) != "t_s_heatmap_a_b.png" || filepath.Base(paths[1]) != "t_s_heatmap_a_b-2.png" {
		t.Errorf("paths %v", paths)
	}
}
