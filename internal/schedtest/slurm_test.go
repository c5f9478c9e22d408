package schedtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
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

// shared holds what the tests of this package share: one evalctl binary
// and one single-process run of the smoke suite, the reference.
var shared struct {
	dir       string
	buildOnce sync.Once
	bin       string
	buildErr  error
	refOnce   sync.Once
	ref       []*record.Record
	refErr    error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "evalctl-schedtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// evalctlBinary builds the evalctl binary once; its directory holds
// nothing else, so that it can go first on a PATH.
func evalctlBinary(t *testing.T) string {
	t.Helper()
	shared.buildOnce.Do(func() {
		bindir := filepath.Join(shared.dir, "bin")
		if shared.buildErr = os.MkdirAll(bindir, 0o755); shared.buildErr != nil {
			return
		}
		shared.bin = filepath.Join(bindir, "evalctl")
		cmd := exec.Command("go", "build", "-o", shared.bin, "../../cmd/evalctl")
		if out, err := cmd.CombinedOutput(); err != nil {
			shared.buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if shared.buildErr != nil {
		t.Fatal(shared.buildErr)
	}
	return shared.bin
}

// smokeReference runs the whole smoke suite once in one evalctl process.
func smokeReference(t *testing.T) []*record.Record {
	t.Helper()
	bin := evalctlBinary(t)
	shared.refOnce.Do(func() {
		shared.ref, shared.refErr = singleRun(bin, filepath.Join(shared.dir, "single"), "smoke")
	})
	if shared.refErr != nil {
		t.Fatal(shared.refErr)
	}
	return shared.ref
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

// needSlurm skips the test where Slurm is not installed, and fails it
// instead where EVALCTL_REQUIRE_SLURM is set (.ci/run sets it: CI must run
// the Slurm tests).
func needSlurm(t *testing.T) {
	t.Helper()
	missing := MissingSlurm()
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("Slurm is not installed (missing %s): apt-get install slurm-wlm munge (.ci/run installs them)", strings.Join(missing, ", "))
	if os.Getenv("EVALCTL_REQUIRE_SLURM") != "" {
		t.Fatalf("%s; EVALCTL_REQUIRE_SLURM is set", msg)
	}
	t.Skip(msg)
}

// startSlurm starts a cluster for the test, skipping only where Slurm is
// not installed, and stops it (every process) when the test ends.
func startSlurm(t *testing.T, ctx context.Context, o SlurmOptions) *Slurm {
	t.Helper()
	needSlurm(t)
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

// singleRun runs the whole suite in one evalctl process under out/whole/
// and returns its records.
func singleRun(bin, out, suite string) ([]*record.Record, error) {
	cmd := exec.Command(bin, "run", suite, "--out", out, "--run-id", "whole", "--no-report", "--quiet")
	cmd.Env = cleanEnv()
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("single-process run of %s: %v\n%s", suite, err, b)
	}
	recs, bad, err := record.ReadRun(filepath.Join(out, "whole"))
	if err == nil && len(bad) > 0 {
		err = fmt.Errorf("single-process run of %s: %v", suite, bad)
	}
	return recs, err
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

// gpuSuite is a small suite for the GPU template: the scheduling is under
// test there, not the engine.
const gpuSuite = `
name: gpu-template
seed: 5
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

// TestSlurm starts a real single-node Slurm and runs the Slurm templates of
// docs/slurm on it, as written, with a real evalctl:
//
//   - cpu-array: the smoke suite as a 4-task array of the CPU template;
//     one task is requeued while it runs (Slurm stops it with SIGTERM and
//     starts it again); the merge template, submitted with
//     --dependency=afterok on the array, merges; the merge equals one
//     process running the whole suite, cell by cell.
//   - gpu-array: the GPU template (one GPU per task) on two fake GPUs, a
//     3-task array: each task gets a GPU of its own, and the merge equals a
//     single-process run.
func TestSlurm(t *testing.T) {
	ctx := testContext(t)
	// The node claims more than this machine has (config_overrides), so
	// that the templates' requests run unchanged: 2 CPUs and 4G per CPU
	// task, 8 CPUs, 32G and a GPU per GPU task.
	o := SlurmOptions{CPUs: 16, MemoryMB: 65536, GPUs: 2}
	gpuNote := ""
	if os.Getuid() != 0 {
		o.GPUs, gpuNote = 0, "fake GPU devices need root (mknod)"
	}
	s := startSlurm(t, ctx, o)
	t.Run("cpu-array", func(t *testing.T) { testCPUArray(t, ctx, s) })
	t.Run("gpu-array", func(t *testing.T) {
		if gpuNote != "" {
			t.Skipf("GPU scheduling not tested: %s", gpuNote)
		}
		testGPUArray(t, ctx, s)
	})
}

// jobLogs logs the jobs' output files of dir when the test failed.
func jobLogs(t *testing.T, dir string) {
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			for _, l := range logs {
				b, _ := os.ReadFile(l)
				t.Logf("--- %s\n%s", filepath.Base(l), b)
			}
		}
	})
}

// checkJobs checks that every task of an array (and the merge job)
// completed with exit code 0, the requeued task (0: none) after one
// restart.
func checkJobs(t *testing.T, ctx context.Context, s *Slurm, array, merge string, tasks, requeued int) {
	t.Helper()
	jobs, err := s.Jobs(ctx, array)
	if err != nil || len(jobs) != tasks {
		t.Fatalf("array tasks: %+v %v", jobs, err)
	}
	for _, j := range jobs {
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
}

func testCPUArray(t *testing.T, ctx context.Context, s *Slurm) {
	whole := smokeReference(t)
	bin := evalctlBinary(t)
	work := t.TempDir()
	jobs := filepath.Join(work, "jobs")
	out := filepath.Join(work, "shared")
	if err := os.MkdirAll(jobs, 0o755); err != nil {
		t.Fatal(err)
	}
	jobLogs(t, jobs)
	env := []string{"EVALCTL=" + bin, "EVALCTL_SUITE=smoke", "EVALCTL_OUT=" + out, "EVALCTL_RUN_ID=", "EVALCTL_ARGS="}
	array := sbatch(t, ctx, s, env, "--array=1-4", "--chdir", jobs, arrayScript)
	runID := "evalctl-" + array // the template's default
	merge := sbatch(t, ctx, s, append(env, "EVALCTL_RUN_ID="+runID), "--dependency=afterok:"+array, "--chdir", jobs, mergeScript)
	t.Logf("array job %s, merge job %s", array, merge)

	// Requeue the first task seen mid-way: some of its cells on disk, not all.
	root := filepath.Join(out, runID)
	requeued, done := 0, 0
	for requeued == 0 {
		for i := 1; i <= 4 && requeued == 0; i++ {
			if d, n := shardProgress(harness.ShardDir(out, runID, harness.Shard{I: i, N: 4})); d > 0 && d < n-1 {
				requeued, done = i, d
			}
		}
		if requeued == 0 {
			if ctx.Err() != nil {
				t.Fatal("no task was seen mid-way")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	task := fmt.Sprintf("%s_%d", array, requeued)
	if out, err := s.Output(ctx, "scontrol", "requeue", task); err != nil {
		t.Fatalf("requeue: %v %s", err, out)
	}
	t.Logf("requeued task %s with %d cells of its shard on disk", task, done)
	// Slurm holds a requeued job back for two minutes; let it start now.
	for {
		jobs, err := s.Jobs(ctx, task)
		if err == nil && len(jobs) == 1 && jobs[0].Restarts == 1 {
			if jobs[0].State == "RUNNING" || jobs[0].State == "COMPLETED" {
				break
			}
			if _, err := s.Output(ctx, "scontrol", "update", "JobId="+task, "StartTime=now"); err == nil && jobs[0].State == "PENDING" {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the requeued task did not come back: %+v %v", jobs, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	if err := s.Wait(ctx, array, merge); err != nil {
		t.Fatal(err)
	}
	checkJobs(t, ctx, s, array, merge, 4, requeued)

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
	log, _ := os.ReadFile(filepath.Join(jobs, fmt.Sprintf("evalctl-%s_%d.log", array, requeued)))
	for _, want := range []string{"restart 0", "restart 1", fmt.Sprintf("shard %d/4 (Slurm array task SLURM_ARRAY_TASK_ID=%d of 4)", requeued, requeued), "interrupt", "resuming "} {
		if !strings.Contains(string(log), want) {
			t.Errorf("the requeued task's log (both attempts, --open-mode=append) lacks %q", want)
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

func testGPUArray(t *testing.T, ctx context.Context, s *Slurm) {
	bin := evalctlBinary(t)
	work := t.TempDir()
	jobs := filepath.Join(work, "jobs")
	out := filepath.Join(work, "shared")
	suite := filepath.Join(work, "gpu-template.yaml")
	if err := os.MkdirAll(jobs, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(suite, []byte(gpuSuite), 0o644); err != nil {
		t.Fatal(err)
	}
	jobLogs(t, jobs)
	whole, err := singleRun(bin, filepath.Join(work, "single"), suite)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"EVALCTL=" + bin, "EVALCTL_SUITE=" + suite, "EVALCTL_OUT=" + out, "EVALCTL_RUN_ID=gpu-run", "EVALCTL_ARGS=--workers 1 --set lengths=[512,1K]"}
	array := sbatch(t, ctx, s, env, "--array=0-2", "--chdir", jobs, gpuArrayScript)
	merge := sbatch(t, ctx, s, env, "--dependency=afterok:"+array, "--chdir", jobs, mergeScript)
	if err := s.Wait(ctx, array, merge); err != nil {
		t.Fatal(err)
	}
	checkJobs(t, ctx, s, array, merge, 3, -1)
	tasks, _ := s.Jobs(ctx, array)
	for _, j := range tasks {
		if !strings.Contains(j.Fields["TresPerNode"], "gpu:1") {
			t.Errorf("task %s: TresPerNode %q, want one GPU (fields %v)", j.ArrayTaskID, j.Fields["TresPerNode"], j.Fields)
		}
		log, _ := os.ReadFile(filepath.Join(jobs, fmt.Sprintf("evalctl-%s_%s.log", array, j.ArrayTaskID)))
		if !regexp.MustCompile(`GPU [01],`).Match(log) {
			t.Errorf("task %s did not see its GPU in CUDA_VISIBLE_DEVICES:\n%s", j.ArrayTaskID, log)
		}
	}
	checkShards(t, filepath.Join(out, "gpu-run"), 3)
	merged, bad, err := record.ReadRun(filepath.Join(out, "gpu-run", "merged.jsonl.zst"))
	if err != nil || len(bad) > 0 {
		t.Fatalf("merged records: %v %v", err, bad)
	}
	sameCells(t, whole, merged)
}

// TestSlurmCloseStopsEverything: Close leaves no process of the cluster
// running, even when the daemons died first and a job's processes are
// orphaned (what a test that fails half-way leaves).
func TestSlurmCloseStopsEverything(t *testing.T) {
	needSlurm(t)
	ctx := testContext(t)
	s, err := StartSlurm(ctx, SlurmOptions{CPUs: 2, Log: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	work := t.TempDir()
	id := sbatch(t, ctx, s, nil, "--chdir", work, "--output", "sleep.log", "--wrap", "echo started; exec sleep 600")
	mark := []byte(MarkEnv + "=" + s.Dir + "\x00")
	var job []int
	for {
		jobs, err := s.Jobs(ctx, id)
		b, _ := os.ReadFile(filepath.Join(work, "sleep.log"))
		if err == nil && len(jobs) == 1 && jobs[0].State == "RUNNING" && strings.Contains(string(b), "started") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the job did not start: %+v %v", jobs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	daemons := map[int]bool{}
	for _, d := range s.daemons {
		daemons[d.cmd.Process.Pid] = true
	}
	for _, pid := range markedPids(mark) {
		if !daemons[pid] {
			job = append(job, pid)
		}
	}
	if len(job) == 0 {
		t.Fatal("found no marked process besides the daemons: the mark does not reach the jobs")
	}
	// The daemons die first: nothing can cancel the job any more.
	for _, d := range s.daemons {
		if d.name != "munged" {
			d.cmd.Process.Kill()
			<-d.done
		}
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if left := markedPids(mark); len(left) > 0 {
		t.Errorf("processes %v of the cluster still run after Close", left)
	}
	for _, pid := range job {
		if syscall.Kill(pid, 0) == nil {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(b), ") Z ") {
				t.Errorf("job process %d still runs: %s", pid, b)
			}
		}
	}
	if _, err := os.Stat(s.Dir); err == nil {
		t.Errorf("%s is still there", s.Dir)
	}
	t.Logf("killed %d processes of the job after the daemons", len(job))
}
