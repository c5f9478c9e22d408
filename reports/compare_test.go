package reports

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

// runOf builds a run: backends a and b at 1K and 2K, n samples each, with a
// score and a timing from the given functions of (backend, length, sample).
func runOf(id string, n int, score func(b string, l, i int) float64, ms func(b string, l, i int) float64) []*record.Record {
	var out []*record.Record
	for _, b := range []string{"a", "b"} {
		for _, l := range []int{1024, 2048} {
			for i := 0; i < n; i++ {
				out = append(out, &record.Record{
					V: 1, Key: fmt.Sprintf("%s-%d-%d", b, l, i), Run: id, Task: "t", Backend: b, Length: l, Sample: i,
					Scores:  map[string]float64{"acc": score(b, l, i)},
					Timings: map[string]record.Value{"prefill_ms": {Value: ms(b, l, i), Unit: "ms", Better: record.Lower}},
					Metrics: map[string]record.Value{"err": {Value: 0.1, Unit: "ratio", Better: record.Lower}},
				})
			}
		}
	}
	return out
}

func flat(v float64) func(string, int, int) float64 {
	return func(string, int, int) float64 { return v }
}

// jitter gives timings around base with deterministic noise.
func jitter(base float64) func(string, int, int) float64 {
	return func(_ string, _ int, i int) float64 { return base * (1 + 0.01*float64(i%5)) }
}

func TestCompare(t *testing.T) {
	th := DefaultThresholds()
	base := runOf("base", 12, flat(0.9), jitter(100))
	cases := []struct {
		name  string
		new   []*record.Record
		regr  int
		wants []string
	}{
		{"identical", runOf("new", 12, flat(0.9), jitter(100)), 0, []string{"no regression", "within thresholds"}},
		{"score drop on b at 2K", runOf("new", 12, func(b string, l, i int) float64 {
			if b == "b" && l == 2048 {
				return 0.8
			}
			return 0.9
		}, jitter(100)), 1, []string{"1 regression", "| REGRESSION | t | acc | b | 2K |", "score dropped by 0.1"}},
		{"small score drop within threshold", runOf("new", 12, flat(0.89), jitter(100)), 0, []string{"no regression"}},
		{"significant slowdown", runOf("new", 12, flat(0.9), jitter(130)), 4, []string{"4 regression", "1.30x slower"}},
		{"slowdown below threshold", runOf("new", 12, flat(0.9), jitter(105)), 0, []string{"no regression"}},
		{"speedup", runOf("new", 12, flat(0.9), jitter(50)), 0, []string{"| improved |", "2.00x faster"}},
		{"slowdown on too few pairs", runOf("new", 3, flat(0.9), jitter(200)), 0, []string{"not significant"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmp := Compare(base, c.new, th)
			var buf bytes.Buffer
			if err := cmp.Markdown(&buf); err != nil {
				t.Fatal(err)
			}
			if cmp.Regressions != c.regr {
				t.Errorf("%d regressions, want %d\n%s", cmp.Regressions, c.regr, buf.String())
			}
			for _, w := range c.wants {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
}

func TestCompareNewErrors(t *testing.T) {
	base := runOf("base", 4, flat(1), flat(10))
	new := runOf("new", 4, flat(1), flat(10))
	new[0].Error, new[0].Scores, new[0].Timings = "boom", nil, nil
	cmp := Compare(base, new, DefaultThresholds())
	if cmp.Regressions != 1 || len(cmp.NewErrors) != 1 || !strings.Contains(cmp.NewErrors[0], "t/a/1K: 1 error records (base 0)") {
		t.Errorf("regressions %d, new errors %v", cmp.Regressions, cmp.NewErrors)
	}
}
