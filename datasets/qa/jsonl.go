package qa

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadJSONL reads JSON Lines from r, one item per non-blank line, in the
// RULER and LongBench styles or any schema that opt.Fields maps; name labels
// the input in errors and in Item.Source. The input is streamed: only one
// line is held at a time. See the package documentation for the items it
// makes.
func ReadJSONL(r io.Reader, name string, opt Options) ([]Item, error) {
	opt, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, &ParseError{File: name, Err: errors.New("nil reader")}
	}
	p := &jsonlParser{
		name:   name,
		opt:    opt,
		source: "jsonl:" + filepath.Base(name),
		ids:    map[string]int{},
	}
	br := bufio.NewReaderSize(r, 64<<10)
	var total int64
	var buf []byte
	for line := 1; ; line++ {
		var eof bool
		buf, eof, err = readLine(br, buf[:0], opt.MaxLineBytes)
		total += int64(len(buf)) + 1
		if err != nil {
			if errors.Is(err, ErrLineTooLong) {
				err = fmt.Errorf("%w: more than %d bytes (Options.MaxLineBytes)", ErrLineTooLong, opt.MaxLineBytes)
			}
			return nil, &ParseError{File: name, Line: line, Err: err}
		}
		if total > opt.MaxBytes+1 {
			return nil, &ParseError{File: name, Line: line, Err: fmt.Errorf("%w: more than %d bytes (Options.MaxBytes)", ErrTooLarge, opt.MaxBytes)}
		}
		text := buf
		if line == 1 {
			text = bytes.TrimPrefix(text, utf8BOM)
		}
		if len(bytes.TrimSpace(text)) > 0 {
			if err := p.line(text, line); err != nil {
				return nil, err
			}
		}
		if eof {
			return p.items, nil
		}
	}
}

// readLine appends the next line of br, without its newline, to buf. It
// reports eof when the input ended with this line, and ErrLineTooLong as soon
// as the line passes max bytes, without reading the rest of it.
func readLine(br *bufio.Reader, buf []byte, max int) ([]byte, bool, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(bytes.TrimRight(buf, "\r\n")) > max {
			return buf[:0], false, ErrLineTooLong
		}
		switch err {
		case nil:
			return bytes.TrimSuffix(buf, []byte{'\n'}), false, nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return buf, true, nil
		default:
			return buf, false, err
		}
	}
}

type jsonlParser struct {
	name   string
	opt    Options
	source string
	ids    map[string]int // id -> line of its first use (lookups only)
	items  []Item
}

