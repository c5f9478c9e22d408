// Package aggregation holds RULER's two aggregation tasks, which ask about
// the whole context rather than one place in it, fitted to the cell's length
// with the model's own tokenizer (fit.Count) and scored with RULER's
// string_match_all:
//
//   - cwe (common-words extraction): a numbered list of words ("1. harbor
//     2. velvet 3. harbor ...") in which num_cw words (10) occur freq_cw
//     times (30) each and every other word freq_ucw times (3), shuffled; the
//     answer is the num_cw common words. The prompt starts with fewshot (1)
//     solved examples of the same shape: 40 words at 10 and 3 repetitions
//     (at least 2*num_cw words). Below short_len tokens (4096) RULER's short
//     shape applies: the list repeats common words 6 times and the others
//     once, and the example has 20 words at 3 and 1. The fitted size is the
//     number of distinct words of the list (at least num_cw+1). Answer
//     budget 120 tokens.
//   - fwe (frequent-words extraction): a text of coded words (random strings
//     of word_len lower-case letters, 6) whose frequencies follow a zeta
//     (Zipf) law of exponent alpha (2.0): with scale N, the word of rank k
//     occurs floor(N·k^-alpha/ζ(alpha)) times, shuffled. The rank-1 word is
//     "..." (noise the prompt says to ignore); the answer is the words of
//     ranks 2, 3 and 4, the three most frequent coded words. The vocabulary
//     has vocab words, by default (length - answer budget)/50 as RULER's;
//     ranks with a count of 0 do not occur. The fitted size is the number of
//     words W: the counts are those of the largest scale N whose words number
//     at most W, and the words left over (a few) are more occurrences of the
//     noise word, so that the size grows one word at a time (a step of N
//     adds several words at once, more than 1% of a 1K window with small
//     vocabularies) while every coded word keeps RULER's count. The smallest
//     size is that of the smallest N from which rank 4 occurs more often than
//     rank 5 at every larger N (so that the answer is unambiguous). Answer
//     budget 50 tokens.
//
// The parameters, defaults, shapes and budgets are RULER's (its
// synthetic.yaml and data scripts); the prompt wording is evalctl's own. The
// score string_match_all is the fraction of the references found in the
// output (case-insensitive substring), 0 to 1 (RULER prints it x100).
//
// Decisions:
//
//   - Words. cwe draws from text.WordSequence: the embedded lexicon's words
//     in a seeded order, then pseudo-words once a list needs more distinct
//     words than the lexicon has (about 1,800; the default model's tokenizer
//     needs them beyond about 34K tokens; RULER switches to a larger
//     English list at that point). No word of a sample is a substring of
//     another or of the prompt's fixed text, so a substring scorer cannot
//     credit a reference for a longer word or an echo of the question.
//     The examples' words are disjoint from the list's, so copying an
//     example's answer scores 0.
//   - Fitting. RULER regenerates the whole context for each size it tries
//     and keeps the largest that fits; so does fit.Count, with a secant
//     search (3 to 6 whole tokenizations). The order of the list is drawn
//     from the sample seed and the size, so a sample is the same for every
//     backend; the words of a smaller list are a prefix of a larger one's.
//   - No depth: the answer is spread over the whole context, so the tasks
//     do not use the depth axis (one depth, 0, per cell).
package aggregation

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/datasets/text"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
	"github.com/evalctl/evalctl/tasks/score"
)

// Scorer names the score definition in every record's info.
const Scorer = "string_match_all (RULER): fraction of the references found in the output, case-insensitive substring (RULER prints it x100)"

// Answer budgets (RULER's tokens_to_generate).
const (
	CWEBudget = 120
	FWEBudget = 50
)

