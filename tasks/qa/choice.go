package qa

// Multiple choice by loglikelihood (answer_mode: choice); see the package
// documentation.

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/lm"
	qadata "github.com/evalctl/evalctl/datasets/qa"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
	"github.com/evalctl/evalctl/tasks/score"
)

// ChoiceScoreNames are the scores of every record in choice mode.
var ChoiceScoreNames = []string{"acc", "acc_norm"}

// ChoiceScorers names the score definitions in every choice-mode record's
// info.
var ChoiceScorers = map[string]string{
	"acc":          "lm-evaluation-harness acc: 1 if the choice with the highest log-probability (sum over its tokens, natural log) is the gold one, else 0; ties go to the lowest index",
	"acc_norm":     "lm-evaluation-harness acc_norm: as acc on the log-probability divided by the choice's length in UTF-8 bytes (the choice without its delimiter)",
	"continuation": "each choice is scored as the continuation of the prompt after continuation_delimiter (a space, or nothing where the prompt ends in white space)",
	"distractors":  "the gold answer plus choices-1 answers of other questions of the same source (synthetic: of the same class), none equal to a gold answer after SQuAD normalisation nor containing or contained in one as whole words; order shuffled from the cell's seed",
}

// choiceStream is the PCG stream of the draws of answer_mode: choice,
// apart from those of the prompt, so that the prompt of a cell does not
// depend on the mode beyond its answer budget.
const choiceStream = 0x63686f696365 // "choice"

// firstSiblings is the number of synthetic items made first when looking
// for distractor answers; each further attempt makes 4 times more.
const firstSiblings = 32

// Classes of synthetic answers, by question template (the question with the
// subject's name as %s). Attributes whose values come from the same set
// share a class: birth city and seat are both cities of the world,
// possession and product are both "material object".
var synthClasses = map[string]string{
	"In which city was %s born?":                                            "city",
	"In which year was %s born?":                                            "birth_year",
	"Which company does %s work for?":                                       "company",
	"What is the occupation of %s?":                                         "occupation",
	"What is the most prized possession of %s?":                             "object",
	"In which year was %s founded?":                                         "company_founded",
	"In which city does %s have its headquarters?":                          "city",
	"What product is %s best known for?":                                    "object",
	"How many people does %s employ?":                                       "employees",
	"In which year was the city of %s founded?":                             "city_founded",
	"On which river does %s lie?":                                           "river",
	"What is the population of %s?":                                         "population",
	"In which year was the company founded that employs %s?":                "company_founded",
	"In which city does the company that employs %s have its headquarters?": "city",
	"What product is the employer of %s best known for?":                    "object",
	"How many people does the employer of %s employ?":                       "employees",
	"In which year was the city founded where %s was born?":                 "city_founded",
	"On which river lies the city where %s was born?":                       "river",
	"What is the population of the city where %s was born?":                 "population",
	"In which year was the city founded where %s has its headquarters?":     "city_founded",
	"On which river lies the city where %s has its headquarters?":           "river",
	"What is the population of the city where %s has its headquarters?":     "population",
}

// synthTemplate is a synthetic question with its subject, the title of its
// first gold document, replaced by %s.
func synthTemplate(it qadata.Item) string {
	if len(it.Gold) == 0 || it.Gold[0].Title == "" {
		return it.Question
	}
	return strings.Replace(it.Question, it.Gold[0].Title, "%s", 1)
}

// synthClass is the class of answer a synthetic question asks for; an
// unknown template is a class of its own.
func synthClass(it qadata.Item) string {
	tmpl := synthTemplate(it)
	if c, ok := synthClasses[tmpl]; ok {
		return c
	}
	return "template: " + tmpl
}

// answerFilter accepts distractor answers for one item.
type answerFilter struct {
	gold []string        // the item's normalised gold answers
	seen map[string]bool // normalised answers taken, gold included
}

func newAnswerFilter(gold []string) *answerFilter {
	f := &answerFilter{seen: map[string]bool{}}
	for _, g := range gold {
		n := score.Normalize(g)
		f.gold = append(f.gold, n)
		f.seen[n] = true
	}
	return f
}

// take reports whether a is a new distractor, and remembers it: its
// normalised form is not empty, differs from every gold answer and every
// distractor taken, and neither contains a normalised gold answer nor is
// contained in one as whole words.
func (f *answerFilter) take(a string) bool {
	n := score.Normalize(a)
	if n == "" || f.seen[n] {
		return false
	}
	for _, g := range f.gold {
		if g != "" && (containsWord(n, g) || containsWord(g, n)) {
			return false
		}
	}
	f.seen[n] = true
	return true
}

// goldChoice is the item's first gold answer that is not blank, trimmed.
func goldChoice(it qadata.Item) (string, bool) {
	for _, a := range it.Answers {
		if a = strings.TrimSpace(a); a != "" {
			return a, true
		}
	}
	return "", false
}

