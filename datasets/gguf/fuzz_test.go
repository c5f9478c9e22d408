package gguf

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add(sampleFile(f))
	f.Add(handBuilt())
	for _, md := range sampleMetadata() {
		var buf bytes.Buffer
		if err := Write(&buf, []KV{md}, nil); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	for _, tn := range sampleTensors(rand.New(rand.NewPCG(1, 1))) {
		var buf bytes.Buffer
		if err := Write(&buf, []KV{Uint32(AlignmentKey, 8)}, []Tensor{tn}); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add((&builder{}).header(2, 0, 0).b)
	f.Add([]byte("GGUF"))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParseProperty(t, data)
	})
}

// checkParseProperty asserts that Parse either fails with a *FormatError or
// returns a File whose every method works, and which writes back (with
// tensors copied raw) into a file that parses to the same metadata and
// tensors.
func checkParseProperty(t *testing.T, data []byte) {
	f, err := Parse(data, "fuzz")
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("Parse error %v (%T) is not a *FormatError", err, err)
		}
		return
	}
	exercise(t, f)
	var buf bytes.Buffer
	if err := Write(&buf, f.Metadata, rawTensors(t, f)); err != nil {
		t.Fatalf("re-Write: %v", err)
	}
	again, err := Parse(buf.Bytes(), "rewritten")
	if err != nil {
		t.Fatalf("re-Parse: %v", err)
	}
	if again.Alignment != f.Alignment || !metadataEqual(again.Metadata, f.Metadata) || len(again.Tensors) != len(f.Tensors) {
		t.Fatalf("rewriting changed the alignment, metadata or tensor count")
	}
	for i, a := range f.Tensors {
		b := again.Tensors[i]
		ra, _ := f.Raw(a.Name)
		rb, _ := again.Raw(b.Name)
		if a.Name != b.Name || a.Type != b.Type || !slices.Equal(a.Dims, b.Dims) || !bytes.Equal(ra, rb) {
			t.Fatalf("rewriting changed tensor %q: %+v -> %+v", a.Name, a, b)
		}
	}
}

// exercise calls every accessor of f; none may panic.
func exercise(t *testing.T, f *File) {
	for _, kv := range f.Metadata {
		v, ok := f.Get(kv.Key)
		if !ok || !valueEqual(v, kv.Value) {
			t.Fatalf("Get(%q) differs from Metadata", kv.Key)
		}
		f.String(kv.Key)
		f.Bool(kv.Key)
		f.Uint(kv.Key)
		f.Int(kv.Key)
		f.Float(kv.Key)
		f.Strings(kv.Key)
		f.Float32s(kv.Key)
		f.Ints(kv.Key)
		_ = v.String()
		for i := range min(v.Len(), 4) {
			v.Index(i).AsFloat()
		}
	}
	for _, info := range f.Tensors {
		got, ok := f.Tensor(info.Name)
		if !ok || !slices.Equal(got.Dims, info.Dims) {
			t.Fatalf("Tensor(%q) differs from Tensors", info.Name)
		}
		_ = info.Shape()
		raw, err := f.Raw(info.Name)
		if err != nil || uint64(len(raw)) != info.Size() {
			t.Fatalf("Raw(%q) = %d bytes, %v; want %d", info.Name, len(raw), err, info.Size())
		}
		vals, err := f.Float32(info.Name)
		if info.Type.codec() != (err == nil) {
			t.Fatalf("Float32(%q) of type %s: %v", info.Name, info.Type, err)
		}
		if err == nil && uint64(len(vals)) != info.NumElements() {
			t.Fatalf("Float32(%q) = %d values, want %d", info.Name, len(vals), info.NumElements())
		}
	}
}

// TestTruncation cuts valid files at every length: each prefix must fail
// with a *FormatError.
func TestTruncation(t *testing.T) {
	for name, data := range map[string][]byte{"written": sampleFile(t), "hand-built": handBuilt()} {
		if _, err := Parse(data, name); err != nil {
			t.Fatal(err)
		}
		for n := range len(data) {
			prefix := slices.Clone(data[:n]) // exact capacity
			_, err := Parse(prefix, name)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("%s cut to %d of %d bytes: Parse error %v, want a *FormatError", name, n, len(data), err)
			}
		}
	}
}

// TestCorruption changes bytes of a valid file: Parse must never panic, and
// whatever still parses must behave (see checkParseProperty).
func TestCorruption(t *testing.T) {
	data := sampleFile(t)
	hdrEnd := len(data)
	if f, err := Parse(data, "x"); err == nil {
		hdrEnd = int(f.DataOffset)
	}
	masks := []byte{0x01, 0x02, 0x10, 0x80, 0xff}
	if raceEnabled {
		masks = []byte{0x01, 0xff}
	}
	for i := range hdrEnd {
		for _, m := range masks {
			c := slices.Clone(data)
			c[i] ^= m
			checkParseProperty(t, c)
		}
	}
	// Random damage anywhere, including the data section.
	r := rand.New(rand.NewPCG(17, 18))
	n := 3000
	if raceEnabled {
		n = 500
	}
	for range n {
		c := slices.Clone(data)
		for range 1 + r.IntN(4) {
			c[r.IntN(len(c))] = byte(r.Uint32())
		}
		if r.IntN(4) == 0 {
			c = c[:r.IntN(len(c))]
		}
		checkParseProperty(t, c)
	}
}
