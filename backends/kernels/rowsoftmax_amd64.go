package kernels

//go:noescape
func rowSoftmax512(s *float32, n int) (m, l float32)

//go:noescape
func rowSoftmax256(s *float32, n int) (m, l float32)

func init() {
	rowSoftmaxAsm = func(s []float32) (m, l float32, ok bool) {
		switch {
		case level >= AVX512 && len(s)%16 == 0:
			m, l = rowSoftmax512(&s[0], len(s))
			return m, l, true
		case level >= AVX2 && len(s)%8 == 0:
			m, l = rowSoftmax256(&s[0], len(s))
			return m, l, true
		}
		return 0, 0, false
	}
}
