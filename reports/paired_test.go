package reports

import (
	"math"
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

func TestPairedTest(t *testing.T) {
	s := New()
	// 10 samples; dense passes all, sparse fails samples 0-8 except 9:
	// b = 9 (dense right, sparse wrong), c = 0 -> McNemar exact p = 2/512.
	for i := 0; i < 10; i++ {
		for _, b := range []string{"dense", "sparse"} {
			pass, ms := 1.0, 10.0
			if b == "sparse" {
				ms = 5 + 0.1*float64(i)
				if i < 9 {
					pass = 0
				}
			}
			s.Add(&record.Record{V: 1, Key: b + string(rune('a'+i)), Task: "t", Backend: b, Length: 1024, Seed: int64(100 + i), Sample: i,
				Scores:  map[string]float64{"pass": pass},
				Timings: map[string]record.Value{"ms": {Value: ms, Unit: "ms", Better: record.Lower}}})
		}
	}
	p, ok := s.PairedTest("t", "pass", "sparse", 1024)
	if !ok || p.Pairs != 10 || math.Abs(p.Diff+0.9) > 1e-12 {
		t.Errorf("pass: %+v", p)
	}
	if math.Abs(p.Test.PValue-2.0/512) > 1e-9 {
		t.Errorf("McNemar p = %v, want %v", p.Test.PValue, 2.0/512)
	}
	q, ok := s.PairedTest("t", "ms", "sparse", 1024)
	if !ok || math.Abs(q.Diff-0.545) > 1e-9 || !(q.Test.PValue < 0.01) {
		t.Errorf("ms: %+v", q)
	}
	if got := formatPaired(KindTiming, q); got[:12] != "1.83x faster" {
		t.Errorf("formatted %q", got)
	}
	if _, ok := s.PairedTest("t", "pass", "nope", 1024); ok {
		t.Error("unknown backend paired")
	}
}