// CWESpecs are the parameters of cwe.
var CWESpecs = []params.Spec{
	params.IntSpec("num_cw", 10, "common words: the answer").Range(1, 100),
	params.IntSpec("freq_cw", 30, "repetitions of each common word (from short_len on)").Range(2, 1000),
	params.IntSpec("freq_ucw", 3, "repetitions of each other word (from short_len on)").Range(1, 1000),
	params.IntSpec("fewshot", 1, "solved examples before the list").Range(0, 5),
	params.IntSpec("short_len", 4096, "below this length RULER's short shape: common words 6 times, others once, examples of 20 words at 3 and 1 (0: never)").Range(0, 1<<30),
	params.IntSpec("max_tokens", 0, "answer budget, reserved in the context length; 0: 120 (RULER's)").Range(0, 1<<16),
	params.StringSpec("stop", "", "stop strings separated by |, with escapes \\n \\t \\r \\\\ \\| (empty: none)"),
	params.FloatSpec("tolerance", fit.DefaultTolerance, "how far below the length the prompt plus answer budget may land, as a fraction").Range(0.001, 1),
}

// FWESpecs are the parameters of fwe.
var FWESpecs = []params.Spec{
	params.FloatSpec("alpha", 2.0, "exponent of the zeta law of the word frequencies").Range(1.05, 10),
	params.IntSpec("word_len", 6, "letters of a coded word").Range(3, 16),
	params.IntSpec("vocab", 0, "coded words in the vocabulary, the noise word \"...\" included; 0: (length - answer budget)/50 (RULER's)").Range(0, 1<<20),
	params.IntSpec("max_tokens", 0, "answer budget, reserved in the context length; 0: 50 (RULER's)").Range(0, 1<<16),
	params.StringSpec("stop", "", "stop strings separated by |, with escapes \\n \\t \\r \\\\ \\| (empty: none)"),
	params.FloatSpec("tolerance", fit.DefaultTolerance, "how far below the length the prompt plus answer budget may land, as a fraction").Range(0.001, 1),
}

// Metrics are the names the tasks report: fit's without the needle
// placement (no needles) and haystack_units (context_words instead).
var Metrics = func() []string {
	out := []string{"string_match_all", "context_words"}
	for _, m := range fit.Metrics {
		switch m {
		case "needle_token_position", "depth_actual", "haystack_units":
		default:
			out = append(out, m)
		}
	}
	return out
}()

func init() {
	tasks.Register(tasks.Info{
		Name:    "cwe",
		Help:    "RULER common-words extraction: name the words repeated most often in a long numbered list",
		Params:  CWESpecs,
		Metrics: Metrics,
		New:     NewCWE,
		Check:   checkCWE,
	})
	tasks.Register(tasks.Info{
		Name:    "fwe",
		Help:    "RULER frequent-words extraction: name the three most frequent coded words of a text with zeta-distributed frequencies",
		Params:  FWESpecs,
		Metrics: Metrics,
		New:     NewFWE,
		Check:   checkFWE,
	})
}

func checkCWE(p params.Set) error {
	if p.Int("freq_cw") <= p.Int("freq_ucw") {
		return fmt.Errorf("freq_cw = %d: must be more than freq_ucw = %d, or the common words are not the most common", p.Int("freq_cw"), p.Int("freq_ucw"))
	}
	_, err := fit.ParseStop(p.String("stop"))
	return err
}

func checkFWE(p params.Set) error {
	if v := p.Int("vocab"); v != 0 && v < 4 {
		return fmt.Errorf("vocab = %d: must be 0 (RULER's rule) or at least 4 (the noise word and three answers)", v)
	}
	_, err := fit.ParseStop(p.String("stop"))
	return err
}

// Sample is one drawn prompt before fitting: the prompt of any size, the
// references and facts for the record.
type Sample struct {
	Request    *fit.CountRequest
	References []string
	// Words returns the number of words of the context (list items or
	// coded words) at a size.
	Words func(n int) int
	// Occurrences returns how often each reference occurs in the context
	// at a size, and how often the most frequent other word does.
	Occurrences func(n int) (refs []int, next int)
	Info        map[string]any
}

// task is what cwe and fwe share.
type task struct {
	p      params.Set
	budget int
	stop   []string
	build  func(t *task, c tasks.Cell) (*Sample, error)
}

