package attention_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/evalctl/evalctl/backends/attention"
)

// A prefill of 1000 tokens with InfLLM-V2 sparse attention whose budget is
// exactly its forced blocks: the first block and the two before the query's
// own.
func ExampleNewSparse() {
	shape := attention.Shape{Heads: 4, KVHeads: 2, HeadDim: 16}
	cfg := attention.DefaultSparse()
	cfg.LocalBlocks, cfg.TopK = 2, 4
	mode, err := attention.NewSparse(cfg)
	if err != nil {
		panic(err)
	}

	n := 1000
	r := rand.New(rand.NewPCG(1, 2))
	random := func(size int) []float32 {
		x := make([]float32, size)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		return x
	}
	c := attention.NewCache(shape, n)
	if err := c.Append(random(shape.KVSize(n)), random(shape.KVSize(n)), nil); err != nil {
		panic(err)
	}
	q := attention.Query{M: n, Q: random(shape.QSize(n))}
	out := make([]float32, shape.QSize(n))
	st := &attention.Stats{RecordSelection: true}
	if err := mode.Forward(c, q, out, st); err != nil {
		panic(err)
	}
	fmt.Println("last token, KV head 0, blocks:", st.Selected[(n-1)*shape.KVHeads])
	fmt.Printf("attended %d of %d visible keys\n", st.Tokens, st.VisibleTokens)
	// Output:
	// last token, KV head 0, blocks: [0 13 14 15]
	// attended 398888 of 1001000 visible keys
}
