package kernels

import (
	"math/rand/v2"
	"testing"
)

func TestMaxRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, lv := range []Level{Generic, AVX2, AVX512} {
		if lv > Best {
			continue
		}
		prev := SetLevel(lv)
		for _, c := range []struct{ rows, T int }{{1, 16}, {5, 16}, {3, 64}, {2, 7}, {6, 48}} {
			src := make([]float32, c.rows*c.T)
			for i := range src {
				src[i] = float32(rng.NormFloat64())
			}
			got, want := make([]float32, c.T), make([]float32, c.T)
			MaxRows(got, src, c.rows, c.T)
			MaxRowsGeneric(want, src, c.rows, c.T)
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("%v %+v: [%d] = %v, want %v", lv, c, j, got[j], want[j])
				}
			}
		}
		SetLevel(prev)
	}
}