func newTask(c tasks.Config, check func(params.Set) error, budget int, build func(*task, tasks.Cell) (*Sample, error)) (*task, error) {
	if err := check(c.Params); err != nil {
		return nil, err
	}
	stop, _ := fit.ParseStop(c.Params.String("stop"))
	t := &task{p: c.Params, budget: c.Params.Int("max_tokens"), stop: stop, build: build}
	if t.budget == 0 {
		t.budget = budget
	}
	return t, nil
}

// CWE is the common-words extraction task.
type CWE struct{ *task }

// FWE is the frequent-words extraction task.
type FWE struct{ *task }

// NewCWE builds the cwe task.
func NewCWE(c tasks.Config) (tasks.Task, error) {
	t, err := newTask(c, checkCWE, CWEBudget, (*task).buildCWE)
	if err != nil {
		return nil, err
	}
	return CWE{t}, nil
}

// NewFWE builds the fwe task.
func NewFWE(c tasks.Config) (tasks.Task, error) {
	t, err := newTask(c, checkFWE, FWEBudget, (*task).buildFWE)
	if err != nil {
		return nil, err
	}
	return FWE{t}, nil
}

// Build draws the sample of a cell.
func (t *task) Build(c tasks.Cell) (*Sample, error) { return t.build(t, c) }

// Budget is the answer budget in tokens.
func (t *task) Budget() int { return t.budget }

// Evaluate implements tasks.Task.
func (t *task) Evaluate(ctx context.Context, b backends.Backend, c tasks.Cell) (*tasks.Result, error) {
	m, err := fit.TextModel(b)
	if err != nil {
		return nil, err
	}
	s, err := t.Build(c)
	if err != nil {
		return nil, err
	}
	res, g, fr, err := fit.GenerateCount(ctx, m, s.Request, t.budget, t.stop)
	if err != nil {
		return nil, err
	}
	res.References = s.References
	res.Scores["string_match_all"] = score.StringMatchAll(g.Text, s.References)
	// The context is words, not sentences: context_words replaces
	// haystack_units, and Info has the fitted size.
	delete(res.Metrics, "haystack_units")
	res.Metrics["context_words"] = record.Value{Value: float64(s.Words(fr.Units)), Unit: "words"}
	res.Info["scorer"] = Scorer
	res.Info["size"] = fr.Units
	refs, next := s.Occurrences(fr.Units)
	res.Info["reference_occurrences"] = refs
	res.Info["runner_up_occurrences"] = next
	for k, v := range s.Info {
		res.Info[k] = v
	}
	return res, nil
}

// numbered writes words as a numbered list on one line: "1. a 2. b".
func numbered(b *strings.Builder, words []string) {
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(b, "%d. %s", i+1, w)
	}
}

// shuffle permutes words in place with r (Fisher-Yates over IntN, so the
// order is the same on every platform).
func shuffle(r *rand.Rand, words []string) {
	for i := len(words) - 1; i > 0; i-- {
		j := r.IntN(i + 1)
		words[i], words[j] = words[j], words[i]
	}
}

// repeatList returns every word of common freqCW times and every word of
// rest freqUCW times, shuffled by r.
func repeatList(r *rand.Rand, common, rest []string, freqCW, freqUCW int) []string {
	out := make([]string, 0, len(common)*freqCW+len(rest)*freqUCW)
	for _, w := range common {
		for range freqCW {
			out = append(out, w)
		}
	}
	for _, w := range rest {
		for range freqUCW {
			out = append(out, w)
		}
	}
	shuffle(r, out)
	return out
}

// cweBlock is one question of cwe: the instruction, the list, the question
// and the answer prefix.
func cweBlock(b *strings.Builder, list []string, numCW int) {
	b.WriteString("Below is a numbered list of words. Some words occur in it far more often than the others; keep count of them.\n")
	numbered(b, list)
	fmt.Fprintf(b, "\nQuestion: Which %d words occur most often in the list above?\nAnswer: The %d words that occur most often in the list are:", numCW, numCW)
}

// cweFixed is the fixed text of a cwe prompt, which no word of the list may
// be a substring of.
func cweFixed(numCW int) string {
	var b strings.Builder
	cweBlock(&b, nil, numCW)
	return b.String()
}

