package gguf

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// builder assembles GGUF bytes by hand with encoding/binary, independently
// of the writer.
type builder struct{ b []byte }

func (g *builder) raw(p ...byte) *builder { g.b = append(g.b, p...); return g }
func (g *builder) u8(v uint8) *builder    { g.b = append(g.b, v); return g }
func (g *builder) u16(v uint16) *builder  { g.b = binary.LittleEndian.AppendUint16(g.b, v); return g }
func (g *builder) u32(v uint32) *builder  { g.b = binary.LittleEndian.AppendUint32(g.b, v); return g }
func (g *builder) u64(v uint64) *builder  { g.b = binary.LittleEndian.AppendUint64(g.b, v); return g }
func (g *builder) f32(v float32) *builder { return g.u32(math.Float32bits(v)) }
func (g *builder) f64(v float64) *builder { return g.u64(math.Float64bits(v)) }
func (g *builder) str(s string) *builder  { g.u64(uint64(len(s))); g.b = append(g.b, s...); return g }
func (g *builder) zeros(n int) *builder   { g.b = append(g.b, make([]byte, n)...); return g }

func (g *builder) header(version uint32, nTensors, nKV uint64) *builder {
	return g.raw('G', 'G', 'U', 'F').u32(version).u64(nTensors).u64(nKV)
}

// kv writes a key and value type; the caller appends the value.
func (g *builder) kv(key string, t uint32) *builder { return g.str(key).u32(t) }

func (g *builder) tensor(name string, dims []uint64, typ uint32, off uint64) *builder {
	g.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		g.u64(d)
	}
	return g.u32(typ).u64(off)
}

// pad appends zeros up to a multiple of align.
func (g *builder) pad(align int) *builder {
	for len(g.b)%align != 0 {
		g.b = append(g.b, 0)
	}
	return g
}

// handBuilt returns a file with every metadata type, a nested array, a
// 64-byte alignment and one tensor of each supported type.
func handBuilt() []byte {
	g := &builder{}
	g.header(3, 4, 18)
	g.kv("general.architecture", 8).str("llama")
	g.kv("general.alignment", 4).u32(64)
	g.kv("a.u8", 0).u8(200)
	g.kv("a.i8", 1).u8(0xfb) // -5
	g.kv("a.u16", 2).u16(65000)
	g.kv("a.i16", 3).u16(0x8ad0) // -30000
	g.kv("a.u32", 4).u32(4_000_000_000)
	g.kv("a.i32", 5).u32(0x88ca6c00) // -2_000_000_000
	g.kv("a.f32", 6).f32(1.5)
	g.kv("a.bool", 7).u8(1)
	g.kv("a.u64", 10).u64(1<<63 + 5)
	g.kv("a.i64", 11).u64(0xc000000000000000) // -1<<62
	g.kv("a.f64", 12).f64(math.Pi)
	g.kv("tokens", 9).u32(8).u64(3).str("a").str("bé").str("")
	g.kv("scores", 9).u32(6).u64(2).f32(0.5).f32(-1)
	g.kv("flags", 9).u32(7).u64(3).u8(1).u8(0).u8(1)
	// [[1, 2] (INT32), ["x"], [] (UINT8)]
	g.kv("nested", 9).u32(9).u64(3).
		u32(5).u64(2).u32(1).u32(2).
		u32(8).u64(1).str("x").
		u32(0).u64(0)
	g.kv("empty", 9).u32(12).u64(0)

	g.tensor("w.f32", []uint64{3, 2}, 0, 0)     // shape [2 3], 24 bytes
	g.tensor("w.f16", []uint64{4}, 1, 64)       // 8 bytes
	g.tensor("w.q8", []uint64{32, 2}, 8, 128)   // shape [2 32], 68 bytes
	g.tensor("w.bf16", []uint64{2, 1}, 30, 256) // shape [1 2], 4 bytes
	g.pad(64)
	start := len(g.b)
	for i := range 6 {
		g.f32(float32(i) - 2.5)
	}
	g.pad(64)
	g.u16(0x3c00).u16(0xc000).u16(0x3800).u16(0x7bff) // 1 -2 0.5 65504
	g.pad(64)
	g.u16(0x3800) // d = 0.5
	for q := -16; q < 16; q++ {
		g.u8(uint8(int8(q)))
	}
	g.u16(0x0001) // d = 2^-24, the smallest subnormal
	for q := range 32 {
		g.u8(uint8(int8(127 - 8*q)))
	}
	g.pad(64)
	g.u16(0x3f80).u16(0xc049) // 1, -3.140625
	g.pad(64)
	if len(g.b)-start != 320 {
		panic("handBuilt layout")
	}
	return g.b
}

