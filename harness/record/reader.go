package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Errors wrapped by a SyntaxError, for errors.Is.
var (
	// ErrTruncated means that the input ends inside a line or a zstd
	// frame, as it does when the writer was killed.
	ErrTruncated = errors.New("truncated input")
	// ErrCorrupt means that bytes of zstd input do not decode as a frame;
	// the lines they held are lost.
	ErrCorrupt = errors.New("corrupt input")
	// ErrVersion means that a record's schema version is not in
	// 1..Version.
	ErrVersion = errors.New("unsupported record version")
	// ErrNoKey means that a record has no key.
	ErrNoKey = errors.New("record has no key")
)

// A SyntaxError reports a line or a stretch of input that yields no record.
// The Reader that returned it can go on.
type SyntaxError struct {
	File string // input name, as given to NewReader
	// Line is the line of the (decompressed) JSON-lines stream. Lines lost
	// in a corrupt zstd frame cannot be counted: after one, numbers run on
	// as if the lost lines had not been there, and the error says so.
	Line int
	// Offset is the byte offset in the raw input: where the line starts in
	// plain input, where its frame starts in zstd input, or where the bad
	// bytes start.
	Offset int64
	Err    error
}

// Error formats the error as "file:line: message".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

// Unwrap returns e.Err.
func (e *SyntaxError) Unwrap() error { return e.Err }

// inputMode is what a Reader found at the start of its input.
type inputMode int

const (
	modeUnknown inputMode = iota
	modePlain
	modeZstd
)

// A Reader reads records from JSON lines, plain or zstd-compressed.
// Compression is recognised by the zstd magic number, not by a file name, so
// standard input works either way.
//
// Zstd input is read frame by frame, each frame decoded on its own and
// checked against its checksum (frames from a Writer all have one), so that
//   - a truncated last frame (a killed writer) costs that frame only: the
//     Reader returns every record of the complete frames, then one
//     *SyntaxError wrapping ErrTruncated with the frame's byte offset;
//   - a corrupt frame in the middle is reported as one *SyntaxError wrapping
//     ErrCorrupt, and reading resumes at the next frame that decodes.
//
// A Reader never returns a record from a partial line: a last line without
// a newline is an ErrTruncated error. Input is consumed as it arrives, so a
// Reader can follow a pipe; memory holds about one frame (or line).
type Reader struct {
	name string
	in   window
	mode inputMode
	line int   // lines consumed so far
	err  error // sticky: io.EOF or a read error

	// zstd input
	text     []byte // decompressed bytes not yet returned as lines
	textOff  int64  // input offset of the frame holding text[0]
	frameOff int64  // input offset of the last frame decoded
	stash    *decoded
}

// decoded is a frame decoded ahead, while resynchronising.
type decoded struct {
	text []byte
	off  int64
}

// loss describes input that yields no lines: bad bytes from start to end.
type loss struct {
	start, end int64
	truncated  bool   // the input ended inside a frame
	tail       bool   // the bad bytes run to the end of input
	cause      string // what was wrong with the first frame
}

// NewReader returns a Reader reading from r. The name (a file name, or
// "stdin") prefixes its error messages.
func NewReader(r io.Reader, name string) *Reader {
	return &Reader{name: name, in: window{r: r}}
}

// Next returns the next record. For a line or stretch of input that yields
// none, it returns a *SyntaxError, and the caller may call Next again. At
// the end of the input it returns io.EOF. Any other error is a read error
// and is returned again by later calls.
func (r *Reader) Next() (*Record, error) {
	for {
		if r.err != nil {
			return nil, r.err
		}
		line, off, err := r.nextLine()
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				r.err = err
			}
			return nil, err
		}
		rec, err := parseRecord(line)
		switch {
		case err != nil:
			return nil, &SyntaxError{File: r.name, Line: r.line, Offset: off, Err: err}
		case rec != nil:
			return rec, nil
		}
		// blank line
	}
}

// nextLine returns the next line without its newline and the offset to
// report for it, or a *SyntaxError, io.EOF or a read error.
func (r *Reader) nextLine() ([]byte, int64, error) {
	if r.mode == modeUnknown {
		r.in.fill(4)
		if err := r.readErr(); err != nil {
			return nil, 0, err
		}
		r.mode = modePlain
		if looksZstd(r.in.bytes()) {
			r.mode = modeZstd
		}
	}
	if r.mode == modePlain {
		return r.plainLine()
	}
	return r.zstdLine()
}

