package qa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// jpath is a JSON path, built as a chain while parsing and only turned into
// a string when an error names it.
type jpath struct {
	parent *jpath
	key    string
	idx    int
	isIdx  bool
}

func (p *jpath) field(k string) *jpath { return &jpath{parent: p, key: k} }
func (p *jpath) index(i int) *jpath    { return &jpath{parent: p, idx: i, isIdx: true} }

func (p *jpath) String() string {
	if p == nil {
		return ""
	}
	s := p.parent.String()
	if p.isIdx {
		return s + "[" + strconv.Itoa(p.idx) + "]"
	}
	if s == "" {
		return p.key
	}
	return s + "." + p.key
}

// valueError is an error about the value at a path; the reader that finds
// it turns it into a *ParseError with the file and line.
type valueError struct {
	path *jpath
	err  error
}

func (e *valueError) Error() string { return e.path.String() + ": " + e.err.Error() }

func errAt(p *jpath, format string, args ...any) error {
	return &valueError{path: p, err: fmt.Errorf(format, args...)}
}

// parseErr makes a *ParseError of err for file and line: a valueError lends
// its path, a *ParseError passes through.
func parseErr(file string, line int, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	var ve *valueError
	if errors.As(err, &ve) {
		return &ParseError{File: file, Line: line, Path: ve.path.String(), Err: ve.err}
	}
	return &ParseError{File: file, Line: line, Err: err}
}

// jsonKind names the kind of a JSON value by its first byte.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// tokenKind names the kind of the value a json.Decoder token starts.
func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		return "a list"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	default:
		return "a number"
	}
}

func isNull(raw []byte) bool {
	return len(raw) == 0 || jsonKind(raw) == "null"
}

// get returns the value of key in m, treating null as absent.
func get(m map[string]json.RawMessage, key string) (json.RawMessage, bool) {
	raw, ok := m[key]
	if !ok || isNull(raw) {
		return nil, false
	}
	return raw, true
}

func asObject(raw []byte, p *jpath) (map[string]json.RawMessage, error) {
	if k := jsonKind(raw); k != "an object" {
		return nil, errAt(p, "want an object, got %s", k)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, errAt(p, "%v", err)
	}
	return m, nil
}

func asList(raw []byte, p *jpath) ([]json.RawMessage, error) {
	if k := jsonKind(raw); k != "a list" {
		return nil, errAt(p, "want a list, got %s", k)
	}
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, errAt(p, "%v", err)
	}
	return l, nil
}

func asString(raw []byte, p *jpath) (string, error) {
	if k := jsonKind(raw); k != "a string" {
		return "", errAt(p, "want a string, got %s", k)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errAt(p, "%v", err)
	}
	return s, nil
}

// asText accepts a string or a number, the latter as written.
func asText(raw []byte, p *jpath) (string, error) {
	if jsonKind(raw) == "a number" {
		return string(bytes.TrimSpace(raw)), nil
	}
	if k := jsonKind(raw); k != "a string" {
		return "", errAt(p, "want a string or a number, got %s", k)
	}
	return asString(raw, p)
}

func asBool(raw []byte, p *jpath) (bool, error) {
	if k := jsonKind(raw); k != "a boolean" {
		return false, errAt(p, "want true or false, got %s", k)
	}
	return bytes.HasPrefix(bytes.TrimSpace(raw), []byte("true")), nil
}

// asIndex accepts a non-negative integer (no fraction or exponent).
func asIndex(raw []byte, p *jpath) (int, error) {
	s := string(bytes.TrimSpace(raw))
	if jsonKind(raw) != "a number" {
		return 0, errAt(p, "want a non-negative integer, got %s", jsonKind(raw))
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, errAt(p, "want a non-negative integer, got %s", s)
	}
	return n, nil
}

// asID accepts a non-empty string or an integer.
func asID(raw []byte, p *jpath) (string, error) {
	if jsonKind(raw) == "a number" {
		s := string(bytes.TrimSpace(raw))
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return "", errAt(p, "want a string or an integer, got %s", s)
		}
		return s, nil
	}
	if k := jsonKind(raw); k != "a string" {
		return "", errAt(p, "want a string or an integer, got %s", k)
	}
	s, err := asString(raw, p)
	if err == nil && strings.TrimSpace(s) == "" {
		err = errAt(p, "is empty")
	}
	return s, err
}

// asQuestion accepts a string that is not blank.
func asQuestion(raw []byte, p *jpath) (string, error) {
	s, err := asString(raw, p)
	if err == nil && strings.TrimSpace(s) == "" {
		err = errAt(p, "is empty")
	}
	return s, err
}

// addAnswer appends a to answers unless it is already there.
func addAnswer(answers []string, a string) []string {
	for _, b := range answers {
		if a == b {
			return answers
		}
	}
	return append(answers, a)
}

// skipValue is a json.Unmarshaler that accepts any value without copying or
// decoding it: unmarshalling into it checks the syntax of the input alone.
type skipValue struct{}

func (*skipValue) UnmarshalJSON([]byte) error { return nil }

// checkSyntax reports the first syntax error of data as a *ParseError with
// its line and column.
func checkSyntax(data []byte, file string) error {
	err := json.Unmarshal(data, &skipValue{})
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return &ParseError{File: file, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
	}
	line, col := lineCol(data, se.Offset)
	return &ParseError{File: file, Line: line, Col: col, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
}

// lineCol turns the offset a *json.SyntaxError reports (just past the byte
// at fault) into the 1-based line and byte column of that byte.
func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	at := int(off) - 1
	if at < 0 {
		at = 0
	}
	line := 1 + bytes.Count(data[:at], []byte{'\n'})
	start := bytes.LastIndexByte(data[:at], '\n') + 1
	return line, at - start + 1
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// readAll reads r up to max bytes, dropping a leading UTF-8 byte order mark.
func readAll(r io.Reader, file string, max int64) ([]byte, error) {
	if r == nil {
		return nil, &ParseError{File: file, Err: errors.New("nil reader")}
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, &ParseError{File: file, Err: err}
	}
	if int64(len(data)) > max {
		return nil, &ParseError{File: file, Err: fmt.Errorf("%w: more than %d bytes (Options.MaxBytes)", ErrTooLarge, max)}
	}
	return bytes.TrimPrefix(data, utf8BOM), nil
}
