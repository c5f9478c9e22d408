package tokenizer_test

import (
	"fmt"

	"github.com/evalctl/evalctl/backends/model/tokenizer"
)

// A SentencePiece-style vocabulary as a GGUF file stores it: no merge list,
// the scores rank the merges.
func ExampleFromVocab() {
	tk, err := tokenizer.FromVocab(tokenizer.Vocab{
		Model:  "llama",
		Tokens: []string{"<unk>", "<s>", "▁", "h", "i", "hi", "▁hi"},
		Scores: []float32{0, 0, 0, 0, 0, -1, -2},
		Types: []int32{tokenizer.TokenUnknown, tokenizer.TokenControl,
			tokenizer.TokenNormal, tokenizer.TokenNormal, tokenizer.TokenNormal,
			tokenizer.TokenNormal, tokenizer.TokenNormal},
		BOS: 1, EOS: -1, UNK: 0,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ids := tk.Encode("<s>hi hi")
	fmt.Println(ids, tk.Decode(ids[1:]))
	v, _ := tk.Vocab()
	fmt.Println(v.Model, len(v.Tokens), v.BOS)
	// Output:
	// [1 6 6] hi hi
	// llama 7 1
}
