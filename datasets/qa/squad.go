package qa

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"
)

// ReadSQuAD reads a SQuAD v1.1 or v2.0 JSON file from r; name labels it in
// errors. See the package documentation for the items it makes.
func ReadSQuAD(r io.Reader, name string, opt Options) ([]Item, error) {
	opt, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	data, err := readAll(r, name, opt.MaxBytes)
	if err != nil {
		return nil, err
	}
	return parseSQuAD(data, name, opt)
}

func parseSQuAD(data []byte, name string, opt Options) ([]Item, error) {
	if err := checkSyntax(data, name); err != nil {
		return nil, err
	}
	// The input is valid JSON: stream the top-level object so that only
	// one article at a time is held decoded.
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, &ParseError{File: name, Err: fmt.Errorf(`want an object with a "data" list, got %s`, jsonKind(data))}
	}
	p := &squadParser{name: name, opt: opt, ids: map[string]string{}}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, &ParseError{File: name, Err: err}
		}
		key, _ := tok.(string)
		if key != "data" {
			if err := dec.Decode(&skipValue{}); err != nil {
				return nil, &ParseError{File: name, Err: err}
			}
			continue
		}
		if found {
			return nil, &ParseError{File: name, Path: "data", Err: fmt.Errorf("appears twice")}
		}
		found = true
		tok, err = dec.Token()
		if err != nil {
			return nil, &ParseError{File: name, Err: err}
		}
		data := (*jpath)(nil).field("data")
		if tok != json.Delim('[') {
			return nil, &ParseError{File: name, Path: "data", Err: fmt.Errorf("want a list, got %s", tokenKind(tok))}
		}
		for i := 0; dec.More(); i++ {
			var art json.RawMessage
			if err := dec.Decode(&art); err != nil {
				return nil, &ParseError{File: name, Err: err}
			}
			if err := p.article(art, data.index(i)); err != nil {
				return nil, parseErr(name, 0, err)
			}
		}
		if _, err := dec.Token(); err != nil { // the closing ]
			return nil, &ParseError{File: name, Err: err}
		}
	}
	if !found {
		return nil, &ParseError{File: name, Err: fmt.Errorf(`no "data" list (not a SQuAD file?)`)}
	}
	return p.items, nil
}

type squadParser struct {
	name  string
	opt   Options
	ids   map[string]string // id -> path of its first use (lookups only)
	items []Item
}

func (p *squadParser) article(raw json.RawMessage, at *jpath) error {
	m, err := asObject(raw, at)
	if err != nil {
		return err
	}
	title := ""
	if t, ok := get(m, "title"); ok {
		if title, err = asString(t, at.field("title")); err != nil {
			return err
		}
	}
	paras, ok := get(m, "paragraphs")
	if !ok {
		return errAt(at.field("paragraphs"), "missing")
	}
	list, err := asList(paras, at.field("paragraphs"))
	if err != nil {
		return err
	}
	for j, para := range list {
		if err := p.paragraph(para, title, at.field("paragraphs").index(j)); err != nil {
			return err
		}
	}
	return nil
}

func (p *squadParser) paragraph(raw json.RawMessage, title string, at *jpath) error {
	m, err := asObject(raw, at)
	if err != nil {
		return err
	}
	c, ok := get(m, "context")
	if !ok {
		return errAt(at.field("context"), "missing")
	}
	context, err := asString(c, at.field("context"))
	if err != nil {
		return err
	}
	q, ok := get(m, "qas")
	if !ok {
		return errAt(at.field("qas"), "missing")
	}
	qas, err := asList(q, at.field("qas"))
	if err != nil {
		return err
	}
	var runes []rune // the context in code points, made on demand for CheckSpans
	for k, qa := range qas {
		qat := at.field("qas").index(k)
		m, err := asObject(qa, qat)
		if err != nil {
			return err
		}
		it := Item{Gold: []Document{{Title: title, Text: context}}, Hops: 1, Source: "squad"}
		raw, ok := get(m, "id")
		if !ok {
			return errAt(qat.field("id"), "missing")
		}
		if it.ID, err = asID(raw, qat.field("id")); err != nil {
			return err
		}
		if first, dup := p.ids[it.ID]; dup {
			return errAt(qat.field("id"), "%q already used at %s", it.ID, first)
		}
		p.ids[it.ID] = qat.field("id").String()
		if raw, ok = get(m, "question"); !ok {
			return errAt(qat.field("question"), "missing")
		}
		if it.Question, err = asQuestion(raw, qat.field("question")); err != nil {
			return err
		}
		if raw, ok = get(m, "is_impossible"); ok {
			if it.Unanswerable, err = asBool(raw, qat.field("is_impossible")); err != nil {
				return err
			}
		}
		var answers []json.RawMessage
		if raw, ok = get(m, "answers"); ok {
			if answers, err = asList(raw, qat.field("answers")); err != nil {
				return err
			}
		}
		switch {
		case it.Unanswerable && len(answers) > 0:
			return errAt(qat.field("answers"), "has %d answers but is_impossible is true (SQuAD v2.0 puts them in plausible_answers)", len(answers))
		case !it.Unanswerable && len(answers) == 0:
			return errAt(qat.field("answers"), "no answers, and is_impossible is not true")
		}
		for a, ans := range answers {
			aat := qat.field("answers").index(a)
			am, err := asObject(ans, aat)
			if err != nil {
				return err
			}
			raw, ok := get(am, "text")
			if !ok {
				return errAt(aat.field("text"), "missing")
			}
			text, err := asString(raw, aat.field("text"))
			if err != nil {
				return err
			}
			if text == "" {
				return errAt(aat.field("text"), "is empty")
			}
			if p.opt.CheckSpans {
				if runes == nil {
					runes = []rune(context)
				}
				if err := checkSpan(am, text, runes, aat); err != nil {
					return err
				}
			}
			it.Answers = addAnswer(it.Answers, text)
		}
		if it.Unanswerable && p.opt.SkipUnanswerable {
			continue
		}
		p.items = append(p.items, it)
	}
	return nil
}

// checkSpan checks that text is the slice of the context at answer_start.
func checkSpan(am map[string]json.RawMessage, text string, context []rune, at *jpath) error {
	raw, ok := get(am, "answer_start")
	if !ok {
		return errAt(at.field("answer_start"), "missing (Options.CheckSpans)")
	}
	start, err := asIndex(raw, at.field("answer_start"))
	if err != nil {
		return err
	}
	end := start + utf8.RuneCountInString(text)
	if end > len(context) {
		return errAt(at.field("answer_start"), "%d: the answer %q would end at code point %d, past the context's %d", start, clip(text), end, len(context))
	}
	if got := string(context[start:end]); got != text {
		return errAt(at.field("answer_start"), "%d: the context there reads %q, not the answer %q", start, clip(got), clip(text))
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "..."
}
