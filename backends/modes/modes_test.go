package modes

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/params"
)

func build(t *testing.T, name string, raw map[string]any) Runner {
	t.Helper()
	info, ok := backends.Lookup(name)
	if !ok {
		t.Fatalf("backend %s not registered", name)
	}
	set, err := params.Resolve(info.Params, raw)
	if err != nil {
		t.Fatal(err)
	}
	if info.Check != nil {
		if err := info.Check(set); err != nil {
			t.Fatal(err)
		}
	}
	b, err := info.New(backends.Config{Label: name, Params: set})
	if err != nil {
		t.Fatal(err)
	}
	return b.(Runner)
}

func randomRequest(sh attention.Shape, n, m int) *Request {
	rng := rand.New(rand.NewPCG(1, 2))
	f := func(k int) []float32 {
		x := make([]float32, k)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	return &Request{Shape: sh, K: f(sh.KVSize(n)), V: f(sh.KVSize(n)), M: m, Q: f(sh.QSize(m)), RecordSelection: true, DecodeRepeats: 2}
}

// The decode step computes the last query token again: its output equals
// the last row of the chunked prefill, for every mode: bit for bit in the
// reference implementations, within float32 rounding in the fast ones
// (whose decode and prefill kernels sum in different orders).
func TestDecodeMatchesLastPrefillRow(t *testing.T) {
	sh := attention.Shape{Heads: 4, KVHeads: 2, HeadDim: 16}
	req := randomRequest(sh, 700, 9)
	for _, c := range []struct {
		name, impl string
		tol        float64
	}{
		{"dense", "reference", 0}, {"sparse", "reference", 0}, {"switching", "reference", 0}, {"streaming", "reference", 0},
		{"dense", "fast", 1e-5}, {"sparse", "fast", 1e-5}, {"switching", "fast", 1e-5}, {"streaming", "fast", 1e-5},
		{"oracle", "", 0},
	} {
		name := c.name
		raw := map[string]any{}
		if c.impl != "" {
			raw["impl"] = c.impl
		}
		r := build(t, name, raw)
		resp, err := r.RunAttention(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		last := resp.Out[sh.QSize(req.M-1):]
		var num, den float64
		for i := range last {
			e := float64(last[i]) - float64(resp.DecodeOut[i])
			num += e * e
			den += float64(last[i]) * float64(last[i])
		}
		if num > c.tol*c.tol*den {
			t.Fatalf("%s/%s: decode output differs from the prefill's last row: relative error %.3g", name, c.impl, math.Sqrt(num/den))
		}
		if resp.PrefillTime <= 0 || resp.DecodeTime <= 0 || resp.CacheBytes < int64(2*4*sh.KVSize(700)) || resp.BlockSize != 64 {
			t.Errorf("%s: response %+v", name, resp)
		}
		if len(resp.Prefill.Selected) != req.M*sh.KVHeads || resp.Decode.QueryTokens != 1 {
			t.Errorf("%s: %d selections, decode stats %+v", name, len(resp.Prefill.Selected), resp.Decode)
		}
	}
}

func TestSwitchingReportsTheModeUsed(t *testing.T) {
	sh := attention.Shape{Heads: 2, KVHeads: 1, HeadDim: 8}
	req := randomRequest(sh, 300, 4)
	for _, c := range []struct {
		denseLen      int64
		dense, sparse int
	}{{301, 1, 0}, {300, 0, 1}, {-1, 0, 1}} {
		resp, err := build(t, "switching", map[string]any{"dense_len": c.denseLen}).RunAttention(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Prefill.DenseCalls != c.dense || resp.Prefill.SparseCalls != c.sparse {
			t.Errorf("dense_len %d: dense %d sparse %d calls", c.denseLen, resp.Prefill.DenseCalls, resp.Prefill.SparseCalls)
		}
	}
}

func TestBadRequests(t *testing.T) {
	sh := attention.Shape{Heads: 2, KVHeads: 1, HeadDim: 8}
	r := build(t, "dense", nil)
	for name, req := range map[string]*Request{
		"bad shape": {Shape: attention.Shape{Heads: 3, KVHeads: 2, HeadDim: 8}},
		"no keys":   {Shape: sh, M: 1, Q: make([]float32, 16)},
		"M too big": func() *Request { q := randomRequest(sh, 10, 4); q.M = 11; return q }(),
		"short Q":   func() *Request { q := randomRequest(sh, 10, 4); q.Q = q.Q[:3]; return q }(),
	} {
		if _, err := r.RunAttention(context.Background(), req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.RunAttention(ctx, randomRequest(sh, 10, 4)); err == nil {
		t.Error("cancelled: no error")
	}
}

func TestCheckRejectsBadConfigs(t *testing.T) {
	info, _ := backends.Lookup("sparse")
	set, _ := params.Resolve(info.Params, map[string]any{"topk": int64(8)})
	if err := info.Check(set); err == nil || !strings.Contains(err.Error(), "topk") {
		t.Errorf("topk 8 with 33 forced blocks: %v", err)
	}
}
