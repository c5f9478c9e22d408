package record

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestRoundTrip(t *testing.T) {
	for _, ext := range []string{".jsonl", ".jsonl.zst"} {
		for _, n := range []int{0, 1, FlushRecords - 1, FlushRecords, FlushRecords + 1, 3*FlushRecords + 5} {
			t.Run(fmt.Sprint(ext, n), func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "records"+ext)
				w, err := Create(path)
				if err != nil {
					t.Fatal(err)
				}
				want := testRecords(n)
				for _, r := range want {
					if err := w.Write(r); err != nil {
						t.Fatal(err)
					}
				}
				if w.Count() != n {
					t.Errorf("Count = %d, want %d", w.Count(), n)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if compressed := magicKind(data) == dataFrame; compressed != (ext == ".jsonl.zst") && n > 0 {
					t.Errorf("compressed = %v for %s", compressed, ext)
				}
				got, errs, err := ReadFile(path)
				if err != nil || len(errs) > 0 {
					t.Fatalf("ReadFile: %v %v", errs, err)
				}
				sameRecords(t, got, want)
			})
		}
	}
}

func TestLineErrors(t *testing.T) {
	// Each line of input and what reading it gives: "ok", "" (skipped),
	// or an error: a sentinel error or a message fragment.
	tests := []struct {
		line string
		want any
	}{
		{`{"v":1,"key":"a"}`, "ok"},
		{``, ""},
		{"  \t", ""},
		{`{"v":1,"key":"crlf"}` + "\r", "ok"},
		{`{"key":"a"}`, ErrVersion},
		{`{"v":0,"key":"a"}`, ErrVersion},
		{`{"v":-1,"key":"a"}`, ErrVersion},
		{`{"v":2,"key":"a"}`, "newer than this build"},
		{`{"v":2,"key":"a","length":"long"}`, "newer than this build"},
		{`{"v":1}`, ErrNoKey},
		{`{"v":1,"key":""}`, ErrNoKey},
		{`[1]`, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`{"v":1,"key":"a"} {}`, "bad record"},
		{`{"v":1,"key":"a","length":"x"}`, "bad record"},
		{`{"v":1,"key":"a"`, "bad record"},
		{`{"v":1,"key":"last"}`, "ok"},
	}
	var text strings.Builder
	for _, tt := range tests {
		text.WriteString(tt.line + "\n")
	}
	inputs := map[string][]byte{
		"plain": []byte(text.String()),
		"zstd":  zframe(text.String()),
	}
	for name, data := range inputs {
		t.Run(name, func(t *testing.T) {
			rd := NewReader(bytes.NewReader(data), "in.jsonl")
			for i, tt := range tests {
				if tt.want == "" {
					continue
				}
				rec, err := rd.Next()
				line := i + 1
				switch want := tt.want.(type) {
				case error:
					if !errors.Is(err, want) {
						t.Errorf("line %d %s: got %v, want %v", line, tt.line, err, want)
					}
				case string:
					if want == "ok" {
						if err != nil || rec == nil {
							t.Errorf("line %d %s: got %v", line, tt.line, err)
						}
						continue
					}
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Errorf("line %d %s: got %v, want %q", line, tt.line, err, want)
					}
				}
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Errorf("line %d: %T is not a *SyntaxError", line, err)
					continue
				}
				if prefix := fmt.Sprintf("in.jsonl:%d: ", line); !strings.HasPrefix(err.Error(), prefix) || se.Line != line {
					t.Errorf("error %q: want prefix %q", err, prefix)
				}
			}
			if rec, err := rd.Next(); err != io.EOF {
				t.Errorf("at end: %v %v", rec, err)
			}
		})
	}
}

