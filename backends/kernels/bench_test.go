package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

var benchShapes = [][3]int{{64, 64, 64}, {128, 64, 64}, {256, 64, 128}, {64, 16, 64}}

func benchGemm(b *testing.B, trans bool) {
	for _, lv := range levels() {
		for _, sh := range benchShapes {
			m, n, k := sh[0], sh[1], sh[2]
			b.Run(fmt.Sprintf("%v/m=%d,n=%d,k=%d", lv, m, n, k), func(b *testing.B) {
				r := rand.New(rand.NewPCG(7, 7))
				a := randSlice(r, m*k)
				bm := randSlice(r, k*n)
				c := randSlice(r, m*n)
				lda := k
				if trans {
					lda = m
				}
				prev := SetLevel(lv)
				defer SetLevel(prev)
				b.SetBytes(int64(4 * (m*k + k*n + m*n)))
				b.ResetTimer()
				for b.Loop() {
					if trans {
						GemmTN(m, n, k, a, lda, bm, n, c, n, true)
					} else {
						GemmNN(m, n, k, a, lda, bm, n, c, n, true)
					}
				}
				flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
				b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}

func BenchmarkGemmNN(b *testing.B) { benchGemm(b, false) }
func BenchmarkGemmTN(b *testing.B) { benchGemm(b, true) }

// BenchmarkGemmAttention uses the flash-attention engine's layout: K and V
// rows of 4 interleaved heads (lda = 4*d), Bc = 128, d = 128, 64 columns.
func BenchmarkGemmAttention(b *testing.B) {
	const bc, d, cols, hkv = 128, 128, 64, 4
	for _, lv := range levels() {
		for _, trans := range []bool{false, true} {
			op := "NN(S=K·Qt)"
			if trans {
				op = "TN(O+=Vt·Pt)"
			}
			b.Run(fmt.Sprintf("%v/%s", lv, op), func(b *testing.B) {
				r := rand.New(rand.NewPCG(9, 9))
				kv := randSlice(r, bc*hkv*d)
				x := randSlice(r, bc*cols) // Qt (d x cols) or P^T (bc x cols)
				c := randSlice(r, bc*cols)
				prev := SetLevel(lv)
				defer SetLevel(prev)
				for b.Loop() {
					if trans {
						GemmTN(d, cols, bc, kv, hkv*d, x, cols, c, cols, true)
					} else {
						GemmNN(bc, cols, d, kv, hkv*d, x, cols, c, cols, false)
					}
				}
				flops := 2 * float64(bc) * float64(cols) * float64(d) * float64(b.N)
				b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}

func BenchmarkOnlineSoftmax(b *testing.B) {
	const rows, n, d = 128, 64, 128
	for _, lv := range levels() {
		b.Run(lv.String(), func(b *testing.B) {
			r := rand.New(rand.NewPCG(8, 8))
			s := randSlice(r, rows*n)
			for i := range s {
				s[i] *= 4
			}
			m, l := make([]float32, n), make([]float32, n)
			o := randSlice(r, d*n)
			prev := SetLevel(lv)
			defer SetLevel(prev)
			b.SetBytes(4 * rows * n)
			b.ResetTimer()
			for b.Loop() {
				// s is not restored (after the first call it holds
				// probabilities, which cost the same); m is reset so that
				// alpha != 1 and o gets rescaled.
				for j := range m {
					m[j], l[j] = 0, 1
				}
				OnlineSoftmax(s, rows, n, n, m, l, o, d, n)
			}
			b.ReportMetric(float64(rows*n*b.N)/float64(b.Elapsed().Nanoseconds()), "Gelem/s")
		})
	}
}
