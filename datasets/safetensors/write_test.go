package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func f64Tensor(name string, shape []int, data []float64) Tensor {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	return Tensor{Name: name, DType: F64, Shape: shape, Data: b}
}

// openers returns each way of getting a *File for the bytes of a file.
func openers(t *testing.T, data []byte) map[string]*File {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.safetensors")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := map[string]*File{}
	var err error
	if out["Parse"], err = Parse(data, path); err != nil {
		t.Fatal(err)
	}
	if out["Open"], err = Open(path); err != nil {
		t.Fatal(err)
	}
	if out["openReaderAt"], err = openReaderAt(path); err != nil {
		t.Fatal(err)
	}
	for _, f := range out {
		t.Cleanup(func() { f.Close() })
	}
	return out
}

func TestRoundTripFloats(t *testing.T) {
	vals := []float32{1, -2, 0.5, 65504, 1.0 / (1 << 24), 0, float32(math.Inf(1)), float32(math.Inf(-1)), 3.140625, -0.25, 1024, 6}
	shape := []int{3, 4}
	odd := []float32{1.0 / 3, 1e-7, 70000, -1e-30, 2.7182817, 12345.678} // need rounding
	f64s := []float64{1.0 / 3, -1e300, 1e-300, 2.5, math.Inf(1), -0.0}
	tensors := []Tensor{
		F32Tensor("f32", shape, vals),
		F16Tensor("f16", shape, vals),
		BF16Tensor("bf16", shape, vals),
		F16Tensor("f16.rounded", []int{6}, odd),
		BF16Tensor("bf16.rounded", []int{2, 3}, odd),
		f64Tensor("f64", []int{2, 3}, f64s),
		F32Tensor("scalar", nil, []float32{42}),
		F32Tensor("empty", []int{0, 5}, nil),
		{Name: "ids", DType: I64, Shape: []int{2}, Data: make([]byte, 16)},
		{Name: "mask", DType: BOOL, Shape: []int{3}, Data: []byte{1, 0, 1}},
	}
	md := map[string]string{"format": "pt", "html": "<a & b>"}
	var buf bytes.Buffer
	if err := Write(&buf, tensors, md); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	n := binary.LittleEndian.Uint64(data)
	if (8+n)%8 != 0 {
		t.Errorf("data section starts at %d, not 8-byte aligned", 8+n)
	}
	if !bytes.Contains(data[8:8+n], []byte(`"<a & b>"`)) {
		t.Errorf("metadata HTML-escaped: %s", data[8:8+n])
	}
	hdr := strings.TrimRight(string(data[8:8+n]), " ")
	if !strings.HasSuffix(hdr, "}") || len(hdr) > int(n) || int(n)-len(hdr) >= 8 {
		t.Errorf("header padding wrong: %q", data[8:8+n])
	}
	want := map[string][]float32{
		"f32": vals, "f16": vals, "scalar": {42}, "empty": {},
		"bf16":         {1, -2, 0.5, 65536, 1.0 / (1 << 24), 0, float32(math.Inf(1)), float32(math.Inf(-1)), 3.140625, -0.25, 1024, 6}, // 65504 is not a bfloat16
		"f16.rounded":  mapF(odd, func(x float32) float32 { return f16ToF32(f32ToF16(x)) }),
		"bf16.rounded": mapF(odd, func(x float32) float32 { return bf16ToF32(f32ToBF16(x)) }),
		"f64":          {float32(1.0 / 3), float32(math.Inf(-1)), 0, 2.5, float32(math.Inf(1)), 0},
	}
	for how, f := range openers(t, data) {
		names := f.Names()
		if !slices.IsSorted(names) || len(names) != len(tensors) {
			t.Errorf("%s: Names() = %v", how, names)
		}
		if got := f.Metadata(); len(got) != 2 || got["html"] != "<a & b>" {
			t.Errorf("%s: Metadata() = %v", how, got)
		}
		// Data is laid out in name order.
		var pos int64 = 8 + int64(n)
		for _, name := range names {
			info, _ := f.Info(name)
			if info.Offset != pos {
				t.Errorf("%s: %s at offset %d, want %d", how, name, info.Offset, pos)
			}
			pos += info.Size
		}
		for name, w := range want {
			got, gotShape, err := f.Float32(name)
			if err != nil {
				t.Errorf("%s: Float32(%s): %v", how, name, err)
				continue
			}
			info, _ := f.Info(name)
			if !slices.Equal(gotShape, info.Shape) {
				t.Errorf("%s: Float32(%s) shape %v, Info shape %v", how, name, gotShape, info.Shape)
			}
			if !slices.EqualFunc(got, w, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) || a == b }) {
				t.Errorf("%s: Float32(%s) = %v, want %v", how, name, got, w)
			}
		}
		for _, tn := range tensors {
			raw, err := f.Raw(tn.Name)
			if err != nil || !bytes.Equal(raw, tn.Data) {
				t.Errorf("%s: Raw(%s) = %v, %v; want %v", how, tn.Name, raw, err, tn.Data)
			}
			info, _ := f.Info(tn.Name)
			if info.Name != tn.Name || info.DType != tn.DType || len(info.Shape) != len(tn.Shape) || !slices.Equal(info.Shape, append([]int{}, tn.Shape...)) {
				t.Errorf("%s: Info(%s) = %+v", how, tn.Name, info)
			}
		}
		if _, _, err := f.Float32("ids"); err == nil {
			t.Errorf("%s: Float32 of an I64 tensor succeeded", how)
		}
		if err := f.Close(); err != nil {
			t.Errorf("%s: Close: %v", how, err)
		}
		if _, _, err := f.Float32("f32"); !errors.Is(err, ErrClosed) {
			t.Errorf("%s: Float32 after Close: %v", how, err)
		}
		if f.Names() == nil {
			t.Errorf("%s: Names after Close", how)
		}
	}
}

