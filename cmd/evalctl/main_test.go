package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/harness/record"
)

var update = flag.Bool("update", false, "rewrite golden files")

// evalctl runs the command in-process and returns stdout, stderr and the exit code.
func evalctl(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	err := run(context.Background(), e, append([]string{"evalctl"}, args...))
	if err != nil {
		errb.WriteString("evalctl: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), exitCode(err)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (run go test -update if the change is intended)\n--- got\n%s", name, path, got)
	}
}

func TestListGolden(t *testing.T) {
	out, errs, code := evalctl(t, "", "list")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	golden(t, "list", out)
	for _, what := range []string{"backends", "tasks", "suites"} {
		o, _, code := evalctl(t, "", "list", what)
		if code != 0 || !strings.Contains(out, o[:strings.IndexByte(o, '\n')]) {
			t.Errorf("list %s: exit %d, output %q", what, code, o)
		}
	}
	if _, _, code := evalctl(t, "", "list", "nonsense"); code != exitBadConfig {
		t.Errorf("list nonsense: exit %d, want %d", code, exitBadConfig)
	}
}

func TestVersion(t *testing.T) {
	out, _, code := evalctl(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "evalctl ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("version: exit %d %q", code, out)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nbackends: [dense]\ntasks: [attention]\nlengths: [1K]\nsamples: many\n"), 0o644)
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", bad, "--out", dir}, exitBadConfig, "bad.yaml:5: samples"},
		{[]string{"run", "no-such-suite"}, exitBadConfig, "no built-in suite"},
		{[]string{"run", "smoke", "--set", "backends.sparse.params.topk=x", "--out", dir}, exitBadConfig, "topk"},
		{[]string{"run", "smoke", "--shard", "3/2", "--out", dir}, exitBadConfig, "shard"},
		{[]string{"run", "smoke", "--format", "gif", "--out", dir}, exitBadConfig, "gif"},
		{[]string{"run", "--resume", dir}, exitBadConfig, "not a run directory"},
		{[]string{"run", "--bogus-flag"}, exitBadConfig, "bogus"},
		{[]string{"report"}, exitBadConfig, "at least one"},
		{[]string{"report", filepath.Join(dir, "missing")}, exitFailure, "missing"},
	}
	for _, c := range cases {
		_, errs, code := evalctl(t, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", c.args, code, c.code, errs, c.msg)
		}
	}
}