func TestParseHandBuilt(t *testing.T) {
	data := handBuilt()
	f, err := Parse(data, "hand.gguf")
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != 64 || f.DataOffset%64 != 0 || int(f.DataOffset) != len(data)-320 {
		t.Fatalf("version %d alignment %d data offset %d (file %d bytes)", f.Version, f.Alignment, f.DataOffset, len(data))
	}
	wantKeys := []string{"general.architecture", "general.alignment", "a.u8", "a.i8", "a.u16", "a.i16",
		"a.u32", "a.i32", "a.f32", "a.bool", "a.u64", "a.i64", "a.f64", "tokens", "scores", "flags", "nested", "empty"}
	var keys []string
	for _, kv := range f.Metadata {
		keys = append(keys, kv.Key)
	}
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("keys %q, want %q", keys, wantKeys)
	}
	want := map[string]any{
		"general.architecture": "llama",
		"general.alignment":    uint32(64),
		"a.u8":                 uint8(200),
		"a.i8":                 int8(-5),
		"a.u16":                uint16(65000),
		"a.i16":                int16(-30000),
		"a.u32":                uint32(4_000_000_000),
		"a.i32":                int32(-2_000_000_000),
		"a.f32":                float32(1.5),
		"a.bool":               true,
		"a.u64":                uint64(1<<63 + 5),
		"a.i64":                int64(-1 << 62),
		"a.f64":                math.Pi,
		"tokens":               []string{"a", "bé", ""},
		"scores":               []float32{0.5, -1},
		"flags":                []bool{true, false, true},
		"empty":                []float64{},
	}
	for k, w := range want {
		v, ok := f.Get(k)
		if !ok || !valueEqual(v, Value{w}) {
			t.Errorf("%s = %v (%s), want %v (%T)", k, v, v.typeName(), w, w)
		}
	}
	nested, _ := f.Get("nested")
	wantNested := Value{[]Value{{[]int32{1, 2}}, {[]string{"x"}}, {[]uint8{}}}}
	if !valueEqual(nested, wantNested) || nested.ElemType() != TypeArray || nested.Len() != 3 {
		t.Errorf("nested = %v, want %v", nested, wantNested)
	}
	if s, err := f.String("general.architecture"); s != "llama" || err != nil {
		t.Errorf("String = %q, %v", s, err)
	}

	type tensorWant struct {
		name  string
		dims  []uint64
		shape []int
		typ   GGMLType
		off   uint64
		vals  []float32
	}
	q8 := make([]float32, 64)
	for i := range 32 {
		q8[i] = 0.5 * float32(i-16)
		q8[32+i] = 0x1p-24 * float32(127-8*i)
	}
	tw := []tensorWant{
		{"w.f32", []uint64{3, 2}, []int{2, 3}, F32, 0, []float32{-2.5, -1.5, -0.5, 0.5, 1.5, 2.5}},
		{"w.f16", []uint64{4}, []int{4}, F16, 64, []float32{1, -2, 0.5, 65504}},
		{"w.q8", []uint64{32, 2}, []int{2, 32}, Q8_0, 128, q8},
		{"w.bf16", []uint64{2, 1}, []int{1, 2}, BF16, 256, []float32{1, -3.140625}},
	}
	if len(f.Tensors) != len(tw) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(tw))
	}
	for i, w := range tw {
		info := f.Tensors[i]
		got, ok := f.Tensor(w.name)
		if info.Name != w.name || !ok || !slices.Equal(got.Dims, w.dims) || !slices.Equal(got.Shape(), w.shape) ||
			got.Type != w.typ || got.Offset != w.off || got.NumElements() != uint64(len(w.vals)) {
			t.Errorf("tensor %d = %+v (Tensor(%q) = %+v, %v), want %+v", i, info, w.name, got, ok, w)
		}
		vals, err := f.Float32(w.name)
		if err != nil || !slices.Equal(vals, w.vals) {
			t.Errorf("Float32(%q) = %v, %v; want %v", w.name, vals, err, w.vals)
		}
		raw, err := f.Raw(w.name)
		if err != nil || uint64(len(raw)) != got.Size() {
			t.Errorf("Raw(%q) = %d bytes, %v; want %d", w.name, len(raw), err, got.Size())
		}
	}
}

