package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestRowSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, lv := range []Level{Generic, AVX2, AVX512} {
		if lv > Best {
			continue
		}
		prev := SetLevel(lv)
		for _, n := range []int{1, 7, 8, 16, 24, 48, 64, 100, 1024, 6144} {
			for trial := 0; trial < 5; trial++ {
				s := make([]float32, n)
				for i := range s {
					s[i] = float32(rng.NormFloat64() * 8)
					if trial == 1 && i%3 == 0 || trial == 2 {
						s[i] = Masked
					}
				}
				want := append([]float32(nil), s...)
				wm, wl := RowSoftmaxGeneric(want)
				got := append([]float32(nil), s...)
				gm, gl := RowSoftmax(got)
				if gm != wm || math.Abs(float64(gl-wl)) > 1e-5*math.Max(1, float64(wl)) {
					t.Fatalf("%v n=%d trial %d: m,l = %v,%v want %v,%v", lv, n, trial, gm, gl, wm, wl)
				}
				for i := range got {
					if math.Abs(float64(got[i]-want[i])) > 4e-7*math.Max(1e-30, float64(want[i])) || (want[i] == 0) != (got[i] == 0) {
						t.Fatalf("%v n=%d trial %d: p[%d] = %v want %v", lv, n, trial, i, got[i], want[i])
					}
				}
				if trial == 2 && gl != 0 {
					t.Fatalf("fully masked row: l = %v", gl)
				}
			}
		}
		SetLevel(prev)
	}
}