// TestRunReportEndToEnd runs the smoke suite in-process, then checks that
// report regenerates the same table from the records alone, from the run
// directory, from the records file and from stdin.
func TestRunReportEndToEnd(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := evalctl(t, "", "run", "smoke", "--out", dir, "--run-id", "e2e", "--set", "lengths=[1K,2K]")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, errs)
	}
	runDir := filepath.Join(dir, "e2e")
	if !strings.Contains(out, runDir) || !strings.Contains(errs, "report: ") || !strings.Contains(errs, "plots: ") {
		t.Errorf("run output does not say where things are:\n%s\n%s", out, errs)
	}
	m, err := harness.ReadManifest(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Cells != 40 || len(m.Sessions) != 1 || m.Sessions[0].Status != "complete" || m.Build.GoVersion == "" || m.Machine.Cores < 1 {
		t.Errorf("manifest: %+v", m)
	}
	recs, bad, err := record.ReadRun(runDir)
	if err != nil || len(bad) > 0 || len(recs) != 40 {
		t.Fatalf("records: %d, bad %v, err %v", len(recs), bad, err)
	}
	for _, r := range recs {
		if r.Error != "" {
			t.Errorf("cell %s/%d failed: %s", r.Backend, r.Length, r.Error)
		}
		if r.Backend == "dense" && r.Metrics["rel_l2_error"].Value > 1e-5 {
			t.Errorf("dense error vs dense reference %v", r.Metrics["rel_l2_error"])
		}
	}
	first, err := os.ReadFile(filepath.Join(runDir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(first, []byte("\n## Method comparison\n")) {
		t.Error("report.md has no method comparison (smoke runs five attention methods)")
	}
	for _, p := range []string{"attention_needle_recall.png", "attention_prefill_ms.png", "methods_attention.png"} {
		if st, err := os.Stat(filepath.Join(runDir, "plots", p)); err != nil || st.Size() < 1000 {
			t.Errorf("plot %s: %v", p, err)
		}
	}
	// The report from the records alone is identical.
	again, _, code := evalctl(t, "", "report", runDir, "--out", filepath.Join(dir, "r1"))
	if code != 0 || again != string(first) {
		t.Errorf("report from run dir differs from the run's report (exit %d)", code)
	}
	text, _, code := evalctl(t, "", "report", runDir, "--out", filepath.Join(dir, "rt"), "--no-plots", "--text")
	if code != 0 || strings.Contains(text, "|:--") || !strings.Contains(text, "needle_recall (score, higher is better)\n---") {
		t.Errorf("report --text: exit %d\n%s", code, text)
	}
	for _, f := range []string{"report.csv", "report.html"} {
		if st, err := os.Stat(filepath.Join(runDir, f)); err != nil || st.Size() < 100 {
			t.Errorf("%s: %v", f, err)
		}
	}
	segs, _ := record.Segments(runDir)
	raw, _ := os.ReadFile(segs[0])
	fromStdin, _, code := evalctl(t, string(raw), "report", "-", "--out", filepath.Join(dir, "r2"), "--no-plots")
	if code != 0 || fromStdin != string(first) {
		t.Errorf("report from stdin differs (exit %d)", code)
	}
}

// TestDeterminism: the same suite and seed give the same samples and the
// same outputs; only timings differ.
func TestDeterminism(t *testing.T) {
	dir := t.TempDir()
	outputs := func(id string) map[string]string {
		if _, errs, code := evalctl(t, "", "run", "smoke", "--out", dir, "--run-id", id, "--no-report", "--set", "lengths=[1K]", "--workers", "2"); code != 0 {
			t.Fatalf("run: %s", errs)
		}
		recs, _, err := record.ReadRun(filepath.Join(dir, id))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, r := range recs {
			m[r.Key] = r.Output
		}
		return m
	}
	a, b := outputs("a"), outputs("b")
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d vs %d records", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v || v == "" {
			t.Errorf("cell %s: output %q vs %q", k, v, b[k])
		}
	}
}

func TestShardAndMerge(t *testing.T) {
	dir := t.TempDir()
	for _, sh := range []string{"1/2", "2/2"} {
		if _, errs, code := evalctl(t, "", "run", "smoke", "--out", dir, "--run-id", "s", "--no-report", "--shard", sh, "--set", "lengths=[1K]"); code != 0 {
			t.Fatalf("shard %s: %s", sh, errs)
		}
	}
	s1, s2 := filepath.Join(dir, "s", "shard-1-of-2"), filepath.Join(dir, "s", "shard-2-of-2")
	merged := filepath.Join(dir, "merged.jsonl.zst")
	_, errs, code := evalctl(t, "", "merge", "-o", merged, s1, s2)
	if code != 0 {
		t.Fatalf("merge: %s", errs)
	}
	recs, _, _ := record.ReadRun(merged)
	// 10 attention cells at 1K, and the model tasks at their own lengths
	// (1K and 2K): needle 8, passkey 8, qa 4.
	if len(recs) != 30 {
		t.Errorf("merged %d records, want 30", len(recs))
	}
	// Merging a shard with itself is refused; with --partial it finds
	// duplicates, not conflicts.
	_, errs, code = evalctl(t, "", "merge", "-o", filepath.Join(dir, "dup.jsonl"), s1, s1)
	if code != exitFailure || !strings.Contains(errs, "shard 1/2 is given 2 times") || !strings.Contains(errs, "shard 2/2 is missing") {
		t.Errorf("self-merge: exit %d, %s", code, errs)
	}
	_, errs, code = evalctl(t, "", "merge", "--partial", "-o", filepath.Join(dir, "dup.jsonl"), s1, s1)
	if code != 0 || !strings.Contains(errs, "15 duplicates dropped") {
		t.Errorf("self-merge --partial: exit %d, %s", code, errs)
	}
}

