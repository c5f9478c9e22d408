package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// A Writer batches flushes: a batch is written when it holds this many
// records or bytes, or on Flush and Close.
const (
	FlushRecords = 64
	FlushBytes   = 256 << 10
)

// errClosed is returned by a Writer used after Close.
var errClosed = errors.New("record: writer is closed")

// A Writer writes records as JSON lines, plain or zstd-compressed.
//
// Records are collected in a batch in memory, and each batch is written with
// one write: as one complete, checksummed zstd frame when compressing, as its
// raw lines when not. A process killed at any instant therefore leaves a file
// of complete frames (or lines) followed by at most one partial one, which
// the Reader reports as truncated: every record of a complete frame is read
// back, and no record of a partial one. Records buffered and not yet flushed
// are lost with the process; call Flush to bound that loss in time.
//
// A Writer is safe for concurrent use.
type Writer struct {
	mu       sync.Mutex
	w        io.Writer
	f        *os.File // set by Create
	compress bool
	batch    []byte // JSON lines not yet written
	n        int    // records in batch
	count    int    // records accepted
	size     int64  // bytes written
	frame    []byte // reused compression buffer
	err      error  // sticky write error
	closed   bool
}

// Create creates a new file at path, which must not exist, and returns a
// Writer to it. Records are zstd-compressed if path ends in ".zst" and plain
// JSON lines otherwise.
func Create(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	w := NewWriter(f, strings.HasSuffix(path, ".zst"))
	w.f = f
	return w, nil
}

// NewWriter returns a Writer to w, compressing with zstd if compress is
// set; use it for standard output. Closing the Writer does not close w.
func NewWriter(w io.Writer, compress bool) *Writer {
	return &Writer{w: w, compress: compress}
}

// Write adds r to the current batch, setting r.V to Version if it is zero,
// and writes the batch if it is full. Write rejects what a Reader would
// reject (no key, a version outside 1..Version) and what JSON cannot hold
// (NaN, infinities, unsupported types in the maps); nothing is written
// then. After a failed write to the underlying file every call fails.
func (w *Writer) Write(r *Record) error {
	if r.V == 0 {
		r.V = Version
	}
	if r.V < 1 || r.V > Version {
		return fmt.Errorf("record: writing %q: %w", r.Key, versionErr(r.V))
	}
	if r.Key == "" {
		return fmt.Errorf("record: writing a %s/%s record: %w", r.Backend, r.Task, ErrNoKey)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // outputs are read by people and tools, not browsers
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("record: writing %q: %w", r.Key, err)
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed
	}
	if w.err != nil {
		return w.err
	}
	w.batch = append(w.batch, buf.Bytes()...)
	w.n++
	w.count++
	if w.n >= FlushRecords || len(w.batch) >= FlushBytes {
		return w.flush()
	}
	return nil
}

// Flush writes the current batch, if any: as one zstd frame appended to the
// file, or as its raw lines.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosed
	}
	return w.flush()
}

// flush is Flush with w.mu held.
func (w *Writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.batch) == 0 {
		return nil
	}
	out := w.batch
	if w.compress {
		w.frame = encoder().EncodeAll(w.batch, w.frame[:0])
		out = w.frame
	}
	if _, err := w.w.Write(out); err != nil {
		w.err = fmt.Errorf("record: writing %d records: %w", w.n, err)
		if w.f != nil {
			// Best effort: end the file at the last complete frame.
			// The Reader copes if this fails.
			_ = w.f.Truncate(w.size)
		}
		return w.err
	}
	w.size += int64(len(out))
	w.batch = w.batch[:0]
	w.n = 0
	return nil
}

// Close flushes the batch and, for a Writer made by Create, syncs the file
// to stable storage and closes it. Closing a closed Writer does nothing.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.flush()
	if w.f != nil {
		if e := w.f.Sync(); err == nil && e != nil {
			err = fmt.Errorf("record: %w", e)
		}
		if e := w.f.Close(); err == nil && e != nil {
			err = fmt.Errorf("record: %w", e)
		}
	}
	return err
}

// Count returns the number of records accepted by Write, flushed or not.
func (w *Writer) Count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}
