package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxHeaderSize is the largest header length accepted by [Open] and
// [Parse] (100 MiB, the limit of the reference implementation).
const MaxHeaderSize = 100 << 20

const metadataKey = "__metadata__"

// TensorInfo describes one tensor of a [File].
type TensorInfo struct {
	Name  string
	DType string
	Shape []int // empty for a scalar
	// Offset is the absolute byte offset of the tensor's data in the file
	// (8 + header length + data_offsets[0]), usable with io.ReaderAt.
	Offset int64
	Size   int64 // in bytes: data_offsets[1] - data_offsets[0]
}

type tensorEntry struct {
	info       TensorInfo
	begin, end int64 // data_offsets, relative to the data section
}

// File is a parsed safetensors file. Its methods may be called concurrently,
// except that slices returned by Raw must not be used after Close.
type File struct {
	name      string
	tensors   map[string]*tensorEntry
	names     []string // sorted
	metadata  map[string]string
	dataStart int64 // absolute offset of the data section
	dataSize  int64

	mu     sync.RWMutex
	closed bool
	data   []byte       // the data section, when the file is in memory or mapped
	ra     io.ReaderAt  // otherwise, the file to read from
	closer func() error // releases the mapping or the file; may be nil
}

// Parse parses a safetensors file held in memory; name identifies it in
// error messages. The returned File refers to data, which must not be
// modified while the File is in use. Close on such a File only marks it
// closed.
func Parse(data []byte, name string) (*File, error) {
	n, err := headerLength(int64(len(data)), data, name)
	if err != nil {
		return nil, err
	}
	f, err := parseHeader(data[8:8+n], int64(len(data))-8-n, name)
	if err != nil {
		return nil, err
	}
	f.data = data[8+n:]
	return f, nil
}

// headerLength decodes and checks the 8-byte prefix of a file of fileSize
// bytes; prefix holds at least its first min(8, fileSize) bytes.
func headerLength(fileSize int64, prefix []byte, name string) (int64, error) {
	if fileSize < 8 {
		return 0, &FormatError{File: name, Key: "header length",
			Msg: fmt.Sprintf("header length: file is truncated: %d bytes, shorter than the 8-byte header length prefix", fileSize)}
	}
	u := binary.LittleEndian.Uint64(prefix[:8])
	switch {
	case u > uint64(fileSize-8):
		return 0, &FormatError{File: name, Key: "header length",
			Msg: fmt.Sprintf("header length %d exceeds the %d bytes after the 8-byte prefix (file truncated or not safetensors)", u, fileSize-8)}
	case u > MaxHeaderSize:
		return 0, &FormatError{File: name, Key: "header length",
			Msg: fmt.Sprintf("header length %d exceeds the limit of %d bytes", u, MaxHeaderSize)}
	case u < 2:
		return 0, &FormatError{File: name, Key: "header length",
			Msg: fmt.Sprintf("header length %d is too small to hold a JSON object", u)}
	}
	return int64(u), nil
}

