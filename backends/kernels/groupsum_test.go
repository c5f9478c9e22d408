package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestGroupSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, lv := range []Level{Generic, AVX2, AVX512} {
		if lv > Best {
			continue
		}
		prev := SetLevel(lv)
		for _, c := range []struct{ rows, T, G, pad int }{{1, 16, 4, 0}, {37, 16, 4, 0}, {5, 32, 2, 16}, {3, 64, 1, 0}, {4, 8, 8, 3}, {2, 4, 16, 0}, {9, 48, 3, 5}} {
			lds := c.G*c.T + c.pad
			s := make([]float32, c.rows*lds)
			inv := make([]float32, c.G*c.T)
			for i := range s {
				s[i] = float32(rng.Float64())
			}
			for i := range inv {
				inv[i] = float32(rng.Float64())
			}
			got := make([]float32, c.rows*c.T)
			want := make([]float32, c.rows*c.T)
			for i := range got {
				got[i] = float32(math.NaN())
			}
			GroupSum(got, s, inv, c.rows, c.T, c.G, lds)
			GroupSumGeneric(want, s, inv, c.rows, c.T, c.G, lds)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-6*math.Max(1, float64(want[i])) {
					t.Fatalf("%v %+v: [%d] = %v, want %v", lv, c, i, got[i], want[i])
				}
			}
		}
		SetLevel(prev)
	}
}
