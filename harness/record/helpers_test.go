package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// testRecord returns a record with every field set; i varies it.
func testRecord(i int) *Record {
	return &Record{
		V:             Version,
		Key:           fmt.Sprintf("k%04d", i),
		Run:           "run-1",
		Backend:       []string{"dense", "sparse-0.5"}[i%2],
		BackendName:   []string{"dense", "sparse"}[i%2],
		BackendParams: map[string]any{"density": 0.5, "name": "x <&> y"},
		Task:          []string{"niah", "kv"}[i%3%2],
		TaskParams:    map[string]any{"needles": 1.0},
		Length:        1024 << (i % 4),
		Depth:         float64(i%5) / 4,
		Sample:        i / 7,
		Seed:          int64(i) * 7919,
		Output:        strings.Repeat("answer ", i%9) + fmt.Sprint(i),
		References:    []string{fmt.Sprint(i)},
		Scores:        map[string]float64{"exact": float64(i % 2)},
		Metrics:       map[string]Value{"density": {Value: 0.5, Unit: "ratio", Better: Lower}},
		Timings:       map[string]Value{"prefill": {Value: float64(i) / 3, Unit: "ms", Better: Lower}},
		Info:          map[string]any{"tokens": float64(i * 10)},
		Start:         time.Date(2025, 1, 2, 3, 4, 5, i, time.UTC),
		Elapsed:       float64(i),
		Worker:        i % 4,
	}
}

func testRecords(n int) []*Record {
	recs := make([]*Record, n)
	for i := range recs {
		recs[i] = testRecord(i)
	}
	return recs
}

// js returns the JSON of r, to compare records.
func js(t testing.TB, r *Record) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameRecords fails unless got and want hold the same records, in order.
func sameRecords(t testing.TB, got, want []*Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range got {
		if g, w := js(t, got[i]), js(t, want[i]); g != w {
			t.Fatalf("record %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

// encodeFile writes recs with a Writer, flushing after each group of
// sizes[i] records, and returns the bytes and the offset at which each
// flush ended.
func encodeFile(t testing.TB, recs []*Record, compress bool, sizes ...int) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, compress)
	var ends []int
	i := 0
	for _, n := range sizes {
		for range n {
			if err := w.Write(recs[i]); err != nil {
				t.Fatal(err)
			}
			i++
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, buf.Len())
	}
	if i != len(recs) {
		t.Fatalf("sizes cover %d of %d records", i, len(recs))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), ends
}

// zframe compresses text as one zstd frame.
func zframe(text string) []byte {
	return encoder().EncodeAll([]byte(text), nil)
}

// frames splits zstd data into frames by walking them, failing on anything
// else.
func frames(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(data) > 0 {
		n, st, cause := frameSize(data)
		if st != frameOK {
			t.Fatalf("frame walk: status %d %s", st, cause)
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

// readAllChecked reads r to the end, checking the Reader's contract: every
// error is a *SyntaxError until io.EOF, which repeats.
func readAllChecked(t testing.TB, r io.Reader, name string) ([]*Record, []*SyntaxError) {
	t.Helper()
	rd := NewReader(r, name)
	var recs []*Record
	var errs []*SyntaxError
	for range 10_000_000 {
		rec, err := rd.Next()
		if err == io.EOF {
			if _, err := rd.Next(); err != io.EOF {
				t.Fatalf("Next after io.EOF: %v", err)
			}
			return recs, errs
		}
		var se *SyntaxError
		switch {
		case errors.As(err, &se):
			if rec != nil {
				t.Fatalf("record with error %v", err)
			}
			if se.File != name || se.Line < 1 {
				t.Fatalf("error %q: File %q Line %d", err, se.File, se.Line)
			}
			errs = append(errs, se)
		case err != nil:
			t.Fatalf("Next: %v (%T), want *SyntaxError or io.EOF", err, err)
		default:
			if rec.V < 1 || rec.V > Version || rec.Key == "" {
				t.Fatalf("invalid record returned: %+v", rec)
			}
			recs = append(recs, rec)
		}
	}
	t.Fatal("no io.EOF after 10M calls")
	return nil, nil
}
