package record

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
)

// Diff returns the JSON names of the fields in which two records of one
// cell differ, leaving out what measures the run rather than the cell: the
// run id, shard, start, elapsed time, worker, timings and the values of
// metrics (rates such as tokens per second vary from run to run; the names
// of the metrics are compared). Two runs of the same suite and seed, sharded
// or not, give records with no difference: the check that a merge of shards
// equals one process running the whole suite.
func Diff(a, b *Record) []string {
	var fields []string
	add := func(name string, differ bool) {
		if differ {
			fields = append(fields, name)
		}
	}
	add("v", a.V != b.V)
	add("key", a.Key != b.Key)
	add("backend", a.Backend != b.Backend)
	add("backend_name", a.BackendName != b.BackendName)
	add("backend_params", !sameJSON(a.BackendParams, b.BackendParams))
	add("task", a.Task != b.Task)
	add("task_params", !sameJSON(a.TaskParams, b.TaskParams))
	add("length", a.Length != b.Length)
	add("depth", a.Depth != b.Depth)
	add("sample", a.Sample != b.Sample)
	add("seed", a.Seed != b.Seed)
	fields = append(fields, resultDiff(a, b)...)
	add("metrics", !slices.Equal(sortedKeys(a.Metrics), sortedKeys(b.Metrics)))
	add("info", !sameJSON(a.Info, b.Info))
	sort.Strings(fields)
	return fields
}

// sameJSON compares two values by their canonical JSON (maps sort keys), so
// that an int64 parameter and the float64 read back from a file compare
// equal.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
