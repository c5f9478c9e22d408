package record

import (
	"slices"
	"testing"
)

func TestSort(t *testing.T) {
	mk := func(task, backend string, length int, depth float64, sample int, key string) *Record {
		return &Record{Task: task, Backend: backend, Length: length, Depth: depth, Sample: sample, Key: key}
	}
	want := []*Record{
		mk("kv", "dense", 4096, 0, 0, "a"),
		mk("niah", "dense", 1024, 0.5, 1, "b"),
		mk("niah", "dense", 4096, 0, 0, "c"),
		mk("niah", "dense", 4096, 0.25, 0, "d"),
		mk("niah", "dense", 4096, 0.25, 1, "e"),
		mk("niah", "dense", 4096, 0.25, 1, "f"),
		mk("niah", "sparse", 1024, 0, 0, "g"),
	}
	got := slices.Clone(want)
	slices.Reverse(got)
	Sort(got)
	if !slices.Equal(got, want) {
		for _, r := range got {
			t.Log(r.Key)
		}
		t.Fatal("wrong order")
	}
}

func TestKeys(t *testing.T) {
	keys := Keys(testRecords(3))
	if len(keys) != 3 || !keys["k0000"] || !keys["k0002"] || keys["k0003"] {
		t.Fatalf("Keys = %v", keys)
	}
}

func TestMerge(t *testing.T) {
	shard0 := testRecords(4) // k0000..k0003
	shard1 := testRecords(6)[2:]
	shard1[0] = testRecord(2)
	shard1[0].Run = "run-2"
	shard1[0].Timings = nil // timings may differ: still a duplicate
	shard1[1] = testRecord(3)
	shard1[1].Scores = map[string]float64{"exact": 0.5}
	shard1[1].Output = "other"
	again := []*Record{testRecord(5)}
	again[0].References = nil
	again[0].Error = "timeout"

	merged, rep := Merge([][]*Record{shard0, shard1, again})
	if len(merged) != 6 || rep.Records != 6 {
		t.Fatalf("%d merged records, report %d", len(merged), rep.Records)
	}
	if !slices.IsSortedFunc(merged, Compare) {
		t.Error("merged records are not sorted")
	}
	if !slices.Equal(rep.Runs, []string{"run-1", "run-2"}) {
		t.Errorf("Runs = %v", rep.Runs)
	}
	wantDup := []Duplicate{{Key: "k0002", Kept: Source{0, 2}, Dropped: Source{1, 0}}}
	if !slices.Equal(rep.Duplicates, wantDup) {
		t.Errorf("Duplicates = %+v", rep.Duplicates)
	}
	if len(rep.Conflicts) != 2 {
		t.Fatalf("Conflicts = %+v", rep.Conflicts)
	}
	c := rep.Conflicts[0]
	if c.Key != "k0003" || c.Kept != (Source{0, 3}) || c.Dropped != (Source{1, 1}) ||
		!slices.Equal(c.Fields, []string{"output", "scores"}) {
		t.Errorf("conflict %+v", c)
	}
	if got, want := c.String(), "key k0003: input 1 record 1 differs from input 0 record 3 in output, scores; kept the first"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if c := rep.Conflicts[1]; c.Key != "k0005" || !slices.Equal(c.Fields, []string{"references", "error"}) {
		t.Errorf("conflict %+v", c)
	}
	// The first record is kept.
	for _, r := range merged {
		if r.Key == "k0003" && r != shard0[3] {
			t.Error("kept the later conflicting record")
		}
	}
}

func TestMergeEmpty(t *testing.T) {
	merged, rep := Merge(nil)
	if len(merged) != 0 || rep.Records != 0 || len(rep.Runs) != 0 {
		t.Fatalf("%v %+v", merged, rep)
	}
}
