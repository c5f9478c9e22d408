package qa

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	qadata "github.com/evalctl/evalctl/datasets/qa"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
	"github.com/evalctl/evalctl/tasks/internal/testmodel"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func newTestTask(t testing.TB, raw map[string]any) *Task {
	t.Helper()
	set, err := params.Resolve(Specs, raw)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := New(tasks.Config{Params: set})
	if err != nil {
		t.Fatal(err)
	}
	return tk.(*Task)
}

var toks = []string{"bytelevel-gpt2", "bytelevel-llama3", "sentencepiece-bpe"}

// evalBoth evaluates a cell with the reading model and the wrong one and
// checks the scores and the record.
func evalBoth(t *testing.T, tk *Task, tok string, cell tasks.Cell) *tasks.Result {
	t.Helper()
	var first *tasks.Result
	var p *Prompt
	for _, c := range []struct {
		name   string
		answer func(string) string
		want   float64
	}{{"oracle", oracle, 1}, {"wrong", wrong, 0}} {
		var sent string
		m := testmodel.New(t, tok, func(p string) string { sent = p; return c.answer(p) })
		res, err := tk.Evaluate(context.Background(), m, cell)
		if err != nil {
			t.Fatal(err)
		}
		if p == nil {
			if p, err = tk.Prompt(context.Background(), m.Tokenize, cell); err != nil {
				t.Fatal(err)
			}
		}
		if p.Fit.Prompt != sent {
			t.Fatal("the prompt sent differs from the cell's prompt fitted again")
		}
		for _, s := range ScoreNames {
			if got := res.Scores[s]; got != c.want {
				t.Fatalf("%s: %s = %v, want %v\nquestion %q\noutput %q\nreferences %q", c.name, s, got, c.want, res.Info["question"], res.Output, res.References)
			}
		}
		checkRecord(t, tk, m, cell, res, p)
		if first == nil {
			first = res
		}
	}
	return first
}

func TestScoresSynthetic(t *testing.T) {
	variants := []struct {
		name string
		raw  map[string]any
	}{
		{"one-hop", map[string]any{}},
		{"two-hop", map[string]any{"hops": 2}},
		{"mixed", map[string]any{"hops": "mixed"}},
		{"two-hop-own", map[string]any{"hops": 2, "distractor_docs": "own"}},
		{"two-hop-adjacent", map[string]any{"hops": 2, "spread": 0}},
	}
	depths := []float64{0, 0.25, 0.5, 0.75, 1}
	for vi, v := range variants {
		for li, length := range []int{1024, 4096, 16384} {
			if length == 16384 && vi%2 == 1 {
				continue // 16K for some variants only: the race detector is slow
			}
			if length == 1024 && v.raw["distractor_docs"] == "own" {
				continue // ten documents of about 300 tokens with these small vocabularies
			}
			tok := toks[(vi+li)%len(toks)]
			depth := depths[(vi+2*li)%len(depths)]
			t.Run(fmt.Sprintf("%s/%d/%v/%s", v.name, length, depth, tok), func(t *testing.T) {
				t.Parallel()
				tk := newTestTask(t, v.raw)
				for sample := range 2 {
					cell := tasks.Cell{Length: length, Depth: depth, Sample: sample, Seed: int64(1000*vi + 10*length + sample)}
					res := evalBoth(t, tk, tok, cell)
					if h := res.Info["hops"].(int); v.raw["hops"] == 2 && h != 2 {
						t.Fatalf("hops %d", h)
					}
				}
			})
		}
	}
}

// docRe finds the numbered documents of a prompt.
var docRe = regexp.MustCompile(`(?m)^Document \[(\d+)\]`)

