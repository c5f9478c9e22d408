package kernels

// rowSoftmaxAsm is set on amd64; it reports false for lengths it does not
// cover.
var rowSoftmaxAsm func(s []float32) (m, l float32, ok bool)

// RowSoftmax turns a row of base-2 scores into unnormalised probabilities:
// m = max(s), s[i] = 2^(s[i] - m) (exactly 0 where s[i] <= Masked/2), and
// returns m and l = sum(s). An empty or fully masked row gives l = 0.
func RowSoftmax(s []float32) (m, l float32) {
	if len(s) == 0 {
		return Masked, 0
	}
	if level > Generic && rowSoftmaxAsm != nil {
		if m, l, ok := rowSoftmaxAsm(s); ok {
			return m, l
		}
	}
	return RowSoftmaxGeneric(s)
}

// RowSoftmaxGeneric is the reference of RowSoftmax.
func RowSoftmaxGeneric(s []float32) (m, l float32) {
	const half = Masked / 2
	m = half
	for _, v := range s {
		m = max(m, v)
	}
	for i, v := range s {
		e := float32(0)
		if v > half {
			e = Exp2Generic(v - m)
		}
		s[i] = e
		l += e
	}
	return m, l
}