func mapF(xs []float32, fn func(float32) float32) []float32 {
	out := make([]float32, len(xs))
	for i, x := range xs {
		out[i] = fn(x)
	}
	return out
}

func TestWriteGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, []Tensor{F32Tensor("a", []int{1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	header := `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}  ` // 54 bytes + 2 spaces of padding
	want := binary.LittleEndian.AppendUint64(nil, 56)
	want = append(want, header...)
	want = append(want, 0, 0, 0x80, 0x3f)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("Write =\n%q\nwant\n%q", buf.Bytes(), want)
	}
	buf.Reset()
	if err := Write(&buf, []Tensor{F32Tensor("abcd", []int{1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	// 57 bytes of JSON are padded with 7 spaces.
	if n := binary.LittleEndian.Uint64(buf.Bytes()); n != 64 || string(buf.Bytes()[8+57:8+64]) != "       " {
		t.Fatalf("header length %d, padded header %q", n, buf.Bytes()[8:8+n])
	}
}

func TestWriteDeterministic(t *testing.T) {
	a := F32Tensor("a", []int{2}, []float32{1, 2})
	b := F16Tensor("b", []int{1}, []float32{3})
	c := BF16Tensor("c", []int{1}, []float32{4})
	md := map[string]string{"z": "1", "y": "2", "x": "3"}
	var first []byte
	for _, order := range [][]Tensor{{a, b, c}, {c, b, a}, {b, c, a}} {
		var buf bytes.Buffer
		if err := Write(&buf, order, md); err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = buf.Bytes()
		} else if !bytes.Equal(first, buf.Bytes()) {
			t.Fatalf("output depends on input order:\n%q\n%q", first, buf.Bytes())
		}
	}
}

func TestWriteErrors(t *testing.T) {
	ok := F32Tensor("ok", []int{1}, []float32{1})
	cases := []struct {
		name    string
		tensors []Tensor
		md      map[string]string
		substr  string
	}{
		{"duplicate", []Tensor{ok, ok}, nil, "duplicate"},
		{"reserved name", []Tensor{F32Tensor("__metadata__", []int{1}, []float32{1})}, nil, "reserved"},
		{"bad utf8 name", []Tensor{F32Tensor("\xff", []int{1}, []float32{1})}, nil, "UTF-8"},
		{"bad utf8 metadata", []Tensor{ok}, map[string]string{"k": "\xff"}, "UTF-8"},
		{"unknown dtype", []Tensor{{Name: "x", DType: "F12", Shape: []int{1}, Data: []byte{0}}}, nil, "F12"},
		{"negative dim", []Tensor{{Name: "x", DType: U8, Shape: []int{-1}}}, nil, "negative"},
		{"size mismatch", []Tensor{F32Tensor("x", []int{2, 2}, []float32{1, 2, 3})}, nil, "needs 16"},
		{"scalar mismatch", []Tensor{F32Tensor("x", nil, []float32{1, 2})}, nil, "needs 4"},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Write(&buf, c.tensors, c.md)
		if err == nil || !strings.Contains(err.Error(), c.substr) {
			t.Errorf("%s: Write error = %v, want mention of %q", c.name, err, c.substr)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: Write wrote %d bytes before failing", c.name, buf.Len())
		}
	}
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := WriteFile(path, cases[0].tensors, nil); err == nil {
		t.Error("WriteFile with duplicates succeeded")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("WriteFile left a file behind after failing: %v", err)
	}
}

func TestWriteFileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	data := make([]float32, 1000)
	for i := range data {
		data[i] = float32(i) / 7
	}
	if err := WriteFile(path, []Tensor{F32Tensor("w", []int{10, 100}, data)}, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Concurrent readers (run under -race).
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, shape, err := f.Float32("w")
			if err != nil || !slices.Equal(got, data) || !slices.Equal(shape, []int{10, 100}) {
				t.Errorf("Float32: %v, shape %v", err, shape)
			}
		})
	}
	wg.Wait()
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing) = %v", err)
	}
	cases := map[string][]byte{
		"empty":     nil,
		"short":     {1, 2},
		"truncated": rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 4),
		"beyond":    binary.LittleEndian.AppendUint64(nil, 64),
	}
	for name, data := range cases {
		path := filepath.Join(dir, name+".safetensors")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for how, open := range map[string]func(string) (*File, error){"Open": Open, "openReaderAt": openReaderAt} {
			_, err := open(path)
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), path+": ") {
				t.Errorf("%s(%s) = %v, want a FormatError naming the file", how, name, err)
			}
		}
	}
	if _, err := Open(dir); err == nil {
		t.Error("Open(directory) succeeded")
	}
}

func TestReaderAtShrunkFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shrink.safetensors")
	if err := WriteFile(path, []Tensor{F32Tensor("w", []int{4}, []float32{1, 2, 3, 4})}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := openReaderAt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Info("w")
	if err := os.Truncate(path, info.Offset+2); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Float32("w"); err == nil || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("Float32 of a truncated file: %v", err)
	}
}