// checkRecord checks the lengths and positions a record carries against an
// independent tokenization of the cell's prompt p.
func checkRecord(t *testing.T, tk *Task, m *testmodel.Model, cell tasks.Cell, res *tasks.Result, p *Prompt) {
	t.Helper()
	prompt := p.Fit.Prompt
	if strings.Contains(prompt, marker) {
		t.Fatal("a number marker left in the prompt")
	}
	ids, _ := m.Tokenize(context.Background(), prompt)
	if got := int(res.Metrics["prompt_tokens"].Value); got != len(ids) || p.Fit.Tokens != len(ids) {
		t.Fatalf("prompt_tokens %d (fit %d), the prompt has %d", got, p.Fit.Tokens, len(ids))
	}
	budget := tk.p.Int("max_tokens")
	if tk.choices > 0 {
		// The longest continuation and one token.
		budget = 0
		for i := range p.Choices {
			budget = max(budget, len(m.Tok.Encode(p.Continuation(i)))+1)
		}
	}
	total := len(ids) + budget
	tol := tk.p.Float("tolerance")
	if total > cell.Length || float64(total) < (1-tol)*float64(cell.Length) {
		t.Fatalf("prompt %d + budget %d outside [%v*%d, %d]", len(ids), budget, 1-tol, cell.Length, cell.Length)
	}
	if res.Metrics["target_tokens"].Value != float64(cell.Length) || res.Metrics["answer_budget"].Value != float64(budget) {
		t.Fatalf("target/budget metrics %v %v", res.Metrics["target_tokens"], res.Metrics["answer_budget"])
	}
	// Documents are numbered 1, 2, 3, ... in order.
	nums := docRe.FindAllStringSubmatch(prompt, -1)
	for i, n := range nums {
		if n[1] != strconv.Itoa(i+1) {
			t.Fatalf("document %d numbered %s", i+1, n[1])
		}
	}
	if len(nums) != p.Documents || res.Metrics["documents"].Value != float64(p.Documents) {
		t.Fatalf("%d numbered documents, Documents %d, metric %v", len(nums), p.Documents, res.Metrics["documents"])
	}
	// Every gold document is in the prompt, whole, under its number, and
	// its token position points at it.
	gold := p.Item.Gold
	positions := res.Info["gold_token_positions"].([]int)
	numbers := res.Info["gold_documents"].([]int)
	for i, d := range gold {
		head := fmt.Sprintf("Document [%d] (Title: %s): ", numbers[i], d.Title)
		if d.Title == "" {
			head = fmt.Sprintf("Document [%d]: ", numbers[i])
		}
		want := head + strings.TrimSpace(d.Text)
		if !strings.Contains(prompt, want) {
			t.Fatalf("gold document %d missing: %q", i, want)
		}
		if got := strings.TrimLeft(m.Tok.Decode(ids[positions[i]:]), " "); !strings.HasPrefix(got, head) {
			t.Fatalf("gold document %d at token %d decodes to %q, want %q", i, positions[i], got[:min(60, len(got))], head)
		}
	}
	last := len(gold) - 1
	if int(res.Metrics["needle_token_position"].Value) != positions[last] {
		t.Fatalf("needle_token_position %v, want the last gold document's %d", res.Metrics["needle_token_position"].Value, positions[last])
	}
	// The primary document sits at the distractor boundary nearest to its
	// depth, which is within spread/2 of the cell depth (spread where the
	// window is moved inside [0, 1]): off by at most the
	// share of the largest distractor document (a few of them fill 1K
	// tokens of these small test vocabularies).
	want := p.Request.Needles[p.Primary].Depth
	if spread := tk.p.Float("spread"); want < cell.Depth-spread-1e-9 || want > cell.Depth+spread+1e-9 {
		t.Fatalf("primary document wanted at depth %v for depth %v", want, cell.Depth)
	}
	ownNums := map[int]bool{}
	for _, n := range p.Numbers {
		ownNums[n] = true
	}
	largest := 0
	for _, d := range splitDocs(prompt) {
		if !ownNums[d.number] {
			largest = max(largest, len(d.text))
		}
	}
	slack := float64(largest)/float64(max(p.Fit.HaystackBytes, 1)) + 0.01
	if d := res.Metrics["depth_actual"].Value; d < want-slack || d > want+slack {
		t.Fatalf("depth_actual %v for depth %v (wanted %v, slack %v)", d, cell.Depth, want, slack)
	}
	timings := []string{"prefill_ms", "decode_ms", "total_ms", "tokenize_ms", "fit_ms"}
	prefill := float64(len(ids)) / 1000
	if tk.choices > 0 {
		// No decoding; the prefill of every choice's sequence.
		timings = slices.DeleteFunc(timings, func(s string) bool { return s == "decode_ms" })
		n := 0
		for i := range p.Choices {
			n += len(ids) + len(m.Tok.Encode(p.Continuation(i)))
		}
		prefill = float64(n) / 1000
	}
	for _, name := range timings {
		if v, ok := res.Timings[name]; !ok || v.Unit != "ms" {
			t.Fatalf("timing %s missing or without unit: %+v", name, v)
		}
	}
	if res.Timings["prefill_ms"].Value != prefill {
		t.Fatalf("prefill_ms %v, want %v", res.Timings["prefill_ms"].Value, prefill)
	}
	if res.Output == "" || !slices.Equal(res.References, p.References) || res.Info["scorers"] == nil {
		t.Fatalf("output %q references %q info %v", res.Output, res.References, res.Info)
	}
}

