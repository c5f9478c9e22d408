package record_test

import (
	"fmt"
	"time"

	"github.com/evalctl/evalctl/harness/record"
)

// A cell run twice, once as part of a shard: the records differ only in
// what measures the run, which Diff leaves out, until the output differs.
func ExampleDiff() {
	a := &record.Record{Key: "k1", Task: "needle", Backend: "dense", Length: 1024, Output: "42",
		Scores: map[string]float64{"string_match_all": 1},
		Timings: map[string]record.Value{"prefill_ms": {Value: 12.5, Unit: "ms"}}}
	b := *a
	b.Run, b.Shard, b.Start, b.Elapsed = "sweep", "2/4", time.Now(), 99
	b.Timings = map[string]record.Value{"prefill_ms": {Value: 19.1, Unit: "ms"}}
	fmt.Println(record.Diff(a, &b))
	b.Output = "41"
	fmt.Println(record.Diff(a, &b))
	// Output:
	// []
	// [output]
}
