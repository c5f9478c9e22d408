package qa

import (
	"errors"
	"strconv"
)

// A Document is one titled passage: an encyclopedia entry of the synthetic
// world, a SQuAD paragraph, a HotpotQA paragraph or the context of a JSONL
// record.
type Document struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// An Item is one question with its gold answers and the documents that go
// with it. See the package documentation for what each source puts in each
// field.
type Item struct {
	ID       string `json:"id"`
	Question string `json:"question"`
	// Answers are the acceptable gold answers, exact duplicates removed,
	// in the order the source lists them. Empty exactly when Unanswerable.
	Answers      []string `json:"answers"`
	Unanswerable bool     `json:"unanswerable,omitempty"`
	// Gold are the documents that contain the answer (for an
	// unanswerable question: the passage it was asked about).
	Gold []Document `json:"gold"`
	// Distractors are documents that come with the item and do not
	// contain its answer; may be empty.
	Distractors []Document `json:"distractors,omitempty"`
	// Hops is the number of documents the answer needs: 1 or 2; 0 where
	// the source does not say (JSONL).
	Hops int `json:"hops"`
	// Source is "synthetic", "squad", "hotpotqa" or "jsonl:<file>", with
	// <file> the base name of the file.
	Source string `json:"source"`
}

// Errors wrapped by a *ParseError, for errors.Is.
var (
	// ErrTooLarge: the input is longer than Options.MaxBytes.
	ErrTooLarge = errors.New("input too large")
	// ErrLineTooLong: a JSONL line is longer than Options.MaxLineBytes.
	ErrLineTooLong = errors.New("line too long")
	// ErrSyntax: the input is not valid JSON.
	ErrSyntax = errors.New("invalid JSON")
)

// A ParseError reports input that yields no items: malformed JSON, a value
// of the wrong type or missing where the format needs it, or a limit
// exceeded. Every loader error, read errors included, is a *ParseError.
type ParseError struct {
	File string // the path given to Load or the name given to a Read function
	// Line is the 1-based line of the input at fault (always for JSONL; for
	// JSON files only for syntax errors); 0 if not known.
	Line int
	// Col is the 1-based byte column within Line, for syntax errors; 0 if
	// not known.
	Col int
	// Path is the JSON path of the value at fault, such as
	// data[3].paragraphs[1].qas[0].answers for SQuAD, [12].supporting_facts[0]
	// for HotpotQA, or answers[1] within a JSONL line; "" for the whole
	// file or line.
	Path string
	Err  error // what is wrong
}

func (e *ParseError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
		if e.Col > 0 {
			s += ":" + strconv.Itoa(e.Col)
		}
	}
	s += ": "
	if e.Path != "" {
		s += e.Path + ": "
	}
	return s + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }
