// Package retrieval holds the retrieval task ("retrieval"), one prompt
// shape per kind, each fitted to the cell's length with the model's own
// tokenizer (package fit) and scored with RULER's string_match_all:
//
//   - passkey: the classic pass-key test. "The pass key is 12345. Remember
//     it. 12345 is the pass key." hidden at the cell depth in a haystack
//     (RULER's noise filler by default); the answer is the pass key
//     (digits long, 5 by default). Answer budget 16 tokens.
//   - kv: key-value retrieval in a JSON object of random UUID pairs, one
//     pair per line; the asked pair sits at the cell depth; the answer is
//     its value. Answer budget 64 tokens. The pairs are kept whole, so the
//     fitting unit is one pair (about 45 tokens with Llama 3's tokenizer, 80
//     with small vocabularies): where one pair is more than the tolerance
//     (1% of the length by default) the window can be missed, which is an
//     error naming the numbers; raise tolerance for short lengths.
//   - vt: RULER's variable tracking. A chain "VAR ABCDE = 12345.", "VAR
//     FGHIJ = VAR ABCDE.", ... of hops copies (4 by default), its statements
//     in order, spread evenly over a window of width spread centred at the
//     cell depth; chains-1 distractor chains with other values at random
//     depths, each in order. The answer is every variable of the asked
//     chain (hops+1 names). Answer budget 30 tokens (RULER's).
//
// max_tokens 0 means the kind's budget above. The score string_match_all is
// the fraction of the references found in the output (case-insensitive
// substring), 0 to 1 (RULER prints it x100); for passkey and kv there is one reference, so it is
// 0 or 1. The metrics needle_token_position and depth_actual are those of
// the pass key, the asked pair, or the first statement of the asked chain;
// for vt, Info lists the positions of the asked chain's statements (-1 for
// distractor statements, which are not measured).
// Variable names are 5 random capital letters, values 5-digit numbers.
package retrieval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/datasets/text"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
	"github.com/evalctl/evalctl/tasks/score"
)

// Specs are the task's parameters.
var Specs = []params.Spec{
	params.StringSpec("kind", "passkey", "what to retrieve", "passkey", "kv", "vt"),
	params.StringSpec("haystack", "noise", "what fills the context (passkey and vt)", text.Haystacks...),
	params.StringSpec("corpus", "", "haystack corpus: a directory of .txt files or a JSONL file with a \"text\" field"),
	params.IntSpec("digits", 5, "digits of the pass key (passkey)").Range(1, 18),
	params.IntSpec("hops", 4, "copies in the asked chain: hops+1 variables (vt)").Range(1, 100),
	params.IntSpec("chains", 1, "chains of assignments: the asked one and chains-1 distractors (vt)").Range(1, 100),
	params.FloatSpec("spread", 0.5, "width of the depth window holding the asked chain, centred at the cell depth (vt); 1 spreads it over the whole context as RULER does").Range(0, 1),
	params.IntSpec("max_tokens", 0, "answer budget, reserved in the context length; 0: the kind's (passkey 16, kv 64, vt 30)").Range(0, 1<<16),
	params.StringSpec("stop", "", "stop strings separated by |, with escapes \\n \\t \\r \\\\ \\| (empty: none)"),
	params.FloatSpec("tolerance", fit.DefaultTolerance, "how far below the length the prompt plus answer budget may land, as a fraction").Range(0.001, 1),
}

// Scorer names the score definition in every record's info.
const Scorer = "string_match_all (RULER): fraction of the references found in the output, case-insensitive substring (RULER prints it x100)"

var defaultBudget = map[string]int{"passkey": 16, "kv": 64, "vt": 30}

func init() {
	tasks.Register(tasks.Info{
		Name:      "retrieval",
		Help:      "retrieval in long context: pass key in filler, key-value lookup in a JSON object of UUIDs, RULER variable tracking",
		Params:    Specs,
		UsesDepth: true,
		Metrics:   append([]string{"string_match_all"}, fit.Metrics...),
		New:       New,
		Check:     check,
	})
}

func check(p params.Set) error {
	if _, err := fit.ParseStop(p.String("stop")); err != nil {
		return err
	}
	if p.String("kind") != "kv" {
		return text.CheckSource(p.String("haystack"), p.String("corpus"))
	}
	return nil
}

// Task is the retrieval task.
type Task struct {
	p      params.Set
	kind   string
	budget int
	stop   []string

	srcOnce sync.Once
	src     text.Source
	srcErr  error
}

// New builds the task.
func New(c tasks.Config) (tasks.Task, error) {
	if err := check(c.Params); err != nil {
		return nil, err
	}
	stop, _ := fit.ParseStop(c.Params.String("stop"))
	t := &Task{p: c.Params, kind: c.Params.String("kind"), budget: c.Params.Int("max_tokens"), stop: stop}
	if t.budget == 0 {
		t.budget = defaultBudget[t.kind]
	}
	return t, nil
}

