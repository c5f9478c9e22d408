package qa

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	qadata "github.com/evalctl/evalctl/datasets/qa"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/internal/testmodel"
	"github.com/evalctl/evalctl/tasks/score"
)

// reader is the loglik of an honest multiple-choice model: it reads the
// context as the oracle does (the question's subject, its document, the
// statement of the attribute asked) and gives a continuation the text
// says log 0.9 per token, any other log 0.05 per token. contrary swaps
// the two: a model that prefers anything the documents do not say.
func reader(contrary bool) func(string, string, int) float64 {
	var mu sync.Mutex
	var lastCtx, lastAnswer string
	return func(ctx, cont string, n int) float64 {
		mu.Lock()
		if ctx != lastCtx || lastCtx == "" {
			lastCtx, lastAnswer = ctx, oracle(ctx) // the choices of a cell share their context
		}
		read := lastAnswer
		mu.Unlock()
		if (score.Normalize(cont) == score.Normalize(read)) != contrary {
			return float64(n) * math.Log(0.9)
		}
		return float64(n) * math.Log(0.05)
	}
}

func choiceModel(t testing.TB, tok string, loglik func(string, string, int) float64) *testmodel.Model {
	m := testmodel.New(t, tok, func(string) string {
		t.Error("Generate called in choice mode")
		return ""
	})
	m.Loglik = loglik
	return m
}

// choiceRequests wraps a model's loglik to record the requests.
type choiceRequests struct {
	mu            sync.Mutex
	contexts      []string
	continuations []string
}

func (c *choiceRequests) wrap(f func(string, string, int) float64) func(string, string, int) float64 {
	return func(ctx, cont string, n int) float64 {
		c.mu.Lock()
		c.contexts = append(c.contexts, ctx)
		c.continuations = append(c.continuations, cont)
		c.mu.Unlock()
		return f(ctx, cont, n)
	}
}

// evalChoices evaluates a choice-mode cell with the reading model and the
// contrary one, checks the scores and the record, and returns the first.
func evalChoices(t *testing.T, tk *Task, tok string, cell tasks.Cell) *tasks.Result {
	t.Helper()
	var first *tasks.Result
	var p *Prompt
	for _, c := range []struct {
		name     string
		contrary bool
		want     float64
	}{{"reader", false, 1}, {"contrary", true, 0}} {
		var reqs choiceRequests
		m := choiceModel(t, tok, reqs.wrap(reader(c.contrary)))
		res, err := tk.Evaluate(context.Background(), m, cell)
		if err != nil {
			t.Fatal(err)
		}
		if p == nil {
			if p, err = tk.Prompt(context.Background(), m.Tokenize, cell); err != nil {
				t.Fatal(err)
			}
		}
		for i, ctx := range reqs.contexts {
			if ctx != p.Fit.Prompt {
				t.Fatalf("choice %d: the context sent differs from the cell's prompt fitted again", i)
			}
		}
		var want []string
		for i := range p.Choices {
			want = append(want, p.Continuation(i))
		}
		if !slices.Equal(reqs.continuations, want) {
			t.Fatalf("continuations %q, want %q", reqs.continuations, want)
		}
		for _, s := range ChoiceScoreNames {
			if got := res.Scores[s]; got != c.want {
				t.Fatalf("%s: %s = %v, want %v\nquestion %q\nchoices %q (gold %d)\nlogprobs %v", c.name, s, got, c.want, res.Info["question"], p.Choices, p.GoldChoice, res.Info["choice_logprobs"])
			}
		}
		for _, s := range ScoreNames {
			if _, ok := res.Scores[s]; ok {
				t.Fatalf("choice mode scores %s", s)
			}
		}
		checkRecord(t, tk, m, cell, res, p)
		checkChoiceRecord(t, m, res, p)
		if first == nil {
			first = res
		}
	}
	return first
}

