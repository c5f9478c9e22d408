package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/flash"
)

// benchConfig is a small model of the size the embedded default model
// aims at: 4 layers, hidden 512, 8 query heads and 2 KV heads of 64, SwiGLU
// 1536, vocabulary 8192 (about 20M parameters).
func benchConfig() *Config {
	return &Config{Arch: Llama, Vocab: 8192, Hidden: 512, Intermediate: 1536, Layers: 4, Heads: 8, KVHeads: 2,
		HeadDim: 64, RMSEps: 1e-5, MaxPos: 1 << 17, BOS: 1, EOS: []int{2},
		Rope: Rope{Theta: 1e6, Type: "default", Factor: 1}, ScaleEmb: 1}
}

// randomModel builds a model with random weights (for benchmarks).
func randomModel(c *Config, seed uint64) *Model {
	r := rand.New(rand.NewPCG(seed, 1))
	vec := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64()) * s
		}
		return v
	}
	ones := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = 1
		}
		return v
	}
	lin := func(in, out int) linear { return linear{in: in, out: out, wt: vec(in*out, 0.05)} }
	h, q, kv := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m := &Model{Cfg: c, embed: vec(c.Vocab*h, 1), norm: ones(h), head: lin(h, c.Vocab)}
	for i := 0; i < c.Layers; i++ {
		m.layers = append(m.layers, layer{attnNorm: ones(h), mlpNorm: ones(h),
			q: lin(h, q), k: lin(h, kv), v: lin(h, kv), o: lin(q, h),
			gate: lin(h, c.Intermediate), up: lin(h, c.Intermediate), down: lin(c.Intermediate, h)})
	}
	return m
}

func benchModes(b *testing.B) map[string]attention.Mode {
	dense, err := flash.NewDense(64, 0)
	if err != nil {
		b.Fatal(err)
	}
	sp, err := flash.NewSparse(attention.DefaultSparse(), 0)
	if err != nil {
		b.Fatal(err)
	}
	sw, err := flash.NewSwitching(8192, attention.DefaultSparse(), 0)
	if err != nil {
		b.Fatal(err)
	}
	return map[string]attention.Mode{"dense": dense, "sparse": sp, "switching": sw}
}

var benchLengths = []int{1 << 10, 4 << 10, 16 << 10, 32 << 10}

// BenchmarkModelPrefill times a whole prompt's prefill (chunks of 8192 as
// the backend's default) and reports tokens/s.
func BenchmarkModelPrefill(b *testing.B) {
	m := randomModel(benchConfig(), 1)
	modes := benchModes(b)
	for _, n := range benchLengths {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = 3 + (i*7919)%(m.Cfg.Vocab-3)
		}
		for _, name := range []string{"dense", "sparse", "switching"} {
			b.Run(fmt.Sprintf("%s/%dK", name, n>>10), func(b *testing.B) {
				e := &Engine{M: m, Mode: modes[name], Chunk: 8192}
				for i := 0; i < b.N; i++ {
					s := m.NewSeq(n, false)
					if err := e.prefill(context.Background(), s, ids, nil, nil, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

// BenchmarkModelDecode times one decode step (LM head included) after a
// prefill of n tokens and reports tokens/s.
func BenchmarkModelDecode(b *testing.B) {
	m := randomModel(benchConfig(), 1)
	modes := benchModes(b)
	for _, n := range benchLengths {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = 3 + (i*7919)%(m.Cfg.Vocab-3)
		}
		for _, name := range []string{"dense", "sparse", "switching"} {
			b.Run(fmt.Sprintf("%s/%dK", name, n>>10), func(b *testing.B) {
				e := &Engine{M: m, Mode: modes[name], Chunk: 8192}
				s := m.NewSeq(n+1, false)
				if err := e.prefill(context.Background(), s, ids, nil, nil, nil); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					err := s.Forward(context.Background(), []int{5}, e.Mode, nil, nil, func(int, []float32) error { return nil })
					if err != nil {
						b.Fatal(err)
					}
					s.Truncate(n)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}
