package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzGemm compares every level with the float64 reference on arbitrary
// shapes and strides.
func FuzzGemm(f *testing.F) {
	f.Add(uint8(4), uint8(4), uint8(64), uint8(0), uint8(0), uint8(0), false, false, uint8(2), uint64(1))
	f.Add(uint8(65), uint8(1), uint8(3), uint8(1), uint8(16), uint8(2), true, true, uint8(1), uint64(2))
	f.Add(uint8(7), uint8(5), uint8(0), uint8(0), uint8(0), uint8(0), true, false, uint8(2), uint64(3))
	f.Add(uint8(130), uint8(8), uint8(129), uint8(9), uint8(3), uint8(0), false, true, uint8(2), uint64(4))
	f.Fuzz(func(t *testing.T, m, nq, k, padA, padB, padC uint8, trans, acc bool, lv uint8, seed uint64) {
		// n counts 16-column units mostly, with some odd widths.
		n := int(nq%9) * 16
		if nq >= 128 {
			n = int(nq % 70)
		}
		if m == 0 || n == 0 {
			return
		}
		g := gemmCase{trans: trans, m: int(m), n: n, k: int(k % 160), accumulate: acc}
		if trans {
			g.lda = g.m + int(padA%32)
		} else {
			g.lda = g.k + int(padA%32)
		}
		g.ldb = g.n + int(padB%40)
		g.ldc = g.n + int(padC%20)
		checkGemmCase(t, rand.New(rand.NewPCG(seed, 9)), g, min(Level(lv%3), Best))
	})
}

// FuzzOnlineSoftmax compares every level with OnlineSoftmaxGeneric.
func FuzzOnlineSoftmax(f *testing.F) {
	f.Add(uint8(64), uint8(4), uint8(0), uint8(64), uint8(0), uint8(2), uint64(1))
	f.Add(uint8(3), uint8(1), uint8(5), uint8(0), uint8(3), uint8(1), uint64(2))
	f.Fuzz(func(t *testing.T, rows, nq, padS, d, padO, lv uint8, seed uint64) {
		n := int(nq%9) * 8
		if nq >= 128 {
			n = int(nq % 70)
		}
		if n == 0 {
			return
		}
		r := rand.New(rand.NewPCG(seed, 10))
		lds, ldo := n+int(padS%20), n+int(padO%20)
		nr, nd := int(rows%140), int(d%140)
		st := softmaxState{
			s: make([]float32, max((nr-1)*lds+n, 0)),
			m: make([]float32, n),
			l: make([]float32, n),
			o: make([]float32, max((nd-1)*ldo+n, 0)),
		}
		for j := range st.m {
			st.m[j] = float32(r.NormFloat64() * 10)
			if r.IntN(4) == 0 {
				st.m[j] = Masked
			}
			st.l[j] = float32(r.Float64() * 10)
		}
		for i := range st.o {
			st.o[i] = float32(r.NormFloat64())
		}
		softmaxScores(r, st.s, nr, n, lds, map[int]bool{n - 1: true})
		ref := st.clone()
		OnlineSoftmaxGeneric(ref.s, nr, n, lds, ref.m, ref.l, ref.o, nd, ldo)
		atLevel(Level(lv%3), func() {
			OnlineSoftmax(st.s, nr, n, lds, st.m, st.l, st.o, nd, ldo)
		})
		for _, c := range [][2][]float32{{st.m, ref.m}, {st.l, ref.l}, {st.s, ref.s}, {st.o, ref.o}} {
			for i := range c[0] {
				g, w := c[0][i], c[1][i]
				if math.IsNaN(float64(g)) && math.IsNaN(float64(w)) {
					continue // padding
				}
				if !closeRel(g, w, 1e-6) {
					t.Fatalf("level %d: got %v, want %v at %d", lv%3, g, w, i)
				}
			}
		}
	})
}