// parseHeader parses and validates the JSON header of a file whose data
// section holds dataSize bytes. The returned File has no data source.
func parseHeader(header []byte, dataSize int64, name string) (*File, error) {
	fail := func(key, tensor, format string, args ...any) error {
		return &FormatError{File: name, Tensor: tensor, Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	if !utf8.Valid(header) {
		return nil, fail("header", "", "header: not valid UTF-8")
	}
	if !json.Valid(header) {
		var v any
		err := json.Unmarshal(header, &v)
		if err == nil { // cannot happen; keep a useful message regardless
			err = errors.New("syntax error")
		}
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fail("header", "", "header: invalid JSON at byte %d: %v", se.Offset, err)
		}
		return nil, fail("header", "", "header: invalid JSON: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fail("header", "", "header: is a JSON %s, want an object", tokenType(tok))
	}
	f := &File{
		name:      name,
		tensors:   make(map[string]*tensorEntry),
		metadata:  make(map[string]string),
		dataStart: 8 + int64(len(header)),
		dataSize:  dataSize,
	}
	seenMetadata := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("header", "", "header: %v", err)
		}
		key, _ := tok.(string)
		if key == metadataKey {
			if seenMetadata {
				return nil, fail(metadataKey, "", "__metadata__: duplicate key")
			}
			seenMetadata = true
			if err := parseMetadata(dec, f.metadata, fail); err != nil {
				return nil, err
			}
			continue
		}
		if _, dup := f.tensors[key]; dup {
			return nil, fail("name", key, "name: duplicate tensor name")
		}
		e, err := parseEntry(dec, key, dataSize, fail)
		if err != nil {
			return nil, err
		}
		e.info.Offset = f.dataStart + e.begin
		f.tensors[key] = e
		f.names = append(f.names, key)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fail("header", "", "header: %v", err)
	}
	slices.Sort(f.names)
	if err := checkLayout(f, fail); err != nil {
		return nil, err
	}
	return f, nil
}

type failFunc func(key, tensor, format string, args ...any) error

func parseMetadata(dec *json.Decoder, md map[string]string, fail failFunc) error {
	tok, err := dec.Token()
	if err != nil {
		return fail(metadataKey, "", "__metadata__: %v", err)
	}
	if tok == nil { // "__metadata__": null
		return nil
	}
	if tok != json.Delim('{') {
		return fail(metadataKey, "", "__metadata__: is a JSON %s, want an object of strings", tokenType(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail(metadataKey, "", "__metadata__: %v", err)
		}
		k, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return fail(metadataKey, "", "__metadata__[%q]: %v", k, err)
		}
		s, ok := v.(string)
		if !ok {
			return fail(metadataKey, "", "__metadata__[%q]: value is a JSON %s, want a string", k, jsonType(v))
		}
		if _, dup := md[k]; dup {
			return fail(metadataKey, "", "__metadata__[%q]: duplicate key", k)
		}
		md[k] = s
	}
	_, err = dec.Token() // '}'
	if err != nil {
		return fail(metadataKey, "", "__metadata__: %v", err)
	}
	return nil
}

func parseEntry(dec *json.Decoder, name string, dataSize int64, fail failFunc) (*tensorEntry, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, fail("header", name, "header: %v", err)
	}
	if tok != json.Delim('{') {
		return nil, fail("header", name, "header entry is a JSON %s, want an object", tokenType(tok))
	}
	e := &tensorEntry{info: TensorInfo{Name: name}}
	var (
		haveDType, haveShape, haveOffsets bool
		shape                             []int64
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fail("header", name, "header: %v", err)
		}
		key, _ := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fail("header", name, "header entry key %q: %v", key, err)
		}
		switch key {
		case "dtype":
			if haveDType {
				return nil, fail(key, name, "dtype: duplicate key")
			}
			haveDType = true
			s, ok := v.(string)
			if !ok {
				return nil, fail(key, name, "dtype: is a JSON %s, want a string", jsonType(v))
			}
			if _, known := dtypeSizes[s]; !known {
				return nil, fail(key, name, "dtype: unknown dtype %q", s)
			}
			e.info.DType = s
		case "shape":
			if haveShape {
				return nil, fail(key, name, "shape: duplicate key")
			}
			haveShape = true
			shape, err = intList(v, math.MaxInt)
			if err != nil {
				return nil, fail(key, name, "shape: %v", err)
			}
		case "data_offsets":
			if haveOffsets {
				return nil, fail(key, name, "data_offsets: duplicate key")
			}
			haveOffsets = true
			offs, err := intList(v, math.MaxInt64)
			if err != nil {
				return nil, fail(key, name, "data_offsets: %v", err)
			}
			if len(offs) != 2 {
				return nil, fail(key, name, "data_offsets: has %d elements, want 2 [begin, end]", len(offs))
			}
			e.begin, e.end = offs[0], offs[1]
		default:
			// Unknown keys are ignored, as by the reference implementation.
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, fail("header", name, "header: %v", err)
	}
	switch {
	case !haveDType:
		return nil, fail("dtype", name, "dtype: missing key")
	case !haveShape:
		return nil, fail("shape", name, "shape: missing key")
	case !haveOffsets:
		return nil, fail("data_offsets", name, "data_offsets: missing key")
	}
	offs := fmt.Sprintf("[%d %d]", e.begin, e.end)
	if e.begin > e.end {
		return nil, fail("data_offsets", name, "data_offsets %s: begin is after end", offs)
	}
	if e.end > dataSize {
		return nil, fail("data_offsets", name, "data_offsets %s: out of range: the data section holds %d bytes", offs, dataSize)
	}
	e.info.Size = e.end - e.begin
	e.info.Shape = make([]int, len(shape))
	for i, d := range shape {
		e.info.Shape[i] = int(d)
	}
	esize := dtypeSizes[e.info.DType]
	need, ok := byteSize(shape, esize)
	if !ok || need != uint64(e.info.Size) {
		return nil, fail("data_offsets", name, "data_offsets %s hold %d bytes, dtype %s shape %v needs %s",
			offs, e.info.Size, e.info.DType, e.info.Shape, needString(need, ok))
	}
	return e, nil
}

