package schedtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/harness/record"
)

// The templates under test, as users copy them.
var (
	arrayScript    = filepath.Join("..", "..", "docs", "slurm", "evalctl-array.sbatch")
	gpuArrayScript = filepath.Join("..", "..", "docs", "slurm", "evalctl-array-gpu.sbatch")
	mergeScript    = filepath.Join("..", "..", "docs", "slurm", "evalctl-merge.sbatch")
)

// buildEvalctl builds the evalctl binary into dir.
func buildEvalctl(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "evalctl")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/evalctl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// testContext ends a minute before the test's deadline, so that cleanups
// (which stop the cluster) still run when something hangs.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(context.Background(), d.Add(-time.Minute))
	}
	t.Cleanup(cancel)
	return ctx
}

// startSlurm starts a cluster for the test, skipping only where Slurm is
// not installed, and stops it (every process) when the test ends.
func startSlurm(t *testing.T, ctx context.Context, o SlurmOptions) *Slurm {
	t.Helper()
	if missing := MissingSlurm(); len(missing) > 0 {
		t.Skipf("Slurm is not installed (missing %s): apt-get install slurm-wlm munge (.ci/run installs them)", strings.Join(missing, ", "))
	}
	o.Log = t.Logf
	s, err := StartSlurm(ctx, o)
	if err != nil {
		t.Fatalf("start Slurm: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("Slurm logs:\n%s", s.Logs())
		}
		if err := s.Close(); err != nil {
			t.Errorf("stop Slurm: %v", err)
		}
	})
	return s
}

// sbatch submits a script and returns its job id.
func sbatch(t *testing.T, ctx context.Context, s *Slurm, env []string, args ...string) string {
	t.Helper()
	cmd := s.Command(ctx, "sbatch", append([]string{"--parsable"}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sbatch %v: %v\n%s", args, err, out)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
	return id
}

// singleRun runs the whole suite in one evalctl process: the reference.
func singleRun(t *testing.T, bin, out string, args ...string) []*record.Record {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"run", "smoke", "--out", out, "--run-id", "whole", "--no-report", "--quiet"}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("single-process run: %v\n%s", err, b)
	}
	recs, bad, err := record.ReadRun(filepath.Join(out, "whole"))
	if err != nil || len(bad) > 0 {
		t.Fatalf("single-process run: %v %v", err, bad)
	}
	return recs
}

// sameCells checks that got holds exactly the cells of want, each once,
// with the same results (record.Diff: keys, parameters, outputs, scores,
// references, errors, info; not timings).
func sameCells(t *testing.T, want, got []*record.Record) {
	t.Helper()
	byKey := map[string]*record.Record{}
	for _, r := range got {
		if byKey[r.Key] != nil {
			t.Errorf("cell %s appears twice in the merge", r.Key)
		}
		byKey[r.Key] = r
	}
	if len(byKey) != len(want) {
		t.Errorf("the merge holds %d cells, the single run %d", len(byKey), len(want))
	}
	same := 0
	for _, w := range want {
		g := byKey[w.Key]
		switch {
		case g == nil:
			t.Errorf("cell %s (%s %s %d) is missing from the merge", w.Key, w.Task, w.Backend, w.Length)
		case len(record.Diff(w, g)) > 0:
			t.Errorf("cell %s (%s %s %d depth %g) differs in %v: %q vs %q", w.Key, w.Task, w.Backend, w.Length, w.Depth, record.Diff(w, g), w.Output, g.Output)
		default:
			same++
		}
	}
	t.Logf("%d of %d cells identical to the single-process run", same, len(want))
}

// checkShards checks every shard directory of a run: it holds each of its
// planned cells exactly once, and its last session is complete. It returns
// the manifests by shard index.
func checkShards(t *testing.T, root string, n int) map[int]*harness.Manifest {
	t.Helper()
	mans := map[int]*harness.Manifest{}
	for i := 1; i <= n; i++ {
		dir := harness.ShardDir(filepath.Dir(root), filepath.Base(root), harness.Shard{I: i, N: n})
		m, err := harness.ReadManifest(dir)
		if err != nil {
			t.Errorf("shard %d/%d: %v", i, n, err)
			continue
		}
		recs, bad, err := record.ReadRun(dir)
		if err != nil || len(bad) > 0 {
			t.Errorf("shard %d/%d: %v %v", i, n, err, bad)
		}
		seen := map[string]int{}
		for _, r := range recs {
			seen[r.Key]++
			if r.Shard != fmt.Sprintf("%d/%d", i, n) {
				t.Errorf("shard %d/%d holds a record of shard %q", i, n, r.Shard)
			}
		}
		for k, c := range seen {
			if c != 1 {
				t.Errorf("shard %d/%d: cell %s recorded %d times", i, n, k, c)
			}
		}
		if len(seen) != m.Cells || len(m.Sessions) == 0 || m.Sessions[len(m.Sessions)-1].Status != "complete" {
			t.Errorf("shard %d/%d: %d of %d cells, sessions %+v", i, n, len(seen), m.Cells, m.Sessions)
		}
		mans[i] = m
	}
	return mans
}

