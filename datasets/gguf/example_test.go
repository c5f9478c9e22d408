package gguf_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/evalctl/evalctl/datasets/gguf"
)

func Example() {
	var buf bytes.Buffer
	err := gguf.Write(&buf, []gguf.KV{
		gguf.String("general.architecture", "llama"),
		gguf.Uint32("llama.context_length", 4096),
		gguf.Float32("llama.rope.freq_base", 10000),
		gguf.StringArray("tokenizer.ggml.tokens", []string{"<s>", "</s>", "hello"}),
	}, []gguf.Tensor{
		// Shape is in numpy order: 2 rows of 3.
		{Name: "norm.weight", Shape: []int{2, 3}, Type: gguf.F32, Data: []float32{1, 2, 3, 4, 5, 6}},
		{Name: "proj.weight", Shape: []int{1, 32}, Type: gguf.Q8_0, Data: make([]float32, 32)},
		{Name: "bias", Shape: []int{3}, Type: gguf.F16, Data: []float32{0.1, -2, 65504}},
	})
	if err != nil {
		log.Fatal(err)
	}

	// Open(path) reads a file from disk the same way.
	f, err := gguf.Parse(buf.Bytes(), "example.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	arch, _ := f.String("general.architecture")
	ctx, _ := f.Uint("llama.context_length")
	base, _ := f.Float("llama.rope.freq_base")
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	fmt.Println(arch, ctx, base, tokens)
	if _, err := f.String("general.name"); err != nil {
		fmt.Println(err)
	}
	for _, t := range f.Tensors {
		vals, err := f.Float32(t.Name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s dims %v shape %v offset %d: %v\n", t.Name, t.Type, t.Dims, t.Shape(), t.Offset, vals[:min(len(vals), 6)])
	}
	// Output:
	// llama 4096 10000 [<s> </s> hello]
	// example.gguf: metadata key "general.name": not found (want STRING)
	// norm.weight F32 dims [3 2] shape [2 3] offset 0: [1 2 3 4 5 6]
	// proj.weight Q8_0 dims [32 1] shape [1 32] offset 32: [0 0 0 0 0 0]
	// bias F16 dims [3] shape [3] offset 96: [0.099975586 -2 65504]
}
