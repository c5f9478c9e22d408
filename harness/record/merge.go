package record

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Compare orders records by task, backend, length, depth, sample and key:
// the order of reports and of Merge's output.
func Compare(a, b *Record) int {
	return cmp.Or(
		strings.Compare(a.Task, b.Task),
		strings.Compare(a.Backend, b.Backend),
		cmp.Compare(a.Length, b.Length),
		cmp.Compare(a.Depth, b.Depth),
		cmp.Compare(a.Sample, b.Sample),
		strings.Compare(a.Key, b.Key),
	)
}

// Sort sorts records by Compare, keeping the input order of equal records.
func Sort(records []*Record) {
	slices.SortStableFunc(records, Compare)
}

// Keys returns the set of the records' keys.
func Keys(records []*Record) map[string]bool {
	keys := make(map[string]bool, len(records))
	for _, r := range records {
		keys[r.Key] = true
	}
	return keys
}

// Source locates a record among the inputs of Merge.
type Source struct {
	Input int // index of the input
	Index int // index of the record in it
}

// Duplicate is a record whose key was seen before, with the same results;
// it was dropped.
type Duplicate struct {
	Key           string
	Kept, Dropped Source
}

// Conflict is a record whose key was seen before, with different results;
// it was dropped and the first one kept.
type Conflict struct {
	Key           string
	Kept, Dropped Source
	Fields        []string // JSON names of the fields that differ
}

// String describes the conflict for a warning.
func (c Conflict) String() string {
	return fmt.Sprintf("key %s: input %d record %d differs from input %d record %d in %s; kept the first",
		c.Key, c.Dropped.Input, c.Dropped.Index, c.Kept.Input, c.Kept.Index, strings.Join(c.Fields, ", "))
}

// MergeReport says what Merge did.
type MergeReport struct {
	Records    int         // records in the merged output
	Duplicates []Duplicate // repeats with identical results, dropped
	Conflicts  []Conflict  // repeats with different results, dropped
	// Runs lists the distinct run ids of the records, sorted. More than
	// one is normal when merging shards or runs, and worth a mention.
	Runs []string
}

// Merge merges record sets, such as shards or repeated runs, keeping one
// record per key: the first in input order. A later record with the same key
// is a duplicate if its results (output, scores, references, error) are the
// same, and a conflict if not; timings and other measurements may differ.
// The output is sorted by Compare; the inputs are not modified.
func Merge(inputs [][]*Record) ([]*Record, MergeReport) {
	var rep MergeReport
	type kept struct {
		rec *Record
		src Source
	}
	seen := map[string]kept{}
	runs := map[string]bool{}
	var merged []*Record
	for i, in := range inputs {
		for j, r := range in {
			runs[r.Run] = true
			src := Source{Input: i, Index: j}
			k, ok := seen[r.Key]
			if !ok {
				seen[r.Key] = kept{r, src}
				merged = append(merged, r)
				continue
			}
			if fields := resultDiff(k.rec, r); len(fields) > 0 {
				rep.Conflicts = append(rep.Conflicts, Conflict{Key: r.Key, Kept: k.src, Dropped: src, Fields: fields})
			} else {
				rep.Duplicates = append(rep.Duplicates, Duplicate{Key: r.Key, Kept: k.src, Dropped: src})
			}
		}
	}
	Sort(merged)
	rep.Records = len(merged)
	rep.Runs = slices.Sorted(maps.Keys(runs))
	return merged, rep
}

// resultDiff returns the JSON names of the result fields in which a and b
// differ. Absent and empty are the same, as they are once written.
func resultDiff(a, b *Record) []string {
	var fields []string
	if a.Output != b.Output {
		fields = append(fields, "output")
	}
	if !slices.Equal(a.References, b.References) {
		fields = append(fields, "references")
	}
	if !maps.EqualFunc(a.Scores, b.Scores, func(x, y float64) bool {
		return x == y || math.IsNaN(x) && math.IsNaN(y)
	}) {
		fields = append(fields, "scores")
	}
	if a.Error != b.Error {
		fields = append(fields, "error")
	}
	return fields
}
