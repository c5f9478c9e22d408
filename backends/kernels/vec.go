package kernels

import "fmt"

// dotAsm and axpyAsm are set on amd64: they handle a prefix of the vectors
// and report its length; the rest runs in Go.
var (
	dotAsm  func(a, b []float32) (float32, int)
	axpyAsm func(alpha float32, x, y []float32) int
)

// Dot returns the dot product of a and b (equal lengths).
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("kernels.Dot: lengths %d and %d", len(a), len(b)))
	}
	var s float32
	done := 0
	if level > Generic && dotAsm != nil {
		s, done = dotAsm(a, b)
	}
	for i := done; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

// DotGeneric is the reference of Dot.
func DotGeneric(a, b []float32) float32 {
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// Axpy computes y += alpha*x (equal lengths).
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("kernels.Axpy: lengths %d and %d", len(x), len(y)))
	}
	done := 0
	if level > Generic && axpyAsm != nil {
		done = axpyAsm(alpha, x, y)
	}
	for i := done; i < len(x); i++ {
		y[i] += alpha * x[i]
	}
}

// AxpyGeneric is the reference of Axpy.
func AxpyGeneric(alpha float32, x, y []float32) {
	for i := range x {
		y[i] += alpha * x[i]
	}
}
