package gguf

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"
)

const (
	// DefaultAlignment is the alignment of the data section and of every
	// tensor's data when the metadata has no "general.alignment".
	DefaultAlignment = 32

	// AlignmentKey is the metadata key that sets the alignment; its value
	// must be a UINT32 power of two.
	AlignmentKey = "general.alignment"

	// MaxDims is the largest number of dimensions a tensor may have.
	MaxDims = 4

	// MaxArrayDepth is how deeply metadata arrays may nest: an array of
	// arrays of strings has depth 2. Deeper nesting is rejected when
	// reading and writing, bounding the recursion a crafted file can cause.
	MaxArrayDepth = 32
)

var magic = [4]byte{'G', 'G', 'U', 'F'}

// TensorInfo describes one tensor of a [File].
type TensorInfo struct {
	Name string
	// Dims holds the dimensions in GGUF order: Dims[0] is the innermost,
	// fastest-varying one, the reverse of the numpy/PyTorch shape.
	Dims []uint64
	Type GGMLType
	// Offset is the position of the tensor's data relative to the start of
	// the data section (File.DataOffset); a multiple of File.Alignment.
	Offset uint64
}

// Shape returns the dimensions in numpy order (outermost first), the
// reverse of Dims. Parse guarantees that they fit in an int.
func (t TensorInfo) Shape() []int {
	s := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		s[len(s)-1-i] = int(d)
	}
	return s
}

