package record

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestCreateExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.jsonl.zst")
	if err := os.WriteFile(path, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(path); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Create over an existing file: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep" {
		t.Fatal("existing file modified")
	}
}

// TestWriterBatch checks when batches are written, and that each is one
// whole frame of whole lines.
func TestWriterBatch(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, true)
	for i := range FlushRecords - 1 {
		if err := w.Write(testRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() != 0 {
		t.Fatalf("%d bytes written before the batch was full", buf.Len())
	}
	if err := w.Write(testRecord(FlushRecords)); err != nil {
		t.Fatal(err)
	}
	if n := len(frames(t, buf.Bytes())); n != 1 {
		t.Fatalf("%d frames after %d records, want 1", n, FlushRecords)
	}
	// A batch of bytes: one record larger than FlushBytes goes at once.
	big := testRecord(1000)
	big.Output = strings.Repeat("x", FlushBytes)
	if err := w.Write(big); err != nil {
		t.Fatal(err)
	}
	if n := len(frames(t, buf.Bytes())); n != 2 {
		t.Fatalf("%d frames after a big record, want 2", n)
	}
	// Flush with an empty batch writes nothing.
	size := buf.Len()
	if err := w.Flush(); err != nil || buf.Len() != size {
		t.Fatalf("empty Flush: %v, %d bytes written", err, buf.Len()-size)
	}
	if err := w.Write(testRecord(1001)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fs := frames(t, buf.Bytes())
	if len(fs) != 3 {
		t.Fatalf("%d frames after Close, want 3", len(fs))
	}
	for i, f := range fs {
		text, err := decoder().DecodeAll(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(text, []byte("\n")) {
			t.Errorf("frame %d does not end a line", i)
		}
		if f[4]&0x04 == 0 {
			t.Errorf("frame %d has no checksum", i)
		}
	}
	if w.Count() != FlushRecords+2 {
		t.Errorf("Count = %d", w.Count())
	}
}

func TestWriterConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "records.jsonl.zst")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 100
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				if err := w.Write(testRecord(g*each + i)); err != nil {
					t.Error(err)
				}
				if i%37 == 0 {
					if err := w.Flush(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Count() != workers*each {
		t.Errorf("Count = %d", w.Count())
	}
	recs, errs, err := ReadFile(path)
	if err != nil || len(errs) > 0 {
		t.Fatal(err, errs)
	}
	if keys := Keys(recs); len(recs) != workers*each || len(keys) != workers*each {
		t.Fatalf("%d records, %d keys", len(recs), len(keys))
	}
}

func TestWriterRejects(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf, false)
	noKey := testRecord(1)
	noKey.Key = ""
	future := testRecord(2)
	future.V = Version + 1
	nan := testRecord(3)
	nan.Scores = map[string]float64{"exact": math.NaN()}
	for name, r := range map[string]*Record{"no key": noKey, "future": future, "NaN": nan} {
		if err := w.Write(r); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	unset := testRecord(4)
	unset.V = 0
	if err := w.Write(unset); err != nil || unset.V != Version {
		t.Fatalf("V not set: %v, V=%d", err, unset.V)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	recs, errs := ReadAll(&buf, "w")
	if len(recs) != 1 || len(errs) != 0 || w.Count() != 1 {
		t.Fatalf("%d records, errors %v, Count %d", len(recs), errs, w.Count())
	}
}

func TestWriterClosed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(testRecord(1)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(testRecord(2)); err == nil {
		t.Error("Write after Close succeeded")
	}
	if err := w.Flush(); err == nil {
		t.Error("Flush after Close succeeded")
	}
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), `"name":"x <&> y"`) {
		t.Errorf("HTML escaped or record missing: %s", b)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriterStickyError(t *testing.T) {
	w := NewWriter(&failWriter{n: 1}, true)
	for i := range FlushRecords {
		if err := w.Write(testRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(testRecord(100)); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Flush: %v", err)
	}
	if err := w.Write(testRecord(101)); err == nil {
		t.Fatal("Write after a failed write succeeded")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after a failed write succeeded")
	}
}

func BenchmarkWrite(b *testing.B) {
	recs := testRecords(1000)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		w := NewWriter(&buf, true)
		for _, r := range recs {
			if err := w.Write(r); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