// looksZstd reports whether input starting with b is zstd: it starts with
// a magic number, or with 3 of the 4 bytes of the Zstandard one, so that a
// damaged first frame costs that frame only. No UTF-8 text starts that way:
// a match includes byte FD, or B5 after an ASCII byte.
func looksZstd(b []byte) bool {
	if magicKind(b) != notFrame {
		return true
	}
	if len(b) < 4 {
		return false
	}
	same := 0
	for i, m := range [4]byte{0x28, 0xB5, 0x2F, 0xFD} {
		if b[i] == m {
			same++
		}
	}
	return same == 3
}

// readErr returns the window's read error, if any, naming the input.
func (r *Reader) readErr() error {
	if r.in.err != nil {
		return fmt.Errorf("%s: %w", r.name, r.in.err)
	}
	return nil
}

// syntaxErr returns a *SyntaxError at the current line.
func (r *Reader) syntaxErr(off int64, err error) *SyntaxError {
	return &SyntaxError{File: r.name, Line: r.line, Offset: off, Err: err}
}

// plainLine is nextLine for uncompressed input.
func (r *Reader) plainLine() ([]byte, int64, error) {
	scanned := 0
	for {
		b := r.in.bytes()
		if i := bytes.IndexByte(b[scanned:], '\n'); i >= 0 {
			off := r.in.off
			r.in.advance(scanned + i + 1)
			r.line++
			return b[:scanned+i], off, nil
		}
		scanned = len(b)
		if r.in.fill(int64(len(b)) + 1) {
			continue
		}
		if err := r.readErr(); err != nil {
			return nil, 0, err
		}
		off := r.in.off
		r.in.advance(len(b))
		if len(bytes.TrimSpace(b)) == 0 {
			return nil, 0, io.EOF
		}
		r.line++
		return nil, 0, r.syntaxErr(off, fmt.Errorf("%w: last line has no newline (%d bytes)", ErrTruncated, len(b)))
	}
}

// zstdLine is nextLine for zstd input. Lines may span frames, as in any
// zstd stream; the frames of a Writer hold whole lines.
func (r *Reader) zstdLine() ([]byte, int64, error) {
	for {
		if i := bytes.IndexByte(r.text, '\n'); i >= 0 {
			line, off := r.text[:i], r.textOff
			r.text, r.textOff = r.text[i+1:], r.frameOff
			r.line++
			return line, off, nil
		}
		text, off, lost, err := r.nextFrame()
		partial := len(bytes.TrimSpace(r.text)) > 0
		switch {
		case lost != nil:
			r.text = nil
			return nil, 0, r.lossErr(lost, partial)
		case err == io.EOF && partial:
			n := len(r.text)
			r.text = nil
			r.line++
			return nil, 0, r.syntaxErr(r.textOff, fmt.Errorf("%w: last line has no newline (%d bytes)", ErrTruncated, n))
		case err != nil:
			return nil, 0, err
		}
		r.frameOff = off
		if len(r.text) == 0 {
			r.text, r.textOff = text, off
		} else {
			r.text = append(r.text[:len(r.text):len(r.text)], text...)
		}
	}
}

// lossErr turns a loss into a *SyntaxError. partial says whether an
// incomplete line, begun before the loss, is lost with it; it takes the
// error's line number.
func (r *Reader) lossErr(l *loss, partial bool) *SyntaxError {
	var err error
	switch {
	case l.truncated:
		err = fmt.Errorf("%w: incomplete zstd frame at byte offset %d (%d bytes to the end); its records are lost",
			ErrTruncated, l.start, l.end-l.start)
	case l.tail:
		err = fmt.Errorf("%w: bytes %d to the end (%d bytes) are not a valid zstd frame (%s); their records are lost",
			ErrCorrupt, l.start, l.end-l.start, l.cause)
	default:
		err = fmt.Errorf("%w: bytes %d to %d (%d bytes) are not a valid zstd frame (%s); skipped to the next frame, "+
			"the lines lost are not counted in later line numbers", ErrCorrupt, l.start, l.end, l.end-l.start, l.cause)
	}
	if partial {
		err = fmt.Errorf("%w; this line, begun in the frame before, is lost with them", err)
	}
	// The error names the line at which the loss begins. Only an
	// incomplete line lost with it counts as a line.
	line := r.line + 1
	if partial {
		r.line++
	}
	return &SyntaxError{File: r.name, Line: line, Offset: l.start, Err: err}
}

