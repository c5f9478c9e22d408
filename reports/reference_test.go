package reports

import (
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

// TestReference: "dense" when present, else a label starting or ending with
// dense, else none; paired tests use it.
func TestReference(t *testing.T) {
	s := New()
	for i := 0; i < 6; i++ {
		for _, b := range []string{"model-sparse", "model-dense"} {
			score := 1.0
			if b == "model-sparse" && i%2 == 0 {
				score = 0
			}
			s.Add(&record.Record{V: 1, Key: b + string(rune('a'+i)), Backend: b, Task: "needle", Length: 1024, Sample: i, Seed: int64(i),
				Scores: map[string]float64{"string_match_all": score}})
		}
		s.Add(&record.Record{V: 1, Key: "x" + string(rune('a'+i)), Backend: "sparse", Task: "attention", Length: 1024, Sample: i, Seed: int64(i),
			Scores: map[string]float64{"needle_recall": 1}})
	}
	if got := s.Reference("needle"); got != "model-dense" {
		t.Fatalf("reference of needle: %q", got)
	}
	if got := s.Reference("attention"); got != "" {
		t.Fatalf("reference of attention: %q", got)
	}
	p, ok := s.PairedTest("needle", "string_match_all", "model-sparse", 1024)
	if !ok || p.Pairs != 6 || p.Diff != -0.5 {
		t.Fatalf("paired: %+v %v", p, ok)
	}
}
