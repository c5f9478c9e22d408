package safetensors

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Tensor is one tensor to write: Data holds its elements in row-major order
// as little-endian bytes, exactly DTypeSize(DType) × product(Shape) of them.
// An empty Shape denotes a scalar (one element).
type Tensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// F32Tensor returns an F32 tensor holding data. The shape is copied; Write
// reports an error if len(data) does not match it.
func F32Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), Data: b}
}

// F16Tensor returns an F16 tensor holding data rounded to half precision
// (round to nearest, ties to even; values beyond ±65504 round to ±Inf).
func F16Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(b[2*i:], f32ToF16(v))
	}
	return Tensor{Name: name, DType: F16, Shape: slices.Clone(shape), Data: b}
}

// BF16Tensor returns a BF16 tensor holding data rounded to bfloat16 (round to
// nearest, ties to even).
func BF16Tensor(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(b[2*i:], f32ToBF16(v))
	}
	return Tensor{Name: name, DType: BF16, Shape: slices.Clone(shape), Data: b}
}

// Write writes tensors and metadata (which may be nil) to w as a
// safetensors file. Tensor names must be unique, valid UTF-8 and not
// "__metadata__"; each tensor's Data must match its DType and Shape.
// Tensors are laid out in sorted name order, and the header is padded with
// spaces to a multiple of 8 bytes. Nothing is written if validation fails.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header, order, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(header)))
	if _, err := w.Write(prefix[:]); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("safetensors: write: %w", err)
	}
	for _, t := range order {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("safetensors: write: tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// WriteFile writes a safetensors file to path (see [Write]), creating or
// truncating it. On failure the partially written file is removed.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	// Validate before touching the file system.
	if _, _, err := encodeHeader(tensors, metadata); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := Write(bw, tensors, metadata); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// encodeHeader validates tensors and returns the padded JSON header and the
// tensors in data order.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, []*Tensor, error) {
	order := make([]*Tensor, len(tensors))
	for i := range tensors {
		order[i] = &tensors[i]
	}
	slices.SortFunc(order, func(a, b *Tensor) int { return cmp.Compare(a.Name, b.Name) })
	for i, t := range order {
		if err := checkTensor(t); err != nil {
			return nil, nil, err
		}
		if i > 0 && order[i-1].Name == t.Name {
			return nil, nil, fmt.Errorf("safetensors: write: tensor %q: duplicate name", t.Name)
		}
	}

	var buf bytes.Buffer
	buf.WriteByte('{')
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return nil, nil, fmt.Errorf("safetensors: write: __metadata__[%q]: not valid UTF-8", k)
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		writeJSONString(&buf, metadataKey)
		buf.WriteString(":{")
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			writeJSONString(&buf, k)
			buf.WriteByte(':')
			writeJSONString(&buf, metadata[k])
		}
		buf.WriteByte('}')
	}
	var off uint64
	for i, t := range order {
		if i > 0 || len(metadata) > 0 {
			buf.WriteByte(',')
		}
		writeJSONString(&buf, t.Name)
		buf.WriteString(`:{"dtype":`)
		writeJSONString(&buf, t.DType)
		buf.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strconv.Itoa(d))
		}
		end := off + uint64(len(t.Data))
		fmt.Fprintf(&buf, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	buf.WriteByte('}')
	for buf.Len()%8 != 0 {
		buf.WriteByte(' ')
	}
	if buf.Len() > MaxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: write: header of %d bytes exceeds the limit of %d", buf.Len(), MaxHeaderSize)
	}
	return buf.Bytes(), order, nil
}

func checkTensor(t *Tensor) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: write: tensor %q: "+format, append([]any{t.Name}, args...)...)
	}
	if t.Name == metadataKey {
		return fail("name is reserved for metadata")
	}
	if !utf8.ValidString(t.Name) {
		return fail("name is not valid UTF-8")
	}
	esize, ok := dtypeSizes[t.DType]
	if !ok {
		return fail("unknown dtype %q", t.DType)
	}
	shape := make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		if d < 0 {
			return fail("shape %v: dimension %d is negative", t.Shape, i)
		}
		shape[i] = int64(d)
	}
	need, ok := byteSize(shape, esize)
	if !ok || need != uint64(len(t.Data)) {
		return fail("data holds %d bytes, dtype %s shape %v needs %s", len(t.Data), t.DType, t.Shape, needString(need, ok))
	}
	return nil
}

func needString(need uint64, ok bool) string {
	if !ok {
		return "more than 2^64"
	}
	return strconv.FormatUint(need, 10)
}

// writeJSONString appends s as a JSON string without HTML escaping.
func writeJSONString(buf *bytes.Buffer, s string) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err) // encoding a Go string cannot fail

	}
	buf.Truncate(buf.Len() - 1) // drop Encode's newline
}
