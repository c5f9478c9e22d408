package harness_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
)

// testTask behaves as its "mode" parameter says, per sample index:
// "ok" answers, "panic" panics on sample 1, "fail" fails on sample 1,
// "slow" sleeps past any timeout on sample 1 (honouring ctx), "stuck"
// ignores ctx on sample 1, "cancel" cancels the run on sample 2.
type testTask struct {
	mode   string
	cancel func()
}

var started atomic.Int64

func (t *testTask) Evaluate(ctx context.Context, b backends.Backend, c tasks.Cell) (*tasks.Result, error) {
	started.Add(1)
	if c.Sample == 1 {
		switch t.mode {
		case "panic":
			panic("boom")
		case "fail":
			return nil, errors.New("bad sample")
		case "slow":
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(10 * time.Second):
			}
		case "stuck":
			time.Sleep(300 * time.Millisecond)
		}
	}
	if f, _ := testCancel.Load().(context.CancelFunc); c.Sample == 2 && t.mode == "cancel" && f != nil {
		f()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &tasks.Result{Output: fmt.Sprint(c.Seed), Scores: map[string]float64{"ok": 1}}, nil
}

var testCancel atomic.Value // of context.CancelFunc; nil func when unset

type nopBackend struct{}

func (nopBackend) Close() error { return nil }

func init() {
	tasks.Register(tasks.Info{
		Name:   "test-behaviour",
		Params: []params.Spec{params.StringSpec("mode", "ok", "", "ok", "panic", "fail", "slow", "stuck", "cancel")},
		New: func(c tasks.Config) (tasks.Task, error) {
			return &testTask{mode: c.Params.String("mode")}, nil
		},
	})
	backends.Register(backends.Info{
		Name: "test-nop",
		New:  func(backends.Config) (backends.Backend, error) { return nopBackend{}, nil },
	})
}

func behaviourSuite(mode string) string {
	return fmt.Sprintf(`
name: b
samples: 4
timeout: 100ms
lengths: [1, 2]
backends: [test-nop]
tasks:
  - name: test-behaviour
    params: {mode: %s}
`, mode)
}

func runSuite(t *testing.T, ctx context.Context, src, dir string) (*harness.Outcome, []*record.Record, error) {
	t.Helper()
	s := mustSuite(t, src)
	out, err := harness.Run(ctx, s, harness.Options{Root: dir, RunID: "r", Workers: 2, FlushEvery: 5 * time.Millisecond})
	if out == nil {
		t.Fatalf("run: %v", err)
	}
	recs, bad, rerr := record.ReadRun(filepath.Join(dir, "r"))
	if rerr != nil || len(bad) > 0 {
		t.Fatalf("read: %v %v", rerr, bad)
	}
	return out, recs, err
}

func TestFailedCellsBecomeErrorRecords(t *testing.T) {
	for _, c := range []struct{ mode, msg string }{
		{"panic", "panic: boom"},
		{"fail", "bad sample"},
		{"slow", "timeout: the cell took longer than 100ms"},
		{"stuck", "timeout"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			out, recs, err := runSuite(t, context.Background(), behaviourSuite(c.mode), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 8 || out.Done != 8 || out.Errors != 2 {
				t.Fatalf("%d records, outcome %+v", len(recs), out)
			}
			for _, r := range recs {
				if (r.Sample == 1) != (r.Error != "") {
					t.Errorf("sample %d: error %q", r.Sample, r.Error)
				}
				if r.Sample == 1 && !strings.Contains(r.Error, c.msg) {
					t.Errorf("error %q lacks %q", r.Error, c.msg)
				}
				if r.Sample != 1 && (r.Output == "" || r.Scores["ok"] != 1 || r.Key == "" || r.Run != "r" || r.V != record.Version) {
					t.Errorf("record %+v", r)
				}
			}
		})
	}
}

// Cancelling the run (the first SIGINT) stops cleanly: finished cells are on
// disk, cancelled ones are not recorded, and resume completes the plan.
func TestCancelThenResume(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	testCancel.Store(cancel)
	defer testCancel.Store(context.CancelFunc(nil))
	out, recs, err := runSuite(t, ctx, behaviourSuite("cancel"), dir)
	if !errors.Is(err, harness.ErrInterrupted) || !out.Interrupted {
		t.Fatalf("err %v, outcome %+v", err, out)
	}
	for _, r := range recs {
		if r.Error != "" {
			t.Errorf("a cancelled cell was recorded: %+v", r)
		}
	}
	m, _ := harness.ReadManifest(filepath.Join(dir, "r"))
	if m.Sessions[0].Status != "interrupted" {
		t.Errorf("status %q", m.Sessions[0].Status)
	}
	// Resume with a task that no longer cancels: the stored suite says
	// "cancel", but testCancel is nil now, so sample 2 answers.
	testCancel.Store(context.CancelFunc(nil))
	out2, err := harness.Resume(context.Background(), filepath.Join(dir, "r"), harness.Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	all, _, _ := record.ReadRun(filepath.Join(dir, "r"))
	keys := map[string]int{}
	for _, r := range all {
		keys[r.Key]++
	}
	if len(all) != 8 || len(keys) != 8 || out2.Skipped != len(recs) || out2.Skipped+out2.Done != 8 {
		t.Errorf("after resume: %d records, %d keys, outcome %+v (first session wrote %d)", len(all), len(keys), out2, len(recs))
	}
}

func TestRunRefusesExistingDir(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runSuite(t, context.Background(), behaviourSuite("ok"), dir); err != nil {
		t.Fatal(err)
	}
	_, err := harness.Run(context.Background(), mustSuite(t, behaviourSuite("ok")), harness.Options{Root: dir, RunID: "r"})
	if err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("second run into the same id: %v", err)
	}
}

func TestResumeRefusesChangedSuite(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runSuite(t, context.Background(), behaviourSuite("ok"), dir); err != nil {
		t.Fatal(err)
	}
	// Simulate a build whose defaults differ: edit the stored resolution.
	m, _ := harness.ReadManifest(filepath.Join(dir, "r"))
	changed := strings.NewReplacer(`"mode":"ok"`, `"mode":"fail"`, `"mode": "ok"`, `"mode": "fail"`).Replace(string(m.Resolved))
	if changed == string(m.Resolved) {
		t.Fatalf("test setup: no mode in %s", m.Resolved)
	}
	m.Resolved = []byte(changed)
	if err := m.Write(filepath.Join(dir, "r")); err != nil {
		t.Fatal(err)
	}
	if _, err := harness.Resume(context.Background(), filepath.Join(dir, "r"), harness.Options{}); err == nil || !strings.Contains(err.Error(), "resolves differently") {
		t.Errorf("resume of a changed suite: %v", err)
	}
}