// drawChoices sets the choices of a sample: the gold answer and t.choices-1
// distractors, shuffled.
func (t *Task) drawChoices(c tasks.Cell, s *Sample, itemSeed uint64, opt qadata.SyntheticOptions) error {
	gold, ok := goldChoice(s.Item)
	if !ok {
		return fmt.Errorf("qa: item %s (%q): every gold answer is blank; answer_mode: choice needs one to offer", s.Item.ID, s.Item.Question)
	}
	r := rand.New(rand.NewPCG(uint64(c.Seed), choiceStream))
	need := t.choices - 1
	var dis []string
	var err error
	if t.file == nil {
		s.DistractorClass = synthClass(s.Item)
		dis, err = synthDistractors(itemSeed, opt, s.Item, s.DistractorClass, need)
	} else {
		dis, err = t.file.distractors(s.ItemIndex, r, need)
	}
	if err != nil {
		return err
	}
	all := append([]string{gold}, dis...)
	s.Choices = make([]string, len(all))
	for i, j := range r.Perm(len(all)) {
		s.Choices[i] = all[j]
		if j == 0 {
			s.GoldChoice = i
		}
	}
	s.Delimiter = " "
	if r, _ := utf8.DecodeLastRuneInString(s.Request.After); unicode.IsSpace(r) {
		s.Delimiter = ""
	}
	return nil
}

// synthDistractors returns the answers of class of the first siblings of a
// synthetic item (the items Synthetic makes after it from the same seed and
// options) that the filter takes, need of them.
func synthDistractors(seed uint64, opt qadata.SyntheticOptions, item qadata.Item, class string, need int) ([]string, error) {
	for n := firstSiblings; ; n = min(4*n, qadata.MaxSyntheticItems) {
		items, err := qadata.Synthetic(seed, n, opt)
		if err != nil {
			return nil, err
		}
		f := newAnswerFilter(item.Answers)
		var out []string
		for _, it := range items[1:] {
			if len(it.Answers) == 0 || synthClass(it) != class {
				continue
			}
			if a := strings.TrimSpace(it.Answers[0]); f.take(a) {
				if out = append(out, a); len(out) == need {
					return out, nil
				}
			}
		}
		if n == qadata.MaxSyntheticItems {
			return nil, fmt.Errorf("qa: item %s (%q): %d synthetic items from its seed give %d other answers of its class %s; answer_mode: choice needs %d",
				item.ID, item.Question, n, len(out), class, need)
		}
	}
}

// distractors returns need first answers of other usable items that the
// filter takes, in an order drawn from r.
func (f *fileData) distractors(item int, r *rand.Rand, need int) ([]string, error) {
	it := f.items[item]
	filter := newAnswerFilter(it.Answers)
	var out []string
	tried := map[int]bool{item: true}
	try := func(j int) bool {
		tried[j] = true
		o := f.items[j]
		if len(o.Answers) == 0 {
			return false
		}
		if a := strings.TrimSpace(o.Answers[0]); filter.take(a) {
			out = append(out, a)
		}
		return len(out) == need
	}
	// Random draws first (a large file needs only a few), then every item
	// not tried yet, in a random order.
	n := len(f.items)
	for k := 0; k < 8*need+64 && len(tried) < n; k++ {
		if j := r.IntN(n); !tried[j] && try(j) {
			return out, nil
		}
	}
	for _, j := range r.Perm(n) {
		if !tried[j] && try(j) {
			return out, nil
		}
	}
	return nil, fmt.Errorf("qa: %s: item %s (%q): the other questions of the file give %d answers distinct from its answers %q and from each other; answer_mode: choice with choices: %d needs %d",
		f.path, it.ID, it.Question, len(out), it.Answers, need+1, need)
}

// Continuation is the text scored for choice i: the delimiter and the
// choice.
func (s *Sample) Continuation(i int) string { return s.Delimiter + s.Choices[i] }

// continuationTokens estimates the tokens of each continuation: those the
// tokenizer gives for it beyond those it gives for an empty prompt (BOS,
// template), at least 1.
func continuationTokens(ctx context.Context, tokenize fit.TokenizeFunc, s *Sample) ([]int, error) {
	base, err := tokenize(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]int, len(s.Choices))
	for i := range s.Choices {
		ids, err := tokenize(ctx, s.Continuation(i))
		if err != nil {
			return nil, err
		}
		out[i] = max(len(ids)-len(base), 1)
	}
	return out, nil
}

// argmax is the index of the largest value, the lowest such index on ties
// (numpy's argmax); a NaN ranks below every number.
func argmax(v []float64) int {
	best := 0
	for i := 1; i < len(v); i++ {
		if v[i] > v[best] || math.IsNaN(v[best]) && !math.IsNaN(v[i]) {
			best = i
		}
	}
	return best
}

// Choose returns the choices that acc and acc_norm pick from the summed
// log-probabilities of the choices: the largest log-probability, and the
// largest log-probability per byte of the choice.
func Choose(logprobs []float64, choices []string) (pick, pickNorm int) {
	norm := make([]float64, len(logprobs))
	for i, lp := range logprobs {
		norm[i] = lp / float64(len(choices[i]))
	}
	return argmax(logprobs), argmax(norm)
}