func TestLastLineWithoutNewline(t *testing.T) {
	line := js(t, testRecord(1))
	for name, data := range map[string][]byte{
		"plain": []byte(line + "\n" + line),
		"zstd":  zframe(line + "\n" + line),
	} {
		t.Run(name, func(t *testing.T) {
			recs, errs := readAllChecked(t, bytes.NewReader(data), "f")
			if len(recs) != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) || errs[0].Line != 2 {
				t.Fatalf("got %d records, errors %v; want 1 record and a truncation at line 2", len(recs), errs)
			}
		})
	}
	// A blank tail is not a line.
	recs, errs := readAllChecked(t, strings.NewReader(line+"\n  "), "f")
	if len(recs) != 1 || len(errs) != 0 {
		t.Fatalf("blank tail: %d records, errors %v", len(recs), errs)
	}
}

func TestSyntaxErrorFormat(t *testing.T) {
	err := error(&SyntaxError{File: "results/r/records-0001.jsonl.zst", Line: 12, Offset: 345, Err: ErrNoKey})
	if got, want := err.Error(), "results/r/records-0001.jsonl.zst:12: record has no key"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrNoKey) {
		t.Error("errors.Is does not see the wrapped error")
	}
}

// TestTruncateEveryOffset cuts a file at every byte offset (of the last
// lines, for plain input): the reader
// returns exactly the records of the complete frames (lines, for plain
// input), then one truncation error, unless the cut falls between frames.
func TestTruncateEveryOffset(t *testing.T) {
	sizes := []int{3, 1, 5, 2, 4}
	recs := testRecords(15)
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compress=", compress), func(t *testing.T) {
			sizes := sizes
			data, ends := encodeFile(t, recs, compress, sizes...)
			if !compress {
				// Each line is a unit of loss in plain input.
				ends = ends[:0]
				for i, b := range data {
					if b == '\n' {
						ends = append(ends, i+1)
					}
				}
				sizes = make([]int, len(ends))
				for i := range sizes {
					sizes[i] = 1
				}
			} else if got := len(frames(t, data)); got != len(sizes) {
				t.Fatalf("%d frames, want %d", got, len(sizes))
			}
			// Every offset of the last frames; every offset for the
			// (larger) plain file would be slow under -race.
			from := 0
			if !compress {
				from = ends[len(ends)-3]
			}
			for cut := from; cut <= len(data); cut++ {
				complete, start, nrec := 0, 0, 0
				for complete < len(ends) && ends[complete] <= cut {
					start = ends[complete]
					nrec += sizes[complete]
					complete++
				}
				got, errs := readAllChecked(t, bytes.NewReader(data[:cut]), "cut")
				sameRecords(t, got, recs[:nrec])
				if cut == start {
					if len(errs) != 0 {
						t.Fatalf("cut at %d, a boundary: errors %v", cut, errs)
					}
					continue
				}
				if len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) ||
					errs[0].Offset != int64(start) || errs[0].Line != nrec+1 {
					t.Fatalf("cut at %d: errors %v; want one truncation at offset %d, line %d", cut, errs, start, nrec+1)
				}
			}
		})
	}
}

// TestFlipByte flips every byte of the first and of a middle frame in
// turn: that frame's records are lost, or none, and no other; the error
// names the file, the line and the frame's offset.
func TestFlipByte(t *testing.T) {
	sizes := []int{3, 2, 4, 3}
	recs := testRecords(12)
	data, ends := encodeFile(t, recs, true, sizes...)
	for _, frame := range []int{0, 2} {
		t.Run(fmt.Sprint("frame", frame), func(t *testing.T) {
			start, end, first := 0, ends[frame], 0
			if frame > 0 {
				start = ends[frame-1]
			}
			for _, n := range sizes[:frame] {
				first += n
			}
			without := append(append([]*Record{}, recs[:first]...), recs[first+sizes[frame]:]...)
			prefix := fmt.Sprintf("f.zst:%d: ", first+1)
			var lost, harmless int
			for off := start; off < end; off++ {
				for _, mask := range []byte{0x01, 0x10, 0x80, 0xff} {
					bad := bytes.Clone(data)
					bad[off] ^= mask
					got, errs := readAllChecked(t, bytes.NewReader(bad), "f.zst")
					if len(got) == len(recs) {
						// The flip hit a bit the decoder ignores, or
						// cleared the checksum flag, leaving 4 stray bytes.
						sameRecords(t, got, recs)
						if len(errs) > 1 {
							t.Fatalf("flip %#x at %d: records intact, errors %v", mask, off, errs)
						}
						harmless++
						continue
					}
					sameRecords(t, got, without)
					if len(errs) != 1 || !errors.Is(errs[0], ErrCorrupt) || errs[0].Offset != int64(start) ||
						!strings.HasPrefix(errs[0].Error(), prefix) {
						t.Fatalf("flip %#x at %d: errors %v; want one corrupt frame error at offset %d, %q",
							mask, off, errs, start, prefix)
					}
					lost++
				}
			}
			t.Logf("%d flips lost the frame, %d were harmless", lost, harmless)
			if lost == 0 {
				t.Fatal("no flip was detected")
			}
		})
	}
}

