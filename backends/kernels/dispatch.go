package kernels

// gemmAsm and softmaxAsm are set by the architecture files to assembly
// implementations; they report false when they cannot handle a call (level
// too low, or a shape they do not cover), and the generic code runs.
var (
	gemmAsm    func(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) bool
	softmaxAsm func(s []float32, rows, n, lds int, m, l, o []float32, d, ldo int) bool
)

func gemm(transA bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if level > Generic && gemmAsm != nil && gemmAsm(transA, m, n, k, a, lda, b, ldb, c, ldc, accumulate) {
		return
	}
	GemmGeneric(transA, m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

func onlineSoftmax(s []float32, rows, n, lds int, m, l, o []float32, d, ldo int) {
	if level > Generic && softmaxAsm != nil && softmaxAsm(s, rows, n, lds, m, l, o, d, ldo) {
		return
	}
	OnlineSoftmaxGeneric(s, rows, n, lds, m, l, o, d, ldo)
}