// byteSize returns esize × product(shape), and false if that overflows.
func byteSize(shape []int64, esize int) (uint64, bool) {
	if slices.Contains(shape, 0) {
		return 0, true
	}
	n := uint64(esize)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 {
			return 0, false
		}
		n = lo
	}
	return n, true
}

// intList converts a decoded JSON array of non-negative integers no larger
// than max.
func intList(v any, max int64) ([]int64, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("is a JSON %s, want an array of non-negative integers", jsonType(v))
	}
	out := make([]int64, len(arr))
	for i, x := range arr {
		num, ok := x.(json.Number)
		if !ok {
			return nil, fmt.Errorf("element %d is a JSON %s, want a non-negative integer", i, jsonType(x))
		}
		n, err := strconv.ParseInt(string(num), 10, 64)
		tooLarge := errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(string(num), "-")
		switch {
		case tooLarge || err == nil && n > max:
			return nil, fmt.Errorf("element %d (%s) is too large", i, num)
		case err != nil || n < 0:
			return nil, fmt.Errorf("element %d (%s) is not a non-negative integer", i, num)
		}
		out[i] = n
	}
	return out, nil
}

// checkLayout verifies that the tensors' byte ranges do not overlap and
// cover the data section contiguously.
func checkLayout(f *File, fail failFunc) error {
	order := make([]*tensorEntry, 0, len(f.tensors))
	for _, name := range f.names {
		order = append(order, f.tensors[name])
	}
	// Names are already sorted, so a stable sort by range is deterministic.
	slices.SortStableFunc(order, func(a, b *tensorEntry) int {
		if a.begin != b.begin {
			return cmp.Compare(a.begin, b.begin)
		}
		return cmp.Compare(a.end, b.end)
	})
	var pos int64
	var prev *tensorEntry
	for _, e := range order {
		offs := fmt.Sprintf("[%d %d]", e.begin, e.end)
		switch {
		case e.begin < pos:
			return fail("data_offsets", e.info.Name, "data_offsets %s overlap tensor %q data_offsets [%d %d]",
				offs, prev.info.Name, prev.begin, prev.end)
		case e.begin > pos && prev == nil:
			return fail("data_offsets", e.info.Name, "data_offsets %s leave a gap: bytes [0 %d] of the data section belong to no tensor",
				offs, e.begin)
		case e.begin > pos:
			return fail("data_offsets", e.info.Name, "data_offsets %s leave a gap: bytes [%d %d] after tensor %q belong to no tensor",
				offs, pos, e.begin, prev.info.Name)
		}
		pos = e.end
		prev = e
	}
	if pos != f.dataSize {
		if prev == nil {
			return fail("data", "", "data: the data section holds %d bytes but the header has no tensors", f.dataSize)
		}
		return fail("data_offsets", prev.info.Name, "data_offsets [%d %d]: the data section holds %d bytes, so %d trailing bytes after this last tensor belong to no tensor",
			prev.begin, prev.end, f.dataSize, f.dataSize-pos)
	}
	return nil
}

