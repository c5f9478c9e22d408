package kernels

//go:noescape
func groupSum512(dst, s, inv *float32, rows, T, G, lds int)

func init() {
	groupSumAsm = func(dst, s, inv []float32, rows, T, G, lds int) bool {
		if level < AVX512 || T%16 != 0 || G < 1 {
			return false
		}
		groupSum512(&dst[0], &s[0], &inv[0], rows, T, G, lds)
		return true
	}
}
