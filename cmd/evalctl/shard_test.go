package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/harness/record"
)

// shardSuite has 8 small cells.
const shardSuite = `
name: sharded
seed: 3
samples: 2
lengths: [512, 1K]
depths: [0.5]
backends:
  - dense
  - name: sparse
    params: {topk: 8, local_blocks: 2}
tasks:
  - name: attention
    params: {heads: 2, kv_heads: 1, head_dim: 32, queries: 8, decode_repeats: 1}
`

// schedulerEnv is every variable --shard auto reads.
var schedulerEnv = []string{
	harness.EnvSlurmTaskID, harness.EnvSlurmTaskCount, harness.EnvSlurmTaskMin, harness.EnvSlurmTaskMax,
	harness.EnvSlurmTaskStep, harness.EnvSlurmJobID, harness.EnvK8sIndex, harness.EnvShardCount,
}

// setEnv clears the scheduler variables, then sets kv (name, value, ...)
// for the rest of the test.
func setEnv(t *testing.T, kv ...string) {
	t.Helper()
	for _, k := range schedulerEnv {
		t.Setenv(k, "")
	}
	for i := 0; i+1 < len(kv); i += 2 {
		t.Setenv(kv[i], kv[i+1])
	}
}

// sameCells checks that got holds exactly the cells of want, each with the
// same results (record.Diff), each once.
func sameCells(t *testing.T, want, got []*record.Record) {
	t.Helper()
	byKey := map[string]*record.Record{}
	for _, r := range got {
		if byKey[r.Key] != nil {
			t.Errorf("cell %s appears twice", r.Key)
		}
		byKey[r.Key] = r
	}
	if len(byKey) != len(want) {
		t.Errorf("%d cells, want %d", len(byKey), len(want))
	}
	for _, w := range want {
		g := byKey[w.Key]
		if g == nil {
			t.Errorf("cell %s (%s %s %d) is missing", w.Key, w.Task, w.Backend, w.Length)
			continue
		}
		if d := record.Diff(w, g); len(d) > 0 {
			t.Errorf("cell %s (%s %s %d) differs in %v", w.Key, w.Task, w.Backend, w.Length, d)
		}
	}
}

