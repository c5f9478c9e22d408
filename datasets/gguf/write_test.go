package gguf

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	metadata := sampleMetadata()
	tensors := sampleTensors(rand.New(rand.NewPCG(3, 4)))
	var buf bytes.Buffer
	if err := Write(&buf, metadata, tensors); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	f, err := Parse(data, "rt.gguf")
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != DefaultAlignment || f.DataOffset%DefaultAlignment != 0 {
		t.Fatalf("version %d, alignment %d, data offset %d", f.Version, f.Alignment, f.DataOffset)
	}
	if !metadataEqual(f.Metadata, metadata) {
		for i := range min(len(f.Metadata), len(metadata)) {
			if !metadataEqual(f.Metadata[i:i+1], metadata[i:i+1]) {
				t.Errorf("entry %d: got %s = %v, want %s = %v", i, f.Metadata[i].Key, f.Metadata[i].Value, metadata[i].Key, metadata[i].Value)
			}
		}
		t.Fatalf("metadata differs (%d entries, want %d)", len(f.Metadata), len(metadata))
	}
	if len(f.Tensors) != len(tensors) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(tensors))
	}
	var end uint64
	for i, want := range tensors {
		info := f.Tensors[i]
		dims := make([]uint64, len(want.Shape))
		for k, d := range want.Shape {
			dims[len(dims)-1-k] = uint64(d)
		}
		if info.Name != want.Name || info.Type != want.Type || !slices.Equal(info.Dims, dims) || !slices.Equal(info.Shape(), want.Shape) {
			t.Errorf("tensor %d: %+v, want %s %s shape %v", i, info, want.Name, want.Type, want.Shape)
		}
		if info.Offset%DefaultAlignment != 0 || info.Offset < end {
			t.Errorf("tensor %q: offset %d (previous end %d)", info.Name, info.Offset, end)
		}
		end = alignUp(info.Offset+info.Size(), DefaultAlignment)
		raw, err := f.Raw(want.Name)
		if err != nil || uint64(len(raw)) != info.Size() {
			t.Fatalf("Raw(%q): %d bytes, %v", want.Name, len(raw), err)
		}
		if want.Raw != nil {
			if !bytes.Equal(raw, want.Raw) {
				t.Errorf("Raw(%q) differs from the written bytes", want.Name)
			}
			continue
		}
		got, err := f.Float32(want.Name)
		if err != nil || len(got) != len(want.Data) {
			t.Fatalf("Float32(%q) = %d values, %v; want %d", want.Name, len(got), err, len(want.Data))
		}
		for k, x := range want.Data {
			var exp float32
			switch want.Type {
			case F32:
				exp = x
			case F16:
				exp = refF16Value(refF16(x))
			case BF16:
				exp = refBF16Value(refBF16(x))
			case Q8_0:
				checkQ8Element(t, want.Data[k/32*32:][:32], k%32, got[k])
				continue
			}
			if math.Float32bits(got[k]) != math.Float32bits(exp) {
				t.Errorf("%s[%d] = %v, want %v (from %v)", want.Name, k, got[k], exp, x)
			}
		}
	}
	if int64(len(data)) != f.DataOffset+int64(end) {
		t.Errorf("file is %d bytes, data section ends at %d", len(data), f.DataOffset+int64(end))
	}
	// Writing the parsed file back gives the same bytes.
	var again bytes.Buffer
	if err := Write(&again, f.Metadata, rawTensors(t, f)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), data) {
		t.Errorf("rewriting changed the bytes")
	}
}

// rawTensors returns f's tensors as raw Tensors for writing.
func rawTensors(t testing.TB, f *File) []Tensor {
	var out []Tensor
	for _, info := range f.Tensors {
		raw, err := f.Raw(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Tensor{Name: info.Name, Shape: info.Shape(), Type: info.Type, Raw: raw})
	}
	return out
}