func (t *task) buildCWE(c tasks.Cell) (*Sample, error) {
	numCW, fewshot := t.p.Int("num_cw"), t.p.Int("fewshot")
	freqCW, freqUCW := t.p.Int("freq_cw"), t.p.Int("freq_ucw")
	exCW, exUCW, exWords := 10, 3, 40
	short := t.p.Int("short_len") > 0 && c.Length < t.p.Int("short_len")
	if short {
		freqCW, freqUCW = 6, 1
		exCW, exUCW, exWords = 3, 1, 20
	}
	exWords = max(exWords, 2*numCW)
	r := rand.New(rand.NewPCG(uint64(c.Seed), 0x637765))
	seq := text.NewWordSequence(r.Uint64(), cweFixed(numCW))
	listSeed := r.Uint64()

	// The examples: disjoint words at the head of the sequence.
	var head strings.Builder
	for e := 0; e < fewshot; e++ {
		words := seq.Words((e + 1) * exWords)[e*exWords:]
		er := rand.New(rand.NewPCG(listSeed, uint64(e)))
		cweBlock(&head, repeatList(er, words[:numCW], words[numCW:], exCW, exUCW), numCW)
		head.WriteByte(' ')
		numbered(&head, words[:numCW])
		head.WriteString("\n\n")
	}
	offset := fewshot * exWords
	words := func(n int) []string { return seq.Words(offset + n)[offset:] }
	build := func(n int) string {
		w := words(n)
		// Each size has its own order (from the sample seed and the
		// size), drawn without regard to other sizes.
		lr := rand.New(rand.NewPCG(listSeed^0x6c697374, uint64(n)))
		var b strings.Builder
		b.WriteString(head.String())
		cweBlock(&b, repeatList(lr, w[:numCW], w[numCW:], freqCW, freqUCW), numCW)
		return b.String()
	}
	refs := append([]string(nil), words(numCW)...)
	return &Sample{
		Request: &fit.CountRequest{
			Target: c.Length, Reserve: t.budget, Tolerance: t.p.Float("tolerance"),
			Min: numCW + 1, Build: build,
		},
		References: refs,
		Words:      func(n int) int { return numCW*freqCW + (n-numCW)*freqUCW },
		Occurrences: func(int) ([]int, int) {
			refs := make([]int, numCW)
			for i := range refs {
				refs[i] = freqCW
			}
			return refs, freqUCW
		},
		Info: map[string]any{
			"freq_cw": freqCW, "freq_ucw": freqUCW, "short_shape": short,
			"example_words": exWords, "vocabulary_words": seq.Real(),
		},
	}, nil
}

// zeta is the Riemann zeta function for s > 1: the first terms summed, the
// tail by Euler-Maclaurin (error below 1e-15 for s >= 1.05).
func zeta(s float64) float64 {
	const n = 64
	var sum float64
	for k := n - 1; k >= 1; k-- {
		sum += math.Pow(float64(k), -s)
	}
	N := float64(n)
	sum += math.Pow(N, 1-s)/(s-1) + 0.5*math.Pow(N, -s)
	// Bernoulli terms B2/2!, B4/4!, B6/6! times the derivatives.
	sum += s / 12 * math.Pow(N, -s-1)
	sum -= s * (s + 1) * (s + 2) / 720 * math.Pow(N, -s-3)
	sum += s * (s + 1) * (s + 2) * (s + 3) * (s + 4) / 30240 * math.Pow(N, -s-5)
	return sum
}

// zetaCounts returns the occurrences of ranks 1..v at scale n:
// floor(n·k^-alpha/ζ(alpha)), RULER's law.
func zetaCounts(n, v int, alpha float64) []int {
	z := zeta(alpha)
	out := make([]int, v)
	for k := range out {
		out[k] = int(math.Floor(float64(n) * math.Pow(float64(k+1), -alpha) / z))
	}
	return out
}

// zetaLaw realises RULER's law with a given number of words: the counts of
// the largest scale whose words fit, and the words left over as more
// occurrences of the noise word (rank 1), so that the size can grow one
// word at a time while every coded word keeps RULER's count.
type zetaLaw struct {
	v     int
	alpha float64
}

