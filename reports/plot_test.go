package reports

import (
	"flag"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"

	"github.com/evalctl/evalctl/harness/record"
)

var samplePNG = flag.String("sample-png", "", "also write the niah accuracy plot to this path, for a look")

func TestPlotsPNG(t *testing.T) {
	dir := t.TempDir()
	paths, err := fixtureSummary().Plots(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	want := []string{
		"niah_accuracy.png", "niah_kv_bytes.png", "niah_prefill.png",
		"qa_f1.png", "qa_decode.png",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("Plots wrote %v, want %v", names, want)
	}
	// 16 cm x 10 cm at 150 dpi.
	wantW := int(math.Round(16 / 2.54 * PlotDPI))
	wantH := int(math.Round(10 / 2.54 * PlotDPI))
	for _, p := range paths {
		img := decodePNG(t, p)
		if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
			t.Errorf("%s is %dx%d, want %dx%d", p, b.Dx(), b.Dy(), wantW, wantH)
		}
		nonWhite, colours := 0, map[[3]uint32]bool{}
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
				r, g, b, _ := img.At(x, y).RGBA()
				if r < 0xf000 || g < 0xf000 || b < 0xf000 {
					nonWhite++
				}
				colours[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
			}
		}
		if frac := float64(nonWhite) / float64(wantW*wantH); frac < 0.01 {
			t.Errorf("%s is nearly blank: %.2f%% non-white pixels", p, 100*frac)
		}
		if len(colours) < 10 {
			t.Errorf("%s has only %d distinct colours", p, len(colours))
		}
	}
	// Each backend of niah is drawn in its own palette colour.
	img := decodePNG(t, paths[0])
	for i, b := range []string{"dense", "sparse-topk", "sliding"} {
		if n := countNear(img, palette[i]); n < 50 {
			t.Errorf("backend %s: %d pixels of its colour %v, want a line's worth", b, n, palette[i])
		}
	}
	if *samplePNG != "" {
		data, err := os.ReadFile(paths[0])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*samplePNG, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// countNear counts the pixels within a small distance of c.
func countNear(img image.Image, c interface{ RGBA() (r, g, b, a uint32) }) int {
	cr, cg, cb, _ := c.RGBA()
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			d := math.Abs(float64(r)-float64(cr)) + math.Abs(float64(g)-float64(cg)) + math.Abs(float64(b)-float64(cb))
			if d < 3*0x0800 {
				n++
			}
		}
	}
	return n
}

func TestPlotsSVG(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	paths, err := fixtureSummary().Plots(dir, "svg")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 5 {
		t.Fatalf("Plots wrote %d files, want 5", len(paths))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(p, ".svg") || !strings.Contains(string(data), "<svg") {
			t.Errorf("%s is not an SVG", p)
		}
	}
}

func TestPlotsBadFormat(t *testing.T) {
	dir := t.TempDir()
	_, err := fixtureSummary().Plots(dir, "gif")
	if err == nil || !strings.Contains(err.Error(), `"gif"`) || !strings.Contains(err.Error(), "png") {
		t.Errorf("Plots(gif) error = %v, want one naming the format and the accepted ones", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Plots(gif) wrote %d files", len(entries))
	}
}

// TestPlotsNamesAndSkips checks file name sanitising, collisions, and that
// metrics without a finite value are skipped.
func TestPlotsNamesAndSkips(t *testing.T) {
	s := New()
	add := func(task string, scores map[string]float64) {
		for _, l := range []int{1024, 4096} {
			s.Add(&record.Record{Run: "r", Task: task, Backend: "b", Length: l, Scores: scores})
		}
	}
	add("niah/v2", map[string]float64{"exact match": 1, "exact_match": 0.5, "empty": math.NaN()})
	paths, err := s.Plots(t.TempDir(), "png")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	if want := []string{"niah_v2_exact_match.png", "niah_v2_exact_match-2.png"}; !slices.Equal(names, want) {
		t.Errorf("Plots wrote %v, want %v", names, want)
	}
	if _, err := s.Plot("niah/v2", "empty"); err == nil {
		t.Error("Plot of a metric without data succeeded")
	}
}

func TestPlotScales(t *testing.T) {
	s := fixtureSummary()
	for _, tt := range []struct {
		metric string
		logY   bool
	}{
		{"accuracy", false}, // scores in [0, 1]
		{"kv_bytes", true},  // spans 256x
		{"prefill", true},   // timing
	} {
		p, err := s.Plot("niah", tt.metric)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.X.Scale.(Log2Scale); !ok {
			t.Errorf("%s: x scale is %T, want Log2Scale", tt.metric, p.X.Scale)
		}
		if _, isLog := p.Y.Scale.(plot.LogScale); isLog != tt.logY {
			t.Errorf("%s: log y = %v, want %v", tt.metric, isLog, tt.logY)
		}
		if want := "niah: " + tt.metric + " vs context length (run r1)"; p.Title.Text != want {
			t.Errorf("title = %q, want %q", p.Title.Text, want)
		}
	}
	p, _ := s.Plot("niah", "prefill")
	if p.Y.Label.Text != "prefill (ms)" {
		t.Errorf("y label = %q, want %q", p.Y.Label.Text, "prefill (ms)")
	}
}
