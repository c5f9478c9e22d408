package text

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

// Document is one text of a corpus, split into sentences.
type Document struct {
	Name      string // file path, or "file:line" for a JSONL record
	Sentences []Sentence
}

// Corpus is the user's text as a Source.
type Corpus struct {
	Docs []Document // documents with at least one sentence, in load order
}

// NewCorpus makes a corpus of the documents that have sentences; it is an
// error if none has.
func NewCorpus(name string, docs []Document) (*Corpus, error) {
	c := &Corpus{}
	for _, d := range docs {
		if len(d.Sentences) > 0 {
			c.Docs = append(c.Docs, d)
		}
	}
	if len(c.Docs) == 0 {
		return nil, fmt.Errorf("%s: no text", name)
	}
	return c, nil
}

// Sentences implements Source: documents in an order shuffled by the seed
// (reshuffled after each pass), each one's sentences in order; the first
// sentence of a document starts a paragraph.
func (c *Corpus) Sentences(seed uint64) Stream {
	r := NewRand(seed)
	perm := r.Perm(len(c.Docs))
	d, s := 0, 0
	return StreamFunc(func() Sentence {
		for s >= len(c.Docs[perm[d]].Sentences) {
			d, s = d+1, 0
			if d == len(perm) {
				perm, d = r.Perm(len(c.Docs)), 0
			}
		}
		out := c.Docs[perm[d]].Sentences[s]
		if s == 0 {
			out.Para = true
		}
		s++
		return out
	})
}

// LoadCorpus reads the user's text: a directory (every *.txt file below
// it, in lexical path order, one document each), a .txt file (one
// document), or a JSONL file (one document per line: an object whose
// "text" field is a string; zstd-compressed files are detected by content).
func LoadCorpus(path string) (*Corpus, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		var docs []Document
		err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".txt") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			docs = append(docs, Document{Name: p, Sentences: SplitSentences(string(data))})
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(docs) == 0 {
			return nil, fmt.Errorf("%s: no .txt files", path)
		}
		return NewCorpus(path, docs)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if strings.EqualFold(filepath.Ext(path), ".txt") {
		data, err := io.ReadAll(f)
		if err != nil {
			return nil, err
		}
		return NewCorpus(path, []Document{{Name: path, Sentences: SplitSentences(string(data))}})
	}
	docs, err := ReadJSONL(f, path)
	if err != nil {
		return nil, err
	}
	return NewCorpus(path, docs)
}

var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// ReadJSONL reads documents from JSON lines: each non-blank line is an
// object with a string field "text" (other fields are ignored). The input
// may be zstd-compressed. Errors name the line: "name:12: ...".
func ReadJSONL(r io.Reader, name string) ([]Document, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if head, _ := br.Peek(4); bytes.Equal(head, zstdMagic) {
		d, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		defer d.Close()
		br = bufio.NewReaderSize(d, 1<<16)
	}
	var docs []Document
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s:%d: %v", name, line, err)
		}
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if t := bytes.TrimSpace(b); len(t) > 0 {
			text, perr := parseJSONLine(t)
			if perr != nil {
				return nil, fmt.Errorf("%s:%d: %v", name, line, perr)
			}
			docs = append(docs, Document{Name: fmt.Sprintf("%s:%d", name, line), Sentences: SplitSentences(text)})
		}
		if err != nil { // io.EOF
			return docs, nil
		}
	}
}

// parseJSONLine returns the "text" field of one JSON object.
func parseJSONLine(b []byte) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return "", fmt.Errorf("not a JSON object: %v", err)
	}
	raw, ok := obj["text"]
	if !ok {
		return "", fmt.Errorf(`no "text" field`)
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return "", fmt.Errorf(`field "text" is not a string`)
	}
	return text, nil
}

// MaxSentenceBytes is the length from which a sentence is split at the
// next space.
const MaxSentenceBytes = 1000

// SplitSentences splits text into paragraphs (at blank lines) and
// sentences, collapsing white space; see the package documentation for the
// rules. Every sentence is non-empty valid UTF-8 without leading, trailing
// or repeated white space.
func SplitSentences(text string) []Sentence {
	text = strings.ToValidUTF8(text, "\uFFFD")
	var out []Sentence
	var para []string // words of the current paragraph
	flush := func() {
		first := true
		start := 0
		for i := range para {
			if i+1 < len(para) && !endsSentence(para[i], para[i+1]) && byteLen(para[start:i+1]) < MaxSentenceBytes {
				continue
			}
			out = append(out, Sentence{Text: strings.Join(para[start:i+1], " "), Para: first})
			first, start = false, i+1
		}
		para = para[:0]
	}
	for _, line := range strings.Split(text, "\n") {
		words := strings.Fields(line)
		if len(words) == 0 {
			flush()
			continue
		}
		para = append(para, words...)
	}
	flush()
	return out
}

func byteLen(words []string) int {
	n := len(words) - 1
	for _, w := range words {
		n += len(w)
	}
	return n
}

var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "st": true, "prof": true, "sr": true, "jr": true,
	"vs": true, "etc": true, "e.g": true, "i.e": true, "inc": true, "ltd": true, "co": true, "no": true,
	"fig": true, "vol": true, "cf": true, "al": true, "approx": true, "mt": true, "gen": true, "col": true,
}

// endsSentence reports whether word ends a sentence, given the next word.
func endsSentence(word, next string) bool {
	w := strings.TrimRight(word, "\"'”’)]»")
	if w == "" {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(w)
	if last != '.' && last != '!' && last != '?' && last != '…' {
		return false
	}
	n := strings.TrimLeft(next, "\"'“‘([«")
	first, _ := utf8.DecodeRuneInString(n)
	if n == "" || unicode.IsLower(first) {
		return false
	}
	if last == '.' {
		stem := strings.TrimLeft(strings.TrimSuffix(w, "."), "\"'“‘([«")
		if abbreviations[strings.ToLower(stem)] {
			return false
		}
		if r, size := utf8.DecodeRuneInString(stem); size == len(stem) && unicode.IsUpper(r) {
			return false // an initial: "J. Smith"
		}
	}
	return true
}
