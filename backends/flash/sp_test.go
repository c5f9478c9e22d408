package flash

import (
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
)

func BenchmarkSparseOnly(b *testing.B) {
	c, q := benchInput(131072, 64)
	out := make([]float32, len(q.Q))
	sp, _ := NewSparse(attention.DefaultSparse(), 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		sp.Forward(c, q, out, nil)
	}
}