func (t *Task) source() (text.Source, error) {
	t.srcOnce.Do(func() { t.src, t.srcErr = text.NewSource(t.p.String("haystack"), t.p.String("corpus")) })
	return t.src, t.srcErr
}

// Sample is one drawn prompt before fitting.
type Sample struct {
	Request    *fit.Request
	References []string
	Primary    int // the needle whose position the metrics report
}

// Build draws the sample of a cell.
func (t *Task) Build(c tasks.Cell) (*Sample, error) {
	r := rand.New(rand.NewPCG(uint64(c.Seed), 0x72657472696576))
	req := &fit.Request{Target: c.Length, Reserve: t.budget, Tolerance: t.p.Float("tolerance"), Track: []int{0}}
	s := &Sample{Request: req}
	if t.kind != "kv" {
		src, err := t.source()
		if err != nil {
			return nil, err
		}
		req.Haystack = src.Sentences(r.Uint64())
	}
	switch t.kind {
	case "passkey":
		key := text.Number(r, t.p.Int("digits"))
		req.Before = "A long text follows. Somewhere in it is one important piece of information among much that is irrelevant; " +
			"find it and remember it, because you will be asked for it at the end.\n"
		req.Needles = []fit.Needle{{Text: fmt.Sprintf("The pass key is %s. Remember it. %s is the pass key.", key, key), Depth: c.Depth}}
		req.After = "\nWhat is the pass key? The pass key is"
		s.References = []string{key}
	case "kv":
		used := map[string]bool{}
		kv := text.UUIDs.Distinct(r, 2, used)
		hr := rand.New(rand.NewPCG(r.Uint64(), 0x6b76))
		req.Haystack = text.StreamFunc(func() text.Sentence {
			p := text.UUIDs.Distinct(hr, 2, used)
			return text.Sentence{Text: pair(p[0], p[1])}
		})
		req.Sep, req.Whole = ",\n  ", true
		req.Before = "Below is a JSON object whose keys and values are UUIDs. Look up the value stored under the key " +
			"asked for at the end.\n\nJSON data:\n{\n  "
		req.Needles = []fit.Needle{{Text: pair(kv[0], kv[1]), Depth: c.Depth}}
		req.After = fmt.Sprintf("\n}\n\nKey: %q\nThe value stored under this key is:", kv[0])
		s.References = []string{kv[1]}
	case "vt":
		hops, chains := t.p.Int("hops"), t.p.Int("chains")
		names := distinctNames(r, chains*(hops+1))
		values := make([]string, 0, chains)
		used := map[string]bool{}
		for len(values) < chains {
			v := text.Number(r, 5)
			if !used[v] {
				used[v] = true
				values = append(values, v)
			}
		}
		for ch := 0; ch < chains; ch++ {
			vars := names[ch*(hops+1) : (ch+1)*(hops+1)]
			var depths []float64
			if ch == 0 {
				depths = fit.Window(c.Depth, t.p.Float("spread"), hops+1)
			} else {
				for range vars {
					depths = append(depths, float64(r.IntN(1001))/1000)
				}
				sort.Float64s(depths)
			}
			for i, v := range vars {
				st := fmt.Sprintf("VAR %s = %s.", v, values[ch])
				if i > 0 {
					st = fmt.Sprintf("VAR %s = VAR %s.", v, vars[i-1])
				}
				req.Needles = append(req.Needles, fit.Needle{Text: st, Depth: depths[i]})
			}
		}
		req.Before = "The text below hides chains of variable assignments: a variable is set to a number, then other " +
			"variables copy it one after another. Keep track of every assignment.\n"
		req.After = fmt.Sprintf("\nQuestion: which variables end up holding the value %s in the text above? Name every one of them.\n"+
			"Answer: The variables holding the value %s are:", values[0], values[0])
		s.References = append([]string(nil), names[:hops+1]...)
		req.Track = nil
		for i := 0; i <= hops; i++ {
			req.Track = append(req.Track, i)
		}
	}
	return s, nil
}

func pair(k, v string) string { return fmt.Sprintf("%q: %q", k, v) }

// distinctNames draws n distinct names of 5 capital letters.
func distinctNames(r *rand.Rand, n int) []string {
	seen := map[string]bool{}
	out := make([]string, 0, n)
	for len(out) < n {
		b := make([]byte, 5)
		for i := range b {
			b[i] = byte('A' + r.IntN(26))
		}
		if s := string(b); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Evaluate implements tasks.Task.
func (t *Task) Evaluate(ctx context.Context, b backends.Backend, c tasks.Cell) (*tasks.Result, error) {
	m, err := fit.TextModel(b)
	if err != nil {
		return nil, err
	}
	s, err := t.Build(c)
	if err != nil {
		return nil, err
	}
	res, g, err := fit.Generate(ctx, m, s.Request, t.budget, t.stop, s.Primary)
	if err != nil {
		return nil, err
	}
	res.References = s.References
	res.Scores["string_match_all"] = score.StringMatchAll(g.Text, s.References)
	res.Info["scorer"] = Scorer
	res.Info["kind"] = t.kind
	return res, nil
}