func TestFlipByteLastFrame(t *testing.T) {
	recs := testRecords(6)
	data, ends := encodeFile(t, recs, true, 3, 3)
	for off := ends[0]; off < ends[1]; off++ {
		bad := bytes.Clone(data)
		bad[off] ^= 0x55
		got, errs := readAllChecked(t, bytes.NewReader(bad), "last.zst")
		if len(got) == len(recs) {
			continue
		}
		sameRecords(t, got, recs[:3])
		if len(errs) != 1 || errs[0].Offset != int64(ends[0]) {
			t.Fatalf("flip at %d: errors %v", off, errs)
		}
	}
}

// TestLostFrameLineNumbers checks line numbering around a lost frame.
func TestLostFrameLineNumbers(t *testing.T) {
	r := func(k string) string { return fmt.Sprintf(`{"v":1,"key":%q}`, k) }
	f1 := zframe(r("a") + "\n" + r("b") + "\n")
	f2 := zframe(r("c") + "\n" + r("d") + "\n")
	f3 := zframe("not json\n" + r("e") + "\n")
	f2[len(f2)-1] ^= 1 // checksum
	data := slicesConcat(f1, f2, f3)
	rd := NewReader(bytes.NewReader(data), "x.zst")
	expect := func(key string, line int, target error) {
		t.Helper()
		rec, err := rd.Next()
		if key != "" {
			if err != nil || rec.Key != key {
				t.Fatalf("got %v %v, want record %s", rec, err, key)
			}
			return
		}
		var se *SyntaxError
		if !errors.As(err, &se) || se.Line != line || (target != nil && !errors.Is(err, target)) {
			t.Fatalf("got %v, want an error at line %d", err, line)
		}
		t.Log(err)
	}
	expect("a", 0, nil)
	expect("b", 0, nil)
	expect("", 3, ErrCorrupt) // the lost frame is where line 3 would be
	expect("", 3, nil)        // lost lines are not counted
	expect("e", 0, nil)

	// A line begun before the lost frame is lost with it and counted.
	f1 = zframe(r("a") + "\n" + `{"v":1,`)
	data = slicesConcat(f1, f2, f3)
	rd = NewReader(bytes.NewReader(data), "x.zst")
	expect("a", 0, nil)
	expect("", 2, ErrCorrupt)
	expect("", 3, nil)
	expect("e", 0, nil)
	if _, err := rd.Next(); err != io.EOF {
		t.Fatal(err)
	}
}

func slicesConcat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestLinesSpanFrames reads a zstd stream whose frames split lines, as
// another zstd writer may.
func TestLinesSpanFrames(t *testing.T) {
	recs := testRecords(5)
	var text bytes.Buffer
	for _, r := range recs {
		text.WriteString(js(t, r) + "\n")
	}
	s := text.String()
	data := slicesConcat(zframe(s[:10]), zframe(s[10:500]), zframe(""), zframe(s[500:]))
	got, errs := readAllChecked(t, bytes.NewReader(data), "span")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	sameRecords(t, got, recs)
}

func skippable(payload string) []byte {
	b := []byte{0x5A, 0x2A, 0x4D, 0x18, 0, 0, 0, 0}
	b[4] = byte(len(payload))
	return append(b, payload...)
}

