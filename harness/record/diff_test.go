package record

import (
	"slices"
	"testing"
	"time"
)

func TestDiff(t *testing.T) {
	cases := []struct {
		name string
		edit func(r *Record)
		want []string
	}{
		{"same", func(*Record) {}, nil},
		{"measurements only", func(r *Record) {
			r.Run, r.Shard, r.Start, r.Elapsed, r.Worker = "other", "2/4", time.Now(), 99, 7
			r.Timings = map[string]Value{"prefill": {Value: 1e6, Unit: "ms"}}
			r.Metrics = map[string]Value{"density": {Value: 0.9, Unit: "ratio"}}
		}, nil},
		{"int and float parameters", func(r *Record) { r.TaskParams = map[string]any{"needles": int64(1)} }, nil},
		{"output", func(r *Record) { r.Output += "!" }, []string{"output"}},
		{"scores and error", func(r *Record) { r.Scores = map[string]float64{"exact": 0.5}; r.Error = "boom" }, []string{"error", "scores"}},
		{"coordinates", func(r *Record) { r.Length, r.Depth, r.Sample, r.Seed = 1, 0.1, 9, 3 }, []string{"depth", "length", "sample", "seed"}},
		{"identity", func(r *Record) { r.Key, r.Backend, r.BackendName, r.Task = "k", "b", "n", "t" }, []string{"backend", "backend_name", "key", "task"}},
		{"parameters", func(r *Record) { r.BackendParams = map[string]any{"density": 0.25} }, []string{"backend_params"}},
		{"references", func(r *Record) { r.References = nil }, []string{"references"}},
		{"info", func(r *Record) { r.Info = map[string]any{"tokens": 11.0} }, []string{"info"}},
		{"metric names", func(r *Record) { r.Metrics = nil }, []string{"metrics"}},
		{"version", func(r *Record) { r.V = 0 }, []string{"v"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := testRecord(5), testRecord(5)
			c.edit(b)
			if got := Diff(a, b); !slices.Equal(got, c.want) {
				t.Errorf("Diff = %v, want %v", got, c.want)
			}
		})
	}
}