// scoreChoices scores every choice by loglikelihood (answer_mode: choice).
func (t *Task) scoreChoices(ctx context.Context, m lm.Model, c tasks.Cell, p *Prompt) (*tasks.Result, error) {
	fr := p.Fit
	n := len(p.Choices)
	lps := make([]float64, n)
	toks := make([]int, n)
	greedy := make([]bool, n)
	var sum lm.Timing
	scored, backendCtx := 0, fr.Tokens
	for i := range p.Choices {
		resp, err := m.Loglikelihood(ctx, &lm.LoglikelihoodRequest{Context: fr.Prompt, Continuation: p.Continuation(i)})
		if err != nil {
			return nil, err
		}
		if resp.Tokens < 1 {
			return nil, fmt.Errorf("backend scored %d tokens of the choice %q; want at least 1", resp.Tokens, p.Choices[i])
		}
		if seq := resp.ContextTokens + resp.Tokens; seq > c.Length {
			return nil, fmt.Errorf("backend scored a sequence of %d tokens (%d context + %d of the choice %q), more than the length %d: its Tokenize and Loglikelihood disagree",
				seq, resp.ContextTokens, resp.Tokens, p.Choices[i], c.Length)
		}
		if resp.ContextTokens != fr.Tokens {
			backendCtx = resp.ContextTokens
		}
		lps[i], toks[i], greedy[i] = resp.Logprob, resp.Tokens, resp.Greedy
		addTiming(&sum, resp.Timing)
		scored += resp.ContextTokens + resp.Tokens
	}
	pick, pickNorm := Choose(lps, p.Choices)

	res := newResult(p)
	fit.AddTiming(res, sum, scored)
	res.Output = p.Choices[pick]
	res.References = p.References
	res.Scores["acc"] = b2f(pick == p.GoldChoice)
	res.Scores["acc_norm"] = b2f(pickNorm == p.GoldChoice)
	if backendCtx != fr.Tokens {
		// The backend's context differs from its Tokenize of the prompt
		// (a chat template it leaves out of loglikelihood requests).
		res.Info["backend_prompt_tokens"] = backendCtx
	}
	res.Info["scorers"] = ChoiceScorers
	res.Info["answer_mode"] = "choice"
	res.Info["prediction"] = p.Choices[pick]
	res.Info["prediction_index"] = pick
	res.Info["prediction_norm"] = p.Choices[pickNorm]
	res.Info["choices"] = p.Choices
	res.Info["gold_choice"] = p.GoldChoice
	res.Info["choice_logprobs"] = jsonFloats(lps)
	res.Info["choice_tokens"] = toks
	res.Info["choice_greedy"] = greedy
	res.Info["continuation_delimiter"] = p.Delimiter
	if p.DistractorClass != "" {
		res.Info["distractor_class"] = p.DistractorClass
	}
	return res, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// jsonFloats returns v as is when every value is finite, else with the
// others as strings ("-Inf", "NaN"), which JSON cannot hold as numbers.
func jsonFloats(v []float64) any {
	finite := true
	for _, x := range v {
		finite = finite && !math.IsInf(x, 0) && !math.IsNaN(x)
	}
	if finite {
		return v
	}
	out := make([]any, len(v))
	for i, x := range v {
		if math.IsInf(x, 0) || math.IsNaN(x) {
			out[i] = fmt.Sprint(x)
		} else {
			out[i] = x
		}
	}
	return out
}

// addTiming adds the timing of one request to sum: durations and
// attention counts add up, the peak KV size is the largest.
func addTiming(sum *lm.Timing, t lm.Timing) {
	sum.Tokenize += t.Tokenize
	sum.Prefill += t.Prefill
	sum.Total += t.Total
	sum.Decode = append(sum.Decode, t.Decode...)
	sum.PeakKVBytes = max(sum.PeakKVBytes, t.PeakKVBytes)
	sum.PrefillAttention = addStats(sum.PrefillAttention, t.PrefillAttention)
	sum.DecodeAttention = addStats(sum.DecodeAttention, t.DecodeAttention)
}

// addStats adds the counts of b to a copy of a (selections are not kept).
func addStats(a, b *attention.Stats) *attention.Stats {
	if b == nil {
		return a
	}
	s := &attention.Stats{}
	if a != nil {
		s.Calls, s.DenseCalls, s.SparseCalls, s.QueryTokens = a.Calls, a.DenseCalls, a.SparseCalls, a.QueryTokens
		s.FLOPs, s.KVBytes, s.Blocks, s.Tokens, s.VisibleTokens = a.FLOPs, a.KVBytes, a.Blocks, a.Tokens, a.VisibleTokens
	}
	s.Calls += b.Calls
	s.DenseCalls += b.DenseCalls
	s.SparseCalls += b.SparseCalls
	s.QueryTokens += b.QueryTokens
	s.FLOPs += b.FLOPs
	s.KVBytes += b.KVBytes
	s.Blocks += b.Blocks
	s.Tokens += b.Tokens
	s.VisibleTokens += b.VisibleTokens
	return s
}
