package reports

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

func TestSummaryAccessors(t *testing.T) {
	s := fixtureSummary()
	if got, want := s.Tasks(), []string{"niah", "qa"}; !slices.Equal(got, want) {
		t.Errorf("Tasks() = %v, want %v", got, want)
	}
	if got, want := s.Runs(), []string{"r1", "r2"}; !slices.Equal(got, want) {
		t.Errorf("Runs() = %v, want %v", got, want)
	}
	if got, want := s.Backends("niah"), []string{"dense", "sparse-topk", "sliding"}; !slices.Equal(got, want) {
		t.Errorf("Backends(niah) = %v, want %v (first-seen order)", got, want)
	}
	if got, want := s.Lengths("niah"), []int{1024, 2048, 4096, 8192, 16384, 32768}; !slices.Equal(got, want) {
		t.Errorf("Lengths(niah) = %v, want %v", got, want)
	}
	wantMetrics := []MetricInfo{
		{Name: "accuracy", Unit: "score", Better: record.Higher, Kind: KindScore},
		{Name: "kv_bytes", Unit: "bytes", Better: record.Lower, Kind: KindMetric},
		{Name: "prefill", Unit: "ms", Better: record.Lower, Kind: KindTiming},
	}
	if got := s.Metrics("niah"); !slices.Equal(got, wantMetrics) {
		t.Errorf("Metrics(niah) = %v, want %v", got, wantMetrics)
	}
	if got := s.Metrics("nope"); got != nil {
		t.Errorf("Metrics(nope) = %v, want nil", got)
	}

	// Six values per cell: three depths x two samples, pooled.
	st, ok := s.Cell("niah", "accuracy", "dense", 1024)
	if !ok || st.N != 6 || !st.HasInterval {
		t.Errorf("Cell(niah, accuracy, dense, 1K) = %+v, %v; want 6 values with an interval", st, ok)
	}
	// Error records are excluded from values and counted.
	if st, ok := s.Cell("niah", "accuracy", "sparse-topk", 32768); !ok || st.N != 4 {
		t.Errorf("Cell(sparse-topk, 32K).N = %d, %v; want 4", st.N, ok)
	}
	if n := s.Errors("niah", "sparse-topk", 32768); n != 2 {
		t.Errorf("Errors(niah, sparse-topk, 32K) = %d, want 2", n)
	}
	if n := s.Errors("niah", "dense", 32768); n != 0 {
		t.Errorf("Errors(niah, dense, 32K) = %d, want 0", n)
	}
	// Missing cell.
	if _, ok := s.Cell("niah", "accuracy", "sliding", 32768); ok {
		t.Error("Cell(sliding, 32K) present, want missing")
	}
	// One sample: no interval.
	if st, ok := s.Cell("niah", "accuracy", "sliding", 16384); !ok || st.N != 1 || st.HasInterval {
		t.Errorf("Cell(sliding, 16K) = %+v, %v; want one value, no interval", st, ok)
	}
	// NaN excluded.
	if st, _ := s.Cell("niah", "kv_bytes", "dense", 4096); st.N != 5 || math.IsNaN(st.Mean) {
		t.Errorf("Cell(kv_bytes, dense, 4K) = %+v; want 5 finite values", st)
	}
	// Unit conflict: the value in "s" is excluded.
	if st, _ := s.Cell("qa", "decode", "sparse-topk", 4000); st.N != 1 || st.Mean != 50 {
		t.Errorf("Cell(qa, decode, sparse-topk, 4000) = %+v; want the one value in ms", st)
	}
}

func TestCellValues(t *testing.T) {
	s := New()
	for i, v := range []float64{0.9, 0.8, 1.0} {
		s.Add(&record.Record{Task: "t", Backend: "b", Length: 1024, Depth: float64(i) / 2, Sample: i,
			Scores: map[string]float64{"acc": v}})
	}
	st, ok := s.Cell("t", "acc", "b", 1024)
	// mean 0.9, sd 0.1, t(0.975, 2) = 4.3027, half-width 4.3027*0.1/sqrt(3) = 0.248417.
	if !ok || st.N != 3 || !near(st.Mean, 0.9, 1e-12) || !near(st.Median, 0.9, 1e-12) ||
		!near(st.StdDev, 0.1, 1e-12) || st.Min != 0.8 || st.Max != 1.0 || !near(st.HalfWidth(), 0.248417, 1e-5) {
		t.Errorf("Cell = %+v, %v", st, ok)
	}
}