// checkChoiceRecord checks what a choice-mode record says about its choices.
func checkChoiceRecord(t *testing.T, m *testmodel.Model, res *tasks.Result, p *Prompt) {
	t.Helper()
	checkChoices(t, p)
	if !slices.Equal(res.Info["choices"].([]string), p.Choices) || res.Info["gold_choice"] != p.GoldChoice || res.Info["answer_mode"] != "choice" {
		t.Fatalf("info choices %q gold %v mode %v; prompt choices %q gold %d", res.Info["choices"], res.Info["gold_choice"], res.Info["answer_mode"], p.Choices, p.GoldChoice)
	}
	lps := res.Info["choice_logprobs"].([]float64)
	toks := res.Info["choice_tokens"].([]int)
	if len(lps) != len(p.Choices) || len(toks) != len(p.Choices) {
		t.Fatalf("%d log-probabilities, %d token counts for %d choices", len(lps), len(toks), len(p.Choices))
	}
	for i := range p.Choices {
		if n := len(m.Tok.Encode(p.Continuation(i))); toks[i] != n || p.ChoiceTokens[i] != n {
			t.Fatalf("choice %d: %d tokens recorded, %d estimated, the continuation has %d", i, toks[i], p.ChoiceTokens[i], n)
		}
	}
	pick := res.Info["prediction_index"].(int)
	for i, lp := range lps {
		if lp > lps[pick] || lp == lps[pick] && i < pick {
			t.Fatalf("prediction %d (%v), but choice %d has %v", pick, lps[pick], i, lp)
		}
	}
	if res.Output != p.Choices[pick] || res.Info["prediction"] != res.Output {
		t.Fatalf("output %q, prediction %q, choice %d is %q", res.Output, res.Info["prediction"], pick, p.Choices[pick])
	}
	if res.Metrics["answer_budget"].Value != float64(slices.Max(p.ChoiceTokens)+1) {
		t.Fatalf("answer_budget %v, choice tokens %v", res.Metrics["answer_budget"].Value, p.ChoiceTokens)
	}
	if _, ok := res.Info["backend_prompt_tokens"]; ok {
		t.Fatal("the test model's context is its Tokenize of the prompt")
	}
}

// checkChoices checks a sample's choices: the gold answer is among them
// exactly once, at GoldChoice; no distractor equals, contains or is
// contained in a gold answer after normalisation; no two are alike.
func checkChoices(t *testing.T, p *Prompt) {
	t.Helper()
	if n := len(p.Choices); n < 2 || p.GoldChoice < 0 || p.GoldChoice >= n {
		t.Fatalf("%d choices, gold at %d", n, p.GoldChoice)
	}
	gold := p.Choices[p.GoldChoice]
	if gold != strings.TrimSpace(p.Item.Answers[0]) {
		t.Fatalf("gold choice %q, the item's answer %q", gold, p.Item.Answers[0])
	}
	seen := map[string]bool{}
	for i, c := range p.Choices {
		n := score.Normalize(c)
		if n == "" || seen[n] {
			t.Fatalf("choice %d %q: blank or the same as another after normalisation: %q", i, c, p.Choices)
		}
		seen[n] = true
		if i == p.GoldChoice {
			continue
		}
		for _, a := range p.Item.Answers {
			g := score.Normalize(a)
			if n == g || strings.Contains(" "+n+" ", " "+g+" ") || strings.Contains(" "+g+" ", " "+n+" ") {
				t.Fatalf("distractor %q is the gold answer %q or a wording of it", c, a)
			}
		}
	}
	if p.Delimiter != " " {
		t.Fatalf("delimiter %q after the prefix %q", p.Delimiter, p.Request.After[len(p.Request.After)-7:])
	}
}

func TestChoiceScores(t *testing.T) {
	variants := []struct {
		name string
		raw  map[string]any
	}{
		{"one-hop", map[string]any{}},
		{"two-hop", map[string]any{"hops": 2}},
		{"mixed-8", map[string]any{"hops": "mixed", "choices": 8}},
		{"two-hop-own", map[string]any{"hops": 2, "distractor_docs": "own"}},
		{"squad", map[string]any{"source": "file", "file": "testdata/squad.json"}},
		{"hotpotqa", map[string]any{"source": "file", "file": "testdata/hotpot.json", "choices": 3}},
		{"jsonl-2", map[string]any{"source": "file", "file": "testdata/longbench.jsonl", "choices": 2}},
	}
	depths := []float64{0, 0.25, 0.5, 0.75, 1}
	for vi, v := range variants {
		for li, length := range []int{1024, 4096, 16384} {
			if length == 16384 && vi%2 == 1 {
				continue // the race detector is slow
			}
			if length == 1024 && v.raw["distractor_docs"] == "own" {
				continue // ten documents of about 300 tokens
			}
			tok := toks[(vi+li)%len(toks)]
			depth := depths[(vi+2*li)%len(depths)]
			t.Run(fmt.Sprintf("%s/%d/%v/%s", v.name, length, depth, tok), func(t *testing.T) {
				t.Parallel()
				raw := map[string]any{"answer_mode": "choice"}
				for k, x := range v.raw {
					raw[k] = x
				}
				tk := newTestTask(t, raw)
				for sample := range 2 {
					cell := tasks.Cell{Length: length, Depth: depth, Sample: sample, Seed: int64(1000*vi + 10*length + sample)}
					res := evalChoices(t, tk, tok, cell)
					if want := tk.p.Int("choices"); len(res.Info["choices"].([]string)) != want {
						t.Fatalf("%d choices, want %d", len(res.Info["choices"].([]string)), want)
					}
				}
			})
		}
	}
}