func tokenType(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "array"
		}
		return "object"
	default:
		return jsonType(tok)
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// Name returns the path or name the File was opened or parsed with.
func (f *File) Name() string { return f.name }

// Names returns the tensor names in sorted order.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Info returns the description of the named tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	e, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	info := e.info
	info.Shape = slices.Clone(info.Shape)
	if info.Shape == nil {
		info.Shape = []int{}
	}
	return info, true
}

// Metadata returns a copy of the header's "__metadata__" map; it is empty
// (not nil) when the file has none.
func (f *File) Metadata() map[string]string {
	md := make(map[string]string, len(f.metadata))
	for k, v := range f.metadata {
		md[k] = v
	}
	return md
}

// Raw returns the bytes of the named tensor. For a memory-mapped or parsed
// file the slice refers to the file's memory: it must not be modified
// (a mapped file is read-only and writing faults) and must not be used
// after Close. Otherwise it is a fresh copy.
func (f *File) Raw(name string) ([]byte, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, b, err := f.rawLocked(name)
	return b, err
}

func (f *File) rawLocked(name string) (*tensorEntry, []byte, error) {
	e, ok := f.tensors[name]
	if !ok {
		return nil, nil, fmt.Errorf("%s: tensor %q: %w", f.name, name, ErrNotFound)
	}
	if f.closed {
		return nil, nil, fmt.Errorf("%s: tensor %q: %w", f.name, name, ErrClosed)
	}
	if f.data != nil || f.ra == nil {
		return e, f.data[e.begin:e.end:e.end], nil
	}
	if e.info.Size > int64(math.MaxInt) {
		return nil, nil, fmt.Errorf("%s: tensor %q: %d bytes do not fit in memory", f.name, name, e.info.Size)
	}
	buf := make([]byte, e.info.Size)
	if _, err := f.ra.ReadAt(buf, e.info.Offset); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, fmt.Errorf("%s: tensor %q: reading data: %w", f.name, name, err)
	}
	return e, buf, nil
}

// Float32 decodes the named tensor to float32 values in row-major order and
// returns them with a copy of its shape. F32, F16, BF16 and F64 tensors are
// supported (F64 values are rounded to nearest float32, overflowing to ±Inf);
// other dtypes yield an error.
func (f *File) Float32(name string) ([]float32, []int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	e, ok := f.tensors[name]
	if ok && !isFloatDType(e.info.DType) {
		return nil, nil, fmt.Errorf("%s: tensor %q: dtype %s is not a float dtype (want F32, F16, BF16 or F64)",
			f.name, name, e.info.DType)
	}
	e, b, err := f.rawLocked(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := decodeFloats(e.info.DType, b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: tensor %q: %w", f.name, name, err)
	}
	shape := slices.Clone(e.info.Shape)
	if shape == nil {
		shape = []int{}
	}
	return out, shape, nil
}

func isFloatDType(dt string) bool {
	switch dt {
	case F32, F16, BF16, F64:
		return true
	}
	return false
}

// Close releases the file's memory mapping or descriptor. Slices returned by
// Raw for a mapped file become invalid. Close is idempotent.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	f.ra = nil
	if f.closer != nil {
		c := f.closer
		f.closer = nil
		if err := c(); err != nil {
			return fmt.Errorf("%s: close: %w", f.name, err)
		}
	}
	return nil
}
