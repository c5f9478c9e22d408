package aggregation

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/datasets/text"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
	"github.com/evalctl/evalctl/tasks/internal/testmodel"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

const cweIntro = "Below is a numbered list of words."

var (
	cweQuestionRe = regexp.MustCompile(`\nQuestion: Which (\d+) words occur most often in the list above\?`)
	itemRe        = regexp.MustCompile(`(\d+)\. ([a-z]+)`)
	fweQuestion   = "\nQuestion: Which three coded words"
)

// cweList returns the items of the last list of a cwe prompt, checking
// that they are numbered 1, 2, ... in order.
func cweList(t testing.TB, prompt string) []string {
	start := strings.LastIndex(prompt, cweIntro)
	q := cweQuestionRe.FindAllStringIndex(prompt, -1)
	if start < 0 || len(q) == 0 {
		return nil
	}
	body := prompt[start:q[len(q)-1][0]]
	body = body[strings.IndexByte(body, '\n')+1:]
	var items []string
	for i, m := range itemRe.FindAllStringSubmatch(body, -1) {
		if n, _ := strconv.Atoi(m[1]); n != i+1 && t != nil {
			t.Fatalf("item %d numbered %s", i+1, m[1])
		}
		items = append(items, m[2])
	}
	return items
}

// top returns the k most frequent words (ties to the earlier first
// occurrence), skipping skip.
func top(words []string, k int, skip string) []string {
	count := map[string]int{}
	var order []string
	for _, w := range words {
		if w == skip {
			continue
		}
		if count[w] == 0 {
			order = append(order, w)
		}
		count[w]++
	}
	sort.SliceStable(order, func(i, j int) bool { return count[order[i]] > count[order[j]] })
	return order[:min(k, len(order))]
}

// fweText returns the coded text of a fwe prompt.
func fweText(prompt string) []string {
	end := strings.LastIndex(prompt, fweQuestion)
	if end < 0 {
		return nil
	}
	body := prompt[:end]
	return strings.Fields(body[strings.IndexByte(body, '\n')+1:])
}

// oracle reads the prompt like a perfect model: it counts the words.
func oracle(prompt string) string {
	if q := cweQuestionRe.FindAllStringSubmatch(prompt, -1); len(q) > 0 {
		k, _ := strconv.Atoi(q[len(q)-1][1])
		var b strings.Builder
		for i, w := range top(cweList(nil, prompt), k, "") {
			fmt.Fprintf(&b, " %d. %s", i+1, w)
		}
		return b.String()
	}
	if words := fweText(prompt); words != nil {
		return " " + strings.Join(top(words, 3, "..."), ", ") + "."
	}
	return " I do not know."
}

func wrong(prompt string) string { return testmodel.Garble(oracle(prompt)) }

func mkTask(t testing.TB, name string, raw map[string]any) *task {
	t.Helper()
	info, ok := tasks.Lookup(name)
	if !ok {
		t.Fatalf("task %s is not registered", name)
	}
	set, err := params.Resolve(info.Params, raw)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := info.New(tasks.Config{Params: set})
	if err != nil {
		t.Fatal(err)
	}
	switch x := tk.(type) {
	case CWE:
		return x.task
	case FWE:
		return x.task
	}
	t.Fatalf("%T", tk)
	return nil
}

var toks = []string{"bytelevel-gpt2", "bytelevel-llama3", "sentencepiece-bpe"}