// buildBinary builds evalctl once for tests that need a real process.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "evalctl")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestCompareExitCodes: two runs of the same suite and seed compare clean on
// scores; a run with a worse configuration under the same label is a
// regression with exit status 4.
func TestCompareExitCodes(t *testing.T) {
	dir := t.TempDir()
	run := func(id string, sets ...string) string {
		args := append([]string{"run", "smoke", "--out", dir, "--run-id", id, "--no-report", "--set", "lengths=[2K,4K]"}, sets...)
		if _, errs, code := evalctl(t, "", args...); code != 0 {
			t.Fatalf("run %s: %s", id, errs)
		}
		return filepath.Join(dir, id)
	}
	a, b := run("a"), run("b")
	// Timings are noisy; gate on scores only here (a huge slowdown allowance).
	out, errs, code := evalctl(t, "", "compare", a, b, "--max-slowdown", "1000")
	if code != 0 || !strings.Contains(out, "no regression") {
		t.Errorf("same suite: exit %d\n%s%s", code, out, errs)
	}
	// Records pair by cell key, which hashes every parameter, so a worse
	// run of the same cells is made by editing a third run's records:
	// every sparse needle_recall drops by 0.5.
	c := run("c")
	recs, _, err := record.ReadRun(c)
	if err != nil {
		t.Fatal(err)
	}
	worse := filepath.Join(dir, "worse.jsonl")
	w, err := record.Create(worse)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Backend == "sparse" {
			r.Scores["needle_recall"] -= 0.5
		}
		w.Write(r)
	}
	w.Close()
	summary := filepath.Join(dir, "summary.md")
	out, errs, code = evalctl(t, "", "compare", a, worse, "--max-slowdown", "1000", "--summary", summary)
	if code != exitRegression || !strings.Contains(out, "REGRESSION") || !strings.Contains(errs, "regression") {
		t.Errorf("worse run: exit %d\n%s%s", code, out, errs)
	}
	if s, err := os.ReadFile(summary); err != nil || !bytes.Contains(s, []byte("REGRESSION")) {
		t.Errorf("summary file: %v", err)
	}
	other := run("other", "--set", "seed=2")
	if _, errs, code := evalctl(t, "", "compare", a, other); code != exitFailure || !strings.Contains(errs, "no cell") {
		t.Errorf("runs with no cell in common: exit %d, %s", code, errs)
	}
	if _, _, code := evalctl(t, "", "compare", a); code != exitBadConfig {
		t.Errorf("one argument: exit %d", code)
	}
	if _, _, code := evalctl(t, "", "compare", a, b, "--max-slowdown", "0.5"); code != exitBadConfig {
		t.Errorf("slowdown < 1: exit %d", code)
	}
}

func TestAdvise(t *testing.T) {
	dir := t.TempDir()
	if _, errs, code := evalctl(t, "", "run", "smoke", "--out", dir, "--run-id", "a", "--no-report"); code != 0 {
		t.Fatal(errs)
	}
	plotPath := filepath.Join(dir, "advice.png")
	out, errs, code := evalctl(t, "", "advise", filepath.Join(dir, "a"), "--timing", "decode_ms", "--plot", plotPath)
	if st, err := os.Stat(plotPath); err != nil || st.Size() < 1000 {
		t.Errorf("advice plot: %v", err)
	}
	if code != 0 || !strings.Contains(out, "## Effective length (needle_recall >= 0.856)") || !strings.Contains(out, "| dense |") ||
		!strings.Contains(out, "## Switch-threshold advice: sparse vs dense (attention)") || !strings.Contains(out, "| 4K |") {
		t.Errorf("advise: exit %d\n%s%s", code, out, errs)
	}
	if _, errs, code := evalctl(t, "", "advise", filepath.Join(dir, "a"), "--sparse", "nope"); code != exitBadConfig || !strings.Contains(errs, "nope") {
		t.Errorf("unknown label: exit %d %s", code, errs)
	}
}