// shardProgress returns how many cells of a shard are on disk and how many
// it plans; 0, 0 before it started.
func shardProgress(dir string) (int, int) {
	m, err := harness.ReadManifest(dir)
	if err != nil {
		return 0, 0
	}
	recs, _, _ := record.ReadRun(dir)
	return len(record.Keys(recs)), m.Cells
}

// TestSlurmArray submits the smoke suite as a 4-task array of the CPU
// template to a real single-node Slurm, requeues one task while it runs
// (Slurm stops it with SIGTERM and starts it again), merges with the merge
// template once the array is done, and checks the merge against one
// process running the whole suite, cell by cell.
func TestSlurmArray(t *testing.T) {
	ctx := testContext(t)
	s := startSlurm(t, ctx, SlurmOptions{CPUs: 4, MemoryMB: 8192})
	work := t.TempDir()
	bin := buildEvalctl(t, work)
	whole := singleRun(t, bin, filepath.Join(work, "single"))

	jobs := filepath.Join(work, "jobs")
	out := filepath.Join(work, "shared")
	if err := os.MkdirAll(jobs, 0o755); err != nil {
		t.Fatal(err)
	}
	env := []string{"EVALCTL=" + bin, "EVALCTL_SUITE=smoke", "EVALCTL_OUT=" + out, "EVALCTL_RUN_ID=", "EVALCTL_ARGS="}
	array := sbatch(t, ctx, s, env, "--array=1-4", "--chdir", jobs, arrayScript)
	runID := "evalctl-" + array // the template's default
	merge := sbatch(t, ctx, s, append(env, "EVALCTL_RUN_ID="+runID), "--dependency=afterok:"+array, "--chdir", jobs, mergeScript)
	t.Logf("array job %s, merge job %s", array, merge)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(jobs, "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("--- %s\n%s", filepath.Base(l), b)
			}
		}
	})

	// Requeue the first task seen mid-way: some of its cells on disk, not all.
	root := filepath.Join(out, runID)
	requeued, done := 0, 0
	for requeued == 0 {
		for i := 1; i <= 4; i++ {
			d, n := shardProgress(harness.ShardDir(out, runID, harness.Shard{I: i, N: 4}))
			if d > 0 && d < n-1 {
				requeued, done = i, d
				break
			}
		}
		if requeued > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no task was seen mid-way")
		}
		time.Sleep(100 * time.Millisecond)
	}
	task := fmt.Sprintf("%s_%d", array, requeued)
	if out, err := s.Output(ctx, "scontrol", "requeue", task); err != nil {
		t.Fatalf("requeue: %v %s", err, out)
	}
	t.Logf("requeued task %s with %d cells of its shard on disk", task, done)
	// Slurm holds a requeued job back for two minutes; let it start now.
	for {
		jobs, err := s.Jobs(ctx, task)
		if err == nil && len(jobs) == 1 && jobs[0].Restarts == 1 && jobs[0].State == "PENDING" {
			if _, err := s.Output(ctx, "scontrol", "update", "JobId="+task, "StartTime=now"); err == nil {
				break
			}
		}
		if err == nil && len(jobs) == 1 && jobs[0].Restarts == 1 && jobs[0].State == "RUNNING" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the requeued task did not come back: %+v %v", jobs, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if err := s.Wait(ctx, array, merge); err != nil {
		t.Fatal(err)
	}
	tasks, err := s.Jobs(ctx, array)
	if err != nil || len(tasks) != 4 {
		t.Fatalf("array tasks: %+v %v", tasks, err)
	}
	for _, j := range tasks {
		want := 0
		if j.ArrayTaskID == fmt.Sprint(requeued) {
			want = 1
		}
		if j.State != "COMPLETED" || j.ExitCode != "0:0" || j.Restarts != want {
			t.Errorf("task %s_%s: %s exit %s, %d restarts (want COMPLETED, 0:0, %d)", j.ArrayJobID, j.ArrayTaskID, j.State, j.ExitCode, j.Restarts, want)
		}
	}
	if mj, err := s.Jobs(ctx, merge); err != nil || len(mj) != 1 || mj[0].State != "COMPLETED" || mj[0].ExitCode != "0:0" {
		t.Fatalf("merge job: %+v %v", mj, err)
	}

	// The requeued shard was interrupted once and resumed from what it had.
	mans := checkShards(t, root, 4)
	if m := mans[requeued]; m != nil {
		ss := m.Sessions
		if len(ss) != 2 || ss[0].Status != "interrupted" || ss[0].Done < done || ss[1].Skipped != ss[0].Done || ss[1].Done != m.Cells-ss[0].Done {
			t.Errorf("requeued shard %d/4: sessions %+v", requeued, ss)
		} else {
			t.Logf("shard %d/4: %d cells before the requeue, %d after it", requeued, ss[0].Done, ss[1].Done)
		}
	}
	for i, m := range mans {
		if i != requeued && len(m.Sessions) != 1 {
			t.Errorf("shard %d/4 ran %d sessions", i, len(m.Sessions))
		}
	}
	merged, bad, err := record.ReadRun(filepath.Join(root, "merged.jsonl.zst"))
	if err != nil || len(bad) > 0 {
		t.Fatalf("merged records: %v %v", err, bad)
	}
	sameCells(t, whole, merged)
	if _, err := os.Stat(filepath.Join(root, "report", "report.md")); err != nil {
		t.Errorf("the merge job wrote no report: %v", err)
	}
}