func TestSkippableFrames(t *testing.T) {
	line := js(t, testRecord(1)) + "\n"
	data := slicesConcat(skippable("meta"), zframe(line), skippable(""), zframe(line))
	got, errs := readAllChecked(t, bytes.NewReader(data), "skip")
	if len(got) != 2 || len(errs) != 0 {
		t.Fatalf("got %d records, errors %v", len(got), errs)
	}
	// A truncated skippable frame is a truncation.
	got, errs = readAllChecked(t, bytes.NewReader(slicesConcat(zframe(line), skippable("meta")[:10])), "skip")
	if len(got) != 1 || len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) {
		t.Fatalf("got %d records, errors %v", len(got), errs)
	}
}

func TestGarbage(t *testing.T) {
	line := js(t, testRecord(1)) + "\n"
	f := zframe(line)
	tests := []struct {
		name   string
		data   []byte
		recs   int
		target error
		offset int64
	}{
		{"between frames", slicesConcat(f, []byte("hello"), f), 2, ErrCorrupt, int64(len(f))},
		{"after frames", slicesConcat(f, f, []byte("xyz")), 2, ErrCorrupt, int64(2 * len(f))},
		{"partial magic", slicesConcat(f, f[:2]), 1, ErrTruncated, int64(len(f))},
		{"magic only", slicesConcat(f, f[:4]), 1, ErrTruncated, int64(len(f))},
		{"reserved bit", slicesConcat(f, append([]byte{0x28, 0xB5, 0x2F, 0xFD, 0x08}, f[5:]...), f), 2, ErrCorrupt, int64(len(f))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := readAllChecked(t, bytes.NewReader(tt.data), "g")
			if len(got) != tt.recs || len(errs) != 1 || !errors.Is(errs[0], tt.target) || errs[0].Offset != tt.offset {
				t.Fatalf("got %d records, errors %v", len(got), errs)
			}
		})
	}
}

// TestFalseMagic puts the zstd magic number inside a frame's (stored)
// content: the frame walk is not fooled by it, and when that frame is
// corrupt, resynchronisation tries the false start, rejects it and goes on
// to the next frame.
func TestFalseMagic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 3000)
	for i := range junk {
		junk[i] = byte(rng.IntN(256))
		if junk[i] == '\n' {
			junk[i] = 'n'
		}
	}
	junk[0] = 'x'
	copy(junk[1000:], []byte{0x28, 0xB5, 0x2F, 0xFD, 0x04, 0x00, 0x01, 0x00})
	r1, r2 := js(t, testRecord(1)), js(t, testRecord(2))
	f1 := zframe(string(junk) + "\n" + r1 + "\n")
	if !bytes.Contains(f1[4:], []byte{0x28, 0xB5, 0x2F, 0xFD}) {
		t.Fatal("the magic number was compressed away; pick other junk")
	}
	f2 := zframe(r2 + "\n")
	data := slicesConcat(f1, f2)

	got, errs := readAllChecked(t, bytes.NewReader(data), "m")
	if len(got) != 2 || len(errs) != 1 || errs[0].Line != 1 {
		t.Fatalf("intact: %d records, errors %v", len(got), errs)
	}
	data[4] |= 0x08 // set a reserved bit in f1's header
	got, errs = readAllChecked(t, bytes.NewReader(data), "m")
	if len(got) != 1 || got[0].Key != testRecord(2).Key || len(errs) != 1 ||
		!errors.Is(errs[0], ErrCorrupt) || errs[0].Offset != 0 || !strings.Contains(errs[0].Error(), fmt.Sprintf("bytes 0 to %d", len(f1))) {
		t.Fatalf("corrupt: %d records, errors %v", len(got), errs)
	}
}