// TestParseVersion2 checks that version 2, with the same layout, parses.
func TestParseVersion2(t *testing.T) {
	g := &builder{}
	g.header(2, 1, 1).kv("k", 4).u32(7)
	g.tensor("t", []uint64{2}, 0, 0).pad(32).f32(1).f32(2).pad(32)
	f, err := Parse(g.b, "v2")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := f.Float32("t")
	if f.Version != 2 || err != nil || !slices.Equal(vals, []float32{1, 2}) {
		t.Fatalf("version %d, %v, %v", f.Version, vals, err)
	}
}

// TestParseEmpty checks files without metadata or tensors, with and
// without trailing padding, and a file with only an empty tensor.
func TestParseEmpty(t *testing.T) {
	g := &builder{}
	g.header(3, 0, 0)
	for _, data := range [][]byte{g.b, append(slices.Clone(g.b), make([]byte, 8)...)} {
		f, err := Parse(data, "empty")
		if err != nil || len(f.Metadata) != 0 || len(f.Tensors) != 0 || f.DataOffset != 32 {
			t.Fatalf("Parse(%d bytes) = %+v, %v", len(data), f, err)
		}
	}
	g = &builder{}
	g.header(3, 1, 0).tensor("t", []uint64{0, 7}, uint32(Q8_0), 0).pad(32)
	f, err := Parse(g.b, "empty tensor")
	if err != nil {
		t.Fatal(err)
	}
	if vals, err := f.Float32("t"); len(vals) != 0 || err != nil || f.Tensors[0].NumElements() != 0 || !slices.Equal(f.Tensors[0].Shape(), []int{7, 0}) {
		t.Fatalf("empty tensor: %v, %v, %+v", vals, err, f.Tensors[0])
	}
}

