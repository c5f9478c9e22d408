package kernels

import "fmt"

// maxRowsAsm is set on amd64 (AVX-512; other levels run the Go loop).
var maxRowsAsm func(dst, src []float32, rows, T int) bool

// MaxRows sets dst[j] to the maximum of src[r*T+j] over rows r < rows
// (rows >= 1): the max-pool of InfLLM-V2's block scores over the kernels
// of a block's window, for T tokens at once.
func MaxRows(dst, src []float32, rows, T int) {
	if rows < 1 || T < 0 || len(dst) < T || len(src) < rows*T {
		panic(fmt.Sprintf("kernels.MaxRows: rows=%d T=%d: bad sizes", rows, T))
	}
	if T == 0 {
		return
	}
	if level > Generic && maxRowsAsm != nil && maxRowsAsm(dst, src, rows, T) {
		return
	}
	MaxRowsGeneric(dst, src, rows, T)
}

// MaxRowsGeneric is the reference of MaxRows.
func MaxRowsGeneric(dst, src []float32, rows, T int) {
	copy(dst[:T], src[:T])
	for r := 1; r < rows; r++ {
		for j, v := range src[r*T : (r+1)*T] {
			dst[j] = max(dst[j], v)
		}
	}
}
