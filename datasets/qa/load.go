package qa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Input limits applied when Options leaves them zero.
const (
	DefaultMaxBytes     = 1 << 30  // 1 GiB per file
	DefaultMaxLineBytes = 16 << 20 // 16 MiB per JSONL line
)

// Format names accepted by Load and LoadReader.
const (
	FormatAuto    = "auto"
	FormatSQuAD   = "squad"
	FormatHotpot  = "hotpotqa" // "hotpot" is accepted too
	FormatJSONL   = "jsonl"
	formatHotpot2 = "hotpot"
)

// Options configure the loaders. The zero value is ready to use.
type Options struct {
	// MaxBytes bounds the size of one input; 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxLineBytes bounds one JSONL line; 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// SkipUnanswerable drops the questions without an answer (SQuAD v2.0
	// is_impossible questions; JSONL records with an empty answer list or a
	// true unanswerable flag) instead of returning them with
	// Unanswerable set.
	SkipUnanswerable bool
	// CheckSpans makes the SQuAD loader check that every answer's text
	// is the slice of its paragraph that starts at answer_start (counted in
	// Unicode code points, as SQuAD counts), and fail where it is not.
	CheckSpans bool
	// Fields maps the JSONL keys; unset fields keep the defaults.
	Fields Fields
}

// Fields name the keys of a JSONL record. Each is a key of the record or a
// dotted path into nested objects ("meta.id"); a key that itself contains
// a dot is matched first. An empty field means the defaults, tried in order,
// the first present and not null winning:
//
//	ID            "_id", "id", "index"
//	Question      "question", "input", "query"
//	Answers       "answers", "outputs", "answer"
//	Context       "context"
//	Title         "title"
//	Unanswerable  "is_impossible"
type Fields struct {
	ID, Question, Answers, Context, Title, Unanswerable string
}

var defaultFields = struct {
	ID, Question, Answers, Context, Title, Unanswerable []string
}{
	ID:           []string{"_id", "id", "index"},
	Question:     []string{"question", "input", "query"},
	Answers:      []string{"answers", "outputs", "answer"},
	Context:      []string{"context"},
	Title:        []string{"title"},
	Unanswerable: []string{"is_impossible"},
}

func (o Options) resolve() (Options, error) {
	if o.MaxBytes < 0 {
		return o, fmt.Errorf("qa: Options.MaxBytes = %d: want 0 (default %d) or a positive byte count", o.MaxBytes, int64(DefaultMaxBytes))
	}
	if o.MaxLineBytes < 0 {
		return o, fmt.Errorf("qa: Options.MaxLineBytes = %d: want 0 (default %d) or a positive byte count", o.MaxLineBytes, DefaultMaxLineBytes)
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxLineBytes == 0 {
		o.MaxLineBytes = DefaultMaxLineBytes
	}
	for _, f := range []struct{ name, key string }{
		{"ID", o.Fields.ID}, {"Question", o.Fields.Question}, {"Answers", o.Fields.Answers},
		{"Context", o.Fields.Context}, {"Title", o.Fields.Title}, {"Unanswerable", o.Fields.Unanswerable},
	} {
		if f.key == "" {
			continue
		}
		for _, seg := range strings.Split(f.key, ".") {
			if seg == "" {
				return o, fmt.Errorf("qa: Options.Fields.%s = %q: want a key or a dotted path of non-empty keys", f.name, f.key)
			}
		}
	}
	return o, nil
}

// Load reads the QA file at path in the given format with default Options.
// format is "squad", "hotpotqa", "jsonl" or "auto" (also ""): see
// LoadReader.
func Load(path, format string) ([]Item, error) {
	return LoadOptions(path, format, Options{})
}

// LoadOptions is Load with options.
func LoadOptions(path, format string, opt Options) ([]Item, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &ParseError{File: path, Err: err}
	}
	defer f.Close()
	return LoadReader(f, path, format, opt)
}

// LoadReader reads QA items from r, whose name (a path or any label) is used
// in errors and, for JSONL, in Item.Source. With format "auto" (or ""), a
// name ending in .jsonl or .ndjson is read as JSONL; otherwise the content
// decides: a list is HotpotQA; an object spread over several lines, or a
// one-line object with a "data" key and nothing after it, is SQuAD; a
// first line holding a complete object is JSONL.
func LoadReader(r io.Reader, name, format string, opt Options) ([]Item, error) {
	opt, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(format) {
	case FormatSQuAD:
		return ReadSQuAD(r, name, opt)
	case FormatHotpot, formatHotpot2:
		return ReadHotpot(r, name, opt)
	case FormatJSONL:
		return ReadJSONL(r, name, opt)
	case FormatAuto, "":
	default:
		return nil, fmt.Errorf("qa: format %q: want %q, %q, %q or %q", format, FormatAuto, FormatSQuAD, FormatHotpot, FormatJSONL)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return ReadJSONL(r, name, opt)
	}
	data, err := readAll(r, name, opt.MaxBytes)
	if err != nil {
		return nil, err
	}
	switch detect(data) {
	case FormatSQuAD:
		return parseSQuAD(data, name, opt)
	case FormatHotpot:
		return parseHotpot(data, name)
	case FormatJSONL:
		return ReadJSONL(bytes.NewReader(data), name, opt)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, &ParseError{File: name, Err: errors.New("empty input: cannot detect the format")}
	}
	first, _, _ := bytes.Cut(trimmed, []byte{'\n'})
	if len(first) > 40 {
		first = first[:40]
	}
	return nil, &ParseError{File: name, Line: 1, Err: fmt.Errorf("cannot detect the format: the content starts with %q, not { or [; name the format", first)}
}

// detect returns the format of data by its content, or "".
func detect(data []byte) string {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return ""
	}
	switch trimmed[0] {
	case '[':
		return FormatHotpot
	case '{':
	default:
		return ""
	}
	first, rest, _ := bytes.Cut(trimmed, []byte{'\n'})
	var m map[string]json.RawMessage
	if json.Unmarshal(first, &m) != nil {
		return FormatSQuAD // an object over several lines; the SQuAD parser says what is wrong
	}
	if _, ok := m["data"]; ok && len(bytes.TrimSpace(rest)) == 0 {
		return FormatSQuAD
	}
	return FormatJSONL
}
