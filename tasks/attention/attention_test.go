package attention

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends"
	attn "github.com/evalctl/evalctl/backends/attention"
	_ "github.com/evalctl/evalctl/backends/modes"
	"github.com/evalctl/evalctl/datasets/safetensors"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
)

func newTask(t *testing.T, raw map[string]any) *Task {
	t.Helper()
	set, err := params.Resolve(Specs, raw)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := New(tasks.Config{Params: set})
	if err != nil {
		t.Fatal(err)
	}
	return tk.(*Task)
}

func newBackend(t *testing.T, name string, raw map[string]any) backends.Backend {
	t.Helper()
	info, ok := backends.Lookup(name)
	if !ok {
		t.Fatalf("no backend %s", name)
	}
	set, err := params.Resolve(info.Params, raw)
	if err != nil {
		t.Fatal(err)
	}
	b, err := info.New(backends.Config{Label: name, Params: set})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var small = map[string]any{"heads": int64(4), "kv_heads": int64(2), "head_dim": int64(32), "queries": int64(16)}

func TestSynthesisDeterministicAndPlanted(t *testing.T) {
	tk := newTask(t, small)
	c := tasks.Cell{Length: 2048, Depth: 0.3, Seed: 42}
	a, err := tk.synthesise(c)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := tk.synthesise(c)
	if outputDigest(a.k) != outputDigest(b.k) || outputDigest(a.q) != outputDigest(b.q) || outputDigest(a.v) != outputDigest(b.v) {
		t.Fatal("same seed gave different samples")
	}
	d, _ := tk.synthesise(tasks.Cell{Length: 2048, Depth: 0.3, Seed: 43})
	if outputDigest(a.k) == outputDigest(d.k) {
		t.Fatal("different seeds gave the same sample")
	}
	if want := int(math.Round(0.3 * float64(2048-16-4))); a.needle != want {
		t.Errorf("needle at %d, want %d", a.needle, want)
	}
	// Dense attention clearly attends to the needle: its block carries most
	// of the true attention mass of every probe query.
	cache := attn.NewCache(a.shape, a.n)
	cache.Append(a.k, a.v, nil)
	mass := attn.BlockMass(cache, attn.Query{M: a.m, Q: a.q}, 64)
	g := float64(a.shape.Group())
	for i, row := range mass {
		if m := row[a.needle/64] / g; m < 0.5 {
			t.Errorf("pair %d: needle block holds %.3f of the attention mass, want > 0.5", i, m)
		}
	}
}

func TestEvaluateScores(t *testing.T) {
	tk := newTask(t, small)
	ctx := context.Background()
	c := tasks.Cell{Length: 4096, Depth: 0.2, Seed: 7}
	dense, err := tk.Evaluate(ctx, newBackend(t, "dense", nil), c)
	if err != nil {
		t.Fatal(err)
	}
	// The fast dense kernels compute in float32; the reference is exact.
	if dense.Metrics["rel_l2_error"].Value > 1e-5 || dense.Scores["needle_recall"] != 1 || math.Abs(dense.Scores["mass_recall"]-1) > 1e-9 {
		t.Errorf("dense: %v %v", dense.Metrics["rel_l2_error"], dense.Scores)
	}
	ref, err := tk.Evaluate(ctx, newBackend(t, "dense", map[string]any{"impl": "reference"}), c)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Metrics["rel_l2_error"].Value != 0 {
		t.Errorf("reference dense vs the task's dense reference: %v", ref.Metrics["rel_l2_error"])
	}
	if got := dense.Metrics["cost_speedup_prefill"].Value; math.Abs(got-1) > 1e-12 {
		t.Errorf("dense cost speedup %v, want 1", got)
	}
	// Streaming with a short window cannot see a needle 80% of the context back.
	st, err := tk.Evaluate(ctx, newBackend(t, "streaming", map[string]any{"local_blocks": int64(2)}), c)
	if err != nil {
		t.Fatal(err)
	}
	if st.Scores["needle_recall"] != 0 || st.Metrics["rel_l2_error"].Value < 0.1 || st.Metrics["cost_speedup_prefill"].Value < 5 {
		t.Errorf("streaming: %v %v %v", st.Scores, st.Metrics["rel_l2_error"], st.Metrics["cost_speedup_prefill"])
	}
	// The oracle with the same budget finds it.
	or, err := tk.Evaluate(ctx, newBackend(t, "oracle", map[string]any{"topk": int64(4)}), c)
	if err != nil {
		t.Fatal(err)
	}
	if or.Scores["needle_recall"] != 1 || or.Scores["oracle_overlap"] != 1 || or.Scores["mass_recall"] < st.Scores["mass_recall"] {
		t.Errorf("oracle: %v", or.Scores)
	}
	sp, err := tk.Evaluate(ctx, newBackend(t, "sparse", nil), c)
	if err != nil {
		t.Fatal(err)
	}
	// 4096/64 = 64 blocks <= topk 96: sparse is exact.
	if sp.Metrics["rel_l2_error"].Value > 1e-5 || sp.Scores["needle_recall"] != 1 {
		t.Errorf("sparse below topk*B: %v %v", sp.Metrics["rel_l2_error"], sp.Scores)
	}
	for _, r := range []*tasks.Result{dense, st, or, sp} {
		for _, k := range []string{"prefill_ms", "decode_ms"} {
			if r.Timings[k].Value <= 0 || r.Timings[k].Unit == "" {
				t.Errorf("timing %s = %+v", k, r.Timings[k])
			}
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	tk := newTask(t, small)
	if _, err := tk.Evaluate(context.Background(), newBackend(t, "dense", nil), tasks.Cell{Length: 16, Seed: 1}); err == nil || !strings.Contains(err.Error(), "smaller than the length") {
		t.Errorf("too short: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tk.Evaluate(ctx, newBackend(t, "dense", nil), tasks.Cell{Length: 1024, Seed: 1}); err == nil {
		t.Error("cancelled context: no error")
	}
	if _, err := New(tasks.Config{Params: mustResolve(t, map[string]any{"heads": int64(3), "kv_heads": int64(2)})}); err == nil {
		t.Error("heads not a multiple of kv_heads: no error")
	}
}

func mustResolve(t *testing.T, raw map[string]any) params.Set {
	t.Helper()
	s, err := params.Resolve(Specs, raw)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCapturedActivations replays q/k/v from a safetensors file.
func TestCapturedActivations(t *testing.T) {
	src := newTask(t, small)
	s, err := src.synthesise(tasks.Cell{Length: 1024, Depth: 0.5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// A capture holds every token's query; reuse the probe queries cyclically.
	n := s.n
	q := make([]float32, s.shape.QSize(n))
	for i := 0; i < n; i++ {
		copy(q[s.shape.QSize(i):s.shape.QSize(i+1)], s.q[s.shape.QSize(i%s.m):s.shape.QSize(i%s.m+1)])
	}
	path := filepath.Join(t.TempDir(), "cap.safetensors")
	err = safetensors.WriteFile(path, []safetensors.Tensor{
		safetensors.F32Tensor("q", []int{n, 4, 32}, q),
		safetensors.F32Tensor("k", []int{n, 2, 32}, s.k),
		safetensors.BF16Tensor("v", []int{n, 2, 32}, s.v),
	}, map[string]string{"source": "test"})
	if err != nil {
		t.Fatal(err)
	}
	tk := newTask(t, map[string]any{"source": "safetensors", "file": path, "queries": int64(16)})
	r, err := tk.Evaluate(context.Background(), newBackend(t, "oracle", map[string]any{"topk": int64(4)}), tasks.Cell{Length: 512, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Scores["needle_recall"]; ok {
		t.Error("needle recall reported for captured activations")
	}
	if r.Scores["oracle_overlap"] != 1 || r.Info["heads"] != 4 || r.Info["n"] != 512 {
		t.Errorf("captured: %v %v", r.Scores, r.Info)
	}
	if _, err := tk.Evaluate(context.Background(), newBackend(t, "dense", nil), tasks.Cell{Length: 2048, Seed: 1}); err == nil || !strings.Contains(err.Error(), "exceeds the 1024 tokens") {
		t.Errorf("too long for the file: %v", err)
	}
	bad := newTask(t, map[string]any{"source": "safetensors", "file": path, "k_tensor": "q"})
	if _, err := bad.Evaluate(context.Background(), newBackend(t, "dense", nil), tasks.Cell{Length: 512, Seed: 1}); err == nil || !strings.Contains(err.Error(), "do not fit") {
		t.Errorf("mismatched shapes: %v", err)
	}
}

func TestOracleOverlap(t *testing.T) {
	mass := []float64{0.1, 0.5, 0.3, 0.1}
	cases := []struct {
		sel  []int32
		want float64
	}{
		{[]int32{1}, 1}, {[]int32{0}, 0}, {[]int32{1, 2}, 1}, {[]int32{0, 1}, 0.5}, {[]int32{0, 1, 2, 3}, 1}, {nil, 0},
	}
	for _, c := range cases {
		if got := oracleOverlap(mass, c.sel); got != c.want {
			t.Errorf("oracleOverlap(%v) = %v, want %v", c.sel, got, c.want)
		}
	}
}

func TestDenseFLOPs(t *testing.T) {
	sh := attn.Shape{Heads: 2, KVHeads: 1, HeadDim: 8}
	// positions 8 and 9 of 10: 9 + 10 keys, 4*d FLOPs per key per head.
	if got, want := denseFLOPs(sh, 10, 2), 4.0*8*2*19; got != want {
		t.Errorf("denseFLOPs = %v, want %v", got, want)
	}
}

// prefill: full times a prefill of every token and scores the probes: the
// scores equal those of the tail mode (the probes' outputs are the same
// function), and the cost counts the whole prefill.
func TestFullPrefill(t *testing.T) {
	raw := map[string]any{"heads": int64(4), "kv_heads": int64(1), "head_dim": int64(32), "queries": int64(16)}
	tail := newTask(t, raw)
	raw["prefill"] = "full"
	full := newTask(t, raw)
	c := tasks.Cell{Length: 2048, Depth: 0.4, Seed: 11}
	b := newBackend(t, "sparse", map[string]any{"topk": int64(8), "local_blocks": int64(2)})
	a, err := tail.Evaluate(context.Background(), b, c)
	if err != nil {
		t.Fatal(err)
	}
	f, err := full.Evaluate(context.Background(), b, c)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"needle_recall", "mass_recall", "oracle_overlap"} {
		if a.Scores[k] != f.Scores[k] {
			t.Errorf("%s: tail %v, full %v", k, a.Scores[k], f.Scores[k])
		}
	}
	if f.Info["prefill_tokens"] != 2048 || f.Metrics["prefill_gflop"].Value < 10*a.Metrics["prefill_gflop"].Value {
		t.Errorf("full prefill: %v tokens, %v vs %v GFLOP", f.Info["prefill_tokens"], f.Metrics["prefill_gflop"], a.Metrics["prefill_gflop"])
	}
	for _, k := range []string{"speedup_prefill", "speedup_decode", "bound_fraction_prefill"} {
		if v := f.Metrics[k].Value; !(v > 0) {
			t.Errorf("%s = %v", k, v)
		}
	}
}
