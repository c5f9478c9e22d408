package kernels

//go:noescape
func maxRows512(dst, src *float32, rows, T int)

func init() {
	maxRowsAsm = func(dst, src []float32, rows, T int) bool {
		if level < AVX512 || T%16 != 0 || T == 0 || rows < 1 {
			return false
		}
		maxRows512(&dst[0], &src[0], rows, T)
		return true
	}
}
