package attention

import (
	"fmt"
	"testing"
)

// benchShape is the shape of the benchmarks: H=8, Hkv=2, d=64.
var benchShape = Shape{Heads: 8, KVHeads: 2, HeadDim: 64}

func benchModes(b *testing.B) []Mode {
	b.Helper()
	sp := mustMode(NewSparse(DefaultSparse()))
	acfg := DefaultSparse()
	acfg.LSE = "approx"
	ap := mustMode(NewSparse(acfg))
	or := mustMode(NewOracle(64, 96))
	st := mustMode(NewStreaming(64, 1, 32))
	return []Mode{NewDense(), sp, &named{ap, "sparse-approx"}, or, st}
}

// named renames a mode for benchmark and test names.
type named struct {
	Mode
	name string
}

func (n *named) Name() string { return n.name }

func mustMode(m Mode, err error) Mode {
	if err != nil {
		panic(err)
	}
	return m
}

// BenchmarkPrefill runs a whole prefill of n tokens in one call.
func BenchmarkPrefill(b *testing.B) {
	for _, n := range []int{1024, 4096} {
		c, q := randomInput(1, benchShape, n, n, false)
		out := make([]float32, len(q.Q))
		for _, m := range benchModes(b) {
			b.Run(fmt.Sprintf("%s/n=%d", m.Name(), n), func(b *testing.B) {
				for b.Loop() {
					c.Truncate(n) // drop compressed keys: a prefill computes them
					if err := m.Forward(c, q, out, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDensePrefill and BenchmarkSparsePrefill are the prefill
// benchmarks of the two main modes alone.
func BenchmarkDensePrefill(b *testing.B)  { benchPrefill(b, NewDense()) }
func BenchmarkSparsePrefill(b *testing.B) { benchPrefill(b, mustMode(NewSparse(DefaultSparse()))) }

func benchPrefill(b *testing.B, m Mode) {
	for _, n := range []int{1024, 4096} {
		c, q := randomInput(1, benchShape, n, n, false)
		out := make([]float32, len(q.Q))
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				c.Truncate(n)
				if err := m.Forward(c, q, out, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode runs one decode step (m=1) on a cache of n tokens whose
// compressed keys are up to date, as in generation.
func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{4096, 32768} {
		c, q := randomInput(2, benchShape, n, 1, false)
		out := make([]float32, len(q.Q))
		for _, m := range benchModes(b) {
			b.Run(fmt.Sprintf("%s/n=%d", m.Name(), n), func(b *testing.B) {
				if err := m.Forward(c, q, out, nil); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := m.Forward(c, q, out, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkChunk runs the last chunk of a chunked prefill: the 64 newest
// query tokens of a full cache of n tokens (compressed keys up to date).
func BenchmarkChunk(b *testing.B) {
	for _, n := range []int{32768} {
		c, q := randomInput(3, benchShape, n, 64, false)
		out := make([]float32, len(q.Q))
		for _, m := range benchModes(b) {
			b.Run(fmt.Sprintf("%s/n=%d/m=64", m.Name(), n), func(b *testing.B) {
				if err := m.Forward(c, q, out, nil); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					if err := m.Forward(c, q, out, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