// TestChoicePromptIsGeneratePrompt: a choice-mode prompt is the prompt of
// generate mode with the choices' answer budget.
func TestChoicePromptIsGeneratePrompt(t *testing.T) {
	for _, raw := range []map[string]any{{"hops": 2}, {"source": "file", "file": "testdata/squad.json"}} {
		choiceRaw := map[string]any{"answer_mode": "choice"}
		for k, v := range raw {
			choiceRaw[k] = v
		}
		ct := newTestTask(t, choiceRaw)
		m := testmodel.New(t, "bytelevel-gpt2", oracle)
		for seed := int64(0); seed < 4; seed++ {
			cell := tasks.Cell{Length: 2048, Depth: 0.3, Seed: seed}
			p, err := ct.Prompt(context.Background(), m.Tokenize, cell)
			if err != nil {
				t.Fatal(err)
			}
			genRaw := map[string]any{"max_tokens": p.Fit.Reserve}
			for k, v := range raw {
				genRaw[k] = v
			}
			q, err := newTestTask(t, genRaw).Prompt(context.Background(), m.Tokenize, cell)
			if err != nil {
				t.Fatal(err)
			}
			if p.Fit.Prompt != q.Fit.Prompt || p.Item.ID != q.Item.ID {
				t.Fatalf("%v seed %d: the choice prompt differs from the generate prompt of max_tokens %d", raw, seed, p.Fit.Reserve)
			}
		}
	}
}

// TestChoicesDeterministic: the choices of a cell are the same, in the same
// order, for every task built from the same parameters and every
// tokenizer; the gold is once among them, at positions that vary over
// samples.
func TestChoicesDeterministic(t *testing.T) {
	for _, raw := range []map[string]any{
		{"hops": "mixed"},
		{"hops": 2, "choices": 16},
		{"hops": 1, "distractor_docs": "own", "choices": 5},
		{"source": "file", "file": "testdata/squad.json"},
		{"source": "file", "file": "testdata/longbench.jsonl", "choices": 2},
	} {
		raw["answer_mode"] = "choice"
		positions := map[int]int{}
		for seed := int64(0); seed < 24; seed++ {
			cell := tasks.Cell{Length: 4096, Depth: 0.5, Seed: seed}
			a, err := newTestTask(t, raw).Build(cell)
			if err != nil {
				t.Fatal(err)
			}
			b, err := newTestTask(t, raw).Build(cell)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(a.Choices, b.Choices) || a.GoldChoice != b.GoldChoice {
				t.Fatalf("%v seed %d: choices %q (gold %d) and %q (gold %d)", raw, seed, a.Choices, a.GoldChoice, b.Choices, b.GoldChoice)
			}
			if want := newTestTask(t, raw).p.Int("choices"); len(a.Choices) != want {
				t.Fatalf("%d choices, want %d", len(a.Choices), want)
			}
			checkChoices(t, &Prompt{Sample: a})
			if a.Item.Source == "synthetic" {
				checkClass(t, a)
			}
			positions[a.GoldChoice]++
			if seed < 3 {
				// Every backend gets the same choices.
				var prompts []*Prompt
				for _, tok := range toks {
					p, err := newTestTask(t, raw).Prompt(context.Background(), testmodel.New(t, tok, oracle).Tokenize, cell)
					if err != nil {
						t.Fatal(err)
					}
					prompts = append(prompts, p)
				}
				for _, p := range prompts {
					if !slices.Equal(p.Choices, a.Choices) || p.GoldChoice != a.GoldChoice {
						t.Fatalf("%v seed %d: a tokenizer changed the choices", raw, seed)
					}
				}
			}
		}
		if len(positions) < 2 || len(positions) < min(3, newTestTask(t, raw).p.Int("choices")) {
			t.Fatalf("%v: gold positions over 24 samples: %v", raw, positions)
		}
	}
}

// checkClass checks that a synthetic sample's distractors are answers of
// the same kind as the gold (by shape and range: the world's value ranges
// and vocabularies, datasets/qa/world.go).
func checkClass(t *testing.T, s *Sample) {
	t.Helper()
	ranges := map[string][2]int{
		"birth_year": {1850, 1999}, "company_founded": {1700, 1990}, "city_founded": {900, 1650},
		"employees": {2100, 60000}, "population": {2100, 950000},
	}
	name := regexp.MustCompile(`^[A-Z][a-z]+$`)
	company := regexp.MustCompile(`^[A-Z][a-z]+ [A-Z][a-z]+$`)
	object := regexp.MustCompile(`^[a-z]+ [a-z]+( [a-z]+)?$`)
	word := regexp.MustCompile(`^[a-z]+$`)
	for _, c := range s.Choices {
		ok := false
		switch class := s.DistractorClass; class {
		case "city", "river":
			ok = name.MatchString(c)
		case "company":
			ok = company.MatchString(c)
		case "object":
			ok = object.MatchString(c)
		case "occupation":
			ok = word.MatchString(c)
		default:
			r, known := ranges[class]
			if !known {
				t.Fatalf("question %q: unknown class %q", s.Item.Question, class)
			}
			n, err := strconv.Atoi(c)
			ok = err == nil && n >= r[0] && n <= r[1]
		}
		if !ok {
			t.Fatalf("question %q (class %s): choice %q is not of its kind; choices %q", s.Item.Question, s.DistractorClass, c, s.Choices)
		}
	}
}

// TestSynthClasses: every question template of the synthetic generator has
// a class here, and every class entry is used, so a change of the
// templates in datasets/qa shows.
func TestSynthClasses(t *testing.T) {
	seen := map[string]bool{}
	for _, hops := range []int{1, 2} {
		items, err := qadata.Synthetic(7, 400, qadata.SyntheticOptions{Hops: hops})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			tmpl := synthTemplate(it)
			if _, ok := synthClasses[tmpl]; !ok {
				t.Fatalf("question %q: template %q has no class", it.Question, tmpl)
			}
			seen[tmpl] = true
		}
	}
	for tmpl := range synthClasses {
		if !seen[tmpl] {
			t.Errorf("template %q never asked in 800 items", tmpl)
		}
	}
}

func TestChoose(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		lps            []float64
		choices        []string
		pick, pickNorm int
	}{
		// The long choice has the lower sum and the higher sum per byte.
		{[]float64{-2, -3}, []string{"ab", "abcdefghij"}, 0, 1},
		{[]float64{-3, -2}, []string{"abcdefghij", "ab"}, 1, 0},
		// Ties go to the lowest index.
		{[]float64{-1, -1, -1}, []string{"a", "b", "c"}, 0, 0},
		{[]float64{-4, -1, -2}, []string{"aaaa", "b", "cc"}, 1, 0},
		// Bytes, not runes: "øø" is 4 bytes (per rune, choice 1 would win).
		{[]float64{-2, -1.8}, []string{"øø", "ooo"}, 1, 0},
		{[]float64{nan, -5}, []string{"a", "b"}, 1, 1},
		{[]float64{-inf, nan}, []string{"a", "b"}, 0, 0},
	} {
		pick, norm := Choose(c.lps, c.choices)
		if pick != c.pick || norm != c.pickNorm {
			t.Errorf("Choose(%v, %q) = %d, %d; want %d, %d", c.lps, c.choices, pick, norm, c.pick, c.pickNorm)
		}
	}
}