func TestWarnings(t *testing.T) {
	s := New()
	add := func(r record.Record) { s.Add(&r) }
	ms := func(v float64, unit string) map[string]record.Value {
		return map[string]record.Value{"lat": {Value: v, Unit: unit, Better: record.Lower}}
	}
	add(record.Record{Task: "t", Backend: "a", Length: 1024, Timings: ms(1, "ms")})
	add(record.Record{Task: "t", Backend: "a", Length: 1024, Timings: ms(2, "ms")})
	add(record.Record{Task: "t", Backend: "a", Length: 2048, Timings: ms(3, "ms")})
	add(record.Record{Task: "t", Backend: "a", Length: 2048, Timings: ms(0.004, "s")})
	add(record.Record{Task: "t", Backend: "b", Length: 1024, Error: "boom"})
	add(record.Record{Task: "t", Backend: "b", Length: 1024, Error: "boom"})
	add(record.Record{Task: "t", Backend: "b", Length: 1024, Error: "boom"})
	add(record.Record{Task: "t", Backend: "b", Length: 2048,
		Timings: map[string]record.Value{"lat": {Value: math.Inf(1), Unit: "ms", Better: record.Lower}}})
	add(record.Record{Task: "t", Backend: "b", Length: 2048,
		Timings: map[string]record.Value{"lat": {Value: 5, Unit: "ms", Better: record.Higher}}})
	want := []Warning{
		{Task: "t", Backend: "b", Length: 1024, Message: "3 error records"},
		{Task: "t", Metric: "lat", Message: `1 value excluded: recorded as timing in "s", first seen as timing in "ms"`},
		{Task: "t", Metric: "lat", Message: "1 value say higher is better, first seen as lower is better"},
		{Task: "t", Metric: "lat", Backend: "a", Length: 1024, Message: "2 samples: interval is wide"},
		{Task: "t", Metric: "lat", Backend: "a", Length: 2048, Message: "1 sample: no interval"},
		{Task: "t", Metric: "lat", Backend: "b", Length: 2048, Message: "1 non-finite value excluded"},
		{Task: "t", Metric: "lat", Backend: "b", Length: 2048, Message: "1 sample: no interval"},
	}
	got := s.Warnings()
	if !slices.Equal(got, want) {
		t.Errorf("Warnings() =\n%v\nwant\n%v", fmtWarnings(got), fmtWarnings(want))
	}
	if got, want := got[3].String(), "t / lat / a @ 1K: 2 samples: interval is wide"; got != want {
		t.Errorf("Warning.String() = %q, want %q", got, want)
	}
}

func fmtWarnings(ws []Warning) string {
	s := ""
	for _, w := range ws {
		s += fmt.Sprintf("  %q\n", w.String())
	}
	return s
}

func TestAddNilAndEmpty(t *testing.T) {
	s := New()
	s.Add(nil)
	if len(s.Tasks()) != 0 || len(s.Warnings()) != 0 {
		t.Fatal("nil record was counted")
	}
	if _, ok := s.Cell("x", "y", "z", 1); ok || s.Errors("x", "z", 1) != 0 || s.Backends("x") != nil || s.Lengths("x") != nil {
		t.Fatal("empty summary reports data")
	}
}

// TestConcurrentReads checks that renderers may run concurrently once
// records are added (run with -race).
func TestConcurrentReads(t *testing.T) {
	s := fixtureSummary()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var b discard
			if err := s.Markdown(&b); err != nil {
				t.Error(err)
			}
			s.Warnings()
		})
	}
	wg.Wait()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkAdd measures accumulating 100k records (4 backends x 6 lengths x
// 5 depths x ~833 samples, each with a score, a metric and two timings).
func BenchmarkAdd(b *testing.B) {
	const n = 100_000
	backends := []string{"dense", "sparse-topk", "sliding", "streaming"}
	lengths := []int{1024, 2048, 4096, 8192, 16384, 32768}
	rs := make([]*record.Record, n)
	for i := range rs {
		r := &record.Record{
			Run: "bench", Task: "niah", Backend: backends[i%len(backends)],
			Length: lengths[(i/len(backends))%len(lengths)], Depth: float64(i%5) / 4, Sample: i,
			Scores:  map[string]float64{"accuracy": float64(i%100) / 100},
			Metrics: map[string]record.Value{"selected_ratio": {Value: 0.1, Unit: "ratio"}},
			Timings: map[string]record.Value{
				"prefill": {Value: float64(i % 1000), Unit: "ms", Better: record.Lower},
				"decode":  {Value: float64(i % 300), Unit: "ms", Better: record.Lower},
			},
		}
		if i%997 == 0 {
			r.Error = "failed"
		}
		rs[i] = r
	}
	b.ReportAllocs()
	for b.Loop() {
		s := New()
		for _, r := range rs {
			s.Add(r)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