func TestRoundTripExact(t *testing.T) {
	// Values representable in the target type survive exactly.
	f16s := []float32{0, 1, -2, 0.5, 65504, -65504, 0x1p-24, -0x1p-24, 0x1p-14, 1.0009765625, float32(math.Inf(1))}
	bf16s := []float32{0, 1, -3.140625, 0x1p-133, 3.3895314e38, float32(math.Inf(-1))}
	// Multiples of d = 1/8 whose block maximum is 127·d.
	var q8 []float32
	for k := -127; k < -127+32; k++ {
		q8 = append(q8, 0.125*float32(k))
	}
	q8 = append(q8, 0.125*127)
	for k := range 31 {
		q8 = append(q8, 0.125*float32(3*k-40))
	}
	var buf bytes.Buffer
	err := Write(&buf, nil, []Tensor{
		{Name: "f16", Shape: []int{len(f16s)}, Type: F16, Data: f16s},
		{Name: "bf16", Shape: []int{len(bf16s)}, Type: BF16, Data: bf16s},
		{Name: "q8", Shape: []int{2, 32}, Type: Q8_0, Data: q8},
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes(), "exact")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]float32{"f16": f16s, "bf16": bf16s, "q8": q8} {
		got, err := f.Float32(name)
		if err != nil || !bitsEqual(got, want) {
			t.Errorf("%s: %v, %v; want %v", name, got, err, want)
		}
	}
}

func TestRoundTripAlignment(t *testing.T) {
	for _, align := range []uint32{1, 2, 8, 32, 64, 4096} {
		tensors := []Tensor{
			{Name: "a", Shape: []int{3}, Type: F32, Data: []float32{1, 2, 3}},
			{Name: "b", Shape: []int{1, 32}, Type: Q8_0, Data: make([]float32, 32)},
			{Name: "c", Shape: []int{5}, Type: F16, Data: []float32{1, 2, 3, 4, 5}},
		}
		var buf bytes.Buffer
		if err := Write(&buf, []KV{String("x", "y"), Uint32(AlignmentKey, align)}, tensors); err != nil {
			t.Fatal(err)
		}
		f, err := Parse(buf.Bytes(), "aligned")
		if err != nil {
			t.Fatalf("alignment %d: %v", align, err)
		}
		if f.Alignment != int(align) || f.DataOffset%int64(align) != 0 {
			t.Errorf("alignment %d: got %d, data offset %d", align, f.Alignment, f.DataOffset)
		}
		for _, info := range f.Tensors {
			if info.Offset%uint64(align) != 0 {
				t.Errorf("alignment %d: tensor %s at offset %d", align, info.Name, info.Offset)
			}
		}
		last := f.Tensors[2]
		if want := f.DataOffset + int64(alignUp(last.Offset+last.Size(), uint64(align))); int64(buf.Len()) != want {
			t.Errorf("alignment %d: file is %d bytes, want %d", align, buf.Len(), want)
		}
		// The padding between the tensor infos and the data is zeros.
		data := buf.Bytes()
		if end := dataHeaderEnd(data, f); end > f.DataOffset || f.DataOffset-end >= int64(align) || !allZero(data[end:f.DataOffset]) {
			t.Errorf("alignment %d: header ends at %d, data section at %d", align, end, f.DataOffset)
		}
	}
}

// dataHeaderEnd returns the end of the tensor infos of f (parsed from data).
func dataHeaderEnd(data []byte, f *File) int64 {
	p := &parser{b: data, name: "x"}
	p.off = 24
	for range f.Metadata {
		p.str("")
		ty, _ := p.u32("")
		p.value(ValueType(ty), 0, "")
	}
	for range f.Tensors {
		p.str("")
		nd, _ := p.u32("")
		p.take(8*uint64(nd)+12, "")
	}
	return int64(p.off)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestWriteNoTensors(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []KV{Uint32("a", 1)}, nil); err != nil {
		t.Fatal(err)
	}
	// magic, version, counts, key "a" (8+1), type, value: no padding.
	if buf.Len() != 24+9+4+4 {
		t.Fatalf("%d bytes", buf.Len())
	}
	if _, err := Parse(buf.Bytes(), "meta-only"); err != nil {
		t.Fatal(err)
	}
}

