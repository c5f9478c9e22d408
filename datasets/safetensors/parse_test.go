package safetensors

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// rawFile assembles a file from a literal header and n data bytes.
func rawFile(header string, n int) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	for i := range n {
		b = append(b, byte(i))
	}
	return b
}

func TestParseErrors(t *testing.T) {
	const name = "x.safetensors"
	ent := func(tensor, body string) string { return `"` + tensor + `":{` + body + `}` }
	f32 := func(tensor string, shape string, b, e string) string {
		return ent(tensor, `"dtype":"F32","shape":`+shape+`,"data_offsets":[`+b+`,`+e+`]`)
	}
	cases := []struct {
		name   string
		data   []byte
		tensor string // "" for file-level errors
		key    string
		substr string // also required in the message
	}{
		{"empty file", nil, "", "header length", "truncated"},
		{"truncated prefix", []byte{1, 2, 3}, "", "header length", "truncated"},
		{"header length beyond file", binary.LittleEndian.AppendUint64(nil, 1000), "", "header length", "1000"},
		{"header length beyond file by one", rawFile(`{}`, 0)[:9], "", "header length", "exceeds"},
		{"header length huge", binary.LittleEndian.AppendUint64(nil, 1<<63), "", "header length", "exceeds"},
		{"header length zero", rawFile(``, 0), "", "header length", "too small"},
		{"bad JSON", rawFile(`{"a": `, 0), "", "header", "invalid JSON"},
		{"trailing garbage", rawFile(`{} x`, 0), "", "header", "invalid JSON"},
		{"not UTF-8", rawFile("{\"\xff\":1}", 0), "", "header", "UTF-8"},
		{"not an object", rawFile(`[1,2]`, 0), "", "header", "array"},
		{"null header", rawFile(`null`, 0), "", "header", "null"},
		{"tensor not an object", rawFile(`{"w":[1]}`, 0), "w", "header", `"w"`},
		{"unknown dtype", rawFile(`{`+ent("w", `"dtype":"F17","shape":[1],"data_offsets":[0,4]`)+`}`, 4), "w", "dtype", `"F17"`},
		{"dtype not a string", rawFile(`{`+ent("w", `"dtype":4,"shape":[1],"data_offsets":[0,4]`)+`}`, 4), "w", "dtype", "number"},
		{"lowercase dtype", rawFile(`{`+ent("w", `"dtype":"f32","shape":[1],"data_offsets":[0,4]`)+`}`, 4), "w", "dtype", "unknown"},
		{"missing dtype", rawFile(`{`+ent("w", `"shape":[1],"data_offsets":[0,4]`)+`}`, 4), "w", "dtype", "missing"},
		{"missing shape", rawFile(`{`+ent("w", `"dtype":"F32","data_offsets":[0,4]`)+`}`, 4), "w", "shape", "missing"},
		{"missing offsets", rawFile(`{`+ent("w", `"dtype":"F32","shape":[1]`)+`}`, 4), "w", "data_offsets", "missing"},
		{"duplicate key in tensor", rawFile(`{`+ent("w", `"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]`)+`}`, 4), "w", "dtype", "duplicate"},
		{"negative dim", rawFile(`{`+f32("w", `[-1]`, "0", "4")+`}`, 4), "w", "shape", "-1"},
		{"fractional dim", rawFile(`{`+f32("w", `[2.5]`, "0", "4")+`}`, 4), "w", "shape", "2.5"},
		{"string dim", rawFile(`{`+f32("w", `["2"]`, "0", "4")+`}`, 4), "w", "shape", "string"},
		{"dim too large", rawFile(`{`+f32("w", `[99999999999999999999]`, "0", "4")+`}`, 4), "w", "shape", "too large"},
		{"shape not array", rawFile(`{`+f32("w", `3`, "0", "4")+`}`, 4), "w", "shape", "number"},
		{"shape/offset mismatch", rawFile(`{`+f32("w", `[2,3]`, "0", "20")+`}`, 20), "w", "data_offsets", "needs 24"},
		{"shape overflow", rawFile(`{`+f32("w", `[4294967296,4294967296,4294967296]`, "0", "4")+`}`, 4), "w", "data_offsets", "more than 2^64"},
		{"offsets one element", rawFile(`{`+ent("w", `"dtype":"F32","shape":[1],"data_offsets":[4]`)+`}`, 4), "w", "data_offsets", "2"},
		{"offsets negative", rawFile(`{`+f32("w", `[1]`, "-4", "0")+`}`, 4), "w", "data_offsets", "-4"},
		{"offsets reversed", rawFile(`{`+f32("w", `[0]`, "4", "0")+`}`, 4), "w", "data_offsets", "begin is after end"},
		{"out of range", rawFile(`{`+f32("w", `[2]`, "0", "8")+`}`, 4), "w", "data_offsets", "out of range"},
		{"out of range huge", rawFile(`{`+f32("w", `[2]`, "9223372036854775800", "9223372036854775807")+`}`, 4), "w", "data_offsets", "out of range"},
		{"overlap", rawFile(`{`+f32("a", `[2]`, "0", "8")+`,`+f32("b", `[2]`, "4", "12")+`}`, 12), "b", "data_offsets", `overlap tensor "a"`},
		{"identical ranges", rawFile(`{`+f32("a", `[2]`, "0", "8")+`,`+f32("b", `[2]`, "0", "8")+`}`, 8), "b", "data_offsets", `overlap tensor "a"`},
		{"empty tensor inside another", rawFile(`{`+f32("a", `[2]`, "0", "8")+`,`+f32("b", `[0]`, "4", "4")+`}`, 8), "b", "data_offsets", `overlap tensor "a"`},
		{"gap between", rawFile(`{`+f32("a", `[1]`, "0", "4")+`,`+f32("b", `[1]`, "8", "12")+`}`, 12), "b", "data_offsets", "gap"},
		{"gap at start", rawFile(`{`+f32("a", `[1]`, "4", "8")+`}`, 8), "a", "data_offsets", "gap"},
		{"trailing data", rawFile(`{`+f32("a", `[1]`, "0", "4")+`}`, 8), "a", "data_offsets", "trailing"},
		{"data but no tensors", rawFile(`{}`, 4), "", "data", "no tensors"},
		{"duplicate tensor", rawFile(`{`+f32("a", `[1]`, "0", "4")+`,`+f32("a", `[1]`, "0", "4")+`}`, 4), "a", "name", "duplicate"},
		{"metadata value not string", rawFile(`{"__metadata__":{"step":3}}`, 0), "", "__metadata__", `"step"`},
		{"metadata not object", rawFile(`{"__metadata__":[1]}`, 0), "", "__metadata__", "array"},
		{"metadata duplicate key", rawFile(`{"__metadata__":{"k":"a","k":"b"}}`, 0), "", "__metadata__", `"k"`},
		{"metadata twice", rawFile(`{"__metadata__":{},"__metadata__":{}}`, 0), "", "__metadata__", "duplicate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.data, name)
			if err == nil {
				t.Fatalf("Parse succeeded with tensors %v", f.Names())
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T) is not a *FormatError", err, err)
			}
			msg := err.Error()
			if fe.File != name || !strings.HasPrefix(msg, name+": ") {
				t.Errorf("error %q does not name the file", msg)
			}
			if fe.Tensor != c.tensor {
				t.Errorf("Tensor = %q, want %q (%s)", fe.Tensor, c.tensor, msg)
			}
			if c.tensor != "" && !strings.Contains(msg, `"`+c.tensor+`"`) {
				t.Errorf("error %q does not name tensor %q", msg, c.tensor)
			}
			if fe.Key != c.key || !strings.Contains(msg, c.key) {
				t.Errorf("Key = %q, want %q, and the message %q must name it", fe.Key, c.key, msg)
			}
			if !strings.Contains(msg, c.substr) {
				t.Errorf("error %q does not mention %q", msg, c.substr)
			}
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	data := rawFile(`{"layers.0.q":{"dtype":"F32","shape":[5,6],"data_offsets":[0,100]}}`, 100)
	_, err := Parse(data, "x.safetensors")
	want := `x.safetensors: tensor "layers.0.q": data_offsets [0 100] hold 100 bytes, dtype F32 shape [5 6] needs 120`
	if err == nil || err.Error() != want {
		t.Fatalf("got error %v\nwant %s", err, want)
	}
}

func TestHeaderLengthLimit(t *testing.T) {
	prefix := binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1)
	_, err := headerLength(1<<40, prefix, "big")
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Key != "header length" || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("got %v, want a header length limit error", err)
	}
}

