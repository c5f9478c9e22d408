package kernels

import (
	"math/rand/v2"
	"testing"
)

// TestAsmTakesHotShapes makes sure the assembly (not the generic
// fallback) runs for the shapes of the attention engine at every level
// above Generic, and declines what it does not cover.
func TestAsmTakesHotShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	a, b, c := randSlice(r, 128*512), randSlice(r, 256*64), make([]float32, 256*64)
	s, o := randSlice(r, 256*64), make([]float32, 128*64)
	m, l := make([]float32, 64), make([]float32, 64)
	for _, lv := range levels()[1:] {
		atLevel(lv, func() {
			for _, n := range []int{16, 32, 48, 64, 80, 128} {
				if !gemmAsm(false, 64, n, 64, a, 512, b, n, c, n, false) || !gemmAsm(true, 64, n, 64, a, 512, b, n, c, n, true) {
					t.Errorf("level %v: gemm n=%d fell back to generic", lv, n)
				}
			}
			for _, n := range []int{8, 16, 24, 64} {
				if !softmaxAsm(s, 64, n, n, m, l, o, 64, n) {
					t.Errorf("level %v: softmax n=%d fell back to generic", lv, n)
				}
			}
			if gemmAsm(false, 4, 17, 4, a, 4, b, 17, c, 17, false) || gemmAsm(false, 4, 16, 0, a, 4, b, 16, c, 16, false) ||
				gemmAsm(false, 4, 16, 4, a, -1, b, 16, c, 16, false) || gemmAsm(false, 4, 16, 4, a, 4, b, 16, c, 8, false) {
				t.Errorf("level %v: gemm accepted a shape it does not cover", lv)
			}
			if softmaxAsm(s, 4, 17, 17, m, l, o, 4, 17) || softmaxAsm(s, 4, 16, 8, m, l, o, 4, 16) {
				t.Errorf("level %v: softmax accepted a shape it does not cover", lv)
			}
		})
	}
	atLevel(Generic, func() {
		if gemmAsm(false, 64, 64, 64, a, 512, b, 64, c, 64, false) || softmaxAsm(s, 64, 64, 64, m, l, o, 64, 64) {
			t.Error("level generic: assembly ran")
		}
	})
}

func TestNoAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	a, b, c := randSlice(r, 64*64), randSlice(r, 64*64), make([]float32, 64*64)
	s, o := randSlice(r, 64*64), make([]float32, 64*64)
	m, l := make([]float32, 64), make([]float32, 64)
	for _, lv := range levels() {
		atLevel(lv, func() {
			if n := testing.AllocsPerRun(20, func() {
				GemmNN(64, 64, 64, a, 64, b, 64, c, 64, false)
				GemmTN(64, 64, 64, a, 64, b, 64, c, 64, true)
				OnlineSoftmax(s, 64, 64, 64, m, l, o, 64, 64)
			}); n != 0 {
				t.Errorf("level %v: %v allocations per run", lv, n)
			}
		})
	}
}
