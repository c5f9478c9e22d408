package flash

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends/attention"
)

// Benchmarks of the targets in docs/performance.md. Sizes up to 128K are
// large: select them by name, e.g.
//
//	go test -run NONE -bench 'DensePrefill' ./backends/flash/
//	go test -run NONE -bench 'SparseSpeedup/32K' -benchtime 1x ./backends/flash/

// benchInput is a GQA 4:1 layer of one KV group (the FLOP rate does not
// depend on the number of groups).
func benchInput(n, d int) (*attention.Cache, attention.Query) {
	return input(1, attention.Shape{Heads: 4, KVHeads: 1, HeadDim: d}, n, n)
}

// BenchmarkDensePrefill reports GFLOP/s of a full causal prefill, counted
// as 2*H*d*n^2 (4*n^2*d/2 per head: QK and PV over the causal half).
func BenchmarkDensePrefill(b *testing.B) {
	for _, d := range []int{64, 128} {
		for _, n := range []int{4096, 8192, 16384, 32768} {
			b.Run(fmt.Sprintf("d%d/%dK", d, n/1024), func(b *testing.B) {
				c, q := benchInput(n, d)
				out := make([]float32, len(q.Q))
				m, _ := NewDense(64, 0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := m.Forward(c, q, out, nil); err != nil {
						b.Fatal(err)
					}
				}
				flops := 2 * float64(c.Shape.Heads) * float64(d) * float64(n) * float64(n)
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// timeIt runs f once and returns its wall time.
func timeIt(f func()) time.Duration {
	t0 := time.Now()
	f()
	return time.Since(t0)
}

// BenchmarkSparseSpeedup times dense and sparse (default InfLLM-V2
// parameters) prefills of the same input in one run, and reports the
// speedup, the cost-model bound n / (n/32 + 2*topk*B) and the fraction of
// the bound reached.
func BenchmarkSparseSpeedup(b *testing.B) {
	for _, n := range []int{32768, 131072} {
		b.Run(fmt.Sprintf("%dK", n/1024), func(b *testing.B) {
			c, q := benchInput(n, 64)
			out := make([]float32, len(q.Q))
			dn, _ := NewDense(64, 0)
			sp, _ := NewSparse(attention.DefaultSparse(), 0)
			var td, ts time.Duration
			for i := 0; i < b.N; i++ {
				td += timeIt(func() { dn.Forward(c, q, out, nil) })
				ts += timeIt(func() { sp.Forward(c, q, out, nil) })
			}
			k := float64(attention.DefaultSparse().TopK * attention.DefaultSparse().BlockSize)
			bound := float64(n) / (float64(n)/32 + 2*k)
			speedup := td.Seconds() / ts.Seconds()
			b.ReportMetric(td.Seconds()/float64(b.N), "dense-s")
			b.ReportMetric(ts.Seconds()/float64(b.N), "sparse-s")
			b.ReportMetric(speedup, "speedup")
			b.ReportMetric(bound, "bound")
			b.ReportMetric(speedup/bound, "of-bound")
		})
	}
}

// BenchmarkDecode times one decode step at the end of a long cache for
// dense and sparse in one run, with the single-core read bandwidth measured
// alongside: dense GB/s counts the K and V bytes it must stream.
func BenchmarkDecode(b *testing.B) {
	for _, n := range []int{32768, 131072} {
		b.Run(fmt.Sprintf("%dK", n/1024), func(b *testing.B) {
			s := attention.Shape{Heads: 8, KVHeads: 2, HeadDim: 64}
			c, _ := input(1, s, n, 1)
			_, q := input(2, s, 1, 1)
			out := make([]float32, len(q.Q))
			dn, _ := NewDense(64, 0)
			sp, _ := NewSparse(attention.DefaultSparse(), 0)
			sp.Forward(c, q, out, nil) // compress the keys once, as a decode loop would have
			var td, ts time.Duration
			for i := 0; i < b.N; i++ {
				td += timeIt(func() { dn.Forward(c, q, out, nil) })
				ts += timeIt(func() { sp.Forward(c, q, out, nil) })
			}
			bw := readBandwidth()
			kv := float64(2 * 4 * s.KVSize(n))
			dGBs := kv * float64(b.N) / td.Seconds() / 1e9
			k := float64(attention.DefaultSparse().TopK * attention.DefaultSparse().BlockSize)
			bound := 2 * float64(n) / (float64(n)/16 + 2*k)
			speedup := td.Seconds() / ts.Seconds()
			b.ReportMetric(td.Seconds()*1e3/float64(b.N), "dense-ms")
			b.ReportMetric(ts.Seconds()*1e3/float64(b.N), "sparse-ms")
			b.ReportMetric(dGBs, "dense-GB/s")
			b.ReportMetric(bw, "1core-read-GB/s")
			b.ReportMetric(dGBs/bw, "of-1core-bw")
			b.ReportMetric(speedup, "speedup")
			b.ReportMetric(bound, "bound")
			b.ReportMetric(speedup/bound, "of-bound")
		})
	}
}

// readBandwidth measures single-core read bandwidth in GB/s: the runtime's
// vectorised IndexByte over 512 MiB that holds no match.
func readBandwidth() float64 {
	buf := make([]byte, 512<<20)
	for i := range buf {
		buf[i] = 1
	}
	best := 0.0
	for r := 0; r < 3; r++ {
		t0 := time.Now()
		if bytes.IndexByte(buf, 0) >= 0 {
			panic("unreachable")
		}
		best = max(best, float64(len(buf))/time.Since(t0).Seconds()/1e9)
	}
	runtime.KeepAlive(buf)
	return best
}

// BenchmarkSwitchingBelow times switching below its threshold against dense
// on the same input, alternating: the ratio should be 1 within noise.
func BenchmarkSwitchingBelow(b *testing.B) {
	c, q := benchInput(4096, 64)
	out := make([]float32, len(q.Q))
	dn, _ := NewDense(64, 0)
	sw, _ := NewSwitching(8192, attention.DefaultSparse(), 0)
	var td, ts time.Duration
	for i := 0; i < b.N; i++ {
		td += timeIt(func() { dn.Forward(c, q, out, nil) })
		ts += timeIt(func() { sw.Forward(c, q, out, nil) })
	}
	b.ReportMetric(ts.Seconds()/td.Seconds(), "switching/dense")
}
