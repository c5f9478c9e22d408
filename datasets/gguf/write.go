package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"unicode/utf8"
)

// Tensor is one tensor to write.
//
// By default the writer converts Data, Shape's elements in row-major
// order, to Type, which must then be F32, F16 (round to nearest, ties to
// even; beyond ±65504 becomes ±Inf), BF16 (round to nearest, ties to even)
// or Q8_0 (see the package documentation; Data must be finite and the
// innermost dimension a multiple of 32).
//
// If Raw is non-nil, or Type is one the writer cannot encode (such as Q4_K),
// Raw holds the tensor's bytes already encoded as Type and is written as
// is; Data must then be nil. This copies tensors between files unchanged:
// Raw: f.Raw(name).
type Tensor struct {
	Name string
	// Shape is in numpy order (outermost first), 1 to 4 dimensions; it is
	// stored reversed as the GGUF dims.
	Shape []int
	Type  GGMLType
	Data  []float32
	Raw   []byte
}

// Write writes a version 3 GGUF file holding metadata, in order, and
// tensors, in order, to w.
//
// Metadata keys must be unique and valid UTF-8, and every value valid (not
// the zero Value, strings valid UTF-8, arrays of arrays holding arrays,
// nested at most MaxArrayDepth deep). A "general.alignment" entry must be a
// UINT32 power of two; it sets the alignment, otherwise DefaultAlignment.
// Tensor names must be unique and valid UTF-8. Tensor data is laid out
// contiguously in order, each tensor padded with zeros to the alignment.
//
// Everything is validated before anything is written; a validation error
// names the key or tensor at fault.
func Write(w io.Writer, metadata []KV, tensors []Tensor) error {
	p, err := plan(metadata, tensors)
	if err != nil {
		return err
	}
	return p.writeTo(w)
}