func (p *jsonlParser) line(text []byte, line int) error {
	fail := func(err error) error { return parseErr(p.name, line, err) }
	if err := json.Unmarshal(text, &skipValue{}); err != nil {
		var se *json.SyntaxError
		col := 0
		if errors.As(err, &se) {
			_, col = lineCol(text, se.Offset)
		}
		return &ParseError{File: p.name, Line: line, Col: col, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
	}
	m, err := asObject(text, nil)
	if err != nil {
		return fail(err)
	}
	f, d := p.opt.Fields, defaultFields
	it := Item{Source: p.source}

	raw, key, ok := lookupAny(m, f.Question, d.Question)
	if !ok {
		return fail(missing("question", f.Question, d.Question))
	}
	if it.Question, err = asQuestion(raw, key); err != nil {
		return fail(err)
	}

	if raw, key, ok = lookupAny(m, f.ID, d.ID); ok {
		if it.ID, err = asID(raw, key); err != nil {
			return fail(err)
		}
	} else {
		it.ID = filepath.Base(p.name) + ":" + strconv.Itoa(line)
	}
	if first, dup := p.ids[it.ID]; dup {
		return fail(fmt.Errorf("id %q already used on line %d", it.ID, first))
	}
	p.ids[it.ID] = line

	if raw, key, ok = lookupAny(m, f.Unanswerable, d.Unanswerable); ok {
		if it.Unanswerable, err = asBool(raw, key); err != nil {
			return fail(err)
		}
	}
	raw, key, ok = lookupAny(m, f.Answers, d.Answers)
	switch {
	case ok:
		if it.Answers, err = answerList(raw, key, nil); err != nil {
			return fail(err)
		}
		if len(it.Answers) > 0 && it.Unanswerable {
			return fail(errAt(key, "has %d answers but the record is marked unanswerable", len(it.Answers)))
		}
		if len(it.Answers) == 0 {
			it.Unanswerable = true
		}
	case !it.Unanswerable:
		return fail(missing("answers", f.Answers, d.Answers))
	}

	if raw, key, ok = lookupAny(m, f.Context, d.Context); ok {
		ctx, err := asString(raw, key)
		if err != nil {
			return fail(err)
		}
		if ctx != "" {
			doc := Document{Text: ctx}
			if raw, key, ok = lookupAny(m, f.Title, d.Title); ok {
				if doc.Title, err = asText(raw, key); err != nil {
					return fail(err)
				}
			}
			it.Gold = []Document{doc}
		}
	}
	if it.Unanswerable && p.opt.SkipUnanswerable {
		return nil
	}
	p.items = append(p.items, it)
	return nil
}

// lookupAny returns the first of the keys (the mapped key alone if set,
// else the defaults) present in m and not null, with its path.
func lookupAny(m map[string]json.RawMessage, mapped string, defaults []string) (json.RawMessage, *jpath, bool) {
	if mapped != "" {
		return lookup(m, mapped)
	}
	for _, k := range defaults {
		if raw, at, ok := lookup(m, k); ok {
			return raw, at, ok
		}
	}
	return nil, nil, false
}

// lookup finds key in m: as a key first, else as a dotted path through
// nested objects.
func lookup(m map[string]json.RawMessage, key string) (json.RawMessage, *jpath, bool) {
	if raw, ok := get(m, key); ok {
		return raw, (*jpath)(nil).field(key), true
	}
	var at *jpath
	segs := strings.Split(key, ".")
	for i, seg := range segs {
		raw, ok := get(m, seg)
		if !ok {
			return nil, nil, false
		}
		at = at.field(seg)
		if i == len(segs)-1 {
			return raw, at, true
		}
		if jsonKind(raw) != "an object" {
			return nil, nil, false
		}
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, nil, false
		}
		m = inner
	}
	return nil, nil, false
}

func missing(what, mapped string, defaults []string) error {
	if mapped != "" {
		return fmt.Errorf("no %s: key %q (Options.Fields) is missing or null", what, mapped)
	}
	return fmt.Errorf("no %s: none of the keys %s is present", what, quoteList(defaults))
}

func quoteList(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = strconv.Quote(k)
	}
	return strings.Join(q, ", ")
}

// answerList reads answers given as a string, a number, a list of those, or
// an object whose "text" holds one of those (the Hugging Face SQuAD shape,
// {"text": [...], "answer_start": [...]}). Empty strings are errors; an
// empty list gives no answers.
func answerList(raw json.RawMessage, at *jpath, answers []string) ([]string, error) {
	switch jsonKind(raw) {
	case "a list":
		list, err := asList(raw, at)
		if err != nil {
			return nil, err
		}
		for i, v := range list {
			if jsonKind(v) == "a list" || jsonKind(v) == "an object" {
				return nil, errAt(at.index(i), "want a string or a number, got %s", jsonKind(v))
			}
			if answers, err = answerList(v, at.index(i), answers); err != nil {
				return nil, err
			}
		}
		return answers, nil
	case "an object":
		m, err := asObject(raw, at)
		if err != nil {
			return nil, err
		}
		text, ok := get(m, "text")
		if !ok {
			return nil, errAt(at, `want a string, a list or an object with "text", got an object without "text"`)
		}
		if k := jsonKind(text); k == "an object" {
			return nil, errAt(at.field("text"), "want a string, a number or a list, got %s", k)
		}
		return answerList(text, at.field("text"), answers)
	}
	s, err := asText(raw, at)
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, errAt(at, "is empty")
	}
	return addAnswer(answers, s), nil
}
