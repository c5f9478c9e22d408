package record

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// This file holds the zstd side of the format: the shared encoder and
// decoder, a structural walk of zstd frames (RFC 8878, section 3.1) that finds
// where a frame ends without decoding it, and the input window the Reader
// scans.

// encoder and decoder are shared by all Writers and Readers: EncodeAll and
// DecodeAll are safe for concurrent use and hold no goroutines.
var (
	encoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
		if err != nil {
			panic("record: zstd encoder: " + err.Error()) // constant options
		}
		return e
	})
	decoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil)
		if err != nil {
			panic("record: zstd decoder: " + err.Error()) // constant options
		}
		return d
	})
)

// frameKind says what a magic number announces.
type frameKind int

const (
	notFrame       frameKind = iota
	dataFrame                // Zstandard frame, magic 28 B5 2F FD
	skippableFrame           // skippable frame, magic 5? 2A 4D 18
)

// magicKind reports which kind of frame, if any, begins at b.
func magicKind(b []byte) frameKind {
	if len(b) < 4 {
		return notFrame
	}
	switch {
	case b[0] == 0x28 && b[1] == 0xB5 && b[2] == 0x2F && b[3] == 0xFD:
		return dataFrame
	case b[0]&0xF0 == 0x50 && b[1] == 0x2A && b[2] == 0x4D && b[3] == 0x18:
		return skippableFrame
	}
	return notFrame
}

// magicPrefix reports whether b (shorter than 4 bytes) could be the start of
// a magic number, as at the end of a file truncated inside one.
func magicPrefix(b []byte) bool {
	var buf [4]byte
	copy(buf[:], b)
	for i := len(b); i < 4; i++ {
		buf[i] = [4]byte{0x28, 0xB5, 0x2F, 0xFD}[i]
	}
	if magicKind(buf[:]) == dataFrame {
		return true
	}
	copy(buf[:], b)
	for i := len(b); i < 4; i++ {
		buf[i] = [4]byte{0x50, 0x2A, 0x4D, 0x18}[i]
	}
	return magicKind(buf[:]) == skippableFrame
}

// maxBlockSize is the largest block a Zstandard frame may hold.
const maxBlockSize = 128 << 10

// frameStatus is the outcome of frameSize.
type frameStatus int

const (
	frameOK    frameStatus = iota // the whole frame is present
	frameShort                    // more input is needed to find the end
	frameBad                      // not a well-formed frame
)

// frameSize walks the frame at the start of b without decoding it. With
// frameOK, n is the frame's length in bytes; with frameShort, n is the
// length b must have for the walk to go further; with frameBad, cause says
// what is wrong. The walk checks the header and block headers only: the
// content (and its checksum) is checked by decoding.
func frameSize(b []byte) (n int64, st frameStatus, cause string) {
	if len(b) < 4 {
		if magicPrefix(b) {
			return 4, frameShort, ""
		}
		return 0, frameBad, "no zstd magic number"
	}
	switch magicKind(b) {
	case notFrame:
		return 0, frameBad, "no zstd magic number"
	case skippableFrame:
		if len(b) < 8 {
			return 8, frameShort, ""
		}
		n = 8 + int64(binary.LittleEndian.Uint32(b[4:8]))
		if int64(len(b)) < n {
			return n, frameShort, ""
		}
		return n, frameOK, ""
	}
	if len(b) < 5 {
		return 5, frameShort, ""
	}
	fhd := b[4]
	if fhd&0x08 != 0 {
		return 0, frameBad, "reserved bit set in frame header"
	}
	single := fhd&0x20 != 0
	n = 5
	if !single {
		n++ // window descriptor
	}
	n += [4]int64{0, 1, 2, 4}[fhd&3] // dictionary id
	switch fhd >> 6 {                // frame content size
	case 0:
		if single {
			n++
		}
	case 1:
		n += 2
	case 2:
		n += 4
	case 3:
		n += 8
	}
	for {
		if int64(len(b)) < n+3 {
			return n + 3, frameShort, ""
		}
		h := uint32(b[n]) | uint32(b[n+1])<<8 | uint32(b[n+2])<<16
		last, typ, size := h&1 != 0, (h>>1)&3, int64(h>>3)
		if size > maxBlockSize {
			return 0, frameBad, fmt.Sprintf("block size %d exceeds %d", size, maxBlockSize)
		}
		n += 3
		switch typ {
		case 0, 2: // raw, compressed
			n += size
		case 1: // RLE: one byte repeated size times
			n++
		case 3:
			return 0, frameBad, "reserved block type"
		}
		if last {
			break
		}
	}
	if fhd&0x04 != 0 {
		n += 4 // content checksum
	}
	if int64(len(b)) < n {
		return n, frameShort, ""
	}
	return n, frameOK, ""
}

// window is a growable look-ahead buffer over an io.Reader: the Reader can
// look as far ahead as a frame needs and go back to any unconsumed byte when
// it resynchronises, while consumed input is released.
type window struct {
	r    io.Reader
	data []byte // data[pos:] is the unconsumed input
	pos  int
	off  int64 // input offset of data[pos]
	eof  bool  // r returned io.EOF
	err  error // first other error from r
}

// minRead is the least free space offered to a Read.
const minRead = 8 << 10

// bytes returns the unconsumed input read so far. It is valid until the
// next fill.
func (w *window) bytes() []byte { return w.data[w.pos:] }

// advance consumes n bytes.
func (w *window) advance(n int) {
	w.pos += n
	w.off += int64(n)
}

// fill reads until at least n bytes are unconsumed, the input ends or a read
// fails, and reports whether n bytes are there. It allocates as data arrives,
// never in advance of it, so a bogus length in the input costs nothing.
func (w *window) fill(n int64) bool {
	empty := 0
	for int64(len(w.data)-w.pos) < n {
		if w.eof || w.err != nil {
			return false
		}
		if cap(w.data)-len(w.data) < minRead {
			unread := len(w.data) - w.pos
			if w.pos > 0 && unread+minRead <= cap(w.data) {
				copy(w.data, w.data[w.pos:])
				w.data = w.data[:unread]
			} else {
				d := make([]byte, unread, max(2*cap(w.data), unread+minRead))
				copy(d, w.data[w.pos:])
				w.data = d
			}
			w.pos = 0
		}
		m, err := w.r.Read(w.data[len(w.data):cap(w.data)])
		w.data = w.data[:len(w.data)+m]
		switch {
		case err == io.EOF:
			w.eof = true
		case err != nil:
			w.err = err
		case m == 0:
			if empty++; empty >= 100 {
				w.err = io.ErrNoProgress
			}
		default:
			empty = 0
		}
	}
	return true
}

// findMagic consumes input up to the next zstd or skippable magic number and
// reports whether it found one; if not, all input has been consumed.
func (w *window) findMagic() bool {
	for {
		b := w.bytes()
		for i := 0; i+4 <= len(b); i++ {
			if magicKind(b[i:]) != notFrame {
				w.advance(i)
				return true
			}
		}
		keep := min(len(b), 3) // a magic number may straddle the next read
		w.advance(len(b) - keep)
		if !w.fill(int64(keep) + 1) {
			w.advance(len(w.bytes()))
			return false
		}
	}
}
