// Package kernels holds the vectorised float32 building blocks under the
// fast attention modes (and, later, the model runtime): tile matrix
// products and the online-softmax update of flash attention.
//
// Each function has a pure-Go reference implementation (the *Generic
// functions, kept as the test oracle and as the fallback on other
// architectures) and, on amd64, Go assembly for AVX2+FMA and AVX-512,
// chosen at start-up by CPU feature detection. SetLevel forces a lower
// level, so tests exercise every path on one machine.
//
// Layout conventions: all matrices are row-major float32 slices with an
// explicit row stride (ld*). The attention engine computes transposed
// tiles (keys x queries), so that the per-query softmax statistics run
// along vector lanes.
package kernels

import (
	"fmt"
	"math"
)

// Level is an instruction-set level.
type Level int

// Levels, in increasing order.
const (
	Generic Level = iota // pure Go
	AVX2                 // AVX2 + FMA
	AVX512               // AVX-512F
)

func (l Level) String() string {
	switch l {
	case Generic:
		return "generic"
	case AVX2:
		return "avx2"
	case AVX512:
		return "avx512"
	}
	return fmt.Sprintf("level(%d)", int(l))
}

// Best is the highest level this CPU supports (Generic off amd64).
var Best = detect()

var level = Best

// CurrentLevel reports the level in use.
func CurrentLevel() Level { return level }

// SetLevel selects the level used from now on, capped at Best, and returns
// the previous one. It is meant for tests and benchmarks; it is not safe to
// call while kernels run on other goroutines.
func SetLevel(l Level) Level {
	prev := level
	if l > Best {
		l = Best
	}
	if l < Generic {
		l = Generic
	}
	level = l
	return prev
}

// Masked is the score of a masked entry; any score at or below Masked/2
// counts as masked and gets probability exactly 0.
const Masked = float32(-1e30)

// GemmNN computes C = A·B (or C += A·B when accumulate is set) for an m x k
// matrix A, a k x n matrix B and an m x n matrix C:
// A[i][p] = a[i*lda+p], B[p][j] = b[p*ldb+j], C[i][j] = c[i*ldc+j].
func GemmNN(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	checkGemm("GemmNN", m, n, k, len(a), (m-1)*lda+k, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	gemm(false, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

// GemmTN is GemmNN with A stored transposed: A[i][p] = a[p*lda+i].
func GemmTN(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	checkGemm("GemmTN", m, n, k, len(a), (k-1)*lda+m, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	gemm(true, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

func checkGemm(name string, m, n, k, lenA, needA int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels.%s: negative size m=%d n=%d k=%d", name, m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	if k > 0 && (lenA < needA || len(b) < (k-1)*ldb+n) {
		panic(fmt.Sprintf("kernels.%s: m=%d n=%d k=%d: a or b too short", name, m, n, k))
	}
	if len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("kernels.%s: m=%d n=%d: c too short (%d < %d)", name, m, n, len(c), (m-1)*ldc+n))
	}
}

// GemmGeneric is the reference of GemmNN (transA false) and GemmTN.
func GemmGeneric(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if !accumulate {
			clear(ci)
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			if av == 0 {
				continue
			}
			bp := b[p*ldb : p*ldb+n]
			for j, bv := range bp {
				ci[j] += av * bv
			}
		}
	}
}

// OnlineSoftmax folds a tile of scores into the running state of flash
// attention, for n queries at once (one per column).
//
// s holds rows x n scores (row p = one key, column j = one query, row
// stride lds) in base 2: p = 2^s. m and l (length n) hold each query's
// running maximum and sum of probabilities; o holds d x n unnormalised
// outputs (row stride ldo). On return: m' = max(m, max_p s[p][j]);
// s[p][j] = 2^(s[p][j] - m'[j]) (0 where masked: s <= Masked/2);
// l = l*2^(m-m') + sum_p s[p][j]; o[x][j] *= 2^(m[j]-m'[j]); m = m'.
// Start a query with m = Masked, l = 0, o = 0.
func OnlineSoftmax(s []float32, rows, n, lds int, m, l, o []float32, d, ldo int) {
	if rows < 0 || n < 0 || d < 0 || len(m) < n || len(l) < n ||
		(rows > 0 && n > 0 && len(s) < (rows-1)*lds+n) || (d > 0 && n > 0 && len(o) < (d-1)*ldo+n) {
		panic(fmt.Sprintf("kernels.OnlineSoftmax: rows=%d n=%d d=%d: slices too short", rows, n, d))
	}
	if n == 0 {
		return
	}
	onlineSoftmax(s, rows, n, lds, m, l, o, d, ldo)
}

// OnlineSoftmaxGeneric is the reference of OnlineSoftmax.
func OnlineSoftmaxGeneric(s []float32, rows, n, lds int, m, l, o []float32, d, ldo int) {
	const half = Masked / 2
	for j := 0; j < n; j++ {
		mx := m[j]
		for p := 0; p < rows; p++ {
			if v := s[p*lds+j]; v > mx {
				mx = v
			}
		}
		alpha := Exp2Generic(m[j] - mx)
		sum := l[j] * alpha
		for p := 0; p < rows; p++ {
			v := s[p*lds+j]
			e := float32(0)
			if v > half {
				e = Exp2Generic(v - mx)
			}
			s[p*lds+j] = e
			sum += e
		}
		for x := 0; x < d; x++ {
			o[x*ldo+j] *= alpha
		}
		m[j], l[j] = mx, sum
	}
}

// Exp2Generic computes 2^x in float32 the way the vector kernels do: an
// integer power of two times a degree-6 polynomial on [-0.5, 0.5], with x
// clamped to [-126, 127]. Relative error below 2e-7.
func Exp2Generic(x float32) float32 {
	if x < -126 {
		x = -126
	}
	if x > 127 {
		x = 127
	}
	n := roundEven(x)
	f := x - n // in [-0.5, 0.5]
	// Taylor coefficients of e^(f ln 2): ln2^k / k!.
	p := float32(exp2C6)
	p = p*f + exp2C5
	p = p*f + exp2C4
	p = p*f + exp2C3
	p = p*f + exp2C2
	p = p*f + exp2C1
	p = p*f + 1.0
	return ldexp(p, int(n))
}

// Coefficients of the 2^f polynomial, shared with the assembly (which
// loads them from the same constants).
const (
	exp2C1 = 6.9314718e-1
	exp2C2 = 2.4022651e-1
	exp2C3 = 5.5504109e-2
	exp2C4 = 9.6181291e-3
	exp2C5 = 1.3333558e-3
	exp2C6 = 1.5403530e-4
)

func roundEven(x float32) float32 {
	const magic = 1 << 23 // float32 has 23 fraction bits
	if x >= 0 {
		return (x + magic) - magic
	}
	return (x - magic) + magic
}

func ldexp(f float32, e int) float32 {
	// e in [-126, 127]: the scale is a normal float32.
	return f * math.Float32frombits(uint32(e+127)<<23)
}
