package kernels

import "testing"

func fmaPeak512(iters int)
func fmaPeak256(iters int)

// BenchmarkFMAPeak measures the single-core FMA throughput with
// register-only loops of independent FMAs (24 zmm or 12 ymm accumulators),
// the ceiling for the GEMM kernels: run it with -cpu 1.
func BenchmarkFMAPeak(b *testing.B) {
	const iters = 1 << 20
	if Best >= AVX512 {
		b.Run("zmm", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				fmaPeak512(iters)
			}
			b.ReportMetric(float64(iters)*24*32*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
	if Best >= AVX2 {
		b.Run("ymm", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				fmaPeak256(iters)
			}
			b.ReportMetric(float64(iters)*12*16*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
