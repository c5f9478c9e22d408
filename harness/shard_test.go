package harness_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/harness/record"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// slurm is the environment of task id of an array min-max (step 1).
func slurm(id, lo, hi, count string) []string {
	return []string{"SLURM_ARRAY_TASK_ID", id, "SLURM_ARRAY_TASK_MIN", lo, "SLURM_ARRAY_TASK_MAX", hi, "SLURM_ARRAY_TASK_COUNT", count, "SLURM_ARRAY_JOB_ID", "41"}
}

func TestShardFromEnv(t *testing.T) {
	cases := []struct {
		name  string
		env   []string
		count int
		want  string // "i/n", or a fragment of the error
	}{
		{"slurm 1-4", slurm("2", "1", "4", "4"), 0, "2/4"},
		{"slurm 0-3", slurm("0", "0", "3", "4"), 0, "1/4"},
		{"slurm last", slurm("3", "0", "3", "4"), 0, "4/4"},
		{"slurm single task", slurm("5", "5", "5", "1"), 0, "1/1"},
		{"slurm no count", slurm("7", "5", "8", ""), 0, "3/4"},
		{"slurm step", append(slurm("8", "0", "12", "4"), "SLURM_ARRAY_TASK_STEP", "4"), 0, "3/4"},
		{"slurm count agrees", slurm("2", "1", "4", "4"), 4, "2/4"},
		{"slurm count disagrees", slurm("2", "1", "4", "4"), 8, "--shard-count 8, but the Slurm array has 4 tasks"},
		{"slurm list", slurm("3", "1", "7", "3"), 0, "not a range"},
		{"slurm off step", append(slurm("5", "0", "12", "4"), "SLURM_ARRAY_TASK_STEP", "4"), 0, "not a range"},
		{"slurm out of range", slurm("9", "1", "4", "4"), 0, "not within"},
		{"slurm no min", []string{"SLURM_ARRAY_TASK_ID", "1", "SLURM_ARRAY_TASK_MAX", "4"}, 0, "SLURM_ARRAY_TASK_MIN is not set"},
		{"slurm bad id", slurm("x", "1", "4", "4"), 0, `SLURM_ARRAY_TASK_ID="x"`},
		{"slurm before kubernetes", append(slurm("1", "1", "2", "2"), "JOB_COMPLETION_INDEX", "5"), 0, "1/2"},
		{"kubernetes flag", []string{"JOB_COMPLETION_INDEX", "0"}, 3, "1/3"},
		{"kubernetes env", []string{"JOB_COMPLETION_INDEX", "2", "EVALCTL_SHARD_COUNT", "3"}, 0, "3/3"},
		{"kubernetes flag over env", []string{"JOB_COMPLETION_INDEX", "3", "EVALCTL_SHARD_COUNT", "3"}, 4, "4/4"},
		{"kubernetes no count", []string{"JOB_COMPLETION_INDEX", "1"}, 0, "pass --shard-count N or set EVALCTL_SHARD_COUNT"},
		{"kubernetes index past count", []string{"JOB_COMPLETION_INDEX", "3", "EVALCTL_SHARD_COUNT", "3"}, 0, "only 3 shards (EVALCTL_SHARD_COUNT)"},
		{"kubernetes bad count", []string{"JOB_COMPLETION_INDEX", "0", "EVALCTL_SHARD_COUNT", "zero"}, 0, `EVALCTL_SHARD_COUNT="zero"`},
		{"kubernetes bad index", []string{"JOB_COMPLETION_INDEX", "-1"}, 2, `JOB_COMPLETION_INDEX="-1"`},
		{"no scheduler", nil, 4, "no scheduler index in the environment (SLURM_ARRAY_TASK_ID of a Slurm array job, JOB_COMPLETION_INDEX"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sh, from, err := harness.ShardFromEnv(c.count, envOf(c.env...))
			if strings.Contains(c.want, "/") && !strings.Contains(c.want, " ") {
				if err != nil || sh.String() != c.want && !(c.want == "1/1" && sh == harness.Shard{I: 1, N: 1}) || from == "" {
					t.Errorf("got %v %q %v, want %s", sh, from, err, c.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--shard auto") {
				t.Errorf("got %v, %v; want an error with %q", sh, err, c.want)
			}
		})
	}
}

// FuzzShardFromEnv: whatever the environment holds, the result is an error
// or a valid shard.
func FuzzShardFromEnv(f *testing.F) {
	f.Add("2", "1", "4", "4", "1", "", "", 0)
	f.Add("", "", "", "", "", "3", "4", 0)
	f.Add("8", "0", "12", "4", "4", "", "", 0)
	f.Add("", "", "", "", "", "0", "", 5)
	f.Fuzz(func(t *testing.T, id, lo, hi, count, step, index, kcount string, flag int) {
		get := envOf("SLURM_ARRAY_TASK_ID", id, "SLURM_ARRAY_TASK_MIN", lo, "SLURM_ARRAY_TASK_MAX", hi,
			"SLURM_ARRAY_TASK_COUNT", count, "SLURM_ARRAY_TASK_STEP", step, "JOB_COMPLETION_INDEX", index, "EVALCTL_SHARD_COUNT", kcount)
		sh, _, err := harness.ShardFromEnv(flag, get)
		if err == nil && (sh.N < 1 || sh.I < 1 || sh.I > sh.N) {
			t.Fatalf("invalid shard %+v", sh)
		}
	})
}

func TestShardDirName(t *testing.T) {
	for _, c := range []struct {
		sh   harness.Shard
		want string
	}{
		{harness.Shard{I: 1, N: 1}, "shard-1-of-1"},
		{harness.Shard{I: 3, N: 4}, "shard-3-of-4"},
		{harness.Shard{I: 3, N: 12}, "shard-03-of-12"},
		{harness.Shard{I: 100, N: 100}, "shard-100-of-100"},
	} {
		if got := c.sh.DirName(); got != c.want {
			t.Errorf("%v: %s, want %s", c.sh, got, c.want)
		}
	}
	if got := harness.ShardDir("out", "r", harness.Shard{I: 2, N: 3}); got != filepath.Join("out", "r", "shard-2-of-3") {
		t.Errorf("ShardDir: %s", got)
	}
}

// A shard restarted after an interruption (a requeued Slurm task, a
// restarted pod) resumes its own directory: every cell of the shard is
// recorded exactly once, and the shards together hold the whole plan.
func TestRunShardResumes(t *testing.T) {
	root := t.TempDir()
	s := mustSuite(t, behaviourSuite("cancel"))
	opts := func(i int) harness.Options {
		return harness.Options{Root: root, RunID: "sweep", Shard: harness.Shard{I: i, N: 2}, Workers: 1}
	}
	// Shard 1/2 takes cells 0, 2, 4, 6: samples 0 and 2; sample 2 cancels.
	ctx, cancel := context.WithCancel(context.Background())
	testCancel.Store(cancel)
	out, err := harness.RunShard(ctx, s, opts(1))
	testCancel.Store(context.CancelFunc(nil))
	if !errors.Is(err, harness.ErrInterrupted) {
		t.Fatalf("first attempt: %v", err)
	}
	dir := filepath.Join(root, "sweep", "shard-1-of-2")
	if out.Dir != dir || out.Done == 0 || out.Done >= 4 {
		t.Fatalf("first attempt: %+v", out)
	}
	first := out.Done
	out, err = harness.RunShard(context.Background(), s, opts(1))
	if err != nil || out.Skipped != first || out.Done != 4-first || out.Dir != dir {
		t.Fatalf("restart: %+v, %v (first attempt wrote %d)", out, err, first)
	}
	m, err := harness.ReadManifest(dir)
	if err != nil || m.RunID != "sweep" || m.Shard != "1/2" || len(m.Sessions) != 2 || m.Sessions[0].Status != "interrupted" || m.Sessions[1].Status != "complete" {
		t.Fatalf("manifest: %+v, %v", m, err)
	}
	// A third start finds nothing to do.
	if out, err = harness.RunShard(context.Background(), s, opts(1)); err != nil || out.Done != 0 || out.Skipped != 4 {
		t.Fatalf("third start: %+v, %v", out, err)
	}
	if _, err := harness.RunShard(context.Background(), s, opts(2)); err != nil {
		t.Fatal(err)
	}
	keys := map[string]int{}
	for _, d := range []string{dir, filepath.Join(root, "sweep", "shard-2-of-2")} {
		recs, bad, err := record.ReadRun(d)
		if err != nil || len(bad) > 0 {
			t.Fatal(err, bad)
		}
		for _, r := range recs {
			keys[r.Key]++
			if r.Run != "sweep" {
				t.Errorf("record of run %q", r.Run)
			}
		}
	}
	for _, c := range harness.Plan(s) {
		if keys[c.Key] != 1 {
			t.Errorf("cell %d (%s) recorded %d times", c.Index, c.Key, keys[c.Key])
		}
	}
	if len(keys) != len(harness.Plan(s)) {
		t.Errorf("%d keys, want %d", len(keys), len(harness.Plan(s)))
	}
	got, _ := harness.ShardDirs(filepath.Join(root, "sweep"))
	if len(got) != 2 || filepath.Base(got[0]) != "shard-1-of-2" {
		t.Errorf("ShardDirs: %v", got)
	}
	if _, ok := harness.ShardDirs(dir); ok {
		t.Error("a run directory is not a directory of shards")
	}
}

func TestRunShardRefusesAnotherRun(t *testing.T) {
	root := t.TempDir()
	s := mustSuite(t, behaviourSuite("ok"))
	o := harness.Options{Root: root, RunID: "x", Shard: harness.Shard{I: 1, N: 2}, Workers: 1}
	if _, err := harness.RunShard(context.Background(), s, o); err != nil {
		t.Fatal(err)
	}
	limited := o
	limited.Limit = 1
	for _, c := range []struct {
		name string
		s    *harness.Suite
		o    harness.Options
		want string
	}{
		{"other suite", mustSuite(t, behaviourSuite("fail")), o, "another suite"},
		{"other limit", s, limited, "--limit"},
		{"no run id", s, harness.Options{Root: root, Shard: o.Shard}, "--run-id"},
		{"bad run id", s, harness.Options{Root: root, RunID: "../x", Shard: o.Shard}, "bad run id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := harness.RunShard(context.Background(), c.s, c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
	// Another shard count means another directory, not a clash.
	o3 := o
	o3.Shard = harness.Shard{I: 1, N: 3}
	if _, err := harness.RunShard(context.Background(), s, o3); err != nil {
		t.Errorf("shard 1/3 next to 1/2: %v", err)
	}
	// An empty directory left by a start that died is reused; one with
	// unknown contents is not touched.
	o4 := o
	o4.RunID = "y"
	d := harness.ShardDir(root, "y", o4.Shard)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := harness.RunShard(context.Background(), s, o4); err != nil {
		t.Errorf("empty leftover directory: %v", err)
	}
	o4.RunID = "z"
	d = harness.ShardDir(root, "z", o4.Shard)
	os.MkdirAll(d, 0o755)
	os.WriteFile(filepath.Join(d, "notes.txt"), []byte("mine"), 0o644)
	if _, err := harness.RunShard(context.Background(), s, o4); !errors.Is(err, harness.ErrShardDirTaken) {
		t.Errorf("directory with other files: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(d, "notes.txt")); string(b) != "mine" {
		t.Error("RunShard touched a directory it does not own")
	}
	// Nor is a file where the directory would be.
	o4.RunID = "f"
	d = harness.ShardDir(root, "f", o4.Shard)
	os.MkdirAll(filepath.Dir(d), 0o755)
	os.WriteFile(d, []byte("a file"), 0o644)
	if _, err := harness.RunShard(context.Background(), s, o4); !errors.Is(err, harness.ErrShardDirTaken) {
		t.Errorf("a file at the shard's path: %v", err)
	}
	if b, _ := os.ReadFile(d); string(b) != "a file" {
		t.Error("RunShard removed a file")
	}
}

func TestCheckShardSet(t *testing.T) {
	suiteA, suiteB := json.RawMessage(`{"name":"a"}`), json.RawMessage(`{"name":"b"}`)
	man := func(resolved json.RawMessage, cells int) *harness.Manifest {
		return &harness.Manifest{RunID: "r", Resolved: resolved, Seed: 1, Cells: cells}
	}
	dir := func(name, shard string, m *harness.Manifest, recorded int) harness.ShardInput {
		return harness.ShardInput{Name: name, Shard: shard, Manifest: m, Recorded: recorded}
	}
	full := []harness.ShardInput{
		dir("r/shard-1-of-3", "1/3", man(suiteA, 5), 5),
		dir("r/shard-2-of-3", "2/3", man(suiteA, 5), 5),
		dir("r/shard-3-of-3", "3/3", man(suiteA, 4), 4),
	}
	with := func(ins ...harness.ShardInput) []harness.ShardInput { return ins }
	cases := []struct {
		name string
		ins  []harness.ShardInput
		want []string // fragments of the error; none: no error
	}{
		{"complete", full, nil},
		{"unsharded inputs", with(dir("a", "", man(suiteA, 5), 2), harness.ShardInput{Name: "b.jsonl"}), nil},
		{"records files", with(harness.ShardInput{Name: "1.jsonl", Shard: "1/2"}, harness.ShardInput{Name: "2.jsonl", Shard: "2/2"}), nil},
		{"plus an unsharded run", append(full[:3:3], dir("other", "", man(suiteB, 9), 9)), nil},
		{"missing", with(full[0], full[2]), []string{"shard 2/3 is missing (the inputs hold 1/3, 3/3)"}},
		{"duplicate", append(full[:3:3], full[1]), []string{"shard 2/3 is given 2 times: r/shard-2-of-3, r/shard-2-of-3"}},
		{"incomplete", with(full[0], dir("r/shard-2-of-3", "2/3", man(suiteA, 5), 3), full[2]),
			[]string{"shard 2/3 (r/shard-2-of-3) is incomplete: 3 of 5 cells recorded; finish it with: evalctl run --resume r/shard-2-of-3"}},
		{"other suite", with(full[0], dir("q/shard-2-of-3", "2/3", man(suiteB, 5), 5), full[2]), []string{"q/shard-2-of-3 (shard 2/3) is a run of another suite than r/shard-1-of-3"}},
		{"two splits", with(full[0], full[1], full[2], dir("s/shard-1-of-2", "1/2", man(suiteA, 7), 7)), []string{"mix two splits"}},
		{"several problems", with(full[0], full[0]), []string{"shard 1/3 is given 2 times", "shard 2/3 is missing", "shard 3/3 is missing"}},
		{"bad shard", with(harness.ShardInput{Name: "x.jsonl", Shard: "5/2"}), []string{"x.jsonl: bad shard"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := harness.CheckShardSet(c.ins)
			if len(c.want) == 0 {
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
