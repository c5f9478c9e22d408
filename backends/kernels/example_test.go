package kernels_test

import (
	"fmt"

	"github.com/evalctl/evalctl/backends/kernels"
)

// GemmNN multiplies row-major matrices with explicit strides; the same call
// runs the AVX-512, AVX2 or pure-Go code, whichever the CPU allows.
func ExampleGemmNN() {
	a := []float32{1, 2, 3, 4} // 2x2
	b := make([]float32, 2*16) // 2x16
	for j := 0; j < 16; j++ {
		b[j], b[16+j] = 1, float32(j)
	}
	c := make([]float32, 2*16)
	kernels.GemmNN(2, 16, 2, a, 2, b, 16, c, 16, false)
	fmt.Println(c[0], c[1], c[15], c[16], c[31])
	// Output: 1 3 31 3 63
}
