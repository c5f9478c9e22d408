package model

import (
	"testing"

	"github.com/evalctl/evalctl/backends/kernels"
)

func BenchmarkGemv(b *testing.B) {
	in, out := 512, 1536
	x := make([]float32, in)
	wt := make([]float32, in*out)
	y := make([]float32, out)
	for i := range wt {
		wt[i] = float32(i%7) * 0.1
	}
	b.Run("gemm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			kernels.GemmNN(1, out, in, x, in, wt, out, y, out, false)
		}
		b.SetBytes(int64(len(wt) * 4))
	})
	b.Run("axpy", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			clear(y)
			for p := 0; p < in; p++ {
				kernels.Axpy(x[p], wt[p*out:(p+1)*out], y)
			}
		}
		b.SetBytes(int64(len(wt) * 4))
	})
}