func TestParseUnsupportedType(t *testing.T) {
	g := &builder{}
	g.header(3, 2, 0)
	g.tensor("blk.0.ffn_down.weight", []uint64{256, 2}, uint32(Q4_K), 0)
	g.tensor("blk.0.attn_q.weight", []uint64{64}, uint32(IQ4_NL), 320)
	g.pad(32).zeros(2*144 + 32).zeros(2 * 18).pad(32)
	f, err := Parse(g.b, "q4k.gguf")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := f.Raw("blk.0.ffn_down.weight")
	if err != nil || len(raw) != 288 {
		t.Fatalf("Raw = %d bytes, %v", len(raw), err)
	}
	_, err = f.Float32("blk.0.ffn_down.weight")
	if err == nil || !errors.Is(err, errors.ErrUnsupported) ||
		!strings.Contains(err.Error(), `unsupported tensor type Q4_K for tensor "blk.0.ffn_down.weight"`) {
		t.Fatalf("Float32(Q4_K) error = %v", err)
	}
	if _, err := f.Float32("blk.0.attn_q.weight"); err == nil || !strings.Contains(err.Error(), "IQ4_NL") {
		t.Fatalf("Float32(IQ4_NL) error = %v", err)
	}
	if _, err := f.Float32("missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Float32(missing) error = %v", err)
	}
	if _, err := f.Raw("missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Raw(missing) error = %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	type tc struct {
		name   string
		data   []byte
		key    string
		tensor string
		msg    string
	}
	hdr := func(nt, nkv uint64) *builder { return (&builder{}).header(3, nt, nkv) }
	nestedArrays := func(depth int) []byte {
		g := hdr(0, 1).kv("deep", 9)
		for range depth - 1 {
			g.u32(9).u64(1)
		}
		return g.u32(4).u64(0).b
	}
	cases := []tc{
		{name: "empty", data: nil, msg: "too short for the 4-byte magic"},
		{name: "magic", data: (&builder{}).raw('G', 'G', 'M', 'L').u32(3).u64(0).u64(0).b, msg: "not a GGUF file"},
		{name: "no version", data: []byte("GGUF"), msg: "version: truncated"},
		{name: "version 1", data: (&builder{}).header(1, 0, 0).b, msg: "version 1 is not supported"},
		{name: "version 4", data: (&builder{}).header(4, 0, 0).b, msg: "unsupported GGUF version 4"},
		{name: "version 0", data: (&builder{}).header(0, 0, 0).b, msg: "unsupported GGUF version 0"},
		{name: "big-endian", data: (&builder{}).raw('G', 'G', 'U', 'F', 0, 0, 0, 3).zeros(16).b, msg: "big-endian"},
		{name: "no counts", data: (&builder{}).raw('G', 'G', 'U', 'F').u32(3).u64(0).b, msg: "metadata count: truncated"},
		{name: "huge kv count", data: hdr(0, 1<<60).zeros(1000).b, msg: "metadata count 1152921504606846976 is impossible"},
		{name: "huge tensor count", data: hdr(1<<60, 0).zeros(1000).b, msg: "tensor count 1152921504606846976 is impossible"},
		{name: "counts together", data: hdr(1, 3).zeros(3*13 + 31).b, msg: "tensor count 1 is impossible"},
		{name: "key length", data: hdr(0, 1).u64(1 << 62).zeros(20).b, msg: "metadata entry 0: key: length 4611686018427387904 exceeds"},
		{name: "key truncated", data: hdr(0, 1).u64(3).raw('a', 'b').zeros(11).b[:24+8+2], msg: "impossible"},
		{name: "key utf8", data: hdr(0, 1).kv("\xff", 4).u32(1).b, msg: "metadata entry 0: key is not valid UTF-8"},
		{name: "string utf8", data: hdr(0, 1).kv("k", 8).str("ok\xc3").b, key: "k", msg: "value is not valid UTF-8"},
		{name: "string array utf8", data: hdr(0, 1).kv("k", 9).u32(8).u64(2).str("a").str("\xed\xa0\x80").b, key: "k", msg: "value[1] is not valid UTF-8"},
		{name: "string length", data: hdr(0, 1).kv("k", 8).u64(100).zeros(10).b, key: "k", msg: "value: length 100 exceeds the 10 bytes remaining"},
		{name: "duplicate key", data: hdr(0, 2).kv("k", 4).u32(1).kv("k", 4).u32(2).b, key: "k", msg: "duplicate key (entries 0 and 1)"},
		{name: "value type", data: hdr(0, 1).kv("k", 13).zeros(8).b, key: "k", msg: "unknown value type 13"},
		{name: "value truncated", data: hdr(0, 1).kv("k", 10).u32(0).b, key: "k", msg: "value: truncated: needs 8 bytes, only 4 remain"},
		{name: "elem type", data: hdr(0, 1).kv("k", 9).u32(99).u64(0).b, key: "k", msg: "unknown array element type 99"},
		{name: "bool", data: hdr(0, 1).kv("k", 7).u8(2).b, key: "k", msg: "BOOL byte is 2"},
		{name: "bool array", data: hdr(0, 1).kv("k", 9).u32(7).u64(3).u8(1).u8(0).u8(7).b, key: "k", msg: "value[2]: BOOL byte is 7"},
		{name: "array count", data: hdr(0, 1).kv("k", 9).u32(4).u64(1 << 40).zeros(100).b, key: "k", msg: "array of 1099511627776 UINT32"},
		{name: "array truncated", data: hdr(0, 1).kv("k", 9).u32(8).u64(2).str("abc").u64(50).b, key: "k", msg: "value[1]: length 50 exceeds the 0 bytes remaining"},
		{name: "array length truncated", data: hdr(0, 1).kv("k", 9).u32(8).u64(2).str("ab").zeros(7).b, key: "k", msg: "value[1] length: truncated"},
		{name: "nested count", data: hdr(0, 1).kv("k", 9).u32(9).u64(2).u32(0).u64(0).b, key: "k", msg: "array of 2 ARRAY"},
		{name: "nested too deep", data: nestedArrays(MaxArrayDepth + 1), key: "deep", msg: "nested more than 32 deep"},
		{name: "alignment type", data: hdr(0, 1).kv("general.alignment", 10).u64(64).b, key: "general.alignment", msg: "have UINT64, want UINT32"},
		{name: "alignment 48", data: hdr(0, 1).kv("general.alignment", 4).u32(48).b, key: "general.alignment", msg: "alignment 48 is not a power of two"},
		{name: "alignment 0", data: hdr(0, 1).kv("general.alignment", 4).u32(0).b, key: "general.alignment", msg: "alignment 0 is not a power of two"},
		{name: "tensor name utf8", data: hdr(1, 0).tensor("\x80", []uint64{1}, 0, 0).pad(32).zeros(32).b, msg: "tensor info 0: name is not valid UTF-8"},
		{name: "n_dims 0", data: hdr(1, 0).tensor("t", nil, 0, 0).zeros(32).b, tensor: "t", msg: "n_dims 0 is out of range"},
		{name: "n_dims 5", data: hdr(1, 0).tensor("t", []uint64{1, 1, 1, 1, 1}, 0, 0).zeros(32).b, tensor: "t", msg: "n_dims 5 is out of range"},
		{name: "dims truncated", data: hdr(1, 0).str("t").u32(4).u64(1).zeros(12).b, tensor: "t", msg: "dims: truncated"},
		{name: "dim too large", data: hdr(1, 0).tensor("t", []uint64{1 << 63}, 0, 0).b, tensor: "t", msg: "dimension 0 is too large"},
		{name: "element overflow", data: hdr(1, 0).tensor("t", []uint64{1 << 32, 0, 1 << 32}, 0, 0).b, tensor: "t", msg: "element count overflows"},
		{name: "size overflow", data: hdr(1, 0).tensor("t", []uint64{1 << 62}, 0, 0).b, tensor: "t", msg: "size in bytes of 4611686018427387904 F32 elements overflows"},
		{name: "unknown type", data: hdr(1, 0).tensor("t", []uint64{32}, 4, 0).b, tensor: "t", msg: "unknown tensor type 4"},
		{name: "unknown type 1000", data: hdr(1, 0).tensor("t", []uint64{32}, 1000, 0).b, tensor: "t", msg: "unknown tensor type 1000"},
		{name: "q8 row", data: hdr(1, 0).tensor("t", []uint64{33, 2}, 8, 0).pad(32).zeros(96).b, tensor: "t", msg: "row length 33 is not a multiple of the Q8_0 block size 32"},
		{name: "q4k row", data: hdr(1, 0).tensor("t", []uint64{128}, 12, 0).pad(32).zeros(160).b, tensor: "t", msg: "not a multiple of the Q4_K block size 256"},
		{name: "misaligned", data: hdr(1, 0).tensor("t", []uint64{1}, 0, 4).pad(32).zeros(32).b, tensor: "t", msg: "offset 4 is not a multiple of the alignment 32"},
		{name: "misaligned 64", data: hdr(1, 1).kv("general.alignment", 4).u32(64).tensor("t", []uint64{1}, 0, 32).pad(64).zeros(128).b,
			tensor: "t", msg: "offset 32 is not a multiple of the alignment 64"},
		{name: "duplicate tensor", data: hdr(2, 0).tensor("t", []uint64{1}, 0, 0).tensor("t", []uint64{1}, 0, 32).pad(32).zeros(64).b,
			tensor: "t", msg: "duplicate tensor name (tensor infos 0 and 1)"},
		{name: "overlap", data: hdr(2, 0).tensor("a", []uint64{16}, 0, 0).tensor("b", []uint64{8}, 0, 32).pad(32).zeros(64).b,
			tensor: "b", msg: `data [32, 64) overlaps tensor "a" data [0, 64)`},
		{name: "overlap unordered", data: hdr(2, 0).tensor("a", []uint64{8}, 0, 32).tensor("b", []uint64{24}, 0, 0).pad(32).zeros(96).b,
			tensor: "a", msg: `overlaps tensor "b"`},
		{name: "beyond end", data: hdr(1, 0).tensor("t", []uint64{8}, 0, 0).pad(32).zeros(16).b, tensor: "t", msg: "lies beyond the end of the file"},
		{name: "offset beyond end", data: hdr(1, 0).tensor("t", []uint64{8}, 0, 1<<63).pad(32).zeros(64).b, tensor: "t", msg: "lies beyond the end of the file"},
		{name: "offset wraps", data: hdr(1, 0).tensor("t", []uint64{8}, 0, math.MaxUint64-31).pad(32).zeros(64).b, tensor: "t", msg: "lies beyond the end of the file"},
		{name: "padding cut", data: hdr(1, 0).tensor("t", []uint64{4}, 0, 0).pad(32).zeros(16).b, tensor: "t", msg: "padding after its data"},
		{name: "no data section", data: hdr(1, 0).tensor("t", []uint64{0}, 0, 0).b, msg: "the padding after the tensor infos, up to the data section at byte 64"},
		{name: "huge alignment", data: hdr(1, 1).kv("general.alignment", 4).u32(1<<31).tensor("t", []uint64{0}, 0, 0).pad(32).b,
			msg: "up to the data section at byte 2147483648"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data, "bad.gguf")
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error = %v (%T), want a *FormatError", err, err)
			}
			if fe.File != "bad.gguf" || fe.Key != c.key || fe.Tensor != c.tensor || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("Parse error = %q\n  (key %q tensor %q), want key %q tensor %q and %q", err, fe.Key, fe.Tensor, c.key, c.tensor, c.msg)
			}
			if fe.Offset < -1 || fe.Offset > int64(len(c.data)) {
				t.Errorf("error offset %d outside the %d-byte input", fe.Offset, len(c.data))
			}
			t.Log(err)
		})
	}
}