// nextFrame decodes the next data frame, skipping skippable frames. It
// returns the decompressed text and the frame's offset; or a loss, when
// bytes before the next good frame do not decode; or io.EOF or a read error.
func (r *Reader) nextFrame() (text []byte, off int64, lost *loss, err error) {
	if d := r.stash; d != nil {
		r.stash = nil
		return d.text, d.off, nil, nil
	}
	for {
		text, n, st, cause := r.tryFrame()
		if st == frameOK {
			off := r.in.off
			r.in.advance(int(n))
			if text == nil { // skippable frame
				continue
			}
			return text, off, nil, nil
		}
		if err := r.readErr(); err != nil {
			return nil, 0, nil, err
		}
		if len(r.in.bytes()) == 0 {
			return nil, 0, nil, io.EOF
		}
		// Resynchronise: find the next magic number after the bad one
		// whose frame decodes. The frame walk does not trust a corrupt
		// frame's block sizes, which might jump over good frames.
		l := &loss{start: r.in.off, truncated: st == frameShort, cause: cause}
		r.in.advance(1)
		for {
			if !r.in.findMagic() {
				if err := r.readErr(); err != nil {
					return nil, 0, nil, err
				}
				l.end, l.tail = r.in.off, true
				return nil, 0, l, nil
			}
			text, n, st, _ := r.tryFrame()
			if st == frameOK {
				l.end, l.truncated = r.in.off, false
				if text != nil {
					r.stash = &decoded{text: text, off: r.in.off}
				}
				r.in.advance(int(n))
				return nil, 0, l, nil
			}
			if err := r.readErr(); err != nil {
				return nil, 0, nil, err
			}
			r.in.advance(1)
		}
	}
}

// tryFrame looks at the frame at the current input position, reading as
// much input as it needs, and decodes it. With frameOK it returns the frame's
// length and its text (nil for a skippable frame, non-nil otherwise). With
// frameShort the input ended (or failed) inside the frame. Nothing is
// consumed.
func (r *Reader) tryFrame() (text []byte, n int64, st frameStatus, cause string) {
	for {
		b := r.in.bytes()
		n, st, cause := frameSize(b)
		switch st {
		case frameBad:
			return nil, 0, frameBad, cause
		case frameShort:
			// Ask for no more than the walk needs, so that a Reader
			// following a pipe returns a frame's records as soon as the
			// frame is complete. Reads fill the free buffer space, which
			// doubles as it runs out, so long frames take few passes.
			if !r.in.fill(n) {
				if len(r.in.bytes()) == 0 {
					return nil, 0, frameShort, "" // nothing left
				}
				return nil, 0, frameShort, "incomplete frame"
			}
			continue
		}
		if magicKind(b) == skippableFrame {
			return nil, n, frameOK, ""
		}
		text, err := decoder().DecodeAll(b[:n], nil)
		if err != nil {
			return nil, 0, frameBad, err.Error()
		}
		if text == nil {
			text = []byte{}
		}
		return text, n, frameOK, ""
	}
}

// parseRecord parses one line. It returns nil, nil for a blank line.
func parseRecord(line []byte) (*Record, error) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil, nil
	}
	if line[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	rec := new(Record)
	if err := json.Unmarshal(line, rec); err != nil {
		// A newer schema may not fit this Record: say so rather than
		// report a type error.
		var probe struct {
			V int `json:"v"`
		}
		if json.Unmarshal(line, &probe) == nil && probe.V > Version {
			return nil, versionErr(probe.V)
		}
		return nil, fmt.Errorf("bad record: %v", err)
	}
	if rec.V < 1 || rec.V > Version {
		return nil, versionErr(rec.V)
	}
	if rec.Key == "" {
		return nil, ErrNoKey
	}
	return rec, nil
}

// versionErr reports a record version outside 1..Version.
func versionErr(v int) error {
	if v == 0 {
		return fmt.Errorf("%w: \"v\" is missing or 0 (this build reads 1 to %d)", ErrVersion, Version)
	}
	if v > Version {
		return fmt.Errorf("%w: v=%d is newer than this build, which reads 1 to %d", ErrVersion, v, Version)
	}
	return fmt.Errorf("%w: v=%d (this build reads 1 to %d)", ErrVersion, v, Version)
}

// ReadAll reads all records from r. Lines and stretches of input that yield
// no record are returned as errors (each a *SyntaxError), in input order; a
// read error, which ends the reading, comes last.
func ReadAll(r io.Reader, name string) ([]*Record, []error) {
	recs, errs, err := readAll(NewReader(r, name))
	if err != nil {
		errs = append(errs, err)
	}
	return recs, errs
}

// ReadFile reads all records of the file at path, plain or zstd. It returns
// the records, the per-line errors (each a *SyntaxError) and a fatal error:
// the file could not be opened or read.
func ReadFile(path string) ([]*Record, []error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return readAll(NewReader(f, path))
}

// readAll drains rd.
func readAll(rd *Reader) (recs []*Record, errs []error, fatal error) {
	for {
		rec, err := rd.Next()
		switch err.(type) {
		case nil:
			recs = append(recs, rec)
		case *SyntaxError:
			errs = append(errs, err)
		default:
			if err == io.EOF {
				return recs, errs, nil
			}
			return recs, errs, err
		}
	}
}
