package qa

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// addFiles seeds a fuzz test with testdata files.
func addFiles(f *testing.F, names ...string) {
	for _, name := range names {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// checkLoaded checks what a loader returned for any input: an error is a
// *ParseError naming the input; items are sane.
func checkLoaded(t *testing.T, items []Item, err error, source string) {
	t.Helper()
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.File != "fuzz" || !strings.HasPrefix(err.Error(), "fuzz") {
			t.Fatalf("error %v (%T) is not a *ParseError naming the input", err, err)
		}
		return
	}
	ids := map[string]bool{}
	for i, it := range items {
		switch {
		case strings.TrimSpace(it.Question) == "":
			t.Fatalf("item %d: blank question", i)
		case it.ID == "" || ids[it.ID]:
			t.Fatalf("item %d: empty or repeated ID %q", i, it.ID)
		case it.Unanswerable != (len(it.Answers) == 0):
			t.Fatalf("item %d: Unanswerable %v with %d answers", i, it.Unanswerable, len(it.Answers))
		case it.Source != source:
			t.Fatalf("item %d: source %q, want %q", i, it.Source, source)
		}
		ids[it.ID] = true
		for j, a := range it.Answers {
			if a == "" {
				t.Fatalf("item %d: answer %d is empty", i, j)
			}
			for _, b := range it.Answers[:j] {
				if a == b {
					t.Fatalf("item %d: answer %q repeated", i, a)
				}
			}
		}
	}
}

func FuzzSQuAD(f *testing.F) {
	addFiles(f, "squad_v1.json", "squad_v2.json")
	f.Add([]byte(`{"data": [{"paragraphs": [{"context": "c", "qas": [{"id": 1, "question": "q", "is_impossible": true}]}]}]}`))
	f.Add([]byte(`{"data": [{"paragraphs": [{"context": "ab", "qas": [{"id": "x", "question": "q", "answers": [{"text": "b", "answer_start": 1}]}]}]}]}`))
	f.Add([]byte(`{"data": null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opt := range []Options{{}, {CheckSpans: true, SkipUnanswerable: true}} {
			items, err := ReadSQuAD(bytes.NewReader(data), "fuzz", opt)
			checkLoaded(t, items, err, "squad")
			for _, it := range items {
				if len(it.Gold) != 1 || it.Hops != 1 || opt.SkipUnanswerable && it.Unanswerable {
					t.Fatalf("item %q: %d gold documents, %d hops, unanswerable %v", it.ID, len(it.Gold), it.Hops, it.Unanswerable)
				}
			}
		}
	})
}

func FuzzHotpot(f *testing.F) {
	addFiles(f, "hotpot.json")
	f.Add([]byte(`[{"_id": 3, "question": "q", "answer": "a", "supporting_facts": [["A", 9]], "context": [["A", []], ["A", ["x", " y"]]]}]`))
	f.Add([]byte(`[{}]`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := ReadHotpot(bytes.NewReader(data), "fuzz", Options{})
		checkLoaded(t, items, err, "hotpotqa")
		for _, it := range items {
			if len(it.Gold) == 0 || it.Hops != 2 || it.Unanswerable {
				t.Fatalf("item %q: %d gold documents, %d hops, unanswerable %v", it.ID, len(it.Gold), it.Hops, it.Unanswerable)
			}
		}
	})
}

func FuzzJSONL(f *testing.F) {
	addFiles(f, "longbench.jsonl", "ruler.jsonl", "custom.jsonl")
	f.Add([]byte("{\"question\": \"q\", \"answers\": {\"text\": [1, \"x\"]}, \"context\": \"\"}\n\n"))
	f.Add([]byte(`{"question": "q", "answers": [], "is_impossible": true}`))
	f.Add([]byte("\ufeff{\"input\": \"q\", \"answer\": 2}\r\n[]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opt := range []Options{
			{MaxLineBytes: 64},
			{Fields: Fields{ID: "meta.qid", Question: "query_text", Answers: "gold", Context: "passage", Title: "heading"}, SkipUnanswerable: true},
		} {
			items, err := ReadJSONL(bytes.NewReader(data), "fuzz", opt)
			checkLoaded(t, items, err, "jsonl:fuzz")
			for _, it := range items {
				if len(it.Gold) > 1 || it.Hops != 0 || opt.SkipUnanswerable && it.Unanswerable {
					t.Fatalf("item %q: %d gold documents, %d hops, unanswerable %v", it.ID, len(it.Gold), it.Hops, it.Unanswerable)
				}
			}
		}
		// Detection never fails otherwise than with a *ParseError.
		items, err := LoadReader(bytes.NewReader(data), "fuzz", "auto", Options{})
		if err != nil {
			checkLoaded(t, nil, err, "")
		} else if len(items) > 0 {
			checkLoaded(t, items, nil, items[0].Source)
		}
	})
}
