package reports

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

var paretoSample = flag.String("pareto-sample", "", "also write one Pareto PNG to this path, for a look")

func TestParetoFrontier(t *testing.T) {
	pts := []paretoPoint{
		{"A", 1, 1.0},  // most accurate
		{"B", 3, 0.8},  // frontier
		{"C", 8, 0.5},  // fastest
		{"D", 2, 0.7},  // dominated by B
		{"E", 8, 0.4},  // dominated by C (same speed, lower score)
		{"F", 3, 0.8},  // equal to B: both stay
		{"G", 0.5, 1},  // dominated by A (same score, slower)
		{"H", 5, 0.79}, // frontier: faster than B, better than C
	}
	got := paretoFrontier(pts, false)
	want := map[string]bool{"A": true, "B": true, "C": true, "F": true, "H": true}
	for i, p := range pts {
		if got[i] != want[p.Backend] {
			t.Errorf("higher-better: %s on frontier = %v, want %v", p.Backend, got[i], want[p.Backend])
		}
	}
	// Speed as a time: lower is better. G (0.5, 1) now dominates A and
	// everything with score <= 1 that is slower: all but G.
	got = paretoFrontier(pts, true)
	for i, p := range pts {
		if got[i] != (p.Backend == "G") {
			t.Errorf("lower-better: %s on frontier = %v", p.Backend, got[i])
		}
	}
	pts2 := []paretoPoint{{"fast", 10, 0.5}, {"slow", 100, 0.9}, {"slower", 200, 0.85}, {"mid", 50, 0.6}}
	got = paretoFrontier(pts2, true)
	want2 := []bool{true, true, false, true}
	for i := range pts2 {
		if got[i] != want2[i] {
			t.Errorf("lower-better: %s on frontier = %v, want %v", pts2[i].Backend, got[i], want2[i])
		}
	}
	if len(paretoFrontier(nil, false)) != 0 {
		t.Error("frontier of no points")
	}
	if got := paretoFrontier(pts[:1], false); !got[0] {
		t.Error("a single point is on the frontier")
	}
}

func TestParetoCollect(t *testing.T) {
	data := paretoCollect(heatmapTestRecords(), "niah", "accuracy", "prefill_ms")
	if len(data) != 4 {
		t.Fatalf("%d lengths, want 4", len(data))
	}
	d := data[0]
	if d.Length != 1024 || !d.LowerBetter || d.Unit != "ms" || len(d.Points) != 3 || len(d.Runs) != 1 {
		t.Fatalf("1K data %+v", d)
	}
	// dense at 1K: every score 1, prefill 100 ms.
	if p := d.Points[0]; p.Backend != "dense" || p.Score != 1 || p.Speed != 100 {
		t.Errorf("dense at 1K: %+v", p)
	}
	data = paretoCollect(heatmapTestRecords(), "niah", "accuracy", "speedup_prefill")
	if data[0].LowerBetter || data[0].Unit != "x" {
		t.Errorf("speedup: lower better %v unit %q", data[0].LowerBetter, data[0].Unit)
	}
	if len(paretoCollect(heatmapTestRecords(), "niah", "accuracy", "nosuch")) != 0 {
		t.Error("unknown speed gave points")
	}
}

func TestParetoPlots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "plots")
	recs := heatmapTestRecords()
	paths, err := ParetoPlots(recs, "niah", "accuracy", "speedup_prefill", dir, "png")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1K", "2K", "4K", "8K"}
	if len(paths) != len(want) {
		t.Fatalf("paths %v", paths)
	}
	for i, p := range paths {
		if filepath.Base(p) != "niah_pareto_accuracy_speedup_prefill_"+want[i]+".png" {
			t.Errorf("path %s", p)
		}
		img := decodePNG(t, p)
		if b := img.Bounds(); b.Dx() <= 100 || b.Dy() <= 100 {
			t.Errorf("%s: %dx%d pixels", p, b.Dx(), b.Dy())
		}
		nonWhite := heatmapCountPixels(img, func(r, g, b uint8) bool { return r < 0xf0 || g < 0xf0 || b < 0xf0 })
		if nonWhite < 2000 {
			t.Errorf("%s: %d non-white pixels", p, nonWhite)
		}
		// Every backend's colour is drawn.
		for k := 0; k < 3; k++ {
			if n := countNear(img, palette[k]); n < 1 {
				t.Errorf("%s: %d pixels of backend colour %d", p, n, k)
			}
		}
	}
	// Timings: lower is better, x on a log scale is fine too.
	paths, err = ParetoPlots(recs, "niah", "accuracy", "prefill_ms", dir, "svg")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 4 {
		t.Fatalf("paths %v", paths)
	}
	data, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "<svg") || !strings.Contains(string(data), "Pareto frontier") {
		t.Errorf("%s: not an SVG with a frontier legend", paths[0])
	}
	if _, err := ParetoPlots(recs, "niah", "accuracy", "nosuch", dir, "png"); err == nil {
		t.Error("unknown speed: no error")
	}
	if _, err := ParetoPlots(recs, "niah", "accuracy", "speedup_prefill", dir, "gif"); err == nil {
		t.Error("format gif: no error")
	}
	// A single point with one speed value: degenerate ranges still render.
	one := []*record.Record{{Backend: "b", Task: "t", Length: 1000, Scores: map[string]float64{"s": 0.5},
		Metrics: map[string]record.Value{"v": {Value: 1, Unit: "x"}}}}
	paths, err = ParetoPlots(one, "t", "s", "v", dir, "png")
	if err != nil || len(paths) != 1 || filepath.Base(paths[0]) != "t_pareto_s_v_1000.png" {
		t.Fatalf("single point: %v %v", paths, err)
	}
	if *paretoSample != "" {
		big := heatmapTestRecords()
		// A wider spread of speeds, for a log axis in the sample.
		for _, r := range big {
			if r.OK() && r.Backend == "window" {
				v := r.Metrics["speedup_prefill"]
				v.Value *= 4
				r.Metrics["speedup_prefill"] = v
			}
		}
		ps, err := ParetoPlots(big, "niah", "accuracy", "speedup_prefill", t.TempDir(), "png")
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(ps[2])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*paretoSample, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
