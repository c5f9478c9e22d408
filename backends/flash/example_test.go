package flash_test

import (
	"fmt"
	"math"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/flash"
)

// The fast sparse mode computes what the reference computes.
func ExampleNewSparse() {
	s := attention.Shape{Heads: 4, KVHeads: 1, HeadDim: 32}
	n := 2000
	c := attention.NewCache(s, n)
	k := make([]float32, s.KVSize(n))
	v := make([]float32, s.KVSize(n))
	for i := range k {
		k[i] = float32(math.Sin(float64(i)))
		v[i] = float32(math.Cos(float64(i)))
	}
	c.Append(k, v, nil)
	q := attention.Query{M: 8, Q: k[:s.QSize(8)]}
	cfg := attention.DefaultSparse()
	cfg.TopK, cfg.LocalBlocks = 8, 2
	fast, _ := flash.NewSparse(cfg, 0)
	ref, _ := attention.NewSparse(cfg)
	a, b := make([]float32, s.QSize(8)), make([]float32, s.QSize(8))
	fast.Forward(c, q, a, nil)
	ref.Forward(c, q, b, nil)
	var worst float64
	for i := range a {
		worst = max(worst, math.Abs(float64(a[i]-b[i])))
	}
	fmt.Println(worst < 1e-5)
	// Output: true
}