func TestTwoHopPromptHasBothGold(t *testing.T) {
	for _, spread := range []float64{0, 0.1, 0.5} {
		tk := newTestTask(t, map[string]any{"hops": 2, "spread": spread})
		m := testmodel.New(t, "bytelevel-llama3", oracle)
		firsts := map[string]bool{}
		for seed := int64(1); seed <= 8; seed++ {
			p, err := tk.Prompt(context.Background(), m.Tokenize, tasks.Cell{Length: 8192, Depth: 0.5, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			if p.Item.Hops != 2 || len(p.Item.Gold) != 2 {
				t.Fatalf("hops %d, %d gold documents", p.Item.Hops, len(p.Item.Gold))
			}
			var nums [2]int
			for i, d := range p.Item.Gold {
				nums[i] = p.Numbers[p.Gold[i]]
				if !strings.Contains(p.Fit.Prompt, fmt.Sprintf("Document [%d] (Title: %s): %s", nums[i], d.Title, d.Text)) {
					t.Fatalf("spread %v seed %d: gold document %q missing", spread, seed, d.Title)
				}
			}
			// Spacing: the two are wanted spread apart around 0.5, and land
			// on the nearest boundaries (documents of about 300 tokens here).
			w0, w1 := p.Request.Needles[p.Gold[0]].Depth, p.Request.Needles[p.Gold[1]].Depth
			if diff := max(w0, w1) - min(w0, w1); diff < spread-1e-9 || diff > spread+1e-9 || min(w0, w1) < 0.5-spread/2-1e-9 {
				t.Fatalf("spread %v: gold depths wanted %v and %v", spread, w0, w1)
			}
			d0, d1 := p.Fit.Needles[p.Gold[0]].Depth, p.Fit.Needles[p.Gold[1]].Depth
			if diff := max(d0, d1) - min(d0, d1); diff > spread+0.08 || diff < spread-0.08 {
				t.Fatalf("spread %v: gold depths %v and %v", spread, d0, d1)
			}
			if spread == 0 && max(nums[0], nums[1])-min(nums[0], nums[1]) != 1 {
				t.Fatalf("spread 0: gold documents %v are not side by side", nums)
			}
			firsts[strconv.FormatBool(nums[0] < nums[1])] = true
		}
		if len(firsts) != 2 {
			t.Fatalf("spread %v: the gold documents always come in the same order", spread)
		}
	}
}

// TestGolden pins the prompts of a fixed seed at a short length: the same
// seed gives the same prompt on every machine.
func TestGolden(t *testing.T) {
	for _, v := range []struct {
		name   string
		raw    map[string]any
		length int
	}{
		{"synthetic-two-hop", map[string]any{"hops": 2}, 1024},
		{"squad", map[string]any{"source": "file", "file": "testdata/squad.json"}, 512},
	} {
		t.Run(v.name, func(t *testing.T) {
			tk := newTestTask(t, v.raw)
			m := testmodel.New(t, "bytelevel-gpt2", oracle)
			cell := tasks.Cell{Length: v.length, Depth: 0.5, Seed: 1}
			res, err := tk.Evaluate(context.Background(), m, cell)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := tk.Prompt(context.Background(), m.Tokenize, cell)
			got := fmt.Sprintf("references: %q\noutput: %q\nprompt_tokens: %v\ngold_documents: %v\ngold_token_positions: %v\n----\n%s\n",
				res.References, res.Output, res.Metrics["prompt_tokens"].Value, res.Info["gold_documents"], res.Info["gold_token_positions"], p.Fit.Prompt)
			golden(t, v.name+".golden", got)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != got {
		t.Errorf("differs from %s (run with -update if intended)\ngot:\n%s", path, got)
	}
}

func TestSamplesDiffer(t *testing.T) {
	for _, raw := range []map[string]any{{"hops": "mixed"}, {"source": "file", "file": "testdata/hotpot.json"}} {
		tk := newTestTask(t, raw)
		m := testmodel.New(t, "bytelevel-llama3", oracle)
		prompt := func(seed int64) string {
			p, err := tk.Prompt(context.Background(), m.Tokenize, tasks.Cell{Length: 2048, Depth: 0.5, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			return p.Fit.Prompt
		}
		if raw["hops"] == "mixed" {
			hops := map[int]bool{}
			for seed := int64(0); seed < 16; seed++ {
				s, err := tk.Build(tasks.Cell{Length: 2048, Seed: seed})
				if err != nil {
					t.Fatal(err)
				}
				hops[s.Item.Hops] = true
			}
			if !hops[1] || !hops[2] {
				t.Fatalf("hops mixed drew %v", hops)
			}
		}
		a, b, c := prompt(11), prompt(11), prompt(12)
		if a != b {
			t.Fatalf("%v: same seed, different prompts", raw)
		}
		if a == c {
			t.Fatalf("%v: different samples, same prompt", raw)
		}
	}
}

func TestFileSources(t *testing.T) {
	for i, v := range []struct {
		name string
		raw  map[string]any
		ids  []string // the items the file offers
	}{
		{"squad", map[string]any{"file": "testdata/squad.json"}, []string{"ost-1", "ost-2", "bre-1", "tar-1", "tar-2", "lin-1"}},
		{"squad-ask", map[string]any{"file": "testdata/squad.json", "unanswerable": "ask"}, []string{"ost-1", "ost-2", "ost-3", "bre-1", "tar-1", "tar-2", "lin-1"}},
		{"hotpotqa", map[string]any{"file": "testdata/hotpot.json", "format": "hotpotqa"}, []string{"hp-1", "hp-2", "hp-3"}},
		{"hotpotqa-own", map[string]any{"file": "testdata/hotpot.json", "distractor_docs": "own"}, []string{"hp-1", "hp-2", "hp-3"}},
		{"jsonl", map[string]any{"file": "testdata/longbench.jsonl", "format": "jsonl"}, []string{"lb-1", "lb-2", "lb-3"}},
		{"jsonl-ask", map[string]any{"file": "testdata/longbench.jsonl", "unanswerable": "ask"}, []string{"lb-1", "lb-2", "lb-3", "lb-5"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			raw := map[string]any{"source": "file"}
			for k, x := range v.raw {
				raw[k] = x
			}
			tk := newTestTask(t, raw)
			seen := map[string]bool{}
			for seed := int64(0); seed < 24; seed++ {
				length := []int{2048, 4096}[seed%2]
				cell := tasks.Cell{Length: length, Depth: float64(seed%5) / 4, Seed: seed}
				tok := toks[(i+int(seed))%len(toks)]
				if seed < 4 {
					res := evalBoth(t, tk, tok, cell)
					if res.Info["distractors_repeated"] != true {
						t.Fatal("a small file fills 2K with its documents repeated; Info does not say so")
					}
				}
				m := testmodel.New(t, tok, oracle)
				p, err := tk.Prompt(context.Background(), m.Tokenize, cell)
				if err != nil {
					t.Fatal(err)
				}
				seen[p.Item.ID] = true
				checkNoLeak(t, p)
				if v.raw["distractor_docs"] == "own" {
					for _, d := range p.Item.Distractors {
						if !strings.Contains(p.Fit.Prompt, "(Title: "+d.Title+"): "+d.Text) {
							t.Fatalf("own distractor %q missing", d.Title)
						}
					}
				}
				if seed >= 6 {
					continue
				}
				// Every backend gets the same item for a cell.
				other := testmodel.New(t, toks[(i+int(seed)+1)%len(toks)], oracle)
				s1, _ := tk.Build(cell)
				q, err := tk.Prompt(context.Background(), other.Tokenize, cell)
				if err != nil {
					t.Fatal(err)
				}
				if q.Item.ID != p.Item.ID || s1.Item.ID != p.Item.ID {
					t.Fatalf("cell %+v: items %s and %s", cell, p.Item.ID, q.Item.ID)
				}
			}
			var got []string
			for id := range seen {
				got = append(got, id)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(v.ids))
			if !slices.Equal(got, want) {
				t.Fatalf("items drawn %v, want every usable item %v", got, want)
			}
		})
	}
}

// checkNoLeak checks that no document of the prompt other than the item's
// own states one of its answers (case-insensitive substring: stricter than
// the task's whole-word rule, which these files allow).
func checkNoLeak(t *testing.T, p *Prompt) {
	t.Helper()
	own := map[int]bool{}
	for _, n := range p.Numbers {
		own[n] = true
	}
	for _, d := range splitDocs(p.Fit.Prompt) {
		if own[d.number] {
			continue
		}
		body := strings.ToLower(d.text)
		for _, a := range p.Item.Answers {
			if strings.Contains(body, strings.ToLower(a)) {
				t.Fatalf("item %s: distractor document %d contains the answer %q: %q", p.Item.ID, d.number, a, body)
			}
		}
	}
}

type promptDoc struct {
	number int
	text   string // "Document [k] ...", up to the next document or the question
}

// splitDocs returns the numbered documents of a prompt.
func splitDocs(prompt string) []promptDoc {
	if i := strings.LastIndex(prompt, "\n\nQuestion: "); i >= 0 {
		prompt = prompt[:i]
	}
	idx := docRe.FindAllStringSubmatchIndex(prompt, -1)
	var out []promptDoc
	for i, d := range idx {
		n, _ := strconv.Atoi(prompt[d[2]:d[3]])
		end := len(prompt)
		if i+1 < len(idx) {
			end = idx[i+1][0] - 1 // the line break before the next
		}
		out = append(out, promptDoc{n, prompt[d[0]:end]})
	}
	return out
}

// TestExcludesAnswerDocuments: the Brenholm paragraph names Ida Marsh, the
// answer of ost-1, and must never surround that question; it surrounds the
// others.
func TestExcludesAnswerDocuments(t *testing.T) {
	tk := newTestTask(t, map[string]any{"source": "file", "file": "testdata/squad.json"})
	m := testmodel.New(t, "bytelevel-gpt2", oracle)
	asked, other := 0, 0
	for seed := int64(0); seed < 60; seed++ {
		p, err := tk.Prompt(context.Background(), m.Tokenize, tasks.Cell{Length: 1024, Depth: 0.5, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(p.Fit.Prompt, "Ida Marsh once sailed")
		switch p.Item.ID {
		case "ost-1":
			asked++
			if has {
				t.Fatal("ost-1: the Brenholm paragraph, which names its answer, is a distractor")
			}
		case "tar-1", "lin-1":
			other++
			if !has {
				t.Fatalf("%s: the Brenholm paragraph is missing from a 1K context of a 7-paragraph file", p.Item.ID)
			}
		}
	}
	if asked == 0 || other == 0 {
		t.Fatalf("ost-1 drawn %d times, others %d", asked, other)
	}
}

func TestContainsWord(t *testing.T) {
	for _, c := range []struct {
		text  string
		words []string
		want  bool
	}{
		{"The answer is no.", []string{"no"}, true},
		{"Nothing is known.", []string{"no"}, false},
		{"It was 1887, not 18870.", []string{"1887"}, true},
		{"In 18870.", []string{"1887"}, false},
		{"IDA MARSH sailed", []string{"Ida Marsh"}, true},
		{"Ole Ødegård (1901–1980) was", []string{"(1901–1980)"}, true},
		{"Ødegårdson", []string{"Ødegård"}, false},
		{"by Ødegård.", []string{"Ødegård"}, true},
		{"x", []string{""}, false},
		{"the no-go area, then no", []string{"no"}, true},
	} {
		if got := containsAnyWord(c.text, c.words); got != c.want {
			t.Errorf("containsAnyWord(%q, %q) = %v, want %v", c.text, c.words, got, c.want)
		}
	}
}

// FuzzContainsWord checks the whole-word rule against a plain reading of
// it: some occurrence of the lowered word in the lowered text, at a rune
// boundary, has no letter or digit on a side where the word has one.
func FuzzContainsWord(f *testing.F) {
	f.Add("The answer is no.", "no")
	f.Add("Nothing", "no")
	f.Add("Ole Ødegård (1901–1980)", "(1901–1980)")
	f.Add("\xff\xfeab", "ab")
	f.Fuzz(func(t *testing.T, text, word string) {
		got := containsAnyWord(text, []string{word})
		lt, lw := strings.ToLower(text), strings.ToLower(word)
		want := false
		if lw != "" {
			wr := []rune(lw)
			for i := range lt { // rune starts
				if !strings.HasPrefix(lt[i:], lw) {
					continue
				}
				before := []rune(lt[:i])
				after := []rune(lt[i+len(lw):])
				okBefore := len(before) == 0 || !isWordRune(wr[0]) || !isWordRune(before[len(before)-1])
				okAfter := len(after) == 0 || !isWordRune(wr[len(wr)-1]) || !isWordRune(after[0])
				if okBefore && okAfter {
					want = true
					break
				}
			}
		}
		if got != want {
			t.Fatalf("containsAnyWord(%q, %q) = %v, want %v", text, word, got, want)
		}
	})
}

func TestRenumberAndPrediction(t *testing.T) {
	if got := renumber("a" + marker + "b" + marker + marker + "c"); got != "a1b23c" {
		t.Fatalf("renumber: %q", got)
	}
	if got := render(qadata.Document{Title: "T" + marker, Text: " x "}); got != "Document ["+marker+"] (Title: T\uFFFD): x" {
		t.Fatalf("render: %q", got)
	}
	for in, want := range map[string]string{
		" Stodo":                     "Stodo",
		"\n\n  Stodo.\nQuestion: x":  "Stodo.",
		"The city is Stodo.\r\nMore": "The city is Stodo.",
		"   ":                        "",
	} {
		if got := Prediction(in); got != want {
			t.Errorf("Prediction(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestScoresExtraWords: an answer wrapped in a sentence keeps
// string_match_part and loses exact match.
func TestScoresExtraWords(t *testing.T) {
	tk := newTestTask(t, nil)
	m := testmodel.New(t, "bytelevel-gpt2", func(p string) string {
		return " The answer is" + oracle(p) + ".\n\nQuestion: something else"
	})
	res, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 1024, Depth: 0.5, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scores["string_match_part"] != 1 || res.Scores["exact_match"] != 0 || !(res.Scores["f1"] > 0 && res.Scores["f1"] < 1) {
		t.Fatalf("scores %v for %q", res.Scores, res.Output)
	}
	if !strings.HasPrefix(res.Info["prediction"].(string), "The answer is ") || strings.Contains(res.Info["prediction"].(string), "\n") {
		t.Fatalf("prediction %q", res.Info["prediction"])
	}
}

// TestConcurrent evaluates cells of one task from several goroutines, as
// the runner's pool does.
func TestConcurrent(t *testing.T) {
	for _, raw := range []map[string]any{{"hops": "mixed"}, {"source": "file", "file": "testdata/hotpot.json", "distractor_docs": "own"}} {
		tk := newTestTask(t, raw)
		m := testmodel.New(t, "bytelevel-llama3", oracle)
		errs := make(chan error, 6)
		for i := range 6 {
			go func() {
				res, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 2048, Depth: 0.5, Seed: int64(i)})
				if err == nil && res.Scores["exact_match"] != 1 {
					err = fmt.Errorf("seed %d: exact_match %v", i, res.Scores["exact_match"])
				}
				errs <- err
			}()
		}
		for range 6 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
}

type notText struct{}

func (notText) Close() error { return nil }

func TestErrors(t *testing.T) {
	tk := newTestTask(t, nil)
	m := testmodel.New(t, "bytelevel-gpt2", oracle)
	_, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 100, Depth: 0.5, Seed: 1})
	if !errors.Is(err, fit.ErrNoRoom) {
		t.Fatalf("length 100: %v, want ErrNoRoom", err)
	}
	if _, err := tk.Evaluate(context.Background(), notText{}, tasks.Cell{Length: 1024}); err == nil || !strings.Contains(err.Error(), "not a text model") {
		t.Fatalf("not a text model: %v", err)
	}
	info, ok := tasks.Lookup("qa")
	if !ok {
		t.Fatal("qa is not registered")
	}
	if !slices.Contains(info.Metrics, "exact_match") || !slices.Contains(info.Metrics, "needle_token_position") || !info.UsesDepth {
		t.Fatal("info")
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "one.json"), []byte(`{"data": [{"title": "A", "paragraphs": [{"context": "The x of A is B.", "qas": [{"id": "1", "question": "What is the x of A?", "answers": [{"text": "B", "answer_start": 14}]}]}]}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte("{\"input\": \"q\", \"context\": \"c\", \"answers\": [\"a\"]}\n{\"input\": \"q2\", \"answers\": [[1]]}\n"), 0o644)
	for _, c := range []struct {
		raw  map[string]any
		want string // in the error
	}{
		{map[string]any{"source": "file"}, `needs parameter "file"`},
		{map[string]any{"file": "testdata/squad.json"}, "source is synthetic"},
		{map[string]any{"source": "file", "file": "testdata/missing.json"}, "no such file"},
		{map[string]any{"source": "file", "file": "testdata"}, "is a directory"},
		{map[string]any{"source": "file", "file": "testdata/squad.json", "format": "hotpotqa"}, "squad.json: want a list of examples"},
		{map[string]any{"source": "file", "file": "testdata/hotpot.json", "format": "squad"}, `hotpot.json: want an object with a "data" list`},
		{map[string]any{"source": "file", "file": "testdata/ruler.jsonl"}, "without a context document"},
		{map[string]any{"source": "file", "file": filepath.Join(dir, "one.json")}, "one distinct document"},
		{map[string]any{"source": "file", "file": filepath.Join(dir, "bad.jsonl")}, "bad.jsonl:2: answers[0]"},
		{map[string]any{"stop": `\q`}, "unknown escape"},
		{map[string]any{"unanswerable": "ask"}, "applies to source: file"},
		{map[string]any{"source": "file", "file": "testdata/hotpot.json", "hops": 2}, "applies to source: synthetic"},
	} {
		set, err := params.Resolve(Specs, c.raw)
		if err != nil {
			t.Fatal(err)
		}
		err = info.Check(set)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%v) = %v, want an error with %q", c.raw, err, c.want)
		}
		if _, err := New(tasks.Config{Params: set}); err == nil {
			t.Errorf("New(%v) passed", c.raw)
		}
	}
	for _, raw := range []map[string]any{{"format": "csv"}, {"hops": 3}, {"source": "web"}, {"distractor_docs": "none"}} {
		if _, err := params.Resolve(Specs, raw); err == nil {
			t.Errorf("Resolve(%v) passed", raw)
		}
	}
	// An item whose every other document names its answer cannot be
	// surrounded.
	os.WriteFile(filepath.Join(dir, "leaky.json"), []byte(`{"data": [{"title": "A", "paragraphs": [
		{"context": "The x of A is B.", "qas": [{"id": "1", "question": "What is the x of A?", "answers": [{"text": "B", "answer_start": 14}]}]},
		{"context": "B is also here.", "qas": [{"id": "2", "question": "What is here?", "answers": [{"text": "B", "answer_start": 0}]}]}]}]}`), 0o644)
	lk := newTestTask(t, map[string]any{"source": "file", "file": filepath.Join(dir, "leaky.json")})
	if _, err := lk.Evaluate(context.Background(), m, tasks.Cell{Length: 512, Seed: 1}); err == nil || !strings.Contains(err.Error(), "no distractor is left") {
		t.Fatalf("leaky file: %v", err)
	}
}

// BenchmarkEvaluate32K runs a whole two-hop cell at 32K tokens against the
// reading test model: drawing, fitting, the model's own tokenization and
// reading, scoring.
func BenchmarkEvaluate32K(b *testing.B) {
	tk := newTestTask(b, map[string]any{"hops": 2})
	m := testmodel.New(b, "bytelevel-llama3", oracle)
	for i := 0; b.Loop(); i++ {
		res, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 32768, Depth: 0.5, Seed: int64(i)})
		if err != nil || res.Scores["exact_match"] != 1 {
			b.Fatal(err, res.Scores)
		}
	}
}