func TestParseValid(t *testing.T) {
	header := `{"__metadata__":{"format":"pt","note":"a<b&c"},` +
		`"b":{"dtype":"I8","shape":[],"data_offsets":[4,5],"extra":{"ignored":[1,2]}},` +
		`"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},` +
		`"z":{"dtype":"F16","shape":[0,7],"data_offsets":[5,5]},` +
		`"\u00e9\n":{"dtype":"BOOL","shape":[3],"data_offsets":[5,8]}}` + "     "
	f, err := Parse(rawFile(header, 8), "ok")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := f.Names()
	want := []string{"a", "b", "z", "é\n"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("Names() = %q, want %q", names, want)
	}
	if md := f.Metadata(); len(md) != 2 || md["format"] != "pt" || md["note"] != "a<b&c" {
		t.Errorf("Metadata() = %v", md)
	}
	info, ok := f.Info("b")
	dataStart := int64(8 + len(header))
	if !ok || info.DType != I8 || len(info.Shape) != 0 || info.Shape == nil || info.Offset != dataStart+4 || info.Size != 1 {
		t.Errorf("Info(b) = %+v, %v", info, ok)
	}
	if raw, err := f.Raw("b"); err != nil || len(raw) != 1 || raw[0] != 4 || cap(raw) != 1 {
		t.Errorf("Raw(b) = %v (cap %d), %v", raw, cap(raw), err)
	}
	if v, shape, err := f.Float32("z"); err != nil || len(v) != 0 || len(shape) != 2 || shape[1] != 7 {
		t.Errorf("Float32(z) = %v, %v, %v", v, shape, err)
	}
	if _, ok := f.Info("missing"); ok {
		t.Error("Info(missing) ok")
	}
	if _, err := f.Raw("missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Raw(missing) error = %v, want ErrNotFound", err)
	}
	if _, _, err := f.Float32("b"); err == nil || !strings.Contains(err.Error(), "I8") {
		t.Errorf("Float32 of an I8 tensor: error = %v", err)
	}
	// Info returns copies.
	info, _ = f.Info("z")
	info.Shape[0] = 99
	if again, _ := f.Info("z"); again.Shape[0] != 0 {
		t.Error("Info shares its Shape slice")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw("a"); !errors.Is(err, ErrClosed) {
		t.Errorf("Raw after Close: %v, want ErrClosed", err)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestParseMinimal(t *testing.T) {
	for _, h := range []string{`{}`, `{}      `, ` {} `, `{"__metadata__":null}`, `{"__metadata__":{}}`} {
		f, err := Parse(rawFile(h, 0), "min")
		if err != nil {
			t.Errorf("Parse(%q): %v", h, err)
			continue
		}
		if len(f.Names()) != 0 || f.Metadata() == nil {
			t.Errorf("Parse(%q): names %v metadata %v", h, f.Names(), f.Metadata())
		}
	}
}