func newZetaLaw(v int, alpha float64) zetaLaw { return zetaLaw{v, alpha} }

// total is the number of words at scale n.
func (z zetaLaw) total(n int) int {
	t := 0
	for _, c := range zetaCounts(n, z.v, z.alpha) {
		t += c
	}
	return t
}

// scale is the largest scale whose words are at most w.
func (z zetaLaw) scale(w int) int {
	// total(n) >= floor(n·a1) >= n·a1 - 1, so n <= (w+1)/a1.
	hi := int(math.Ceil(float64(w+1)*zeta(z.alpha))) + 1
	lo := 0
	for lo < hi { // the largest n in [0, hi] with total(n) <= w
		mid := lo + (hi-lo+1)/2
		if z.total(mid) <= w {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// counts are the occurrences of ranks 1..v in a text of w words.
func (z zetaLaw) counts(w int) []int {
	c := zetaCounts(z.scale(w), z.v, z.alpha)
	t := 0
	for _, x := range c {
		t += x
	}
	c[0] += w - t
	return c
}

// fweMinScale is the smallest scale from which rank 4 occurs more often
// than rank 5 at every scale (and at least once).
func fweMinScale(v int, alpha float64) int {
	z := zeta(alpha)
	a4 := math.Pow(4, -alpha) / z
	a5 := 0.0
	if v > 4 {
		a5 = math.Pow(5, -alpha) / z
	}
	// n·(a4-a5) >= 1 makes floor(n·a4) > floor(n·a5) for n and beyond.
	return int(math.Ceil(1 / (a4 - a5)))
}

func (t *task) buildFWE(c tasks.Cell) (*Sample, error) {
	alpha, wordLen := t.p.Float("alpha"), t.p.Int("word_len")
	v := t.p.Int("vocab")
	if v == 0 {
		v = (c.Length - t.budget) / 50
	}
	if v < 4 {
		return nil, fmt.Errorf("fwe: length %d gives a vocabulary of %d coded words ((length - answer budget %d)/50); at least 4 are needed (the noise word and three answers): raise the length or set vocab", c.Length, v, t.budget)
	}
	if float64(v-1) > 0.5*math.Pow(26, float64(wordLen)) {
		return nil, fmt.Errorf("fwe: vocab %d: more than half of the 26^%d coded words of word_len %d; raise word_len", v, wordLen, wordLen)
	}
	r := rand.New(rand.NewPCG(uint64(c.Seed), 0x667765))
	vocab := append([]string{"..."}, text.CodedWords(r, v-1, wordLen, nil)...)
	textSeed := r.Uint64()
	law := newZetaLaw(v, alpha)
	build := func(w int) string {
		counts := law.counts(w)
		words := make([]string, 0, w)
		for k, cnt := range counts {
			for range cnt {
				words = append(words, vocab[k])
			}
		}
		shuffle(rand.New(rand.NewPCG(textSeed, uint64(w))), words)
		var b strings.Builder
		b.WriteString("The coded text below is made of invented words, some of them far more frequent than others. " +
			"Ignore the dots (...) and keep count of how often each coded word occurs.\n")
		b.WriteString(strings.Join(words, " "))
		b.WriteString("\nQuestion: Which three coded words occur most often in the coded text above? Do not count the dots, and give no explanation.\n" +
			"Answer: The three most frequent coded words in the coded text above are:")
		return b.String()
	}
	return &Sample{
		Request: &fit.CountRequest{
			Target: c.Length, Reserve: t.budget, Tolerance: t.p.Float("tolerance"),
			Min: law.total(fweMinScale(v, alpha)), Build: build,
		},
		References: append([]string(nil), vocab[1:4]...),
		Words:      func(w int) int { return w },
		Occurrences: func(w int) ([]int, int) {
			counts := law.counts(w)
			next := 0
			if v > 4 {
				next = counts[4]
			}
			return counts[1:4:4], next
		},
		Info: map[string]any{"vocab": v},
	}, nil
}
