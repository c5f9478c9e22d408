package kernels

//go:noescape
func dot512(a, b *float32, n int) float32

//go:noescape
func dot256(a, b *float32, n int) float32

//go:noescape
func axpy512(alpha float32, x, y *float32, n int)

//go:noescape
func axpy256(alpha float32, x, y *float32, n int)

func init() {
	dotAsm = func(a, b []float32) (float32, int) {
		switch {
		case level >= AVX512 && len(a) >= 16:
			n := len(a) &^ 15
			return dot512(&a[0], &b[0], n), n
		case level >= AVX2 && len(a) >= 8:
			n := len(a) &^ 7
			return dot256(&a[0], &b[0], n), n
		}
		return 0, 0
	}
	axpyAsm = func(alpha float32, x, y []float32) int {
		switch {
		case level >= AVX512 && len(x) >= 16:
			n := len(x) &^ 15
			axpy512(alpha, &x[0], &y[0], n)
			return n
		case level >= AVX2 && len(x) >= 8:
			n := len(x) &^ 7
			axpy256(alpha, &x[0], &y[0], n)
			return n
		}
		return 0
	}
}
