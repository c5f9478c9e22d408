package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, lv := range []Level{Generic, AVX2, AVX512} {
		if lv > Best {
			continue
		}
		prev := SetLevel(lv)
		for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 200, 1000} {
			a, b := make([]float32, n), make([]float32, n)
			var want, mag float64
			for i := range a {
				a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
				want += float64(a[i]) * float64(b[i])
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-5*math.Max(1, mag) {
				t.Errorf("%v n=%d: Dot = %v, want %v", lv, n, got, want)
			}
			y := append([]float32(nil), b...)
			Axpy(0.5, a, y)
			for i := range y {
				if w := b[i] + 0.5*a[i]; math.Abs(float64(y[i]-w)) > 1e-6*math.Max(1, math.Abs(float64(w))) {
					t.Fatalf("%v n=%d: Axpy[%d] = %v, want %v", lv, n, i, y[i], w)
				}
			}
		}
		SetLevel(prev)
	}
}

func FuzzDot(f *testing.F) {
	f.Add(uint16(33), uint64(1))
	f.Fuzz(func(t *testing.T, n uint16, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 1))
		a, b := make([]float32, n%4096), make([]float32, n%4096)
		var mag float64
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			mag += math.Abs(float64(a[i] * b[i]))
		}
		if got, want := Dot(a, b), DotGeneric(a, b); math.Abs(float64(got-want)) > 1e-4*math.Max(1, mag) {
			t.Fatalf("n=%d: %v vs %v", len(a), got, want)
		}
	})
}

func BenchmarkDot(b *testing.B) {
	x, y := make([]float32, 4096), make([]float32, 4096)
	for i := range x {
		x[i], y[i] = 1, 2
	}
	b.SetBytes(2 * 4 * 4096)
	for i := 0; i < b.N; i++ {
		Dot(x, y)
	}
}
