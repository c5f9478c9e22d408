package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// closeRel reports whether got is within tol of want, relative to |want|
// (with a tiny absolute floor for values near zero).
func closeRel(got, want float32, tol float64) bool {
	if math.IsNaN(float64(got)) || math.IsNaN(float64(want)) {
		return false
	}
	return math.Abs(float64(got)-float64(want)) <= tol*math.Abs(float64(want))+1e-37
}

type softmaxState struct {
	s, m, l, o []float32
}

func (st softmaxState) clone() softmaxState {
	c := func(x []float32) []float32 { return append([]float32(nil), x...) }
	return softmaxState{c(st.s), c(st.m), c(st.l), c(st.o)}
}

// softmaxScores fills a rows x n tile (stride lds) with base-2 scores: a
// spread of magnitudes, some masked entries, and fully masked columns.
func softmaxScores(r *rand.Rand, s []float32, rows, n, lds int, maskedCols map[int]bool) {
	for i := range s {
		s[i] = float32(math.NaN()) // padding must not be read
	}
	for p := 0; p < rows; p++ {
		for j := 0; j < n; j++ {
			v := float32(r.NormFloat64() * 6)
			switch x := r.IntN(20); {
			case maskedCols[j] || x == 0:
				v = Masked
			case x == 1:
				v = Masked / 3 // still masked: at or below Masked/2
			case x == 2:
				v = -300 // very small but not masked: clamps to 2^-126
			case x == 3:
				v += 40 // a jump in the running maximum
			}
			s[p*lds+j] = v
		}
	}
}

func TestOnlineSoftmax(t *testing.T) {
	type shape struct{ rows, n, lds, d, ldo int }
	var shapes []shape
	for _, n := range []int{1, 8, 16, 17, 24, 32, 64, 80} {
		for _, rows := range []int{0, 1, 2, 3, 64, 127} {
			for _, d := range []int{0, 1, 64} {
				shapes = append(shapes, shape{rows, n, n, d, n}, shape{rows, n, n + 5, d, n + 3})
			}
		}
	}
	for _, lv := range levels() {
		for _, sh := range shapes {
			name := fmt.Sprintf("%v/rows=%d,n=%d,lds=%d,d=%d,ldo=%d", lv, sh.rows, sh.n, sh.lds, sh.d, sh.ldo)
			r := rand.New(rand.NewPCG(uint64(sh.rows), uint64(sh.n*1000+sh.d)))
			masked := map[int]bool{0: true, sh.n / 2: true} // masked in every tile
			st := softmaxState{
				s: make([]float32, max((sh.rows-1)*sh.lds+sh.n, 0)),
				m: make([]float32, sh.n),
				l: make([]float32, sh.n),
				o: make([]float32, max((sh.d-1)*sh.ldo+sh.n, 0)),
			}
			for j := range st.m {
				st.m[j] = Masked
			}
			for i := range st.o {
				st.o[i] = float32(r.NormFloat64())
			}
			ref := st.clone()
			for tile := 0; tile < 4; tile++ {
				if tile == 2 {
					masked = map[int]bool{0: true} // column n/2 comes alive late
				}
				softmaxScores(r, st.s, sh.rows, sh.n, sh.lds, masked)
				if tile == 3 {
					// Nothing above the running maxima: alpha = 1 in every
					// column, and the kernels may skip rescaling o.
					for i, v := range st.s {
						if v > Masked/2 {
							st.s[i] = min(v, -100)
						}
					}
				}
				copy(ref.s, st.s)
				OnlineSoftmaxGeneric(ref.s, sh.rows, sh.n, sh.lds, ref.m, ref.l, ref.o, sh.d, sh.ldo)
				atLevel(lv, func() {
					OnlineSoftmax(st.s, sh.rows, sh.n, sh.lds, st.m, st.l, st.o, sh.d, sh.ldo)
				})
				cmp := func(what string, got, want []float32, ld, width int) {
					t.Helper()
					for i := range want {
						if ld > 0 && i%ld >= width {
							// Padding: untouched (NaN in s stays NaN).
							if g, w := got[i], want[i]; g != w && !(g != g && w != w) {
								t.Fatalf("%s tile %d: %s[%d] padding changed: %v, want %v", name, tile, what, i, g, w)
							}
							continue
						}
						if !closeRel(got[i], want[i], 1e-6) {
							t.Fatalf("%s tile %d: %s[%d] = %v, want %v", name, tile, what, i, got[i], want[i])
						}
					}
				}
				cmp("m", st.m, ref.m, 0, 0)
				cmp("l", st.l, ref.l, 0, 0)
				cmp("s", st.s, ref.s, sh.lds, sh.n)
				cmp("o", st.o, ref.o, sh.ldo, sh.n)
				for p := 0; p < sh.rows; p++ {
					for j := range sh.n {
						if masked[j] && st.s[p*sh.lds+j] != 0 {
							t.Fatalf("%s tile %d: masked s[%d][%d] = %v", name, tile, p, j, st.s[p*sh.lds+j])
						}
					}
				}
				if masked[0] && (st.m[0] != Masked || st.l[0] != 0) {
					t.Fatalf("%s tile %d: fully masked column: m=%v l=%v", name, tile, st.m[0], st.l[0])
				}
			}
		}
	}
}

