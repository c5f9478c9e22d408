package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/harness/record"
)

// killSuite has a few hundred small cells, so a run lasts some seconds.
const killSuite = `
name: kill
seed: 5
samples: 6
lengths: [512, 1K, 2K, 3K]
depths: [0, 0.3, 0.6, 0.9]
backends:
  - name: dense
  - name: sparse
    params: {topk: 8, local_blocks: 2}
  - name: streaming
    params: {local_blocks: 2}
  - name: oracle
    params: {topk: 8}
tasks:
  - name: attention
    params: {heads: 4, kv_heads: 1, head_dim: 32, queries: 16, decode_repeats: 1}
`

// TestKillAndResume kills a real evalctl process with SIGKILL at random
// instants, resumes it until it completes, and checks that every planned
// cell is recorded exactly once.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	suite := filepath.Join(dir, "kill.yaml")
	if err := os.WriteFile(suite, []byte(killSuite), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(dir, "out", "k")
	rng := rand.New(rand.NewPCG(1, 2))
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	args := []string{"run", suite, "--out", "out", "--run-id", "k", "--no-report", "--workers", "2", "--flush-interval", "10ms", "--quiet"}
	kills := 0
	for round := 0; ; round++ {
		if round > 60 {
			t.Fatal("the run did not complete after 60 rounds")
		}
		var cmd *exec.Cmd
		if round == 0 {
			cmd = start(args...)
		} else {
			cmd = start("run", "--resume", runDir, "--no-report", "--workers", "2", "--flush-interval", "10ms", "--quiet")
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Kill at a random instant in the first rounds; then let it finish.
		if round < 6 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				goto finished
			case <-time.After(time.Duration(30+rng.IntN(400)) * time.Millisecond):
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				kills++
				continue
			}
		}
		if err := <-done; err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		break
	}
finished:
	if kills < 3 {
		t.Fatalf("only %d kills before the run finished; make the suite larger", kills)
	}
	m, err := harness.ReadManifest(runDir)
	if err != nil {
		t.Fatal(err)
	}
	recs, bad, err := record.ReadRun(runDir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d kills, %d sessions, %d records, %d truncated tails reported", kills, len(m.Sessions), len(recs), len(bad))
	counts := map[string]int{}
	for _, r := range recs {
		counts[r.Key]++
	}
	s, err := harness.ParseSuite(suite, []byte(killSuite), nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := harness.Plan(s)
	if len(recs) != len(plan) {
		t.Errorf("%d records for %d cells", len(recs), len(plan))
	}
	for _, c := range plan {
		if counts[c.Key] != 1 {
			t.Errorf("cell %s (%s %d %v %d) recorded %d times", c.Key, c.Backend.Label, c.Length, c.Depth, c.Sample, counts[c.Key])
		}
	}
	if last := m.Sessions[len(m.Sessions)-1]; last.Status != "complete" {
		t.Errorf("last session status %q", last.Status)
	}
}

// TestCorruptTailThenResume: garbage appended to a records segment (a torn
// write) is reported with the file name, the valid prefix is kept, and a
// resume completes the run without duplicating anything.
func TestCorruptTailThenResume(t *testing.T) {
	dir := t.TempDir()
	_, errs, code := evalctl(t, "", "run", "smoke", "--out", dir, "--run-id", "c", "--no-report", "--limit", "6", "--set", "lengths=[1K]")
	if code != 0 {
		t.Fatal(errs)
	}
	runDir := filepath.Join(dir, "c")
	segs, _ := record.Segments(runDir)
	raw, _ := os.ReadFile(segs[0])
	// Keep the first complete frame's worth and tear the rest.
	torn := append(append([]byte(nil), raw...), raw[:len(raw)/2]...)
	if err := os.WriteFile(segs[0], torn, 0o644); err != nil {
		t.Fatal(err)
	}
	recs, bad, err := record.ReadRun(runDir)
	if err != nil || len(recs) != 6 || len(bad) == 0 || !strings.Contains(bad[0].Error(), filepath.Base(segs[0])) {
		t.Fatalf("after tearing: %d records, errors %v, %v", len(recs), bad, err)
	}
	// The manifest limits the run to 6 cells, all done: resume does nothing.
	_, errs, code = evalctl(t, "", "run", "--resume", runDir, "--no-report")
	if code != 0 || !strings.Contains(errs, "0 cells done this session, 6 already done") || !strings.Contains(errs, "warning") {
		t.Errorf("resume: exit %d\n%s", code, errs)
	}
}
