package kernels

import "fmt"

// groupSumAsm is set on amd64 (AVX-512; AVX2 machines run the Go loop).
var groupSumAsm func(dst, s, inv []float32, rows, T, G, lds int) bool

// GroupSum sums weighted groups of columns: for each of rows rows of s (row
// stride lds) whose first G*T columns hold G groups of T,
// dst[i*T+j] = sum over a < G of s[i*lds + a*T + j] * inv[a*T + j].
// It is the group sum of InfLLM-V2's stage-1 scores, with the columns of a
// scoring tile ordered head-major.
func GroupSum(dst, s, inv []float32, rows, T, G, lds int) {
	if rows < 0 || T < 0 || G < 0 || lds < G*T || len(inv) < G*T || len(dst) < rows*T ||
		(rows > 0 && len(s) < (rows-1)*lds+G*T) {
		panic(fmt.Sprintf("kernels.GroupSum: rows=%d T=%d G=%d lds=%d: slices too short", rows, T, G, lds))
	}
	if rows == 0 || T == 0 {
		return
	}
	if G == 0 {
		clear(dst[:rows*T])
		return
	}
	if level > Generic && groupSumAsm != nil && groupSumAsm(dst, s, inv, rows, T, G, lds) {
		return
	}
	GroupSumGeneric(dst, s, inv, rows, T, G, lds)
}

// GroupSumGeneric is the reference of GroupSum.
func GroupSumGeneric(dst, s, inv []float32, rows, T, G, lds int) {
	for i := 0; i < rows; i++ {
		d := dst[i*T : (i+1)*T]
		clear(d)
		for a := 0; a < G; a++ {
			row := s[i*lds+a*T : i*lds+(a+1)*T]
			w := inv[a*T : (a+1)*T]
			for j := range d {
				d[j] += row[j] * w[j]
			}
		}
	}
}
