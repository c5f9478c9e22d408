package safetensors

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"
)

func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	err := Write(&buf, []Tensor{
		F32Tensor("a", []int{2, 2}, []float32{1, 2, 3, 4}),
		F16Tensor("b", []int{3}, []float32{1, -2, 65504}),
		BF16Tensor("c", nil, []float32{0.5}),
		f64Tensor("d", []int{1}, []float64{3}),
		{Name: "e", DType: I32, Shape: []int{1}, Data: []byte{1, 2, 3, 4}},
	}, map[string]string{"k": "v"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(rawFile(`{}`, 0))
	f.Add(rawFile(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}`, 2))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[5,6],"data_offsets":[0,100]}}`, 100))
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[2,6]}}`, 6))
	f.Add(rawFile(`{"__metadata__":{"a":"b"},"x":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}`, 1))
	f.Add([]byte{1, 2, 3})

	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, "fuzz")
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error %v is not a *FormatError", err)
			}
			return
		}
		var tensors []Tensor
		for _, name := range file.Names() {
			info, ok := file.Info(name)
			if !ok {
				t.Fatalf("Info(%q) missing", name)
			}
			raw, err := file.Raw(name)
			if err != nil || int64(len(raw)) != info.Size {
				t.Fatalf("Raw(%q) = %d bytes, %v; Info size %d", name, len(raw), err, info.Size)
			}
			vals, shape, err := file.Float32(name)
			if err == nil {
				size, _ := DTypeSize(info.DType)
				if int64(len(vals)*size) != info.Size || !slices.Equal(shape, info.Shape) {
					t.Fatalf("Float32(%q): %d values, shape %v; info %+v", name, len(vals), shape, info)
				}
			}
			tensors = append(tensors, Tensor{Name: name, DType: info.DType, Shape: info.Shape, Data: raw})
		}
		// Whatever parses can be written back and parses to the same thing.
		var buf bytes.Buffer
		if err := Write(&buf, tensors, file.Metadata()); err != nil {
			t.Fatalf("re-Write: %v", err)
		}
		again, err := Parse(buf.Bytes(), "rewritten")
		if err != nil {
			t.Fatalf("re-Parse: %v", err)
		}
		if !slices.Equal(again.Names(), file.Names()) || !maps.Equal(again.Metadata(), file.Metadata()) {
			t.Fatalf("rewrite changed names or metadata")
		}
		for _, tn := range tensors {
			info, _ := again.Info(tn.Name)
			raw, _ := again.Raw(tn.Name)
			if info.DType != tn.DType || !slices.Equal(info.Shape, tn.Shape) || !bytes.Equal(raw, tn.Data) {
				t.Fatalf("rewrite changed tensor %q", tn.Name)
			}
		}
	})
}
