package reports

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

// adviceRun: dense takes length/100 ms; sparse takes 10 + length/1000 ms
// (faster from 2K on: 20.24 < 20.48); sparse's score drops by drop(length).
func adviceRun(drop func(n int) float64) *Summary {
	s := New()
	for _, n := range []int{1024, 2048, 4096, 8192, 16384} {
		for i := 0; i < 3; i++ {
			add := func(b string, ms, score float64) {
				s.Add(&record.Record{V: 1, Key: fmt.Sprintf("%s%d%d", b, n, i), Run: "r", Task: "t", Backend: b, Length: n, Sample: i,
					Scores:  map[string]float64{"acc": score},
					Timings: map[string]record.Value{"prefill_ms": {Value: ms, Unit: "ms", Better: record.Lower}}})
			}
			add("dense", float64(n)/100, 1)
			add("sparse", 10+float64(n)/1000, 1-drop(n))
		}
	}
	return s
}

func TestSwitchAdvice(t *testing.T) {
	cases := []struct {
		name   string
		drop   func(int) float64
		want   int
		reason string
	}{
		{"accurate everywhere", func(int) float64 { return 0 }, 2048, "from 2K on"},
		{"loses at 2K only", func(n int) float64 {
			if n == 2048 {
				return 0.1
			}
			return 0
		}, 4096, "from 4K on"},
		{"loses everywhere", func(int) float64 { return 0.5 }, 0, "loses more than 0.02"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := adviceRun(c.drop).SwitchAdvice("t", "dense", "sparse", "prefill_ms", "acc", 0.02)
			if err != nil {
				t.Fatal(err)
			}
			if a.DenseLen != c.want || !strings.Contains(a.Reason, c.reason) {
				t.Errorf("dense_len %d (%s), want %d (%s)", a.DenseLen, a.Reason, c.want, c.reason)
			}
			var buf bytes.Buffer
			a.Markdown(&buf)
			if !strings.Contains(buf.String(), "| 1K | 10.2 | 11.0 |") || len(a.Rows) != 5 {
				t.Errorf("evidence table:\n%s", buf.String())
			}
		})
	}
	if _, err := adviceRun(func(int) float64 { return 0 }).SwitchAdvice("t", "dense", "nope", "prefill_ms", "acc", 0.02); err == nil {
		t.Error("unknown backend: no error")
	}
	// Sparse slower at the longest length: no advice.
	s := New()
	for _, n := range []int{1024, 2048} {
		s.Add(&record.Record{V: 1, Key: fmt.Sprint("d", n), Task: "t", Backend: "dense", Length: n, Scores: map[string]float64{"acc": 1}, Timings: map[string]record.Value{"prefill_ms": {Value: 1, Unit: "ms"}}})
		s.Add(&record.Record{V: 1, Key: fmt.Sprint("s", n), Task: "t", Backend: "sparse", Length: n, Scores: map[string]float64{"acc": 1}, Timings: map[string]record.Value{"prefill_ms": {Value: 2, Unit: "ms"}}})
	}
	if a, err := s.SwitchAdvice("t", "dense", "sparse", "prefill_ms", "acc", 0.02); err != nil || a.DenseLen != 0 || !strings.Contains(a.Reason, "not faster") {
		t.Errorf("never faster: %+v %v", a, err)
	}
}

func TestEffectiveLength(t *testing.T) {
	s := New()
	scores := map[string][]float64{"a": {1, 0.9, 0.86, 0.5, 0.9}, "b": {0.5, 1, 1, 1, 1}, "c": {1, 1, 1, 1, 1}}
	for b, vs := range scores {
		for i, v := range vs {
			s.Add(&record.Record{V: 1, Key: fmt.Sprint(b, i), Task: "t", Backend: b, Length: 1024 << i, Scores: map[string]float64{"acc": v}})
		}
	}
	got := s.EffectiveLength("t", "acc", 0.856)
	want := map[string]int{"a": 4096, "b": 0, "c": 16384}
	for b, w := range want {
		if got[b] != w {
			t.Errorf("%s: effective length %d, want %d", b, got[b], w)
		}
	}
}

// A pass/fail score gets the Wilson interval, inside [0, 1]; a fractional
// score keeps the t-interval.
func TestWilsonForBinaryScores(t *testing.T) {
	s := New()
	for i := 0; i < 10; i++ {
		pass := 0.0
		if i < 8 {
			pass = 1
		}
		s.Add(&record.Record{V: 1, Key: fmt.Sprint("p", i), Task: "t", Backend: "b", Length: 1024, Scores: map[string]float64{"pass": pass, "frac": 0.5 + 0.01*float64(i)}})
	}
	st, _ := s.Cell("t", "pass", "b", 1024)
	if st.Method != "wilson" || math.Abs(st.Low-0.4902) > 1e-4 || math.Abs(st.High-0.9433) > 1e-4 {
		t.Errorf("pass: %+v", st)
	}
	if got := formatStat(st); got != "0.800 [0.490, 0.943]" {
		t.Errorf("formatted %q", got)
	}
	if st, _ := s.Cell("t", "frac", "b", 1024); st.Method != "" || !st.HasInterval {
		t.Errorf("frac: %+v", st)
	}
}
