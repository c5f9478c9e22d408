package qa

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ReadHotpot reads a HotpotQA JSON file (a list of examples, as in the
// distractor-setting train and dev files) from r; name labels it in errors.
// Of opt it uses MaxBytes only. See the package documentation for the items
// it makes.
func ReadHotpot(r io.Reader, name string, opt Options) ([]Item, error) {
	opt, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	data, err := readAll(r, name, opt.MaxBytes)
	if err != nil {
		return nil, err
	}
	return parseHotpot(data, name)
}

func parseHotpot(data []byte, name string) ([]Item, error) {
	if err := checkSyntax(data, name); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, &ParseError{File: name, Err: fmt.Errorf("want a list of examples, got %s", jsonKind(data))}
	}
	var items []Item
	ids := map[string]string{} // id -> path of its first use (lookups only)
	for i := 0; dec.More(); i++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &ParseError{File: name, Err: err}
		}
		it, err := hotpotExample(raw, (*jpath)(nil).index(i))
		if err != nil {
			return nil, parseErr(name, 0, err)
		}
		at := (*jpath)(nil).index(i).field("_id")
		if first, dup := ids[it.ID]; dup {
			return nil, parseErr(name, 0, errAt(at, "%q already used at %s", it.ID, first))
		}
		ids[it.ID] = at.String()
		items = append(items, it)
	}
	return items, nil
}

func hotpotExample(raw json.RawMessage, at *jpath) (Item, error) {
	it := Item{Hops: 2, Source: "hotpotqa"}
	m, err := asObject(raw, at)
	if err != nil {
		return it, err
	}
	v, ok := get(m, "_id")
	if !ok {
		return it, errAt(at.field("_id"), "missing")
	}
	if it.ID, err = asID(v, at.field("_id")); err != nil {
		return it, err
	}
	if v, ok = get(m, "question"); !ok {
		return it, errAt(at.field("question"), "missing")
	}
	if it.Question, err = asQuestion(v, at.field("question")); err != nil {
		return it, err
	}
	if v, ok = get(m, "answer"); !ok {
		return it, errAt(at.field("answer"), "missing (HotpotQA test files carry no answers)")
	}
	ans, err := asString(v, at.field("answer"))
	if err != nil {
		return it, err
	}
	if ans == "" {
		return it, errAt(at.field("answer"), "is empty")
	}
	it.Answers = []string{ans}

	// The context: [[title, [sentence, ...]], ...].
	if v, ok = get(m, "context"); !ok {
		return it, errAt(at.field("context"), "missing")
	}
	cat := at.field("context")
	paras, err := asList(v, cat)
	if err != nil {
		return it, err
	}
	docs := make([]Document, len(paras))
	titles := map[string]bool{}
	for j, p := range paras {
		pat := cat.index(j)
		pair, err := asList(p, pat)
		if err != nil {
			return it, err
		}
		if len(pair) != 2 {
			return it, errAt(pat, "want [title, [sentences...]], got a list of %d", len(pair))
		}
		if docs[j].Title, err = asString(pair[0], pat.index(0)); err != nil {
			return it, err
		}
		sents, err := asList(pair[1], pat.index(1))
		if err != nil {
			return it, err
		}
		var text strings.Builder
		for k, s := range sents {
			sent, err := asString(s, pat.index(1).index(k))
			if err != nil {
				return it, err
			}
			joinSentence(&text, sent)
		}
		docs[j].Text = strings.TrimSpace(text.String())
		titles[docs[j].Title] = true
	}

	// The supporting facts: [[title, sentence index], ...].
	if v, ok = get(m, "supporting_facts"); !ok {
		return it, errAt(at.field("supporting_facts"), "missing")
	}
	sat := at.field("supporting_facts")
	facts, err := asList(v, sat)
	if err != nil {
		return it, err
	}
	if len(facts) == 0 {
		return it, errAt(sat, "is empty")
	}
	gold := map[string]bool{}
	for j, f := range facts {
		fat := sat.index(j)
		pair, err := asList(f, fat)
		if err != nil {
			return it, err
		}
		if len(pair) != 2 {
			return it, errAt(fat, "want [title, sentence index], got a list of %d", len(pair))
		}
		title, err := asString(pair[0], fat.index(0))
		if err != nil {
			return it, err
		}
		// The index is checked for type only: the published files have
		// a few that point past their paragraph's sentences.
		if _, err := asIndex(pair[1], fat.index(1)); err != nil {
			return it, err
		}
		if !titles[title] {
			return it, errAt(fat.index(0), "%q is not the title of any context paragraph (a fullwiki-setting file?)", title)
		}
		gold[title] = true
	}
	for _, d := range docs {
		if gold[d.Title] {
			it.Gold = append(it.Gold, d)
		} else {
			it.Distractors = append(it.Distractors, d)
		}
	}
	if len(it.Gold) == 0 { // unreachable: facts is not empty and every title is known
		return it, errors.New("no gold paragraph")
	}
	return it, nil
}

// joinSentence appends a HotpotQA sentence to a paragraph. The published
// sentences keep the space that separated them from the previous one, so
// they are concatenated as they are; a space is added only where neither
// side has one.
func joinSentence(b *strings.Builder, sent string) {
	if b.Len() > 0 && sent != "" {
		last := b.String()[b.Len()-1]
		if !isSpace(last) && !isSpace(sent[0]) {
			b.WriteByte(' ')
		}
	}
	b.WriteString(sent)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}