// exp2Via evaluates the vector exp2 of xs (all <= 0) at the current level
// through OnlineSoftmax: with m = 0 and no score above 0, the maximum stays
// 0 and s becomes 2^s.
func exp2Via(xs []float32) []float32 {
	const n = 16
	rows := (len(xs) + n - 1) / n
	s := make([]float32, rows*n)
	copy(s, xs)
	m, l := make([]float32, n), make([]float32, n)
	OnlineSoftmax(s, rows, n, n, m, l, nil, 0, n)
	return s[:len(xs)]
}

func TestExp2Accuracy(t *testing.T) {
	// A dense sweep of [-126, 0] plus random points and exact integers.
	var xs []float32
	const steps = 1 << 20
	for i := 0; i <= steps; i++ {
		xs = append(xs, float32(-126*float64(i)/steps))
	}
	r := rand.New(rand.NewPCG(5, 5))
	for range 1 << 16 {
		xs = append(xs, float32(-126*r.Float64()))
	}
	for i := -126; i < 0; i++ {
		xs = append(xs, float32(i), float32(i)+0.5, float32(i)-0.5, math.Nextafter32(float32(i)+0.5, 0))
	}
	xs = append(xs, -126.5, -127, -1000, -1e20) // clamped to 2^-126
	for _, lv := range levels() {
		atLevel(lv, func() {
			got := exp2Via(xs)
			worst := 0.0
			for i, x := range xs {
				want := math.Exp2(max(float64(x), -126))
				rel := math.Abs(float64(got[i])-want) / want
				worst = max(worst, rel)
				if rel > 4e-7 {
					t.Fatalf("level %v: exp2(%v) = %v, want %v (rel. error %.3g)", lv, x, got[i], want, rel)
				}
				// Against the scalar reference: the same algorithm, up to
				// FMA contraction in the polynomial.
				if g, w := got[i], Exp2Generic(x); !closeRel(g, w, 3e-7) {
					t.Fatalf("level %v: exp2(%v) = %v, Exp2Generic = %v", lv, x, g, w)
				}
			}
			t.Logf("level %v: worst relative error %.3g over %d points", lv, worst, len(xs))
		})
	}
}

func TestExp2GenericRange(t *testing.T) {
	// The reference over its whole clamp range, including positive x.
	for i := 0; i <= 1<<18; i++ {
		x := float32(-126 + 253*float64(i)/(1<<18))
		want := math.Exp2(float64(x))
		if got := float64(Exp2Generic(x)); math.Abs(got-want) > 4e-7*want {
			t.Fatalf("Exp2Generic(%v) = %v, want %v", x, got, want)
		}
	}
}

// TestOnlineSoftmaxNaNScore: the reference ignores a NaN score in the
// maximum and gives it probability 0 (NaN > Masked/2 is false); the
// vector kernels do the same.
func TestOnlineSoftmaxNaNScore(t *testing.T) {
	const rows, n = 5, 32
	for _, lv := range levels() {
		s := make([]float32, rows*n)
		for i := range s {
			s[i] = float32(i%7) - 3
		}
		s[2*n+3] = float32(math.NaN())
		m, l := make([]float32, n), make([]float32, n)
		for j := range m {
			m[j] = Masked
		}
		atLevel(lv, func() { OnlineSoftmax(s, rows, n, n, m, l, nil, 0, n) })
		if s[2*n+3] != 0 || math.IsNaN(float64(m[3])) || math.IsNaN(float64(l[3])) {
			t.Errorf("level %v: NaN score gave p=%v m=%v l=%v", lv, s[2*n+3], m[3], l[3])
		}
	}
}
