package reports

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func advicePlotTestAdvice(denseLen int) *Advice {
	a := &Advice{Task: "niah", Dense: "dense", Sparse: "sparse", Timing: "prefill_ms", Score: "accuracy", Tolerance: 0.02, DenseLen: denseLen}
	for i, l := range []int{1024, 2048, 4096, 8192, 16384, 32768} {
		sp := 0.5 * math.Pow(1.8, float64(i))
		a.Rows = append(a.Rows, AdviceRow{
			Length: l, DenseTime: 100 * sp, SparseTime: 100, Speedup: sp,
			DenseScore: 0.95, SparseScore: 0.94, Faster: sp > 1, Accurate: l != 8192,
		})
	}
	return a
}

func TestAdvicePlot(t *testing.T) {
	for _, denseLen := range []int{16384, 0} {
		a := advicePlotTestAdvice(denseLen)
		p, err := a.Plot()
		if err != nil {
			t.Fatal(err)
		}
		if want := "Switching advice: sparse vs dense (niah)"; p.Title.Text != want {
			t.Errorf("title %q, want %q", p.Title.Text, want)
		}
		if _, ok := p.X.Scale.(Log2Scale); !ok {
			t.Errorf("x scale %T, want Log2Scale", p.X.Scale)
		}
		if p.Y.Min > 0.5 || p.Y.Max < 1 {
			t.Errorf("y range [%v, %v] misses the points or break-even", p.Y.Min, p.Y.Max)
		}
		svgText := latencySVG(t, p)
		for _, entry := range []string{">break-even<", ">accuracy within 0.02 of dense<", ">accuracy loses more than 0.02<"} {
			if !strings.Contains(svgText, entry) {
				t.Errorf("DenseLen %d: no legend entry %s", denseLen, entry)
			}
		}

		dir := t.TempDir()
		png := filepath.Join(dir, "advice.png")
		if err := a.SavePlot(png); err != nil {
			t.Fatal(err)
		}
		latencyCheckPNG(t, png)
		img := decodePNG(t, png)
		if n := countNear(img, advicePlotAccurate); n < 30 {
			t.Errorf("DenseLen %d: %d pixels of the within-tolerance colour", denseLen, n)
		}
		if n := countNear(img, advicePlotInaccurate); n < 10 {
			t.Errorf("DenseLen %d: %d pixels of the out-of-tolerance colour", denseLen, n)
		}
		recommended := countNear(img, palette[0])
		if denseLen > 0 && recommended < 50 {
			t.Errorf("DenseLen %d: %d pixels of the dense_len line's colour", denseLen, recommended)
		}
		if denseLen == 0 && recommended != 0 {
			t.Errorf("DenseLen 0: %d pixels of the dense_len line's colour, want none", recommended)
		}

		svg := filepath.Join(dir, "advice.SVG")
		if err := a.SavePlot(svg); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(svg)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		if !strings.Contains(s, "<svg") {
			t.Errorf("%s has no <svg", svg)
		}
		label := "recommended dense_len = 16K"
		if has := strings.Contains(s, label); has != (denseLen > 0) {
			t.Errorf("DenseLen %d: svg contains %q: %v", denseLen, label, has)
		}
		if !strings.Contains(s, "break-even") {
			t.Errorf("svg has no break-even legend entry")
		}
	}
}

func TestAdvicePlotErrors(t *testing.T) {
	var nilAdvice *Advice
	if _, err := nilAdvice.Plot(); err == nil {
		t.Error("nil advice: no error")
	}
	if _, err := (&Advice{Task: "x"}).Plot(); err == nil {
		t.Error("no rows: no error")
	}
	a := advicePlotTestAdvice(0)
	if err := a.SavePlot(filepath.Join(t.TempDir(), "advice.jpg")); err == nil {
		t.Error("advice.jpg: no error")
	}
	// Non-finite speedups are left out, not fatal.
	a.Rows[0].Speedup = math.Inf(1)
	if _, err := a.Plot(); err != nil {
		t.Errorf("one infinite speedup: %v", err)
	}
}

func TestAdvicePlotFromSummary(t *testing.T) {
	a, err := latencyTestSummary().SwitchAdvice("niah", "dense", "sparse", "prefill_ms", "accuracy", 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if a.DenseLen == 0 {
		t.Fatalf("crafted summary gives no dense_len: %s", a.Reason)
	}
	path := filepath.Join(t.TempDir(), "advice.png")
	if err := a.SavePlot(path); err != nil {
		t.Fatal(err)
	}
	latencyCheckPNG(t, path)
}