// TestReaderPipe reads records as they are written to a pipe: the Reader
// does not wait for the end of the input, nor for the next frame.
func TestReaderPipe(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprint("compress=", compress), func(t *testing.T) {
			pr, pw := io.Pipe()
			ack := make(chan bool)
			const n = 5
			go func() {
				w := NewWriter(pw, compress)
				for i := range n {
					if err := w.Write(testRecord(i)); err != nil {
						pw.CloseWithError(err)
						return
					}
					if err := w.Flush(); err != nil {
						pw.CloseWithError(err)
						return
					}
					select {
					case <-ack:
					case <-time.After(10 * time.Second):
						pw.CloseWithError(errors.New("reader did not return the record in time"))
						return
					}
				}
				w.Close()
				pw.Close()
			}()
			rd := NewReader(pr, "stdin")
			for i := range n {
				rec, err := rd.Next()
				if err != nil {
					t.Fatal(err)
				}
				if rec.Key != testRecord(i).Key {
					t.Fatalf("got %s, want %s", rec.Key, testRecord(i).Key)
				}
				ack <- true
			}
			if _, err := rd.Next(); err != io.EOF {
				t.Fatalf("at end: %v", err)
			}
		})
	}
}

// TestReaderShortReads reads damaged input through readers that return
// little at a time: the results do not depend on how input arrives.
func TestReaderShortReads(t *testing.T) {
	recs := testRecords(20)
	data, ends := encodeFile(t, recs, true, 4, 4, 4, 4, 4)
	data = bytes.Clone(data)
	data[ends[1]+20] ^= 0x40   // corrupt the third frame
	data = data[:len(data)-10] // truncate the last
	want, wantErrs := readAllChecked(t, bytes.NewReader(data), "r")
	if len(want) != 12 || len(wantErrs) != 2 {
		t.Fatalf("%d records, errors %v", len(want), wantErrs)
	}
	for name, r := range map[string]io.Reader{
		"OneByte":  iotest.OneByteReader(bytes.NewReader(data)),
		"Half":     iotest.HalfReader(bytes.NewReader(data)),
		"DataErr":  iotest.DataErrReader(bytes.NewReader(data)),
		"MultiNil": io.MultiReader(bytes.NewReader(data[:100]), bytes.NewReader(nil), bytes.NewReader(data[100:])),
	} {
		t.Run(name, func(t *testing.T) {
			got, errs := readAllChecked(t, r, "r")
			sameRecords(t, got, want)
			if fmt.Sprint(errs) != fmt.Sprint(wantErrs) {
				t.Fatalf("errors %v, want %v", errs, wantErrs)
			}
		})
	}
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, compress := range []bool{false, true} {
		data, ends := encodeFile(t, testRecords(6), compress, 3, 3)
		in := io.MultiReader(bytes.NewReader(data[:ends[0]+5]), iotest.ErrReader(boom))
		rd := NewReader(in, "e")
		for range 3 {
			if _, err := rd.Next(); err != nil {
				t.Fatal(err)
			}
		}
		for range 2 {
			_, err := rd.Next()
			var se *SyntaxError
			if !errors.Is(err, boom) || errors.As(err, &se) || err == io.EOF {
				t.Fatalf("got %v, want the read error", err)
			}
		}
		recs, errs := ReadAll(io.MultiReader(bytes.NewReader(data[:ends[0]+5]), iotest.ErrReader(boom)), "e")
		if len(recs) != 3 || len(errs) != 1 || !errors.Is(errs[0], boom) {
			t.Fatalf("ReadAll: %d records, errors %v", len(recs), errs)
		}
	}
}

func TestReadFileMissing(t *testing.T) {
	_, _, err := ReadFile(filepath.Join(t.TempDir(), "nope.jsonl.zst"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestReadEmpty(t *testing.T) {
	recs, errs := ReadAll(bytes.NewReader(nil), "empty")
	if len(recs) != 0 || len(errs) != 0 {
		t.Fatalf("%v %v", recs, errs)
	}
}

func BenchmarkRead(b *testing.B) {
	recs := testRecords(1000)
	data, _ := encodeFile(b, recs, true, 1000)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		got, errs := ReadAll(bytes.NewReader(data), "bench")
		if len(got) != len(recs) || len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}
