package record

import (
	"bytes"
	"testing"
)

// fuzzSeeds are inputs for both fuzz targets.
func fuzzSeeds(t testing.TB) [][]byte {
	var valid bytes.Buffer
	for _, r := range testRecords(3) {
		valid.WriteString(js(t, r) + "\n")
	}
	v := valid.String()
	z, _ := encodeFile(t, testRecords(6), true, 2, 2, 2)
	return [][]byte{
		nil,
		valid.Bytes(),
		[]byte(v + "\n\n  \n"),
		[]byte(v[:len(v)-1]),
		[]byte(v[:len(v)/2]),
		[]byte(`{"v":1,"key":"a"}` + "\r\n" + `{"v":2,"key":"b"}` + "\n" + `{"key":"c"}` + "\nnull\n[]\n{}\n"),
		[]byte(`{"v":1,"key":"a","length":"x","scores":{"a":"b"}}` + "\n"),
		z,
		z[:len(z)-3],
		z[:len(z)/2],
		slicesConcat(skippable("x"), z),
		slicesConcat(z[:20], []byte("garbage"), z),
		{0x28, 0xB5, 0x2F},
		{0x28, 0xB5, 0x2F, 0xFD, 0x08},
		{0x5F, 0x2A, 0x4D, 0x18, 0xFF, 0xFF, 0xFF, 0xFF},
	}
}

// FuzzReader reads arbitrary bytes: the Reader never panics or loops,
// every error is a *SyntaxError until io.EOF, every record is valid, and
// every offset lies within the input.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, errs := readAllChecked(t, bytes.NewReader(data), "fuzz")
		for _, e := range errs {
			if e.Offset < 0 || e.Offset > int64(len(data)) {
				t.Fatalf("%v: offset %d outside the input (%d bytes)", e, e.Offset, len(data))
			}
		}
	})
}

// FuzzReaderZstd wraps arbitrary text in three zstd frames split at the
// given points (moved to line ends), and checks that
//   - the compressed text reads exactly as the plain text does;
//   - cut at any point, it yields a prefix of those records;
//   - with a byte changed, it yields some of those records, in order, and no
//     other.
//
// The last two hold for text without byte FD, which UTF-8 text never has:
// resynchronisation would find a zstd frame stored in the text.
func FuzzReaderZstd(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, uint16(i*7), uint16(i*131), uint32(i*1009), uint32(i*31), byte(1<<(i%8)))
	}
	f.Fuzz(func(t *testing.T, text []byte, split1, split2 uint16, cut, flip uint32, mask byte) {
		lineEnd := func(i int) int {
			if j := bytes.IndexByte(text[i:], '\n'); j >= 0 {
				return i + j + 1
			}
			return len(text)
		}
		a := lineEnd(int(split1) % (len(text) + 1))
		b := lineEnd(max(a, int(split2)%(len(text)+1)))
		z := slicesConcat(zframe(string(text[:a])), zframe(string(text[a:b])), zframe(string(text[b:])))

		recs, errs := readAllChecked(t, bytes.NewReader(z), "fuzz")
		if !looksZstd(text) {
			precs, perrs := readAllChecked(t, bytes.NewReader(text), "fuzz")
			sameRecords(t, recs, precs)
			if len(errs) != len(perrs) {
				t.Fatalf("zstd errors %v, plain errors %v", errs, perrs)
			}
			for i := range errs {
				if errs[i].Error() != perrs[i].Error() {
					t.Fatalf("zstd error %q, plain error %q", errs[i], perrs[i])
				}
			}
		}

		// Resynchronisation finds frames anywhere, even inside another
		// frame's stored text: the properties below hold for text without
		// byte FD, like the Writer's.
		if bytes.IndexByte(text, 0xFD) >= 0 {
			return
		}
		n := int(cut % uint32(len(z)+1))
		got, _ := readAllChecked(t, bytes.NewReader(z[:n]), "fuzz")
		if len(got) > len(recs) {
			t.Fatalf("cut at %d: %d records of %d", n, len(got), len(recs))
		}
		sameRecords(t, got, recs[:len(got)])

		if mask == 0 {
			return
		}
		bad := bytes.Clone(z)
		bad[int(flip%uint32(len(z)))] ^= mask
		got, _ = readAllChecked(t, bytes.NewReader(bad), "fuzz")
		i := 0
		for _, g := range got {
			for i < len(recs) && js(t, recs[i]) != js(t, g) {
				i++
			}
			if i == len(recs) {
				t.Fatalf("flip at %d: record %s was not in the input", flip%uint32(len(z)), js(t, g))
			}
			i++
		}
	})
}
