package reports_test

import (
	"fmt"
	"os"

	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/reports"
)

func ExampleSummary_Markdown() {
	s := reports.New()
	for i, acc := range []float64{0.98, 0.99, 0.97, 0.98} {
		for _, length := range []int{4096, 32768} {
			s.Add(&record.Record{
				Run: "demo", Task: "niah", Backend: "dense", Length: length, Sample: i,
				Scores: map[string]float64{"accuracy": acc},
			})
			s.Add(&record.Record{
				Run: "demo", Task: "niah", Backend: "sparse", Length: length, Sample: i,
				Scores: map[string]float64{"accuracy": acc - float64(length)/1e6},
			})
		}
	}
	s.Add(&record.Record{Run: "demo", Task: "niah", Backend: "sparse", Length: 32768, Sample: 4, Error: "timeout"})
	s.Markdown(os.Stdout)
	// Output:
	// Runs: demo.
	//
	// Cells are means over samples and needle depths; ± is the half-width of the 95% interval for the mean ([low, high]: the Wilson interval of a pass/fail score); — means no data; (n err) counts error records.
	//
	// ## niah
	//
	// ### accuracy (score, higher is better)
	//
	// | backend | 4K | 32K |
	// |:--|--:|--:|
	// | dense | 0.980 ±0.013 | 0.980 ±0.013 |
	// | sparse | 0.976 ±0.013 | 0.947 ±0.013 (1 err) |
	//
	// Samples per cell: 4.
	//
	// ### Effective length
	//
	// The longest tested length up to which the score stays at or above the threshold at every length (— : below it already at the shortest).
	//
	// | score | dense | sparse |
	// |:--|--:|--:|
	// | accuracy (>= 0.856) | 32K | 32K |
	//
	// ### Paired with dense
	//
	// On the same samples: scores as mean difference (backend − dense), timings as the ratio of medians; p from McNemar (pass/fail scores) or the Wilcoxon signed-rank test.
	//
	// accuracy (score):
	//
	// | backend | 4K | 32K |
	// |:--|--:|--:|
	// | sparse | −0.00410 (p=0.0719) | −0.0328 (p=0.0719) |
	//
	// ### Warnings
	//
	// - sparse @ 32K: 1 error record
	// - accuracy, dense @ 4K, 32K: 4 samples: interval is wide
	// - accuracy, sparse @ 4K, 32K: 4 samples: interval is wide
}

// ExampleSummary_MethodComparison compares three methods with dense on four
// samples: sparse loses nothing and prefills 3x faster, streaming is 8x
// faster but loses two needles of four; the rule picks sparse.
func ExampleSummary_MethodComparison() {
	s := reports.New()
	for i := range 4 {
		for _, m := range []struct {
			name    string
			score   float64
			prefill float64
		}{{"dense", 1, 900}, {"sparse", 1, 300}, {"streaming", float64(i % 2), 110}} {
			s.Add(&record.Record{
				Task: "needle", Backend: m.name, Length: 32768, Sample: i, Seed: int64(i),
				Scores:  map[string]float64{"string_match_all": m.score},
				Timings: map[string]record.Value{"prefill_ms": {Value: m.prefill + float64(i), Unit: "ms", Better: record.Lower}},
			})
		}
	}
	fams, _ := s.MethodComparison(reports.MethodOptions{})
	for _, ml := range fams[0].Lengths {
		for _, r := range ml.Rows {
			fmt.Printf("%s: accuracy %.2f, %+.2f vs dense, prefill %.2fx, best %v\n",
				r.Method, r.Accuracy.Mean, r.Diff.Estimate, r.Speedup["prefill"].Mean, r.Best)
		}
	}
	// Output:
	// dense: accuracy 1.00, +0.00 vs dense, prefill 1.00x, best false
	// sparse: accuracy 1.00, +0.00 vs dense, prefill 2.99x, best true
	// streaming: accuracy 0.50, -0.50 vs dense, prefill 8.09x, best false
}