// TestParseNestingLimit checks that nesting exactly MaxArrayDepth deep is
// accepted.
func TestParseNestingLimit(t *testing.T) {
	g := (&builder{}).header(3, 0, 1).kv("deep", 9)
	for range MaxArrayDepth - 1 {
		g.u32(9).u64(1)
	}
	g.u32(4).u64(1).u32(42)
	f, err := Parse(g.b, "deep")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := f.Get("deep")
	depth := 1
	for v.ElemType() == TypeArray {
		v = v.Index(0)
		depth++
	}
	if depth != MaxArrayDepth || v.Index(0).Interface() != uint32(42) {
		t.Fatalf("depth %d, innermost %v", depth, v)
	}
	// The writer accepts it too, and rejects one level more.
	kv := f.Metadata[0]
	if err := Write(discard{}, []KV{kv}, nil); err != nil {
		t.Fatalf("Write: %v", err)
	}
	deeper := Array("deeper", kv.Value)
	if err := Write(discard{}, []KV{deeper}, nil); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Fatalf("Write deeper: %v", err)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// TestParseHugeCountsFast checks that absurd counts fail before any
// allocation proportional to them.
func TestParseHugeCountsFast(t *testing.T) {
	inputs := [][]byte{
		(&builder{}).header(3, 0, 1<<60).zeros(1000).b,
		(&builder{}).header(3, 1<<60, 0).zeros(1000).b,
		(&builder{}).header(3, 0, 1).kv("k", 9).u32(4).u64(1 << 58).zeros(1000).b,
		(&builder{}).header(3, 0, 1).kv("k", 9).u32(8).u64(1 << 58).zeros(1000).b,
		(&builder{}).header(3, 0, 1).kv("k", 9).u32(9).u64(1 << 58).zeros(1000).b,
		(&builder{}).header(3, 0, 1).kv("k", 8).u64(1 << 62).zeros(1000).b,
	}
	for i, data := range inputs {
		allocs := testing.AllocsPerRun(10, func() {
			if _, err := Parse(data, "huge"); err == nil {
				t.Fatalf("input %d parsed", i)
			}
		})
		if allocs > 20 {
			t.Errorf("input %d: %.0f allocations", i, allocs)
		}
	}
}