func TestScores(t *testing.T) {
	for vi, v := range []struct {
		name    string
		task    string
		raw     map[string]any
		lengths []int
	}{
		// With these small vocabularies a list item is about 11 tokens
		// (5.6 with the default model's, 3 with Llama 3's): the example
		// and the smallest list take 1.2K tokens in the short shape and
		// 5.5K in the long one.
		{"cwe", "cwe", nil, []int{2048, 3072, 8192, 16384}},
		{"cwe-no-examples", "cwe", map[string]any{"fewshot": 0, "num_cw": 5, "freq_cw": 8, "freq_ucw": 2}, []int{1024, 4096}},
		{"cwe-two-examples", "cwe", map[string]any{"fewshot": 2, "short_len": 0}, []int{12288}},
		{"fwe", "fwe", nil, []int{1024, 2048, 4096, 8192}},
		{"fwe-flat", "fwe", map[string]any{"alpha": 1.3, "word_len": 4}, []int{2048}},
	} {
		for _, length := range v.lengths {
			tok := toks[(vi+length/1024)%len(toks)]
			t.Run(fmt.Sprintf("%s/%d/%s", v.name, length, tok), func(t *testing.T) {
				tk := mkTask(t, v.task, v.raw)
				cell := tasks.Cell{Length: length, Seed: int64(100*vi + length)}
				for _, c := range []struct {
					name   string
					answer func(string) string
					want   float64
				}{{"oracle", oracle, 1}, {"wrong", wrong, 0}} {
					m := testmodel.New(t, tok, c.answer)
					res, err := tk.Evaluate(context.Background(), m, cell)
					if err != nil {
						t.Fatal(err)
					}
					if got := res.Scores["string_match_all"]; got != c.want {
						t.Fatalf("%s: string_match_all = %v, want %v\noutput %q\nreferences %q", c.name, got, c.want, res.Output, res.References)
					}
					checkRecord(t, tk, m, cell, res)
				}
			})
		}
	}
}