// NumElements returns the product of the dimensions (Parse guarantees that
// it does not overflow).
func (t TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Size returns the size of the tensor's data in bytes (without alignment
// padding), or 0 if its type is unknown.
func (t TensorInfo) Size() uint64 {
	bs, ts := t.Type.BlockSize(), t.Type.TypeSize()
	if bs == 0 {
		return 0
	}
	return t.NumElements() / uint64(bs) * uint64(ts)
}

// File is a parsed GGUF file. Its methods may be called concurrently, but
// slices returned by Raw must not be used after Close. The exported fields
// are for reading; changing them does not affect the methods.
type File struct {
	Version   uint32 // 2 or 3
	Alignment int    // general.alignment, or DefaultAlignment
	Metadata  []KV   // in file order
	Tensors   []TensorInfo
	// DataOffset is the absolute file offset of the data section: the end
	// of the tensor infos rounded up to a multiple of Alignment. In a file
	// without tensors it may lie beyond the end of the file.
	DataOffset int64

	name    string
	meta    []KV
	keys    map[string]int // metadata key → index in meta
	tensors []tensorEntry
	index   map[string]int // tensor name → index in tensors

	mu     sync.RWMutex
	closed bool
	data   []byte       // the whole file
	closer func() error // releases a mapping; may be nil
}

type tensorEntry struct {
	info      TensorInfo
	start     int // absolute offset of the data
	size      int // bytes
	nelem     int
	infoStart int // where the tensor info begins, for error offsets
}

// Parse parses a GGUF file held in memory; name identifies it in error
// messages. The returned File refers to data (tensor bytes are not copied),
// which must not be modified while the File is in use. Close on such a File
// only marks it closed.
func Parse(data []byte, name string) (*File, error) {
	p := &parser{b: data, name: name}
	f, err := p.parse()
	if err != nil {
		return nil, err
	}
	f.data = data
	return f, nil
}

type parser struct {
	b    []byte
	off  int
	name string
	// key and tensor name the entry being read, for errors.
	key, tensor string
}

func (p *parser) errAt(off int, format string, args ...any) *FormatError {
	return &FormatError{File: p.name, Key: p.key, Tensor: p.tensor, Offset: int64(off), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) remaining() int { return len(p.b) - p.off }

// take returns the next n bytes, or a truncation error about what.
func (p *parser) take(n uint64, what string) ([]byte, error) {
	if n > uint64(p.remaining()) {
		return nil, p.errAt(p.off, "%s: truncated: needs %d bytes, only %d remain", what, n, p.remaining())
	}
	b := p.b[p.off : p.off+int(n)]
	p.off += int(n)
	return b, nil
}

func (p *parser) u32(what string) (uint32, error) {
	b, err := p.take(4, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (p *parser) u64(what string) (uint64, error) {
	b, err := p.take(8, what)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// str reads a GGUF string: a uint64 byte length and that many UTF-8 bytes.
func (p *parser) str(what string) (string, error) {
	start := p.off
	n, err := p.u64(what + " length")
	if err != nil {
		return "", err
	}
	if n > uint64(p.remaining()) {
		return "", p.errAt(start, "%s: length %d exceeds the %d bytes remaining in the file (truncated or corrupt)", what, n, p.remaining())
	}
	b, _ := p.take(n, what)
	if !utf8.Valid(b) {
		return "", p.errAt(start, "%s is not valid UTF-8: %q", what, truncateForMsg(b))
	}
	return string(b), nil
}

func truncateForMsg(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func (p *parser) parse() (*File, error) {
	if len(p.b) < 4 {
		return nil, p.errAt(0, "truncated: %d bytes, too short for the 4-byte magic", len(p.b))
	}
	if [4]byte(p.b[:4]) != magic {
		return nil, p.errAt(0, "not a GGUF file: magic %q, want %q", p.b[:4], magic[:])
	}
	p.off = 4
	version, err := p.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case version == 2 || version == 3:
	case version == 1:
		return nil, p.errAt(4, "GGUF version 1 is not supported (only versions 2 and 3)")
	case bits.ReverseBytes32(version) <= 3 && version != 0:
		return nil, p.errAt(4, "version 0x%08x: this looks like a big-endian GGUF file, which is not supported", version)
	default:
		return nil, p.errAt(4, "unsupported GGUF version %d (want 2 or 3)", version)
	}
	nTensors, err := p.u64("tensor count")
	if err != nil {
		return nil, err
	}
	nKV, err := p.u64("metadata count")
	if err != nil {
		return nil, err
	}
	// Every metadata entry takes at least 13 bytes (key length, value type,
	// a one-byte value) and every tensor info at least 32 (name length,
	// n_dims, one dimension, type, offset). Rejecting impossible counts
	// here keeps a tiny file from claiming, say, 2^60 entries.
	const minKV, minTensor = 8 + 4 + 1, 8 + 4 + 8 + 4 + 8
	rem := uint64(p.remaining())
	if nKV > rem/minKV {
		return nil, p.errAt(16, "metadata count %d is impossible: the %d bytes after the header hold at most %d entries", nKV, rem, rem/minKV)
	}
	if nTensors > rem/minTensor || nKV*minKV+nTensors*minTensor > rem {
		return nil, p.errAt(8, "tensor count %d is impossible: the %d bytes after the header, with %d metadata entries, leave room for at most %d tensor infos",
			nTensors, rem, nKV, (rem-nKV*minKV)/minTensor)
	}

	f := &File{
		Version:   version,
		Alignment: DefaultAlignment,
		name:      p.name,
		keys:      make(map[string]int),
		index:     make(map[string]int),
	}
	alignAt := -1
	for i := range nKV {
		start := p.off
		key, err := p.str(fmt.Sprintf("metadata entry %d: key", i))
		if err != nil {
			return nil, err
		}
		p.key = key
		if j, dup := f.keys[key]; dup {
			return nil, p.errAt(start, "duplicate key (entries %d and %d)", j, i)
		}
		typeAt := p.off
		t, err := p.u32("value type")
		if err != nil {
			return nil, err
		}
		if !ValueType(t).valid() {
			return nil, p.errAt(typeAt, "unknown value type %d", t)
		}
		if key == AlignmentKey {
			alignAt = p.off
		}
		x, err := p.value(ValueType(t), 0, "value")
		if err != nil {
			return nil, err
		}
		f.keys[key] = len(f.meta)
		f.meta = append(f.meta, KV{Key: key, Value: Value{x}})
		p.key = ""
	}
	if i, ok := f.keys[AlignmentKey]; ok {
		v := f.meta[i].Value
		a, isU32 := v.x.(uint32)
		switch {
		case !isU32:
			return nil, &FormatError{File: p.name, Key: AlignmentKey, Offset: int64(alignAt),
				Msg: fmt.Sprintf("have %s, want UINT32", v.typeName())}
		case a == 0 || a&(a-1) != 0:
			return nil, &FormatError{File: p.name, Key: AlignmentKey, Offset: int64(alignAt),
				Msg: fmt.Sprintf("alignment %d is not a power of two", a)}
		}
		f.Alignment = int(a)
	}
	align := uint64(f.Alignment)

	for i := range nTensors {
		if err := p.tensorInfo(f, i, align); err != nil {
			return nil, err
		}
	}
	p.tensor = ""

	// The data section starts at the next multiple of the alignment. Every
	// tensor's data, with the padding that follows it up to the next
	// multiple of the alignment, must lie within the file.
	dataStart := alignUp(uint64(p.off), align)
	f.DataOffset = int64(dataStart)
	if len(f.tensors) > 0 && dataStart > uint64(len(p.b)) {
		return nil, p.errAt(p.off, "the padding after the tensor infos, up to the data section at byte %d (the next multiple of the alignment %d), is cut off by the end of the file (truncated?)",
			dataStart, align)
	}
	avail := uint64(0)
	if dataStart <= uint64(len(p.b)) {
		avail = uint64(len(p.b)) - dataStart
	}
	for k := range f.tensors {
		e := &f.tensors[k]
		off, size := e.info.Offset, uint64(e.size)
		end, carry := bits.Add64(off, size, 0)
		padded := alignUp(end, align)
		switch {
		case carry != 0 || end > avail:
			return nil, &FormatError{File: p.name, Tensor: e.info.Name, Offset: int64(e.infoStart),
				Msg: fmt.Sprintf("data of %d bytes at offset %d lies beyond the end of the file: the data section at byte %d holds only %d bytes (truncated?)",
					size, off, dataStart, avail)}
		case padded < end || padded > avail:
			return nil, &FormatError{File: p.name, Tensor: e.info.Name, Offset: int64(dataStart + end),
				Msg: fmt.Sprintf("the padding after its data, up to the next multiple of the alignment %d, is cut off by the end of the file (truncated?)", align)}
		}
		e.start = int(dataStart + off)
	}
	if err := checkOverlap(f, p.name); err != nil {
		return nil, err
	}

	f.Metadata = slices.Clone(f.meta)
	f.Tensors = make([]TensorInfo, len(f.tensors))
	for i, e := range f.tensors {
		f.Tensors[i] = e.info
		f.Tensors[i].Dims = slices.Clone(e.info.Dims)
	}
	return f, nil
}

// alignUp rounds n up to a multiple of the power of two a; on overflow the
// result is smaller than n.
func alignUp(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }

func (p *parser) tensorInfo(f *File, i uint64, align uint64) error {
	start := p.off
	name, err := p.str(fmt.Sprintf("tensor info %d: name", i))
	if err != nil {
		return err
	}
	p.tensor = name
	if j, dup := f.index[name]; dup {
		return p.errAt(start, "duplicate tensor name (tensor infos %d and %d)", j, i)
	}
	ndimsAt := p.off
	nd, err := p.u32("n_dims")
	if err != nil {
		return err
	}
	if nd == 0 || nd > MaxDims {
		return p.errAt(ndimsAt, "n_dims %d is out of range (want 1 to %d)", nd, MaxDims)
	}
	dimsAt := p.off
	raw, err := p.take(8*uint64(nd), "dims")
	if err != nil {
		return err
	}
	dims := make([]uint64, nd)
	for k := range dims {
		dims[k] = binary.LittleEndian.Uint64(raw[8*k:])
	}
	typeAt := p.off
	t32, err := p.u32("type")
	if err != nil {
		return err
	}
	offAt := p.off
	off, err := p.u64("offset")
	if err != nil {
		return err
	}
	t := GGMLType(t32)
	tr, known := ggmlTypes[t]
	if !known {
		return p.errAt(typeAt, "unknown tensor type %d", t32)
	}
	// Every dimension, and the product of the non-zero ones, must fit in an
	// int, so that Shape and NumElements are exact even for empty tensors.
	n := uint64(1)
	for k, d := range dims {
		if d > math.MaxInt {
			return p.errAt(dimsAt+8*k, "dims %v: dimension %d is too large", dims, k)
		}
		if d == 0 {
			continue
		}
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt {
			return p.errAt(dimsAt, "dims %v: the element count overflows", dims)
		}
		n = lo
	}
	if slices.Contains(dims, 0) {
		n = 0
	}
	if dims[0]%uint64(tr.blockSize) != 0 {
		return p.errAt(dimsAt, "dims %v: row length %d is not a multiple of the %s block size %d", dims, dims[0], t, tr.blockSize)
	}
	hi, size := bits.Mul64(n/uint64(tr.blockSize), uint64(tr.typeSize))
	if hi != 0 || size > math.MaxInt {
		return p.errAt(dimsAt, "dims %v: the size in bytes of %d %s elements overflows", dims, n, t)
	}
	if off%align != 0 {
		return p.errAt(offAt, "offset %d is not a multiple of the alignment %d", off, align)
	}
	f.index[name] = len(f.tensors)
	f.tensors = append(f.tensors, tensorEntry{
		info:      TensorInfo{Name: name, Dims: dims, Type: t, Offset: off},
		size:      int(size),
		nelem:     int(n),
		infoStart: start,
	})
	return nil
}

// checkOverlap reports tensors whose data ranges overlap. Empty tensors
// overlap nothing.
func checkOverlap(f *File, name string) error {
	order := make([]*tensorEntry, 0, len(f.tensors))
	for i := range f.tensors {
		if f.tensors[i].size > 0 {
			order = append(order, &f.tensors[i])
		}
	}
	slices.SortStableFunc(order, func(a, b *tensorEntry) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(order); i++ {
		a, b := order[i-1], order[i]
		if b.start < a.start+a.size {
			return &FormatError{File: name, Tensor: b.info.Name, Offset: int64(b.start),
				Msg: fmt.Sprintf("data [%d, %d) overlaps tensor %q data [%d, %d)",
					b.info.Offset, b.info.Offset+uint64(b.size), a.info.Name, a.info.Offset, a.info.Offset+uint64(a.size))}
		}
	}
	return nil
}

// value reads a value of type t; path ("value", "value[3]") names it in
// errors.
func (p *parser) value(t ValueType, depth int, path string) (any, error) {
	if t == TypeString {
		return p.str(path)
	}
	if t != TypeArray {
		start := p.off
		b, err := p.take(uint64(t.scalarSize()), path)
		if err != nil {
			return nil, err
		}
		return scalar(t, b, func() error {
			return p.errAt(start, "%s: BOOL byte is %d, want 0 or 1", path, b[0])
		})
	}
	start := p.off
	et, err := p.u32(path + ": array element type")
	if err != nil {
		return nil, err
	}
	elem := ValueType(et)
	if !elem.valid() {
		return nil, p.errAt(start, "%s: unknown array element type %d", path, et)
	}
	if elem == TypeArray && depth+2 > MaxArrayDepth {
		return nil, p.errAt(start, "%s: arrays nested more than %d deep", path, MaxArrayDepth)
	}
	n, err := p.u64(path + ": array length")
	if err != nil {
		return nil, err
	}
	minSize := uint64(elem.minSize())
	if rem := uint64(p.remaining()); n > rem/minSize {
		return nil, p.errAt(start, "%s: array of %d %s needs at least %d bytes per element, only %d bytes remain (truncated or corrupt)",
			path, n, elem, minSize, rem)
	}
	count := int(n)
	switch elem {
	case TypeString:
		out := make([]string, 0, min(count, 1<<16))
		for k := range count {
			s, err := p.str(path + "[" + strconv.Itoa(k) + "]")
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	case TypeArray:
		out := make([]Value, 0, min(count, 1<<16))
		for k := range count {
			inner := path + "[" + strconv.Itoa(k) + "]"
			x, err := p.value(TypeArray, depth+1, inner)
			if err != nil {
				return nil, err
			}
			out = append(out, Value{x})
		}
		return out, nil
	}
	b, _ := p.take(n*minSize, path) // checked above
	return fixedArray(elem, b, count, func(k int) error {
		return p.errAt(start+12+k, "%s[%d]: BOOL byte is %d, want 0 or 1", path, k, b[k])
	})
}

// scalar decodes one fixed-size value of type t from b.
func scalar(t ValueType, b []byte, badBool func() error) (any, error) {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return b[0], nil
	case TypeInt8:
		return int8(b[0]), nil
	case TypeUint16:
		return le.Uint16(b), nil
	case TypeInt16:
		return int16(le.Uint16(b)), nil
	case TypeUint32:
		return le.Uint32(b), nil
	case TypeInt32:
		return int32(le.Uint32(b)), nil
	case TypeFloat32:
		return math.Float32frombits(le.Uint32(b)), nil
	case TypeBool:
		if b[0] > 1 {
			return nil, badBool()
		}
		return b[0] == 1, nil
	case TypeUint64:
		return le.Uint64(b), nil
	case TypeInt64:
		return int64(le.Uint64(b)), nil
	case TypeFloat64:
		return math.Float64frombits(le.Uint64(b)), nil
	}
	return nil, errors.New("gguf: internal error: scalar of type " + t.String())
}

// fixedArray decodes count fixed-size elements of type t from b.
func fixedArray(t ValueType, b []byte, count int, badBool func(k int) error) (any, error) {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return slices.Clone(b), nil
	case TypeInt8:
		return decodeEach(b, count, 1, func(b []byte) int8 { return int8(b[0]) }), nil
	case TypeUint16:
		return decodeEach(b, count, 2, le.Uint16), nil
	case TypeInt16:
		return decodeEach(b, count, 2, func(b []byte) int16 { return int16(le.Uint16(b)) }), nil
	case TypeUint32:
		return decodeEach(b, count, 4, le.Uint32), nil
	case TypeInt32:
		return decodeEach(b, count, 4, func(b []byte) int32 { return int32(le.Uint32(b)) }), nil
	case TypeFloat32:
		return decodeEach(b, count, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }), nil
	case TypeBool:
		for k, c := range b {
			if c > 1 {
				return nil, badBool(k)
			}
		}
		return decodeEach(b, count, 1, func(b []byte) bool { return b[0] == 1 }), nil
	case TypeUint64:
		return decodeEach(b, count, 8, le.Uint64), nil
	case TypeInt64:
		return decodeEach(b, count, 8, func(b []byte) int64 { return int64(le.Uint64(b)) }), nil
	case TypeFloat64:
		return decodeEach(b, count, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }), nil
	}
	return nil, errors.New("gguf: internal error: array of " + t.String())
}

func decodeEach[T any](b []byte, count, size int, conv func([]byte) T) []T {
	out := make([]T, count)
	for k := range out {
		out[k] = conv(b[k*size:])
	}
	return out
}

// Name returns the path or name the File was opened or parsed with.
func (f *File) Name() string { return f.name }

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	info := f.tensors[i].info
	info.Dims = slices.Clone(info.Dims)
	return info, true
}

// Raw returns the bytes of the named tensor's data (without padding). The
// slice refers to the file's memory (the mapping, for Open on Unix): it must
// not be modified, and must not be used after Close.
func (f *File) Raw(name string) ([]byte, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	e, err := f.entry(name)
	if err != nil {
		return nil, err
	}
	end := e.start + e.size
	return f.data[e.start:end:end], nil
}

func (f *File) entry(name string) (*tensorEntry, error) {
	i, ok := f.index[name]
	if !ok {
		return nil, fmt.Errorf("%s: tensor %q: %w", f.name, name, ErrNotFound)
	}
	if f.closed {
		return nil, fmt.Errorf("%s: tensor %q: %w", f.name, name, ErrClosed)
	}
	return &f.tensors[i], nil
}

// Float32 decodes the named tensor to float32 values in row-major order of
// its numpy shape, which is the order of the elements in the file. F32,
// F16, BF16 and Q8_0 are supported; other types give an error wrapping
// errors.ErrUnsupported.
func (f *File) Float32(name string) ([]float32, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	e, err := f.entry(name)
	if err != nil {
		return nil, err
	}
	if !e.info.Type.codec() {
		return nil, fmt.Errorf("%s: unsupported tensor type %s for tensor %q (want F32, F16, BF16 or Q8_0): %w",
			f.name, e.info.Type, name, errors.ErrUnsupported)
	}
	return decode(e.info.Type, f.data[e.start:e.start+e.size], e.nelem), nil
}

// Close releases the file's memory mapping, if any. Slices returned by Raw
// become invalid. Close is idempotent.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	f.data = nil
	if c := f.closer; c != nil {
		f.closer = nil
		if err := c(); err != nil {
			return fmt.Errorf("%s: close: %w", f.name, err)
		}
	}
	return nil
}
