package torch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/modes"
	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/params"

	_ "github.com/evalctl/evalctl/datasets/models"
	_ "github.com/evalctl/evalctl/tasks/attention"
	_ "github.com/evalctl/evalctl/tasks/needle"
	_ "github.com/evalctl/evalctl/tasks/qa"
	_ "github.com/evalctl/evalctl/tasks/retrieval"
)

const refDir = "../../testdata/refmodels/models"

var pyOnce struct {
	sync.Once
	py string
}

// python returns an interpreter that imports torch, or skips the test (CI
// installs Debian's python3-torch, see .ci/run).
func python(t testing.TB) string {
	t.Helper()
	pyOnce.Do(func() {
		for _, py := range []string{"/usr/bin/python3", "python3"} {
			if err := exec.Command(py, "-c", "import torch").Run(); err == nil {
				pyOnce.py = py
				return
			}
		}
	})
	if pyOnce.py == "" {
		t.Skip("no python3 with torch (CI installs python3-torch)")
	}
	return pyOnce.py
}

// cpu are the parameters of a CPU worker in tests.
func cpu(t testing.TB, extra map[string]any) map[string]any {
	m := map[string]any{"devices": "cpu", "impl": "reference", "python": python(t), "threads": 2, "logs": t.TempDir()}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func newBackend(t testing.TB, name string, raw map[string]any) backends.Backend {
	t.Helper()
	info, ok := backends.Lookup(name)
	if !ok {
		t.Fatalf("backend %s not registered", name)
	}
	p, err := params.Resolve(info.Params, raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := info.Check(p); err != nil {
		t.Fatal(err)
	}
	b, err := info.New(backends.Config{Label: name, Params: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// The worker's own tests (tests/test_worker.py): config errors, the model
// against the reference logits, the attention modes against the Go
// fixture, the HTTP protocol.
func TestPythonWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	py := python(t)
	start := time.Now()
	cmd := exec.Command(py, "worker/tests/test_worker.py")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	t.Logf("%s (%.1fs):\n%s", cmd, time.Since(start).Seconds(), out)
	if err != nil || !bytes.Contains(out, []byte("\nPASS")) {
		t.Fatalf("test_worker.py: %v", err)
	}
}

// Per-token log-probabilities of the torch backend within 1e-4 of the
// native runtime's, in float32 on the CPU, on every reference model, for
// dense attention and (where the prompt is long enough to select) sparse.
func TestRefModelLogprobs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	python(t)
	ents, err := os.ReadDir(refDir)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. Ünïcödé 東京 and 42 more words; ", 6)
	req := &lm.LoglikelihoodRequest{Context: text[:len(text)/2], Continuation: text[len(text)/2:], TokenLogprobs: true}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(refDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			for _, attn := range []map[string]any{{"attention": "dense"}, {"attention": "sparse", "block_size": 16, "topk": 4, "local_blocks": 1}} {
				raw := map[string]any{"path": dir, "chunk": 37}
				for k, v := range attn {
					raw[k] = v
				}
				nat := newBackend(t, "model", raw).(lm.Model)
				tb := newBackend(t, "torch", cpu(t, raw)).(lm.Model)
				a, err := nat.Loglikelihood(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				b, err := tb.Loglikelihood(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if a.Tokens != b.Tokens || a.ContextTokens != b.ContextTokens || len(b.TokenLogprobs) != a.Tokens {
					t.Fatalf("%v: tokens %d/%d, context %d/%d", attn, b.Tokens, a.Tokens, b.ContextTokens, a.ContextTokens)
				}
				worst := 0.0
				for i := range a.TokenLogprobs {
					worst = max(worst, math.Abs(a.TokenLogprobs[i]-b.TokenLogprobs[i]))
				}
				t.Logf("%s: %d tokens, max |logprob diff| %.2g", attn["attention"], a.Tokens, worst)
				if worst > 1e-4 {
					t.Errorf("%v: max |logprob diff| %.3g > 1e-4", attn, worst)
				}
				pa, pb := a.Timing.PrefillAttention, b.Timing.PrefillAttention
				if pa.Tokens != pb.Tokens || pa.VisibleTokens != pb.VisibleTokens || pa.Blocks != pb.Blocks || pa.Calls != pb.Calls {
					t.Errorf("%v: attention statistics differ: native %+v, torch %+v", attn, *pa, *pb)
				}
			}
		})
	}
}

// Sparse selections of the torch reference equal the Go reference's on the
// same q/k, apart from float32 ties (none in these samples), for every
// stage-1 variant; the outputs agree to float32 rounding; the statistics
// are the same.
func TestSelectionsMatch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	sh := attention.Shape{Heads: 8, KVHeads: 2, HeadDim: 32}
	n, m := 3000, 200
	k, v := make([]float32, sh.KVSize(n)), make([]float32, sh.KVSize(n))
	q := make([]float32, sh.QSize(m))
	for _, x := range [][]float32{k, v, q} {
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
	}
	kn, qn := slices.Clone(k), slices.Clone(q)
	for i := range kn {
		kn[i] *= 0.7
	}
	for _, cfg := range []map[string]any{
		{"attention": "sparse", "topk": 12, "local_blocks": 3},
		{"attention": "sparse", "topk": 12, "local_blocks": 3, "lse": "approx"},
		{"attention": "sparse", "topk": 10, "local_blocks": 2, "use_nope": true, "init_blocks": 2},
		{"attention": "streaming", "local_blocks": 5},
		{"attention": "oracle", "topk": 9},
		{"attention": "dense"},
	} {
		name := fmt.Sprint(cfg)
		goCfg := map[string]any{}
		if cfg["attention"] != "oracle" {
			goCfg["impl"] = "reference"
		}
		for kk, vv := range cfg {
			if kk != "attention" {
				goCfg[kk] = vv
			}
		}
		gb := newBackend(t, cfg["attention"].(string), goCfg).(modes.Runner)
		tb := newBackend(t, "torch-attention", cpu(t, cfg)).(modes.Runner)
		req := &modes.Request{Shape: sh, K: k, V: v, M: m, Q: q, RecordSelection: true, DecodeRepeats: 1}
		if cfg["use_nope"] == true {
			req.KNoPE, req.QNoPE = kn, qn
		}
		a, err := gb.RunAttention(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := tb.RunAttention(context.Background(), req)
		if err != nil {
			t.Fatal(name, err)
		}
		if len(a.Prefill.Selected) != len(b.Prefill.Selected) {
			t.Fatalf("%s: %d selections, want %d", name, len(b.Prefill.Selected), len(a.Prefill.Selected))
		}
		diff := 0
		for i := range a.Prefill.Selected {
			if !slices.Equal(a.Prefill.Selected[i], b.Prefill.Selected[i]) {
				diff++
			}
		}
		worst := 0.0
		for i := range a.Out {
			worst = max(worst, math.Abs(float64(a.Out[i]-b.Out[i])))
		}
		for i := range a.DecodeOut {
			worst = max(worst, math.Abs(float64(a.DecodeOut[i]-b.DecodeOut[i])))
		}
		t.Logf("%s: %d of %d selections differ; max |out diff| %.2g", name, diff, len(a.Prefill.Selected), worst)
		if diff > 0 || worst > 1e-4 {
			t.Errorf("%s: %d selections differ, max |out diff| %.3g", name, diff, worst)
		}
		pa, pb := a.Prefill, b.Prefill
		if pa.Tokens != pb.Tokens || pa.Blocks != pb.Blocks || pa.VisibleTokens != pb.VisibleTokens || pa.KVBytes != pb.KVBytes ||
			math.Abs(pa.FLOPs-pb.FLOPs) > 1e-9*pa.FLOPs || pa.DenseCalls != pb.DenseCalls || pa.SparseCalls != pb.SparseCalls {
			t.Errorf("%s: statistics differ: Go %+v, torch %+v", name, statsOnly(pa), statsOnly(pb))
		}
		if !reflectEqualStats(a.Decode, b.Decode) {
			t.Errorf("%s: decode statistics differ: Go %+v, torch %+v", name, statsOnly(a.Decode), statsOnly(b.Decode))
		}
	}
}

func statsOnly(s attention.Stats) attention.Stats {
	s.Selected = nil
	return s
}

func reflectEqualStats(a, b attention.Stats) bool {
	return a.Tokens == b.Tokens && a.Blocks == b.Blocks && a.VisibleTokens == b.VisibleTokens && a.KVBytes == b.KVBytes &&
		math.Abs(a.FLOPs-b.FLOPs) <= 1e-9*a.FLOPs && a.Calls == b.Calls
}

// agreement runs the model tasks of a built-in suite with every "model"
// backend and its torch twin (same parameters, a CPU worker in float32)
// and compares the outputs cell by cell.
func agreement(t *testing.T, suite string, keep func(tc *harness.TaskConfig) bool) {
	data, ok := harness.BuiltinSuite(suite)
	if !ok {
		t.Fatalf("no built-in suite %s", suite)
	}
	s, err := harness.ParseSuite("builtin:"+suite, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := backends.Lookup("torch")
	twins := map[string]string{}
	var bcs []harness.BackendConfig
	for _, bc := range s.Backends {
		if bc.Name != "model" {
			continue
		}
		raw := cpu(t, map[string]any{"devices": "cpu,cpu", "threads": 1})
		for k, v := range bc.Params {
			if k != "impl" && k != "threads" {
				raw[k] = v
			}
		}
		p, err := params.Resolve(info.Params, raw)
		if err != nil {
			t.Fatal(err)
		}
		twin := "torch-" + strings.TrimPrefix(bc.Label, "model-")
		twins[bc.Label] = twin
		bcs = append(bcs, bc, harness.BackendConfig{Label: twin, Name: "torch", Params: p})
	}
	s.Backends = bcs
	var tcs []harness.TaskConfig
	for _, tc := range s.Tasks {
		if tc.Name == "attention" || !keep(&tc) {
			continue
		}
		var labels []string
		for _, l := range tc.Backends {
			if tw, ok := twins[l]; ok {
				labels = append(labels, l, tw)
			}
		}
		tc.Backends = labels
		tcs = append(tcs, tc)
	}
	s.Tasks = tcs
	s.Workers = 2
	s.Timeout = 0 // the CPU reference is slow on a loaded machine; agreement, not speed, is tested
	out, err := harness.Run(context.Background(), s, harness.Options{Root: t.TempDir(), RunID: "agree"})
	if err != nil {
		t.Fatal(err)
	}
	recs, bad, err := record.ReadRun(out.Dir)
	if err != nil || len(bad) > 0 {
		t.Fatal(err, bad)
	}
	byCell := map[string]*record.Record{}
	cellKey := func(r *record.Record) string {
		tp, _ := json.Marshal(r.TaskParams)
		return fmt.Sprintf("%s %s %d %g %d", r.Task, tp, r.Length, r.Depth, r.Sample)
	}
	for _, r := range recs {
		byCell[cellKey(r)+" "+r.Backend] = r
	}
	pairs, same := 0, 0
	for _, r := range recs {
		tw, ok := twins[r.Backend]
		if !ok {
			continue
		}
		o := byCell[cellKey(r)+" "+tw]
		if o == nil {
			t.Errorf("%s %s: no torch record", cellKey(r), tw)
			continue
		}
		if r.Error != "" || o.Error != "" {
			t.Errorf("%s: errors: native %q, torch %q", cellKey(r), r.Error, o.Error)
			continue
		}
		pairs++
		if r.Output == o.Output {
			same++
			continue
		}
		t.Errorf("%s %s: native %q, torch %q", cellKey(r), r.Backend, r.Output, o.Output)
	}
	t.Logf("%s: %d of %d cell pairs give the same output", suite, same, pairs)
	if pairs == 0 {
		t.Fatal("no cell pairs")
	}
}

// The smoke suite's model cells: the native runtime and the torch backend
// (CPU, float32) give the same greedy outputs, dense and sparse.
func TestSmokeAgreement(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	python(t)
	agreement(t, "smoke", func(*harness.TaskConfig) bool { return true })
}

// The default suite's model part (1K..32K, dense, sparse, switching) the
// same way. It runs for hours on 2 cores, so only when asked:
// EVALCTL_TORCH_AGREEMENT=default (EVALCTL_TORCH_AGREEMENT_MAX=8192 limits
// the lengths).
func TestDefaultAgreement(t *testing.T) {
	if os.Getenv("EVALCTL_TORCH_AGREEMENT") != "default" {
		t.Skip("set EVALCTL_TORCH_AGREEMENT=default")
	}
	python(t)
	maxLen := 1 << 30
	if v := os.Getenv("EVALCTL_TORCH_AGREEMENT_MAX"); v != "" {
		fmt.Sscan(v, &maxLen)
	}
	agreement(t, "default", func(tc *harness.TaskConfig) bool {
		var ls []int
		for _, l := range tc.Lengths {
			if l <= maxLen {
				ls = append(ls, l)
			}
		}
		tc.Lengths = ls
		return len(ls) > 0
	})
}