// checkRecord checks a record against an independent reading of the prompt.
func checkRecord(t *testing.T, tk *task, m *testmodel.Model, cell tasks.Cell, res *tasks.Result) {
	t.Helper()
	s, err := tk.Build(cell)
	if err != nil {
		t.Fatal(err)
	}
	n := res.Info["size"].(int)
	prompt := s.Request.Build(n)
	ids, _ := m.Tokenize(context.Background(), prompt)
	if got := int(res.Metrics["prompt_tokens"].Value); got != len(ids) {
		t.Fatalf("prompt_tokens %d, the prompt has %d", got, len(ids))
	}
	total := len(ids) + tk.budget
	if tol := tk.p.Float("tolerance"); total > cell.Length || float64(total) < (1-tol)*float64(cell.Length) {
		t.Fatalf("prompt %d + budget %d outside [%v*%d, %d]", len(ids), tk.budget, 1-tol, cell.Length, cell.Length)
	}
	// One more unit of size would not fit.
	more, _ := m.Tokenize(context.Background(), s.Request.Build(n+1))
	if len(more)+tk.budget <= cell.Length {
		t.Fatalf("size %d fits too", n+1)
	}
	var words []string
	var skip string
	if strings.Contains(prompt, cweIntro) {
		words = cweList(t, prompt)
	} else {
		words, skip = fweText(prompt), "..."
	}
	if got := int(res.Metrics["context_words"].Value); got != len(words) {
		t.Fatalf("context_words %d, the context has %d", got, len(words))
	}
	want := top(words, len(res.References), skip)
	if !sameSet(want, res.References) {
		t.Fatalf("references %q, the most frequent words are %q", res.References, want)
	}
	occ, next := s.Occurrences(n)
	count := map[string]int{}
	for _, w := range words {
		count[w]++
	}
	for i, r := range res.References {
		if count[r] != occ[i] {
			t.Fatalf("reference %q occurs %d times, Occurrences says %d", r, count[r], occ[i])
		}
		if count[r] <= next {
			t.Fatalf("reference %q occurs %d times, not more than the runner-up's %d", r, count[r], next)
		}
	}
	for w, c := range count {
		if w != skip && !slices.Contains(res.References, w) && c > next {
			t.Fatalf("%q occurs %d times, more than the runner-up count %d", w, c, next)
		}
	}
	if res.Metrics["answer_budget"].Value != float64(tk.budget) || res.Info["scorer"] != Scorer {
		t.Fatalf("metrics %v info %v", res.Metrics, res.Info)
	}
	if _, ok := res.Timings["prefill_ms"]; !ok {
		t.Fatal("no prefill_ms")
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestCWEShape checks RULER's shape: repetitions, examples, the short shape
// and that no word of a sample is a substring of another or of the fixed
// text.
func TestCWEShape(t *testing.T) {
	m := testmodel.New(t, "bytelevel-llama3", oracle)
	for _, c := range []struct {
		length          int
		freqCW, freqUCW int
		exWords         int
	}{{2048, 6, 1, 20}, {8192, 30, 3, 40}} {
		t.Run(strconv.Itoa(c.length), func(t *testing.T) {
			tk := mkTask(t, "cwe", nil)
			cell := tasks.Cell{Length: c.length, Seed: 3}
			s, _ := tk.Build(cell)
			fr, err := fit.Count(context.Background(), m.Tokenize, s.Request)
			if err != nil {
				t.Fatal(err)
			}
			list := cweList(t, fr.Prompt)
			count := map[string]int{}
			for _, w := range list {
				count[w]++
			}
			if len(count) != fr.Units {
				t.Fatalf("%d distinct words, size %d", len(count), fr.Units)
			}
			for w, n := range count {
				want := c.freqUCW
				if slices.Contains(s.References, w) {
					want = c.freqCW
				}
				if n != want {
					t.Fatalf("%q occurs %d times, want %d", w, n, want)
				}
			}
			// The example: its list and answer come before the list.
			example := fr.Prompt[:strings.LastIndex(fr.Prompt, cweIntro)]
			exItems := cweList(t, example)
			exCount := map[string]int{}
			for _, w := range exItems {
				exCount[w]++
				if count[w] > 0 {
					t.Fatalf("example word %q is in the list", w)
				}
			}
			if len(exCount) != c.exWords {
				t.Fatalf("example has %d words, want %d", len(exCount), c.exWords)
			}
			answer := example[strings.LastIndex(example, "are:")+4:]
			if got := itemRe.FindAllStringSubmatch(answer, -1); len(got) != 10 || exCount[got[0][2]] <= exCount[top(exItems, 20, "")[19]] {
				t.Fatalf("example answer %q", answer)
			}
			var all []string
			for w := range count {
				all = append(all, w)
			}
			for w := range exCount {
				all = append(all, w)
			}
			fixed := strings.ToLower(cweFixed(10))
			for _, a := range all {
				if strings.Contains(fixed, a) {
					t.Fatalf("%q is in the fixed text", a)
				}
				for _, b := range all {
					if a != b && strings.Contains(b, a) {
						t.Fatalf("%q is a substring of %q", a, b)
					}
				}
			}
		})
	}
}

// TestCWEPseudoWords fits a list longer than the vocabulary: the words
// beyond it are pseudo-words, and the shape holds.
func TestCWEPseudoWords(t *testing.T) {
	if testing.Short() {
		t.Skip("a 32K prompt")
	}
	// One repetition per word: about 2,900 distinct words at 32K.
	tk := mkTask(t, "cwe", map[string]any{"freq_cw": 2, "freq_ucw": 1})
	m := testmodel.New(t, "bytelevel-gpt2", oracle)
	cell := tasks.Cell{Length: 32768, Seed: 1}
	res, err := tk.Evaluate(context.Background(), m, cell)
	if err != nil {
		t.Fatal(err)
	}
	if res.Scores["string_match_all"] != 1 {
		t.Fatalf("score %v", res.Scores["string_match_all"])
	}
	if n, real := res.Info["size"].(int), res.Info["vocabulary_words"].(int); n+40 <= real {
		t.Fatalf("size %d within the %d vocabulary words: the test does not reach pseudo-words", n, real)
	}
	checkRecord(t, tk, m, cell, res)
}

// TestFWEShape checks the zeta law: the counts, the noise word, the
// coded words.
func TestFWEShape(t *testing.T) {
	m := testmodel.New(t, "sentencepiece-bpe", oracle)
	for _, alpha := range []float64{2, 1.5, 3} {
		tk := mkTask(t, "fwe", map[string]any{"alpha": alpha})
		cell := tasks.Cell{Length: 4096, Seed: 11}
		s, _ := tk.Build(cell)
		fr, err := fit.Count(context.Background(), m.Tokenize, s.Request)
		if err != nil {
			t.Fatal(err)
		}
		words := fweText(fr.Prompt)
		count := map[string]int{}
		for _, w := range words {
			count[w]++
		}
		if top(words, 1, "")[0] != "..." {
			t.Fatalf("alpha %v: the noise word is not the most frequent", alpha)
		}
		if len(words) != fr.Units {
			t.Fatalf("alpha %v: %d words, size %d", alpha, len(words), fr.Units)
		}
		// RULER's counts at the largest scale that fits, the rest dots.
		z := zeta(alpha)
		n := newZetaLaw(s.Info["vocab"].(int), alpha).scale(fr.Units)
		dots := len(words)
		for k, w := range append([]string{"..."}, s.References...) {
			want := int(math.Floor(float64(n) * math.Pow(float64(k+1), -alpha) / z))
			if k > 0 {
				dots -= count[w]
				if count[w] != want {
					t.Fatalf("alpha %v: rank %d occurs %d times, want floor(%d*%d^-%v/%v) = %d", alpha, k+1, count[w], n, k+1, alpha, z, want)
				}
			} else if count[w] < want {
				t.Fatalf("alpha %v: %d dots, fewer than RULER's %d", alpha, count[w], want)
			}
		}
		if next := newZetaLaw(s.Info["vocab"].(int), alpha).total(n + 1); next <= fr.Units {
			t.Fatalf("alpha %v: scale %d+1 has %d words, within the size %d", alpha, n, next, fr.Units)
		}
		for w := range count {
			if w != "..." && !regexp.MustCompile(`^[a-z]{6}$`).MatchString(w) {
				t.Fatalf("coded word %q", w)
			}
		}
		if v := s.Info["vocab"].(int); v != (4096-FWEBudget)/50 {
			t.Fatalf("vocab %d", v)
		}
	}
}

func TestZeta(t *testing.T) {
	for _, c := range []struct{ s, want float64 }{
		{2, math.Pi * math.Pi / 6},
		{3, 1.2020569031595942},
		{4, math.Pow(math.Pi, 4) / 90},
		{1.5, 2.612375348685488},
		{1.05, 20.580844302036},
		{10, 1.0009945751278180},
	} {
		if got := zeta(c.s); math.Abs(got-c.want) > 1e-12*c.want {
			t.Errorf("zeta(%v) = %.16g, want %.16g", c.s, got, c.want)
		}
	}
}

func TestFWEMinScale(t *testing.T) {
	for _, alpha := range []float64{1.05, 1.5, 2, 4, 10} {
		for _, v := range []int{4, 5, 100} {
			n0 := fweMinScale(v, alpha)
			for n := n0; n < n0+2000; n += 7 {
				c := zetaCounts(n, v, alpha)
				next := 0
				if v > 4 {
					next = c[4]
				}
				if c[3] <= next || c[3] < 1 {
					t.Fatalf("alpha %v vocab %d scale %d (min %d): rank 4 occurs %d times, rank 5 %d", alpha, v, n, n0, c[3], next)
				}
			}
		}
	}
}

func TestGolden(t *testing.T) {
	for _, v := range []struct {
		name, task string
		raw        map[string]any
		length     int
	}{
		{"cwe", "cwe", nil, 2048},
		{"fwe", "fwe", nil, 1024},
	} {
		t.Run(v.name, func(t *testing.T) {
			tk := mkTask(t, v.task, v.raw)
			m := testmodel.New(t, "bytelevel-gpt2", oracle)
			cell := tasks.Cell{Length: v.length, Seed: 1}
			res, err := tk.Evaluate(context.Background(), m, cell)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := tk.Build(cell)
			got := fmt.Sprintf("references: %q\nprompt_tokens: %v\nsize: %v\ncontext_words: %v\nscore: %v\n----\n%s\n",
				res.References, res.Metrics["prompt_tokens"].Value, res.Info["size"], res.Metrics["context_words"].Value,
				res.Scores["string_match_all"], s.Request.Build(res.Info["size"].(int)))
			path := filepath.Join("testdata", v.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
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
		})
	}
}

func TestDeterminism(t *testing.T) {
	for _, name := range []string{"cwe", "fwe"} {
		tk := mkTask(t, name, nil)
		a, _ := tk.Build(tasks.Cell{Length: 4096, Seed: 1})
		b, _ := tk.Build(tasks.Cell{Length: 4096, Seed: 1})
		c, _ := tk.Build(tasks.Cell{Length: 4096, Seed: 2})
		for _, n := range []int{200, 201, 333} {
			if a.Request.Build(n) != b.Request.Build(n) {
				t.Fatalf("%s: same seed, different prompts at size %d", name, n)
			}
		}
		if a.Request.Build(200) == a.Request.Build(201) {
			t.Fatalf("%s: sizes 200 and 201 give the same prompt", name)
		}
		if !slices.Equal(a.References, b.References) || slices.Equal(a.References, c.References) {
			t.Fatalf("%s: references %q %q %q", name, a.References, b.References, c.References)
		}
	}
}

type notText struct{}

func (notText) Close() error { return nil }

func TestErrors(t *testing.T) {
	m := testmodel.New(t, "bytelevel-gpt2", oracle)
	ctx := context.Background()
	for _, name := range []string{"cwe", "fwe"} {
		tk := mkTask(t, name, nil)
		if _, err := tk.Evaluate(ctx, m, tasks.Cell{Length: 300, Seed: 1}); err == nil {
			t.Errorf("%s at 300 tokens: no error", name)
		}
		if _, err := tk.Evaluate(ctx, notText{}, tasks.Cell{Length: 4096}); err == nil {
			t.Errorf("%s: not a text model: no error", name)
		}
	}
	cwe := mkTask(t, "cwe", nil)
	if _, err := cwe.Evaluate(ctx, m, tasks.Cell{Length: 300, Seed: 1}); !errors.Is(err, fit.ErrNoRoom) {
		t.Errorf("cwe at 300: %v", err)
	}
	fwe := mkTask(t, "fwe", nil)
	if _, err := fwe.Evaluate(ctx, m, tasks.Cell{Length: 200, Seed: 1}); err == nil || !strings.Contains(err.Error(), "vocabulary of 3") {
		t.Errorf("fwe at 200: %v", err)
	}
	for _, c := range []struct {
		task string
		raw  map[string]any
		want string
	}{
		{"cwe", map[string]any{"freq_cw": 3, "freq_ucw": 3}, "freq_cw = 3"},
		{"cwe", map[string]any{"stop": `a\`}, "trailing backslash"},
		{"fwe", map[string]any{"vocab": 3}, "vocab = 3"},
		{"fwe", map[string]any{"stop": `\q`}, "unknown escape"},
	} {
		info, _ := tasks.Lookup(c.task)
		set, err := params.Resolve(info.Params, c.raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := info.Check(set); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %q", c.task, c.raw, err, c.want)
		}
		if _, err := info.New(tasks.Config{Params: set}); err == nil {
			t.Errorf("%s %v: New passed", c.task, c.raw)
		}
	}
	if mkTask(t, "cwe", nil).budget != CWEBudget || mkTask(t, "fwe", nil).budget != FWEBudget ||
		mkTask(t, "fwe", map[string]any{"max_tokens": 7}).budget != 7 {
		t.Fatal("answer budgets")
	}
	// A vocabulary too large for the word length.
	tk := mkTask(t, "fwe", map[string]any{"word_len": 3, "vocab": 9000})
	if _, err := tk.Build(tasks.Cell{Length: 4096, Seed: 1}); err == nil || !strings.Contains(err.Error(), "raise word_len") {
		t.Errorf("vocab 9000 of 3 letters: %v", err)
	}
	_ = text.Vocabulary
}