func TestWriteErrors(t *testing.T) {
	ok := Tensor{Name: "ok", Shape: []int{2}, Type: F32, Data: []float32{1, 2}}
	nan := make([]float32, 32)
	nan[5] = float32(math.NaN())
	inf := make([]float32, 32)
	inf[31] = float32(math.Inf(-1))
	big := make([]float32, 32)
	big[0] = 1e7
	cases := []struct {
		name     string
		metadata []KV
		tensors  []Tensor
		msg      string
	}{
		{"duplicate key", []KV{Uint32("k", 1), String("k", "x")}, nil, `metadata key "k" (entry 1): duplicate key`},
		{"key utf8", []KV{Uint32("\xff", 1)}, nil, "key is not valid UTF-8"},
		{"zero value", []KV{{Key: "k"}}, nil, "invalid (zero) Value"},
		{"bad Go type", []KV{{Key: "k", Value: Value{x: 5}}}, nil, "Go type int is not a GGUF value type"},
		{"string utf8", []KV{String("k", "a\xffb")}, nil, "value: string is not valid UTF-8"},
		{"string array utf8", []KV{StringArray("k", []string{"a", "\xc0"})}, nil, "value[1]: string is not valid UTF-8"},
		{"nested utf8", []KV{Array("k", MustValue([]string{"\xc0"}))}, nil, "value[0][0]: string is not valid UTF-8"},
		{"array of scalar", []KV{Array("k", MustValue(uint32(1)))}, nil, "element 0 of an array of arrays is UINT32, want ARRAY"},
		{"alignment type", []KV{Int32(AlignmentKey, 32)}, nil, "have INT32, want UINT32"},
		{"alignment 3", []KV{Uint32(AlignmentKey, 3)}, nil, "alignment 3 is not a power of two"},
		{"alignment 0", []KV{Uint32(AlignmentKey, 0)}, nil, "alignment 0 is not a power of two"},
		{"duplicate tensor", nil, []Tensor{ok, ok}, `tensor "ok": duplicate name`},
		{"name utf8", nil, []Tensor{{Name: "\xff", Shape: []int{1}, Type: F32, Data: []float32{1}}}, "name is not valid UTF-8"},
		{"no shape", nil, []Tensor{{Name: "t", Type: F32, Data: []float32{1}}}, "has 0 dimensions, want 1 to 4"},
		{"5 dims", nil, []Tensor{{Name: "t", Shape: []int{1, 1, 1, 1, 1}, Type: F32, Data: []float32{1}}}, "has 5 dimensions"},
		{"negative dim", nil, []Tensor{{Name: "t", Shape: []int{2, -1}, Type: F32}}, "dimension 1 is negative"},
		{"overflow", nil, []Tensor{{Name: "t", Shape: []int{1 << 40, 1 << 40}, Type: F32}}, "element count overflows"},
		{"byte overflow", nil, []Tensor{{Name: "t", Shape: []int{1 << 62}, Type: F32}}, "size in bytes overflows"},
		{"unknown type", nil, []Tensor{{Name: "t", Shape: []int{1}, Type: GGMLType(4), Data: []float32{1}}}, "unknown tensor type GGMLType(4)"},
		{"q8 row", nil, []Tensor{{Name: "t", Shape: []int{32, 33}, Type: Q8_0, Data: make([]float32, 33*32)}}, "row length 33 (the last dimension) is not a multiple of the Q8_0 block size 32"},
		{"data length", nil, []Tensor{{Name: "t", Shape: []int{2, 2}, Type: F16, Data: []float32{1, 2, 3}}}, "Data holds 3 values, shape [2 2] needs 4"},
		{"raw length", nil, []Tensor{{Name: "t", Shape: []int{2}, Type: F32, Raw: make([]byte, 4)}}, "Raw holds 4 bytes, type F32 shape [2] needs 8"},
		{"data and raw", nil, []Tensor{{Name: "t", Shape: []int{1}, Type: F32, Data: []float32{1}, Raw: make([]byte, 4)}}, "both Data and Raw are set"},
		{"q4k needs raw", nil, []Tensor{{Name: "t", Shape: []int{256}, Type: Q4_K}}, "Raw holds 0 bytes, type Q4_K shape [256] needs 144"},
		{"q4k with data", nil, []Tensor{{Name: "t", Shape: []int{256}, Type: Q4_K, Data: make([]float32, 256)}}, "both Data and Raw are set (Type Q4_K needs Raw)"},
		{"q8 NaN", nil, []Tensor{ok, {Name: "t", Shape: []int{32}, Type: Q8_0, Data: nan}}, `tensor "t": element 5 is NaN`},
		{"q8 Inf", nil, []Tensor{{Name: "t", Shape: []int{32}, Type: Q8_0, Data: inf}}, "element 31 is -Inf"},
		{"q8 range", nil, []Tensor{{Name: "t", Shape: []int{32}, Type: Q8_0, Data: big}}, "exceeds the Q8_0 range of ±8319008"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, c.metadata, c.tensors)
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Write error = %v, want %q", err, c.msg)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written despite the error", buf.Len())
			}
			path := filepath.Join(t.TempDir(), "x.gguf")
			if err := WriteFile(path, c.metadata, c.tensors); err == nil {
				t.Fatal("WriteFile succeeded")
			}
			if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 0 {
				t.Errorf("WriteFile left %v", ents)
			}
		})
	}
}

func TestWriteFileOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.gguf")
	metadata := sampleMetadata()
	tensors := sampleTensors(rand.New(rand.NewPCG(5, 6)))
	if err := os.WriteFile(path, []byte("old contents"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, metadata, tensors); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "model.gguf" {
		t.Fatalf("directory holds %v", ents)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	data, _ := os.ReadFile(path)
	want, err := Parse(data, path)
	if err != nil {
		t.Fatal(err)
	}
	for _, opener := range []struct {
		name string
		open func(string) (*File, error)
	}{{"Open", Open}, {"readAll", readAll}} {
		f, err := opener.open(path)
		if err != nil {
			t.Fatalf("%s: %v", opener.name, err)
		}
		if f.Name() != path || !metadataEqual(f.Metadata, want.Metadata) || len(f.Tensors) != len(want.Tensors) {
			t.Fatalf("%s: differs from Parse", opener.name)
		}
		for _, info := range want.Tensors {
			a, err1 := f.Raw(info.Name)
			b, err2 := want.Raw(info.Name)
			if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
				t.Errorf("%s: Raw(%q) differs: %v %v", opener.name, info.Name, err1, err2)
			}
			if info.Type.codec() {
				a, err1 := f.Float32(info.Name)
				b, err2 := want.Float32(info.Name)
				if err1 != nil || err2 != nil || !bitsEqual(a, b) {
					t.Errorf("%s: Float32(%q) differs: %v %v", opener.name, info.Name, err1, err2)
				}
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := f.Raw(want.Tensors[0].Name); !errors.Is(err, ErrClosed) {
			t.Errorf("%s: Raw after Close: %v", opener.name, err)
		}
		if _, err := f.Float32(want.Tensors[0].Name); !errors.Is(err, ErrClosed) {
			t.Errorf("%s: Float32 after Close: %v", opener.name, err)
		}
		if _, ok := f.Tensor(want.Tensors[0].Name); !ok {
			t.Errorf("%s: Tensor after Close", opener.name)
		}
	}

	// Truncated, empty and non-regular files fail cleanly.
	for _, n := range []int{0, 3, 24, len(data) / 2, len(data) - 1} {
		p := filepath.Join(dir, "short.gguf")
		if err := os.WriteFile(p, data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		for _, open := range []func(string) (*File, error){Open, readAll} {
			var fe *FormatError
			if _, err := open(p); !errors.As(err, &fe) {
				t.Errorf("open of %d bytes: %v, want a *FormatError", n, err)
			}
		}
	}
	for _, open := range []func(string) (*File, error){Open, readAll} {
		if _, err := open(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("open(dir): %v", err)
		}
		if _, err := open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("open(missing): %v", err)
		}
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir.gguf"), nil, nil); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

// TestExportedFieldsAreCopies checks that changing a File's exported
// fields does not break its methods.
func TestExportedFieldsAreCopies(t *testing.T) {
	f, err := Parse(sampleFile(t), "x")
	if err != nil {
		t.Fatal(err)
	}
	name := f.Tensors[0].Name
	f.Tensors[0].Dims[0] = 1 << 40
	f.Tensors[0].Offset = 1 << 50
	f.Metadata[0].Value = Value{}
	if _, err := f.Float32(name); err != nil {
		t.Fatal(err)
	}
	if info, _ := f.Tensor(name); info.Dims[0] == 1<<40 {
		t.Error("Tensor returned the modified dims")
	}
	if s, err := f.String("general.architecture"); s != "llama" || err != nil {
		t.Errorf("String = %q, %v", s, err)
	}
}

// TestConcurrent reads tensors from several goroutines while the file is
// closed; run with -race.
func TestConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.gguf")
	if err := WriteFile(path, sampleMetadata(), sampleTensors(rand.New(rand.NewPCG(1, 9)))); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				for _, info := range f.Tensors {
					if _, err := f.Float32(info.Name); err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, errors.ErrUnsupported) {
						t.Error(err)
						return
					}
					if _, err := f.Uint("u32"); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		<-done
	}
}
