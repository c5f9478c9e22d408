package safetensors_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/evalctl/evalctl/datasets/safetensors"
)

func Example() {
	var buf bytes.Buffer
	err := safetensors.Write(&buf, []safetensors.Tensor{
		safetensors.F32Tensor("layers.0.q", []int{2, 2}, []float32{1, 2, 3, 4}),
		safetensors.F16Tensor("layers.0.k", []int{3}, []float32{0.1, -2, 65504}),
		safetensors.BF16Tensor("scale", nil, []float32{0.1}),
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}

	// Open(path) reads a file from disk the same way.
	f, err := safetensors.Parse(buf.Bytes(), "example.safetensors")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()

	fmt.Println("metadata:", f.Metadata())
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		vals, _, err := f.Float32(name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s %v %d bytes: %v\n", name, info.DType, info.Shape, info.Size, vals)
	}
	// Output:
	// metadata: map[format:pt]
	// layers.0.k F16 [3] 6 bytes: [0.099975586 -2 65504]
	// layers.0.q F32 [2 2] 16 bytes: [1 2 3 4]
	// scale BF16 [] 2 bytes: [0.100097656]
}