// TestChoiceAccNorm: a constructed file whose gold answer is much longer
// than the other answers, and a model that gives the supported
// continuation a total log-probability of -2 and any other -1: acc picks a
// short distractor, acc_norm (per byte) the gold.
func TestChoiceAccNorm(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "long.json")
	long := "the old northern lighthouse cottage by the quay"
	para := func(id, subject, answer string) string {
		return fmt.Sprintf(`{"context": "The keeper of %[2]s is %[3]s. %[2]s has a small harbour.", "qas": [{"id": %[1]q, "question": "Who is the keeper of %[2]s?", "answers": [{"text": %[3]q, "answer_start": 17}]}]}`, id, subject, answer)
	}
	os.WriteFile(path, []byte(`{"data": [{"title": "Isles", "paragraphs": [`+
		para("long", "Aland", long)+", "+para("b", "Bruny", "Ek")+", "+para("c", "Corvo", "Yo")+", "+para("d", "Dursey", "Tam")+`]}]}`), 0o644)
	tk := newTestTask(t, map[string]any{"answer_mode": "choice", "source": "file", "file": path})
	m := choiceModel(t, "bytelevel-gpt2", func(ctx, cont string, n int) float64 {
		if score.Normalize(cont) == score.Normalize(oracle(ctx)) {
			return -2
		}
		return -1
	})
	found := 0
	for seed := int64(0); seed < 16; seed++ {
		cell := tasks.Cell{Length: 512, Depth: 0.5, Seed: seed}
		res, err := tk.Evaluate(context.Background(), m, cell)
		if err != nil {
			t.Fatal(err)
		}
		if res.Info["item_id"] != "long" {
			continue
		}
		found++
		choices := res.Info["choices"].([]string)
		if choices[res.Info["gold_choice"].(int)] != long || len(choices) != 4 {
			t.Fatalf("choices %q, gold %v", choices, res.Info["gold_choice"])
		}
		if res.Scores["acc"] != 0 || res.Scores["acc_norm"] != 1 || res.Info["prediction_norm"] != long || res.Output == long {
			t.Fatalf("acc %v acc_norm %v, output %q, prediction_norm %q", res.Scores["acc"], res.Scores["acc_norm"], res.Output, res.Info["prediction_norm"])
		}
		// acc takes the first distractor: every one scores -1.
		for i, c := range choices {
			if c != long {
				if res.Output != c {
					t.Fatalf("output %q; the first distractor is %q (choice %d)", res.Output, c, i)
				}
				break
			}
		}
	}
	if found == 0 {
		t.Fatal("the long item was never drawn")
	}
}

