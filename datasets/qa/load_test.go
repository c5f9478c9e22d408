package qa

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func load(t *testing.T, path, format string, opt Options) []Item {
	t.Helper()
	items, err := LoadOptions(path, format, opt)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func TestSQuADv1(t *testing.T) {
	got := load(t, "testdata/squad_v1.json", FormatSQuAD, Options{CheckSpans: true})
	harbour := []Document{{Title: "Glass_Harbour", Text: "The harbour of Glass Bay was dredged in 1887. Its lighthouse, painted red, was lit for the first time two years later."}}
	zoe := []Document{{Title: "Zoë_Müller", Text: "Zoë Müller (张) studied in Zürich and later taught at the École du Nord, where she led the choir «Les Étoiles»."}}
	want := []Item{
		{ID: "gh-1", Question: "When was the harbour of Glass Bay dredged?", Answers: []string{"1887", "in 1887"}, Gold: harbour, Hops: 1, Source: "squad"},
		{ID: "gh-2", Question: "What colour is the lighthouse?", Answers: []string{"red"}, Gold: harbour, Hops: 1, Source: "squad"},
		{ID: "zm-1", Question: "Where did Zoë Müller study?", Answers: []string{"Zürich"}, Gold: zoe, Hops: 1, Source: "squad"},
		{ID: "zm-2", Question: "Which choir did she lead?", Answers: []string{"«Les Étoiles»"}, Gold: zoe, Hops: 1, Source: "squad"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestSQuADv2(t *testing.T) {
	gold := []Document{{Title: "Tidal_Mills", Text: "A tidal mill is driven by the rise and fall of the tide. The mill at Eling still grinds flour."}}
	want := []Item{
		{ID: "tm-1", Question: "What drives a tidal mill?", Answers: []string{"the rise and fall of the tide"}, Gold: gold, Hops: 1, Source: "squad"},
		{ID: "tm-2", Question: "Which mill grinds rice?", Unanswerable: true, Gold: gold, Hops: 1, Source: "squad"},
		{ID: "tm-3", Question: "What does the mill at Eling grind?", Answers: []string{"flour"}, Gold: gold, Hops: 1, Source: "squad"},
	}
	got := load(t, "testdata/squad_v2.json", FormatSQuAD, Options{CheckSpans: true})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	got = load(t, "testdata/squad_v2.json", FormatSQuAD, Options{SkipUnanswerable: true})
	if !reflect.DeepEqual(got, []Item{want[0], want[2]}) {
		t.Errorf("SkipUnanswerable: got %+v", got)
	}
}

func TestHotpot(t *testing.T) {
	got := load(t, "testdata/hotpot.json", FormatHotpot, Options{})
	fjord := Document{Title: "Fjord Bridge", Text: "The Fjord Bridge is a suspension bridge. It opened in 1972."}
	want := []Item{
		{
			ID:       "5a8b57f25542995d1e6f1371",
			Question: "In which country was the architect of the Værnes Chapel born?",
			Answers:  []string{"Norway"},
			Gold: []Document{
				{Title: "Værnes Chapel", Text: "Værnes Chapel is a wooden chapel. It was designed by Ole Ødegård."},
				{Title: "Ole Ødegård", Text: "Ole Ødegård (1901–1980) was an architect. He was born in Norway."},
			},
			Distractors: []Document{fjord, {Title: "Glass Museum", Text: "The Glass Museum holds 3,000 objects. It is in Kyoto (京都)."}},
			Hops:        2,
			Source:      "hotpotqa",
		},
		{
			ID:          "comparison-2",
			Question:    "Are the Fjord Bridge and the Harbour Bridge both suspension bridges?",
			Answers:     []string{"no"},
			Gold:        []Document{{Title: "Harbour Bridge", Text: "The Harbour Bridge is an arch bridge."}, fjord},
			Distractors: []Document{{Title: "Salt Works", Text: "The Salt Works closed in 1930."}},
			Hops:        2,
			Source:      "hotpotqa",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestJSONL(t *testing.T) {
	got := load(t, "testdata/longbench.jsonl", FormatJSONL, Options{})
	want := []Item{
		{ID: "lb-0001", Question: "Who founded the observatory?", Answers: []string{"Iris Kamau"},
			Gold:   []Document{{Text: "Passage 1:\nThe observatory on Mount Vell was founded by Iris Kamau in 1911.\nPassage 2:\nThe river Sarn floods every spring."}},
			Source: "jsonl:longbench.jsonl"},
		{ID: "lb-0002", Question: "湖的名字是什么？", Answers: []string{"青湖"},
			Gold: []Document{{Text: "这座城市旁边有一个湖，名叫青湖。"}}, Source: "jsonl:longbench.jsonl"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LongBench: got %+v\nwant %+v", got, want)
	}

	got = load(t, "testdata/ruler.jsonl", FormatJSONL, Options{})
	want = []Item{
		{ID: "0", Question: "Document 1: The key is 7. Question: what is the key? Answer:", Answers: []string{"7"}, Source: "jsonl:ruler.jsonl"},
		{ID: "1", Question: "Document 1: The city is Oslo. Question: which city? Answer:", Answers: []string{"Oslo", "oslo"}, Source: "jsonl:ruler.jsonl"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RULER: got %+v\nwant %+v", got, want)
	}

	fields := Fields{ID: "meta.qid", Question: "query_text", Answers: "gold", Context: "passage", Title: "heading"}
	got = load(t, "testdata/custom.jsonl", "auto", Options{Fields: fields})
	want = []Item{
		{ID: "c-1", Question: "What is the capital of Kerala?", Answers: []string{"Thiruvananthapuram", "Trivandrum"},
			Gold: []Document{{Title: "Kerala", Text: "The capital, Thiruvananthapuram (also Trivandrum), lies on the coast."}}, Source: "jsonl:custom.jsonl"},
		{ID: "c-2", Question: "How many districts does it have?", Answers: []string{"14"},
			Gold: []Document{{Title: "7", Text: "It has 14 districts."}}, Source: "jsonl:custom.jsonl"},
		{ID: "c-3", Question: "Who is the mayor of the moon?", Unanswerable: true,
			Gold: []Document{{Text: "Nobody lives there."}}, Source: "jsonl:custom.jsonl"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mapped fields: got %+v\nwant %+v", got, want)
	}
	got = load(t, "testdata/custom.jsonl", "jsonl", Options{Fields: fields, SkipUnanswerable: true})
	if !reflect.DeepEqual(got, want[:2]) {
		t.Errorf("SkipUnanswerable: got %+v", got)
	}
}

func TestJSONLNoID(t *testing.T) {
	items, err := LoadReader(strings.NewReader("\n{\"question\":\"q?\",\"answer\":\"a\"}\n"), "dir/x.jsonl", "auto", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Item{{ID: "x.jsonl:2", Question: "q?", Answers: []string{"a"}, Source: "jsonl:x.jsonl"}}
	if !reflect.DeepEqual(items, want) {
		t.Errorf("got %+v, want %+v", items, want)
	}
}

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		file, format string
	}{
		{"testdata/squad_v1.json", FormatSQuAD},
		{"testdata/squad_v2.json", FormatSQuAD},
		{"testdata/hotpot.json", FormatHotpot},
		{"testdata/longbench.jsonl", FormatJSONL},
		{"testdata/ruler.jsonl", FormatJSONL},
	} {
		auto, err := Load(c.file, FormatAuto)
		if err != nil {
			t.Fatalf("%s auto: %v", c.file, err)
		}
		named, err := Load(c.file, c.format)
		if err != nil {
			t.Fatalf("%s %s: %v", c.file, c.format, err)
		}
		if !reflect.DeepEqual(auto, named) {
			t.Errorf("%s: auto differs from %s", c.file, c.format)
		}
		// The content decides without a telling extension.
		data, _ := os.ReadFile(c.file)
		plain, err := LoadReader(strings.NewReader(string(data)), "data.txt", "", Options{})
		if err != nil {
			t.Fatalf("%s as data.txt: %v", c.file, err)
		}
		for i := range plain {
			plain[i].Source = named[i].Source // the JSONL source names the file
		}
		if !reflect.DeepEqual(plain, named) {
			t.Errorf("%s as data.txt: detected differently", c.file)
		}
	}
	// A one-line SQuAD file, and JSONL named .json.
	oneLine := `{"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [{"id": "1", "question": "q?", "answers": [{"text": "c", "answer_start": 0}]}]}]}]}`
	if items, err := LoadReader(strings.NewReader(oneLine), "one.json", "auto", Options{}); err != nil || len(items) != 1 || items[0].Source != "squad" {
		t.Errorf("one-line SQuAD: %+v, %v", items, err)
	}
	lines := "{\"question\": \"q?\", \"answers\": [\"a\"]}\n{\"question\": \"r?\", \"answers\": [\"b\"]}\n"
	if items, err := LoadReader(strings.NewReader(lines), "lines.json", "auto", Options{}); err != nil || len(items) != 2 || items[0].Source != "jsonl:lines.json" {
		t.Errorf("JSONL named .json: %+v, %v", items, err)
	}
}

// errCase is an input that must fail with a *ParseError at a location.
type errCase struct {
	name    string // the file name, which the error must name
	format  string
	opt     Options
	input   string
	line    int    // want ParseError.Line
	col     int    // want ParseError.Col, if not 0
	path    string // want ParseError.Path
	msg     string // want in the message
	wantErr error  // want errors.Is, if not nil
}

func TestParseErrors(t *testing.T) {
	const (
		s1 = `{"data": [{"title": "t", "paragraphs": [{"context": "the context", "qas": [`
		s2 = `]}]}]}`
		h1 = `[{"_id": "a", "question": "q?", "answer": "x", "supporting_facts": [["A", 0]], "context": [["A", ["x."]]]}, `
	)
	cases := []errCase{
		// SQuAD
		{name: "syntax.json", format: "squad", input: "{\n \"data\": [\n  {\"title\": \"x\",, }\n]}", line: 3, col: 17, msg: "invalid character ','", wantErr: ErrSyntax},
		{name: "truncated.json", format: "squad", input: "{\"data\": [", line: 1, msg: "unexpected end", wantErr: ErrSyntax},
		{name: "list.json", format: "squad", input: `[1]`, msg: `want an object with a "data" list, got a list`},
		{name: "nodata.json", format: "squad", input: `{"version": "1.1"}`, msg: `no "data" list`},
		{name: "datastr.json", format: "squad", input: `{"data": "x"}`, path: "data", msg: "want a list, got a string"},
		{name: "twice.json", format: "squad", input: `{"data": [], "data": []}`, path: "data", msg: "appears twice"},
		{name: "art.json", format: "squad", input: `{"data": [{"paragraphs": []}, 3]}`, path: "data[1]", msg: "want an object, got a number"},
		{name: "title.json", format: "squad", input: `{"data": [{"title": 5, "paragraphs": []}]}`, path: "data[0].title", msg: "want a string"},
		{name: "paras.json", format: "squad", input: `{"data": [{"title": "t"}]}`, path: "data[0].paragraphs", msg: "missing"},
		{name: "ctx.json", format: "squad", input: `{"data": [{"paragraphs": [{"qas": []}, {"context": ["x"], "qas": []}]}]}`, path: "data[0].paragraphs[0].context", msg: "missing"},
		{name: "ctx2.json", format: "squad", input: `{"data": [{"paragraphs": [{"context": "c", "qas": []}, {"context": ["x"], "qas": []}]}]}`, path: "data[0].paragraphs[1].context", msg: "want a string, got a list"},
		{name: "answers.json", format: "squad", input: s1 + `{"id": "1", "question": "q?", "answers": "the"}` + s2, path: "data[0].paragraphs[0].qas[0].answers", msg: "want a list, got a string"},
		{name: "noans.json", format: "squad", input: s1 + `{"id": "1", "question": "q?", "answers": []}` + s2, path: "data[0].paragraphs[0].qas[0].answers", msg: "no answers"},
		{name: "impans.json", format: "squad", input: s1 + `{"id": "1", "question": "q?", "is_impossible": true, "answers": [{"text": "the"}]}` + s2, path: "data[0].paragraphs[0].qas[0].answers", msg: "is_impossible is true"},
		{name: "impbool.json", format: "squad", input: s1 + `{"id": "1", "question": "q?", "is_impossible": "yes", "answers": []}` + s2, path: "data[0].paragraphs[0].qas[0].is_impossible", msg: "want true or false"},
		{name: "emptytext.json", format: "squad", input: s1 + `{"id": "1", "question": "q?", "answers": [{"text": "the"}]}, {"id": "2", "question": "r?", "answers": [{"text": ""}]}` + s2, path: "data[0].paragraphs[0].qas[1].answers[0].text", msg: "is empty"},
		{name: "notext.json", format: "squad", input: s1 + `{"id": "1", "question": "q?", "answers": [{"answer_start": 0}]}` + s2, path: "data[0].paragraphs[0].qas[0].answers[0].text", msg: "missing"},
		{name: "noq.json", format: "squad", input: s1 + `{"id": "1", "answers": [{"text": "the"}]}` + s2, path: "data[0].paragraphs[0].qas[0].question", msg: "missing"},
		{name: "blankq.json", format: "squad", input: s1 + `{"id": "1", "question": " \n", "answers": [{"text": "the"}]}` + s2, path: "data[0].paragraphs[0].qas[0].question", msg: "is empty"},
		{name: "noid.json", format: "squad", input: s1 + `{"question": "q?", "answers": [{"text": "the"}]}` + s2, path: "data[0].paragraphs[0].qas[0].id", msg: "missing"},
		{name: "floatid.json", format: "squad", input: s1 + `{"id": 1.5, "question": "q?", "answers": [{"text": "the"}]}` + s2, path: "data[0].paragraphs[0].qas[0].id", msg: "want a string or an integer, got 1.5"},
		{name: "dupid.json", format: "squad", input: s1 + `{"id": "1", "question": "q?", "answers": [{"text": "the"}]}, {"id": "1", "question": "r?", "answers": [{"text": "the"}]}` + s2, path: "data[0].paragraphs[0].qas[1].id", msg: `"1" already used at data[0].paragraphs[0].qas[0].id`},
		{name: "span.json", format: "squad", opt: Options{CheckSpans: true}, input: s1 + `{"id": "1", "question": "q?", "answers": [{"text": "context", "answer_start": 3}]}` + s2, path: "data[0].paragraphs[0].qas[0].answers[0].answer_start", msg: `the context there reads " contex", not the answer "context"`},
		{name: "span2.json", format: "squad", opt: Options{CheckSpans: true}, input: s1 + `{"id": "1", "question": "q?", "answers": [{"text": "context", "answer_start": 9}]}` + s2, path: "data[0].paragraphs[0].qas[0].answers[0].answer_start", msg: "past the context"},
		{name: "span3.json", format: "squad", opt: Options{CheckSpans: true}, input: s1 + `{"id": "1", "question": "q?", "answers": [{"text": "context", "answer_start": -1}]}` + s2, path: "data[0].paragraphs[0].qas[0].answers[0].answer_start", msg: "want a non-negative integer"},
		{name: "empty.json", format: "squad", input: "", line: 1, msg: "unexpected end", wantErr: ErrSyntax},
		{name: "big.json", format: "squad", opt: Options{MaxBytes: 10}, input: `{"data": []}`, msg: "more than 10 bytes (Options.MaxBytes)", wantErr: ErrTooLarge},

		// HotpotQA
		{name: "obj.json", format: "hotpotqa", input: `{"data": []}`, msg: "want a list of examples, got an object"},
		{name: "hsyntax.json", format: "hotpot", input: "[\n{\"_id\": 1,\n\"x\" 2}]", line: 3, col: 5, msg: "after object key", wantErr: ErrSyntax},
		{name: "sf.json", format: "hotpotqa", input: h1 + `{"_id": "b", "question": "q?", "answer": "x", "supporting_facts": [["B", 0]], "context": [["A", ["x."]]]}]`, path: "[1].supporting_facts[0][0]", msg: `"B" is not the title of any context paragraph`},
		{name: "sfidx.json", format: "hotpotqa", input: h1 + `{"_id": "b", "question": "q?", "answer": "x", "supporting_facts": [["A", 0], ["A", -2]], "context": [["A", ["x."]]]}]`, path: "[1].supporting_facts[1][1]", msg: "want a non-negative integer, got -2"},
		{name: "sfpair.json", format: "hotpotqa", input: `[{"_id": "b", "question": "q?", "answer": "x", "supporting_facts": [["A"]], "context": [["A", ["x."]]]}]`, path: "[0].supporting_facts[0]", msg: "want [title, sentence index], got a list of 1"},
		{name: "sfempty.json", format: "hotpotqa", input: `[{"_id": "b", "question": "q?", "answer": "x", "supporting_facts": [], "context": [["A", ["x."]]]}]`, path: "[0].supporting_facts", msg: "is empty"},
		{name: "ctxpair.json", format: "hotpotqa", input: `[{"_id": "b", "question": "q?", "answer": "x", "supporting_facts": [["A", 0]], "context": [["A", ["x."]], ["B"]]}]`, path: "[0].context[1]", msg: "want [title, [sentences...]], got a list of 1"},
		{name: "sent.json", format: "hotpotqa", input: `[{"_id": "b", "question": "q?", "answer": "x", "supporting_facts": [["A", 0]], "context": [["A", ["x.", 7]]]}]`, path: "[0].context[0][1][1]", msg: "want a string, got a number"},
		{name: "noanswer.json", format: "hotpotqa", input: `[{"_id": "b", "question": "q?", "supporting_facts": [["A", 0]], "context": [["A", ["x."]]]}]`, path: "[0].answer", msg: "test files carry no answers"},
		{name: "hq.json", format: "hotpotqa", input: `[{"_id": "b", "question": "", "answer": "x"}]`, path: "[0].question", msg: "is empty"},
		{name: "hdup.json", format: "hotpotqa", input: h1 + h1[1:len(h1)-2] + `]`, path: "[1]._id", msg: `"a" already used at [0]._id`},
		{name: "helem.json", format: "hotpotqa", input: `["x"]`, path: "[0]", msg: "want an object, got a string"},

		// JSONL
		{name: "syntax.jsonl", format: "jsonl", input: "{\"question\": \"q?\", \"answers\": [\"a\"]}\n{\"question\": \"q?\" \"answers\": [\"a\"]}\n", line: 2, col: 19, msg: "invalid character", wantErr: ErrSyntax},
		{name: "list.jsonl", format: "jsonl", input: "\n\n[1, 2]\n", line: 3, msg: "want an object, got a list"},
		{name: "ans.jsonl", format: "jsonl", input: `{"question": "q?", "answers": ["a", {"x": 1}]}`, line: 1, path: "answers[1]", msg: "want a string or a number, got an object"},
		{name: "ans2.jsonl", format: "jsonl", input: `{"question": "q?", "outputs": true}`, line: 1, path: "outputs", msg: "want a string or a number, got a boolean"},
		{name: "ans3.jsonl", format: "jsonl", input: `{"question": "q?", "answers": {"answer_start": [1]}}`, line: 1, path: "answers", msg: `without "text"`},
		{name: "ans4.jsonl", format: "jsonl", input: `{"question": "q?", "answers": ["a", ""]}`, line: 1, path: "answers[1]", msg: "is empty"},
		{name: "noq.jsonl", format: "jsonl", input: `{"answers": ["a"]}`, line: 1, msg: `no question: none of the keys "question", "input", "query" is present`},
		{name: "blank.jsonl", format: "jsonl", input: `{"input": "  ", "answers": ["a"]}`, line: 1, path: "input", msg: "is empty"},
		{name: "noans.jsonl", format: "jsonl", input: "{\"question\": \"q?\", \"answers\": [\"a\"]}\r\n{\"question\": \"q?\"}\r\n", line: 2, msg: `no answers: none of the keys "answers", "outputs", "answer"`},
		{name: "dup.jsonl", format: "jsonl", input: "{\"id\": 7, \"question\": \"q?\", \"answers\": \"a\"}\n{\"id\": \"7\", \"question\": \"q?\", \"answers\": \"a\"}\n", line: 2, msg: `id "7" already used on line 1`},
		{name: "id.jsonl", format: "jsonl", input: `{"_id": [1], "question": "q?", "answers": "a"}`, line: 1, path: "_id", msg: "want a string or an integer, got a list"},
		{name: "ctx.jsonl", format: "jsonl", input: `{"question": "q?", "answers": "a", "context": 3}`, line: 1, path: "context", msg: "want a string, got a number"},
		{name: "imp.jsonl", format: "jsonl", input: `{"question": "q?", "answers": "a", "is_impossible": true}`, line: 1, path: "answers", msg: "marked unanswerable"},
		{name: "mapped.jsonl", format: "jsonl", opt: Options{Fields: Fields{Answers: "gold.text"}}, input: `{"question": "q?", "answers": "a", "gold": {"txt": "a"}}`, line: 1, msg: `key "gold.text" (Options.Fields) is missing`},
		{name: "long.jsonl", format: "jsonl", opt: Options{MaxLineBytes: 40}, input: "{\"question\": \"q?\", \"answers\": \"a\"}\n{\"question\": \"a much longer question?\", \"answers\": \"a\"}\n", line: 2, msg: "more than 40 bytes (Options.MaxLineBytes)", wantErr: ErrLineTooLong},
		{name: "huge.jsonl", format: "jsonl", opt: Options{MaxBytes: 50}, input: strings.Repeat("{\"question\": \"q?\", \"answers\": \"a\"}\n", 3), line: 2, msg: "more than 50 bytes (Options.MaxBytes)", wantErr: ErrTooLarge},

		// Detection
		{name: "what.txt", format: "auto", input: "hello\n", line: 1, msg: `cannot detect the format: the content starts with "hello"`},
		{name: "blank.txt", format: "", input: " \n ", msg: "empty input"},
	}
	for _, c := range cases {
		_, err := LoadReader(strings.NewReader(c.input), c.name, c.format, c.opt)
		checkParseError(t, c, err)
	}
}

func checkParseError(t *testing.T, c errCase, err error) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Errorf("%s: got %v (%T), want a *ParseError", c.name, err, err)
		return
	}
	msg := err.Error()
	if pe.File != c.name || !strings.HasPrefix(msg, c.name+":") {
		t.Errorf("%s: error %q does not name the file", c.name, msg)
	}
	if pe.Line != c.line || c.col != 0 && pe.Col != c.col || pe.Path != c.path {
		t.Errorf("%s: error %q at line %d col %d path %q, want line %d col %d path %q", c.name, msg, pe.Line, pe.Col, pe.Path, c.line, c.col, c.path)
	}
	if !strings.Contains(msg, c.msg) {
		t.Errorf("%s: error %q does not say %q", c.name, msg, c.msg)
	}
	if c.wantErr != nil && !errors.Is(err, c.wantErr) {
		t.Errorf("%s: error %q is not %v", c.name, msg, c.wantErr)
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.json")
	_, err := Load(missing, "auto")
	checkParseError(t, errCase{name: missing, msg: "no such file"}, err)

	for _, c := range []struct {
		format string
		opt    Options
		want   string
	}{
		{"csv", Options{}, `format "csv": want "auto", "squad", "hotpotqa" or "jsonl"`},
		{"squad", Options{MaxBytes: -1}, "Options.MaxBytes = -1"},
		{"jsonl", Options{MaxLineBytes: -5}, "Options.MaxLineBytes = -5"},
		{"jsonl", Options{Fields: Fields{Question: "a..b"}}, `Options.Fields.Question = "a..b"`},
		{"jsonl", Options{Fields: Fields{ID: "."}}, `Options.Fields.ID = "."`},
	} {
		_, err := LoadReader(strings.NewReader("{}"), "x.jsonl", c.format, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("format %q %+v: got %v, want an error containing %q", c.format, c.opt, err, c.want)
		}
	}
	for _, read := range []func() ([]Item, error){
		func() ([]Item, error) { return ReadSQuAD(nil, "nil", Options{}) },
		func() ([]Item, error) { return ReadHotpot(nil, "nil", Options{}) },
		func() ([]Item, error) { return ReadJSONL(nil, "nil", Options{}) },
	} {
		_, err := read()
		checkParseError(t, errCase{name: "nil", msg: "nil reader"}, err)
	}
}

// TestJSONLLongLines checks lines longer than the read buffer, up to the
// limit, are read whole.
func TestJSONLLongLines(t *testing.T) {
	ctx := strings.Repeat("ä", 100000)
	in := `{"question": "q?", "answers": "a", "context": "` + ctx + `"}` + "\n" + `{"question": "r?", "answers": "b"}`
	items, err := ReadJSONL(strings.NewReader(in), "long.jsonl", Options{MaxLineBytes: 300000})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 || items[0].Gold[0].Text != ctx || items[1].Question != "r?" {
		t.Fatalf("got %d items", len(items))
	}
	// A BOM is dropped.
	items, err = ReadJSONL(strings.NewReader("\ufeff"+`{"question": "q?", "answers": "a"}`), "bom.jsonl", Options{})
	if err != nil || len(items) != 1 {
		t.Fatalf("BOM: %v", err)
	}
}

func BenchmarkReadHotpot(b *testing.B) {
	data, err := os.ReadFile("testdata/hotpot.json")
	if err != nil {
		b.Fatal(err)
	}
	// About 1 MB: the file's examples repeated with fresh IDs.
	var sb strings.Builder
	sb.WriteString("[")
	body := strings.TrimSpace(string(data))
	body = body[1 : len(body)-1]
	n := 1 << 20 / len(body)
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		r := strings.NewReplacer(`"_id": "`, `"_id": "`+strconv.Itoa(i)+`-`)
		sb.WriteString(r.Replace(body))
	}
	sb.WriteString("]")
	in := sb.String()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := ReadHotpot(strings.NewReader(in), "bench.json", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
