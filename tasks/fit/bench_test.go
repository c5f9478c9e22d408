package fit

import (
	"context"
	"fmt"
	"testing"

	"github.com/evalctl/evalctl/datasets/text"
	"github.com/evalctl/evalctl/tasks/internal/testmodel"
)

// BenchmarkFit32K fits a needle prompt in an essay haystack to 32K tokens
// with each test tokenizer, and reports what a fit costs: full-prompt
// tokenizations, all tokenizer calls, and the bytes tokenized per prompt
// byte.
func BenchmarkFit32K(b *testing.B) {
	for _, name := range tokNames {
		for _, src := range []struct {
			name string
			s    text.Source
		}{{"essay", text.Essays()}, {"noise", text.Noise()}} {
			b.Run(fmt.Sprintf("%s/%s", name, src.name), func(b *testing.B) {
				tok := tokenizeFunc(testmodel.Tokenizer(b, name))
				var full, calls, ratio float64
				for b.Loop() {
					res, err := Fit(context.Background(), tok, needleReq(32768, 0.5, src.s))
					if err != nil {
						b.Fatal(err)
					}
					full += float64(res.Stats.Full)
					calls += float64(res.Stats.Calls())
					ratio += float64(res.Stats.Bytes) / float64(len(res.Prompt))
				}
				n := float64(b.N)
				b.ReportMetric(full/n, "full-tokenizations/op")
				b.ReportMetric(calls/n, "tokenizer-calls/op")
				b.ReportMetric(ratio/n, "bytes-tokenized/prompt-byte")
			})
		}
	}
}
