package stats_test

import (
	"fmt"

	"github.com/evalctl/evalctl/reports/stats"
)

// Two backends answered the same 100 questions; 9 questions only the first
// got right and 1 only the second.
func Example() {
	first := stats.Wilson(80, 100, 0.95)
	fmt.Printf("accuracy %.2f [%.3f, %.3f]\n", first.Estimate, first.Low, first.High)

	t := stats.McNemar(9, 1)
	fmt.Printf("McNemar (%s): p = %.4f\n", t.Method, t.PValue)

	few := stats.Wilson(2, 3, 0.95)
	for _, w := range few.Warnings {
		fmt.Println("warning:", w)
	}

	p := stats.Percentiles([]float64{12, 15, 11, 40, 13}, 50, 90, 99)
	fmt.Printf("latency p50=%.1f p90=%.1f p99=%.2f\n", p[0], p[1], p[2])
	// Output:
	// accuracy 0.80 [0.711, 0.867]
	// McNemar (exact binomial): p = 0.0215
	// warning: 3 samples: interval is wide
	// latency p50=13.0 p90=30.0 p99=39.00
}