// TestChoiceSkipsUnanswerable: the file's unanswerable question is never
// asked in choice mode, and the record says it was skipped.
func TestChoiceSkipsUnanswerable(t *testing.T) {
	tk := newTestTask(t, map[string]any{"answer_mode": "choice", "source": "file", "file": "testdata/squad.json"})
	m := choiceModel(t, "bytelevel-llama3", reader(false))
	for seed := int64(0); seed < 30; seed++ {
		s, err := tk.Build(tasks.Cell{Length: 1024, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		if s.Item.Unanswerable || s.Item.ID == "ost-3" {
			t.Fatalf("seed %d: unanswerable item %s drawn", seed, s.Item.ID)
		}
		if slices.ContainsFunc(s.Choices, func(c string) bool { return strings.EqualFold(c, Unanswerable) }) {
			t.Fatalf("choices %q", s.Choices)
		}
	}
	res, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 1024, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if sk := res.Info["file_items_skipped"].(map[string]int); sk["unanswerable"] != 1 {
		t.Fatalf("skipped %v", sk)
	}
}

// TestChoiceDelimiter: a prefix that ends in white space gets no space
// before the choice.
func TestChoiceDelimiter(t *testing.T) {
	for prefix, want := range map[string]string{"Answer:": " ", "Answer: ": "", "Answer:\n": "", "": ""} {
		tk := newTestTask(t, map[string]any{"answer_mode": "choice", "answer_prefix": prefix})
		s, err := tk.Build(tasks.Cell{Length: 1024, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if s.Delimiter != want || s.Continuation(0) != want+s.Choices[0] {
			t.Errorf("prefix %q: delimiter %q, continuation %q", prefix, s.Delimiter, s.Continuation(0))
		}
	}
}

func TestChoiceErrors(t *testing.T) {
	dir := t.TempDir()
	// Three distinct answers, but "Red Fox" contains "Red": the question
	// answered "Red" has one distractor left.
	os.WriteFile(filepath.Join(dir, "red.json"), []byte(`{"data": [{"title": "A", "paragraphs": [
		{"context": "The colour of A is Red.", "qas": [{"id": "1", "question": "What is the colour of A?", "answers": [{"text": "Red", "answer_start": 19}]}]},
		{"context": "The animal of B is Red Fox.", "qas": [{"id": "2", "question": "What is the animal of B?", "answers": [{"text": "Red Fox", "answer_start": 19}]}]},
		{"context": "The colour of C is Blue.", "qas": [{"id": "3", "question": "What is the colour of C?", "answers": [{"text": "Blue", "answer_start": 19}]}]}]}]}`), 0o644)
	info, _ := tasks.Lookup("qa")
	for _, c := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{"source": "file", "file": "testdata/squad.json", "unanswerable": "ask"}, "answer_mode: choice skips unanswerable"},
		{map[string]any{"source": "file", "file": "testdata/hotpot.json"}, "has 3 distinct answers"},
		{map[string]any{"source": "file", "file": filepath.Join(dir, "red.json"), "choices": 4}, "has 3 distinct answers"},
	} {
		c.raw["answer_mode"] = "choice"
		set, err := params.Resolve(Specs, c.raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := info.Check(set); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%v) = %v, want an error with %q", c.raw, err, c.want)
		}
	}
	for _, raw := range []map[string]any{{"answer_mode": "mc"}, {"choices": 1}, {"choices": 17}} {
		if _, err := params.Resolve(Specs, raw); err == nil {
			t.Errorf("Resolve(%v) passed", raw)
		}
	}
	// The item answered "Red" cannot have three choices.
	tk := newTestTask(t, map[string]any{"answer_mode": "choice", "choices": 3, "source": "file", "file": filepath.Join(dir, "red.json")})
	failed := 0
	for seed := int64(0); seed < 12; seed++ {
		s, err := tk.Build(tasks.Cell{Length: 512, Seed: seed})
		switch {
		case err != nil && strings.Contains(err.Error(), "give 1 answers distinct"):
			failed++
		case err != nil:
			t.Fatal(err)
		case s.Item.ID == "1":
			t.Fatalf("item 1 got choices %q", s.Choices)
		}
	}
	if failed == 0 {
		t.Fatal("item 1 never drawn")
	}
}

// TestChoiceGolden pins the choices and prompt of a fixed seed.
func TestChoiceGolden(t *testing.T) {
	tk := newTestTask(t, map[string]any{"answer_mode": "choice", "hops": 2})
	m := choiceModel(t, "bytelevel-gpt2", reader(false))
	cell := tasks.Cell{Length: 1024, Depth: 0.5, Seed: 1}
	res, err := tk.Evaluate(context.Background(), m, cell)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tk.Prompt(context.Background(), m.Tokenize, cell)
	got := fmt.Sprintf("question: %q\nchoices: %q\ngold_choice: %v\ndistractor_class: %v\noutput: %q\nacc: %v acc_norm: %v\nanswer_budget: %v\nprompt_tokens: %v\ngold_token_positions: %v\n----\n%s\n",
		res.Info["question"], res.Info["choices"], res.Info["gold_choice"], res.Info["distractor_class"], res.Output,
		res.Scores["acc"], res.Scores["acc_norm"], res.Metrics["answer_budget"].Value, res.Metrics["prompt_tokens"].Value,
		res.Info["gold_token_positions"], p.Fit.Prompt)
	golden(t, "synthetic-two-hop-choice.golden", got)
}

// TestChoiceConcurrent evaluates choice-mode cells of one task from several
// goroutines, as the runner's pool does.
func TestChoiceConcurrent(t *testing.T) {
	for _, raw := range []map[string]any{{"hops": "mixed"}, {"source": "file", "file": "testdata/squad.json"}} {
		raw["answer_mode"] = "choice"
		tk := newTestTask(t, raw)
		m := choiceModel(t, "bytelevel-llama3", reader(false))
		errs := make(chan error, 6)
		for i := range 6 {
			go func() {
				res, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 2048, Depth: 0.5, Seed: int64(i)})
				if err == nil && (res.Scores["acc"] != 1 || res.Scores["acc_norm"] != 1) {
					err = fmt.Errorf("seed %d: scores %v", i, res.Scores)
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