// TestShardAuto runs a suite in three shards taken from a Slurm array's,
// a Kubernetes Indexed Job's and an explicit index, restarts one, checks
// that merge refuses incomplete sets, and that the merge of all three
// equals one process running the whole suite, cell by cell.
func TestShardAuto(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "sharded.yaml")
	if err := os.WriteFile(suite, []byte(shardSuite), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	run := func(args ...string) (string, string, int) {
		t.Helper()
		return evalctl(t, "", append([]string{"run", suite, "--out", out, "--no-report", "--workers", "1"}, args...)...)
	}
	setEnv(t)
	if _, errs, code := run("--run-id", "whole"); code != 0 {
		t.Fatalf("whole run: %s", errs)
	}
	whole, _, err := record.ReadRun(filepath.Join(out, "whole"))
	if err != nil || len(whole) != 8 {
		t.Fatalf("whole run: %d records, %v", len(whole), err)
	}

	// Task 1 of a Slurm array 1-3: the run id defaults to <suite>-<array job id>.
	setEnv(t, "SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "3", "SLURM_ARRAY_TASK_COUNT", "3", "SLURM_ARRAY_JOB_ID", "77")
	_, errs, code := run("--shard", "auto")
	if code != 0 || !strings.Contains(errs, "shard 1/3 (Slurm array task SLURM_ARRAY_TASK_ID=1 of 3)") {
		t.Fatalf("slurm shard: exit %d: %s", code, errs)
	}
	root := filepath.Join(out, "sharded-77")
	shard := func(i int) string { return filepath.Join(root, harness.Shard{I: i, N: 3}.DirName()) }
	// Requeued: the same task again resumes its directory and runs nothing.
	_, errs, code = run("--shard", "auto")
	if code != 0 || !strings.Contains(errs, "0 cells done this session, 3 already done") {
		t.Fatalf("requeued slurm shard: exit %d: %s", code, errs)
	}
	// Index 1 of a Kubernetes Indexed Job with 3 completions.
	setEnv(t, "JOB_COMPLETION_INDEX", "1", "EVALCTL_SHARD_COUNT", "3")
	if _, errs, code := run("--shard", "auto", "--run-id", "sharded-77"); code != 0 {
		t.Fatalf("kubernetes shard: %s", errs)
	}
	setEnv(t)

	merge := func(args ...string) (string, int) {
		t.Helper()
		_, errs, code := evalctl(t, "", append([]string{"merge"}, args...)...)
		return errs, code
	}
	// Shard 3/3 has not run: merge names it and writes nothing.
	partial := filepath.Join(dir, "partial.jsonl.zst")
	errs, code = merge("-o", partial, root)
	if code != exitFailure || !strings.Contains(errs, "shard 3/3 is missing (the inputs hold 1/3, 2/3)") {
		t.Errorf("merge without shard 3: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(partial); err == nil {
		t.Error("a refused merge wrote its output")
	}
	errs, code = merge("--partial", "-o", partial, root)
	if recs, _, _ := record.ReadRun(partial); code != 0 || len(recs) != 6 || !strings.Contains(errs, "warning: partial merge") {
		t.Errorf("merge --partial: exit %d, %d records: %s", code, len(recs), errs)
	}

	// Explicit shard 3/3 into the same run.
	if _, errs, code := run("--shard", "3/3", "--run-id", "sharded-77"); code != 0 {
		t.Fatalf("explicit shard: %s", errs)
	}
	// A shard given twice is named.
	errs, code = merge("-o", filepath.Join(dir, "twice.jsonl"), shard(1), shard(2), shard(3), shard(2))
	if code != exitFailure || !strings.Contains(errs, "shard 2/3 is given 2 times: "+shard(2)+", "+shard(2)) {
		t.Errorf("merge with a repeated shard: exit %d: %s", code, errs)
	}
	// An incomplete shard (a copy holding one of its records) is named.
	cut := filepath.Join(dir, "cut")
	if err := os.MkdirAll(cut, 0o755); err != nil {
		t.Fatal(err)
	}
	man, _ := os.ReadFile(filepath.Join(shard(2), harness.ManifestName))
	os.WriteFile(filepath.Join(cut, harness.ManifestName), man, 0o644)
	recs2, _, _ := record.ReadRun(shard(2))
	w, err := record.Create(filepath.Join(cut, record.SegmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	w.Write(recs2[0])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	errs, code = merge("-o", filepath.Join(dir, "cut.jsonl"), shard(1), cut, shard(3))
	if code != exitFailure || !strings.Contains(errs, "shard 2/3 ("+cut+") is incomplete: 1 of 3 cells recorded; finish it with: evalctl run --resume "+cut) {
		t.Errorf("merge with an incomplete shard: exit %d: %s", code, errs)
	}

	// The whole set, given as the run's directory: the same cells as the
	// single process, and a report reads the same directory.
	all := filepath.Join(dir, "all.jsonl.zst")
	if errs, code := merge("-o", all, root); code != 0 {
		t.Fatalf("merge: %s", errs)
	}
	merged, _, err := record.ReadRun(all)
	if err != nil {
		t.Fatal(err)
	}
	sameCells(t, whole, merged)
	for _, r := range merged {
		if r.Run != "sharded-77" || r.Shard == "" {
			t.Errorf("merged record of run %q shard %q", r.Run, r.Shard)
		}
	}
	if _, errs, code := evalctl(t, "", "report", root, "--out", filepath.Join(dir, "report"), "--no-plots"); code != 0 || !strings.Contains(errs, "(8 records)") {
		t.Errorf("report of the shard directory: exit %d: %s", code, errs)
	}
}

func TestShardAutoErrors(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "sharded.yaml")
	os.WriteFile(suite, []byte(shardSuite), 0o644)
	out := filepath.Join(dir, "out")
	cases := []struct {
		env  []string
		args []string
		code int
		msg  string
	}{
		{nil, []string{"--shard", "auto", "--run-id", "x"}, exitBadConfig, "no scheduler index in the environment"},
		{[]string{"JOB_COMPLETION_INDEX", "0"}, []string{"--shard", "auto", "--run-id", "x"}, exitBadConfig, "--shard-count"},
		{[]string{"JOB_COMPLETION_INDEX", "0"}, []string{"--shard", "auto"}, exitBadConfig, "--shard-count"},
		{[]string{"JOB_COMPLETION_INDEX", "0"}, []string{"--shard", "auto", "--shard-count", "2"}, exitBadConfig, "a sharded run needs --run-id"},
		{nil, []string{"--shard", "1/2"}, exitBadConfig, "a sharded run needs --run-id"},
		{nil, []string{"--shard", "1/2", "--run-id", "x", "--shard-count", "2"}, exitBadConfig, "--shard-count goes with --shard auto"},
		{nil, []string{"--shard", "1/2", "--run-id", "../up"}, exitRunFailed, "bad run id"},
		{[]string{"SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_MIN", "1", "SLURM_ARRAY_TASK_MAX", "3", "SLURM_ARRAY_TASK_COUNT", "3"},
			[]string{"--shard", "auto", "--shard-count", "4", "--run-id", "x"}, exitBadConfig, "the Slurm array has 3 tasks"},
	}
	for _, c := range cases {
		setEnv(t, c.env...)
		_, errs, code := evalctl(t, "", append([]string{"run", suite, "--out", out, "--no-report"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v %v: exit %d (want %d), %s (want %q)", c.env, c.args, code, c.code, errs, c.msg)
		}
	}
	// A shard directory holding another suite's run is refused with exit 2.
	setEnv(t)
	if _, errs, code := evalctl(t, "", "run", suite, "--out", out, "--no-report", "--shard", "1/2", "--run-id", "y", "--limit", "1"); code != 0 {
		t.Fatal(errs)
	}
	_, errs, code := evalctl(t, "", "run", suite, "--out", out, "--no-report", "--shard", "1/2", "--run-id", "y", "--limit", "1", "--set", "seed=4")
	if code != exitBadConfig || !strings.Contains(errs, "shard directory taken") || !strings.Contains(errs, "another suite") {
		t.Errorf("another suite in a shard directory: exit %d: %s", code, errs)
	}
}

// Merge writes the records as they were run: one task with two parameter
// sets keeps its name (reports label the sets apart; merge did too, input
// by input, so a shard holding one set and a shard holding both would
// have named one task two ways).
func TestMergeKeepsTaskNames(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "two.yaml")
	os.WriteFile(suite, []byte(`
name: two
samples: 2
lengths: [512]
depths: [0.5]
backends: [dense]
tasks:
  - name: attention
    params: {heads: 2, kv_heads: 1, head_dim: 32, queries: 8, decode_repeats: 1}
  - name: attention
    params: {heads: 2, kv_heads: 1, head_dim: 32, queries: 4, decode_repeats: 1}
`), 0o644)
	setEnv(t)
	for _, sh := range []string{"1/2", "2/2"} {
		if _, errs, code := evalctl(t, "", "run", suite, "--out", dir, "--run-id", "two", "--no-report", "--shard", sh); code != 0 {
			t.Fatal(errs)
		}
	}
	out := filepath.Join(dir, "m.jsonl")
	if _, errs, code := evalctl(t, "", "merge", "-o", out, filepath.Join(dir, "two")); code != 0 {
		t.Fatal(errs)
	}
	recs, _, _ := record.ReadRun(out)
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs {
		if r.Task != "attention" {
			t.Errorf("merged task %q, want attention", r.Task)
		}
	}
}
