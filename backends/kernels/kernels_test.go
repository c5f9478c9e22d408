package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// levels lists the levels this machine can run, Generic first.
func levels() []Level {
	var ls []Level
	for _, lv := range []Level{Generic, AVX2, AVX512} {
		if lv <= Best {
			ls = append(ls, lv)
		}
	}
	return ls
}

// atLevel runs f with the kernels forced to lv.
func atLevel(lv Level, f func()) {
	prev := SetLevel(lv)
	defer SetLevel(prev)
	f()
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// gemmRef returns C (or C0 + C) = A·B in float64 and, per element, the
// error bound scale sum_p |A[i][p]*B[p][j]| (+ |C0[i][j]|).
func gemmRef(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c0 []float32, ldc int, accumulate bool) (ref, scale []float64) {
	ref = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, sa float64
			if accumulate {
				s = float64(c0[i*ldc+j])
				sa = math.Abs(s)
			}
			for p := 0; p < k; p++ {
				var av float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				t := float64(av) * float64(b[p*ldb+j])
				s += t
				sa += math.Abs(t)
			}
			ref[i*n+j], scale[i*n+j] = s, sa
		}
	}
	return ref, scale
}

type gemmCase struct {
	trans         bool
	m, n, k       int
	lda, ldb, ldc int
	accumulate    bool
}

func (g gemmCase) String() string {
	op := "NN"
	if g.trans {
		op = "TN"
	}
	return fmt.Sprintf("%s/m=%d,n=%d,k=%d,lda=%d,ldb=%d,ldc=%d,acc=%v", op, g.m, g.n, g.k, g.lda, g.ldb, g.ldc, g.accumulate)
}

// checkGemmCase runs one case at each of the given levels and reports the
// first mismatch against the float64 reference; it also checks that C
// outside the m x n window is untouched.
func checkGemmCase(t testing.TB, r *rand.Rand, g gemmCase, lvs ...Level) {
	t.Helper()
	var lenA int
	if g.trans {
		lenA = (g.k-1)*g.lda + g.m
	} else {
		lenA = (g.m-1)*g.lda + g.k
	}
	lenA = max(lenA, 0)
	a := randSlice(r, lenA)
	b := randSlice(r, max((g.k-1)*g.ldb+g.n, 0))
	c0 := randSlice(r, (g.m-1)*g.ldc+g.n+7) // tail beyond the last row
	sentinel := float32(12345.5)
	for i := range c0 {
		inWindow := i < (g.m-1)*g.ldc+g.n && i%g.ldc < g.n
		if !inWindow {
			c0[i] = sentinel
		} else if !g.accumulate {
			c0[i] = float32(math.NaN()) // must be overwritten, never read
		}
	}
	ref, scale := gemmRef(g.trans, g.m, g.n, g.k, a, g.lda, b, g.ldb, c0, g.ldc, g.accumulate)
	c := make([]float32, len(c0))
	for _, lv := range lvs {
		copy(c, c0)
		atLevel(lv, func() {
			if g.trans {
				GemmTN(g.m, g.n, g.k, a, g.lda, b, g.ldb, c, g.ldc, g.accumulate)
			} else {
				GemmNN(g.m, g.n, g.k, a, g.lda, b, g.ldb, c, g.ldc, g.accumulate)
			}
		})
		for i := range c {
			row, col := i/g.ldc, i%g.ldc
			if row >= g.m || col >= g.n {
				if c[i] != sentinel {
					t.Fatalf("%v level %v: c[%d] outside the matrix changed to %v", g, lv, i, c[i])
				}
				continue
			}
			want, sc := ref[row*g.n+col], scale[row*g.n+col]
			if got := float64(c[i]); math.IsNaN(got) || math.Abs(got-want) > 1e-5*sc+1e-30 {
				t.Fatalf("%v level %v: C[%d][%d] = %v, want %v (scale %v)", g, lv, row, col, got, want, sc)
			}
		}
	}
}

func TestGemm(t *testing.T) {
	ms := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 63, 64, 65, 130}
	ns := []int{16, 32, 48, 64, 80, 128, 17, 8}
	ks := []int{0, 1, 3, 16, 64, 128, 129}
	if testing.Short() {
		ms, ks = ms[:13], ks[:5]
	}
	r := rand.New(rand.NewPCG(1, 1))
	for _, trans := range []bool{false, true} {
		for _, m := range ms {
			for _, n := range ns {
				for _, k := range ks {
					for _, acc := range []bool{false, true} {
						g := gemmCase{trans: trans, m: m, n: n, k: k, accumulate: acc}
						// Tight strides, then padded ones.
						if trans {
							g.lda = m
						} else {
							g.lda = k
						}
						g.ldb, g.ldc = n, n
						checkGemmCase(t, r, g, levels()...)
						g.lda += 5
						g.ldb += 16
						g.ldc += 3
						checkGemmCase(t, r, g, levels()...)
					}
				}
			}
		}
	}
}

// TestGemmAttentionShapes uses the strides of the flash-attention engine:
// K and V rows interleave Hkv heads (lda = Hkv*d).
func TestGemmAttentionShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, d := range []int{64, 128} {
		for _, bc := range []int{64, 128, 256} {
			for _, cols := range []int{16, 64} {
				ld := 4 * d
				checkGemmCase(t, r, gemmCase{m: bc, n: cols, k: d, lda: ld, ldb: cols, ldc: cols}, levels()...)
				checkGemmCase(t, r, gemmCase{trans: true, m: d, n: cols, k: bc, lda: ld, ldb: cols, ldc: cols, accumulate: true}, levels()...)
			}
		}
	}
}

// TestGemmMatchesGeneric checks the assembly against GemmGeneric itself
// (rather than the float64 reference) on small integers, where every
// summation order gives the same, exact result.
func TestGemmMatchesGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	small := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.IntN(17) - 8)
		}
		return s
	}
	const m, n, k = 37, 96, 50
	a, b, c0 := small(m*k), small(k*n), small(m*n)
	for _, trans := range []bool{false, true} {
		lda := k
		if trans {
			lda = m
		}
		want := append([]float32(nil), c0...)
		GemmGeneric(trans, m, n, k, a, lda, b, n, want, n, true)
		for _, lv := range levels() {
			atLevel(lv, func() {
				got := append([]float32(nil), c0...)
				if trans {
					GemmTN(m, n, k, a, lda, b, n, got, n, true)
				} else {
					GemmNN(m, n, k, a, lda, b, n, got, n, true)
				}
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("level %v trans %v: got[%d] = %v, want %v", lv, trans, i, got[i], want[i])
					}
				}
			})
		}
	}
}