// WriteFile writes a GGUF file to path (see [Write]). The file is written
// under a temporary name in the same directory, synced, given mode 0644 and
// then renamed to path, so that path never holds a partial file; on failure
// the temporary file is removed.
func WriteFile(path string, metadata []KV, tensors []Tensor) (err error) {
	p, err := plan(metadata, tensors)
	if err != nil {
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := p.writeTo(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

type writePlan struct {
	header  []byte // magic to the end of the tensor infos
	align   uint64
	tensors []plannedTensor
}

type plannedTensor struct {
	t    *Tensor
	size uint64
	raw  bool
}

// plan validates the input and encodes the header.
func plan(metadata []KV, tensors []Tensor) (*writePlan, error) {
	p := &writePlan{align: DefaultAlignment}
	seen := make(map[string]bool, len(metadata))
	for i, kv := range metadata {
		fail := func(format string, args ...any) error {
			return fmt.Errorf("gguf: write: metadata key %q (entry %d): %s", kv.Key, i, fmt.Sprintf(format, args...))
		}
		if !utf8.ValidString(kv.Key) {
			return nil, fail("key is not valid UTF-8")
		}
		if seen[kv.Key] {
			return nil, fail("duplicate key")
		}
		seen[kv.Key] = true
		if err := kv.Value.check(0); err != nil {
			return nil, fail("%v", err)
		}
		if err := checkUTF8(kv.Value, "value"); err != nil {
			return nil, fail("%v", err)
		}
		if kv.Key == AlignmentKey {
			a, ok := kv.Value.x.(uint32)
			if !ok {
				return nil, fail("have %s, want UINT32", kv.Value.typeName())
			}
			if a == 0 || a&(a-1) != 0 {
				return nil, fail("alignment %d is not a power of two", a)
			}
			p.align = uint64(a)
		}
	}

	names := make(map[string]bool, len(tensors))
	p.tensors = make([]plannedTensor, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		size, raw, err := checkTensor(t)
		if err != nil {
			return nil, err
		}
		if names[t.Name] {
			return nil, fmt.Errorf("gguf: write: tensor %q: duplicate name", t.Name)
		}
		names[t.Name] = true
		p.tensors[i] = plannedTensor{t: t, size: size, raw: raw}
	}

	le := binary.LittleEndian
	h := append([]byte(nil), magic[:]...)
	h = le.AppendUint32(h, 3)
	h = le.AppendUint64(h, uint64(len(tensors)))
	h = le.AppendUint64(h, uint64(len(metadata)))
	for _, kv := range metadata {
		h = appendString(h, kv.Key)
		h = le.AppendUint32(h, uint32(kv.Value.Type()))
		h = appendValue(h, kv.Value)
	}
	var off uint64
	for _, pt := range p.tensors {
		t := pt.t
		h = appendString(h, t.Name)
		h = le.AppendUint32(h, uint32(len(t.Shape)))
		for k := len(t.Shape) - 1; k >= 0; k-- {
			h = le.AppendUint64(h, uint64(t.Shape[k]))
		}
		h = le.AppendUint32(h, uint32(t.Type))
		h = le.AppendUint64(h, off)
		next := alignUp(off+pt.size, p.align)
		if next < off {
			return nil, fmt.Errorf("gguf: write: tensor %q: the data section exceeds 2^64 bytes", t.Name)
		}
		off = next
	}
	p.header = h
	return p, nil
}

// checkTensor validates t and returns its encoded size and whether Raw
// holds its bytes.
func checkTensor(t *Tensor) (size uint64, raw bool, err error) {
	fail := func(format string, args ...any) (uint64, bool, error) {
		return 0, false, fmt.Errorf("gguf: write: tensor %q: %s", t.Name, fmt.Sprintf(format, args...))
	}
	if !utf8.ValidString(t.Name) {
		return fail("name is not valid UTF-8")
	}
	if len(t.Shape) == 0 || len(t.Shape) > MaxDims {
		return fail("shape %v has %d dimensions, want 1 to %d", t.Shape, len(t.Shape), MaxDims)
	}
	n, empty := uint64(1), false
	for k, d := range t.Shape {
		if d < 0 {
			return fail("shape %v: dimension %d is negative", t.Shape, k)
		}
		if d == 0 {
			empty = true
			continue
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return fail("shape %v: the element count overflows", t.Shape)
		}
		n = lo
	}
	if empty {
		n = 0
	}
	tr, known := ggmlTypes[t.Type]
	if !known {
		return fail("unknown tensor type %s", t.Type)
	}
	if row := t.Shape[len(t.Shape)-1]; row%tr.blockSize != 0 {
		return fail("shape %v: row length %d (the last dimension) is not a multiple of the %s block size %d", t.Shape, row, t.Type, tr.blockSize)
	}
	hi, size := bits.Mul64(n/uint64(tr.blockSize), uint64(tr.typeSize))
	if hi != 0 || size > math.MaxInt {
		return fail("shape %v: the size in bytes overflows", t.Shape)
	}
	raw = t.Raw != nil || !t.Type.codec()
	if raw {
		if t.Data != nil {
			return fail("both Data and Raw are set (Type %s needs Raw)", t.Type)
		}
		if uint64(len(t.Raw)) != size {
			return fail("Raw holds %d bytes, type %s shape %v needs %d", len(t.Raw), t.Type, t.Shape, size)
		}
		return size, true, nil
	}
	if uint64(len(t.Data)) != n {
		return fail("Data holds %d values, shape %v needs %d", len(t.Data), t.Shape, n)
	}
	if t.Type == Q8_0 {
		if err := checkQ8(t.Data); err != nil {
			return fail("%v", err)
		}
	}
	return size, false, nil
}

// checkUTF8 reports a string in v that is not valid UTF-8.
func checkUTF8(v Value, path string) error {
	switch x := v.x.(type) {
	case string:
		if !utf8.ValidString(x) {
			return fmt.Errorf("%s: string is not valid UTF-8", path)
		}
	case []string:
		for i, s := range x {
			if !utf8.ValidString(s) {
				return fmt.Errorf("%s[%d]: string is not valid UTF-8", path, i)
			}
		}
	case []Value:
		for i, e := range x {
			if err := checkUTF8(e, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// appendValue appends the encoding of v (checked), without its type.
func appendValue(b []byte, v Value) []byte {
	le := binary.LittleEndian
	switch x := v.x.(type) {
	case uint8:
		return append(b, x)
	case int8:
		return append(b, byte(x))
	case uint16:
		return le.AppendUint16(b, x)
	case int16:
		return le.AppendUint16(b, uint16(x))
	case uint32:
		return le.AppendUint32(b, x)
	case int32:
		return le.AppendUint32(b, uint32(x))
	case float32:
		return le.AppendUint32(b, math.Float32bits(x))
	case bool:
		if x {
			return append(b, 1)
		}
		return append(b, 0)
	case string:
		return appendString(b, x)
	case uint64:
		return le.AppendUint64(b, x)
	case int64:
		return le.AppendUint64(b, uint64(x))
	case float64:
		return le.AppendUint64(b, math.Float64bits(x))
	}
	// An array: element type, count, elements.
	b = le.AppendUint32(b, uint32(v.ElemType()))
	b = le.AppendUint64(b, uint64(v.Len()))
	switch x := v.x.(type) {
	case []uint8:
		return append(b, x...)
	case []string:
		for _, s := range x {
			b = appendString(b, s)
		}
		return b
	case []Value:
		// Each element is an array, encoded like a top-level ARRAY value.
		for _, e := range x {
			b = appendValue(b, e)
		}
		return b
	case []int8:
		return appendEach(b, x, func(b []byte, e int8) []byte { return append(b, byte(e)) })
	case []uint16:
		return appendEach(b, x, le.AppendUint16)
	case []int16:
		return appendEach(b, x, func(b []byte, e int16) []byte { return le.AppendUint16(b, uint16(e)) })
	case []uint32:
		return appendEach(b, x, le.AppendUint32)
	case []int32:
		return appendEach(b, x, func(b []byte, e int32) []byte { return le.AppendUint32(b, uint32(e)) })
	case []float32:
		return appendEach(b, x, func(b []byte, e float32) []byte { return le.AppendUint32(b, math.Float32bits(e)) })
	case []bool:
		return appendEach(b, x, func(b []byte, e bool) []byte {
			if e {
				return append(b, 1)
			}
			return append(b, 0)
		})
	case []uint64:
		return appendEach(b, x, le.AppendUint64)
	case []int64:
		return appendEach(b, x, func(b []byte, e int64) []byte { return le.AppendUint64(b, uint64(e)) })
	case []float64:
		return appendEach(b, x, func(b []byte, e float64) []byte { return le.AppendUint64(b, math.Float64bits(e)) })
	}
	panic("gguf: appendValue: unchecked value of Go type " + fmt.Sprintf("%T", v.x))
}

func appendEach[T any](b []byte, s []T, put func([]byte, T) []byte) []byte {
	for _, e := range s {
		b = put(b, e)
	}
	return b
}

// chunkElems is how many values are converted at a time while writing (a
// multiple of the Q8_0 block length).
const chunkElems = 1 << 16

func (p *writePlan) writeTo(w io.Writer) error {
	if _, err := w.Write(p.header); err != nil {
		return fmt.Errorf("gguf: write: %w", err)
	}
	pos := uint64(len(p.header))
	zeros := make([]byte, 4096)
	pad := func(what string) error {
		for n := alignUp(pos, p.align) - pos; n > 0; {
			k := min(n, uint64(len(zeros)))
			if _, err := w.Write(zeros[:k]); err != nil {
				return fmt.Errorf("gguf: write: %s: %w", what, err)
			}
			n -= k
			pos += k
		}
		return nil
	}
	if len(p.tensors) == 0 {
		// No data section: a file without tensors ends after its header.
		return nil
	}
	if err := pad("padding"); err != nil {
		return err
	}
	var buf []byte
	for _, pt := range p.tensors {
		t := pt.t
		what := fmt.Sprintf("tensor %q", t.Name)
		if pt.raw {
			if _, err := w.Write(t.Raw); err != nil {
				return fmt.Errorf("gguf: write: %s: %w", what, err)
			}
		} else {
			for i := 0; i < len(t.Data); i += chunkElems {
				buf = encode(buf[:0], t.Type, t.Data[i:min(i+chunkElems, len(t.Data))])
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("gguf: write: %s: %w", what, err)
				}
			}
		}
		pos += pt.size
		if err := pad(what); err != nil {
			return err
		}
	}
	return nil
}
