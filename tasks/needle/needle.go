// Package needle is the RULER needle-in-a-haystack family as a task
// ("needle"): single, multi-key, multi-value and multi-query needles in a
// noise, essay, needle or user-corpus haystack, fitted to the cell's length
// with the model's own tokenizer (package fit) and scored with RULER's
// string_match_all.
//
// A sample (everything drawn from the cell's seed, so every backend sees
// the same prompt):
//
//   - keys distinct keys of key_type, each with values_per_key distinct
//     values of value_type (no value equals a key). The first queries keys
//     are asked; the others are distractors (RULER's multi-key).
//   - One needle sentence per (key, value): "A special secret number for
//     KEY is VALUE." (word, UUID for the other value types).
//   - Placement: the asked needles (queries x values_per_key) are spread
//     evenly over a window of width spread centred at the cell depth and
//     moved inside [0, 1] (one asked needle sits exactly at the cell depth),
//     in an order shuffled by the seed; distractor needles go at uniformly
//     random depths. Depth is the share of the haystack text before the
//     needle, on a sentence boundary (see package fit).
//   - haystack: noise (RULER's repeated filler), essay (the procedural
//     essays of datasets/text), needle (the haystack itself is made of
//     distractor needles with fresh keys and values), corpus (the user's
//     text at corpus).
//   - The prompt: an instruction, the context, the question naming the
//     asked keys, and an answer prefix; the answer budget is max_tokens
//     (RULER's niah budget, 128, by default).
//
// The references are every value of every asked key; the score
// string_match_all is the fraction of them found in the output
// (case-insensitive substring), 0 to 1 (RULER prints it x100). The metrics
// needle_token_position and depth_actual are those of the primary needle:
// the asked needle placed nearest to the cell depth; Info lists the token
// positions and depths of all needles (positions are measured for the
// asked needles only, -1 for distractors).
package needle

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
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
	params.IntSpec("keys", 1, "needles with distinct keys (more than queries: distractor keys)").Range(1, 1000),
	params.IntSpec("values_per_key", 1, "values per key (multi-value)").Range(1, 100),
	params.IntSpec("queries", 1, "keys asked at once (multi-query); at most keys").Range(1, 1000),
	params.StringSpec("haystack", "essay", "what fills the context", "noise", "essay", "needle", "corpus"),
	params.StringSpec("corpus", "", "haystack corpus: a directory of .txt files or a JSONL file with a \"text\" field"),
	params.StringSpec("key_type", "words", "kind of the keys", text.Kinds...),
	params.StringSpec("value_type", "numbers", "kind of the values", text.Kinds...),
	params.FloatSpec("spread", 0.1, "width of the depth window holding the asked needles, centred at the cell depth").Range(0, 1),
	params.IntSpec("max_tokens", 128, "answer budget: tokens generated at most, reserved in the context length").Range(1, 1<<16),
	params.StringSpec("stop", "", "stop strings separated by |, with escapes \\n \\t \\r \\\\ \\| (empty: none)"),
	params.FloatSpec("tolerance", fit.DefaultTolerance, "how far below the length the prompt plus answer budget may land, as a fraction").Range(0.001, 1),
}

// Scorer names the score definition in every record's info.
const Scorer = "string_match_all (RULER): fraction of the references found in the output, case-insensitive substring (RULER prints it x100)"

func init() {
	tasks.Register(tasks.Info{
		Name:      "needle",
		Help:      "RULER needle in a haystack: single, multi-key, multi-value, multi-query needles in noise, essays, needles or a corpus",
		Params:    Specs,
		UsesDepth: true,
		Metrics:   append([]string{"string_match_all"}, fit.Metrics...),
		New:       New,
		Check:     check,
	})
}

func check(p params.Set) error {
	if p.Int("queries") > p.Int("keys") {
		return fmt.Errorf("queries = %d: must be at most keys = %d", p.Int("queries"), p.Int("keys"))
	}
	if _, err := fit.ParseStop(p.String("stop")); err != nil {
		return err
	}
	if h := p.String("haystack"); h != "needle" {
		return text.CheckSource(h, p.String("corpus"))
	}
	return nil
}

// Task is the needle task.
type Task struct {
	p    params.Set
	stop []string

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
	return &Task{p: c.Params, stop: stop}, nil
}

func (t *Task) source() (text.Source, error) {
	t.srcOnce.Do(func() {
		if h := t.p.String("haystack"); h != "needle" {
			t.src, t.srcErr = text.NewSource(h, t.p.String("corpus"))
		}
	})
	return t.src, t.srcErr
}

// Sample is one drawn prompt before fitting.
type Sample struct {
	Request    *fit.Request
	References []string
	Asked      []string // the asked keys
	Primary    int      // index of the primary needle in Request.Needles
}

// needleText is the needle sentence.
func needleText(valueType text.Kind, key, value string) string {
	return fmt.Sprintf("A special secret %s for %s is %s.", singular(valueType), key, value)
}

func singular(k text.Kind) string { return strings.TrimSuffix(k.Noun(), "s") }

// list joins names as English: "a", "a and b", "a, b and c".
func list(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// Build draws the sample of a cell; length is the target.
func (t *Task) Build(c tasks.Cell) (*Sample, error) {
	src, err := t.source()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(uint64(c.Seed), 0x6e6565646c65))
	keyType, valueType := text.Kind(t.p.String("key_type")), text.Kind(t.p.String("value_type"))
	nKeys, perKey, nAsked := t.p.Int("keys"), t.p.Int("values_per_key"), t.p.Int("queries")
	used := map[string]bool{}
	keys := keyType.Distinct(r, nKeys, used)
	values := make([][]string, nKeys)
	for i := range values {
		values[i] = valueType.Distinct(r, perKey, used)
	}
	asked := keys[:nAsked]
	var refs []string
	for i := range asked {
		refs = append(refs, values[i]...)
	}

	// Depths: the asked needles evenly over the window, shuffled.
	q := nAsked * perKey
	slots := fit.Window(c.Depth, t.p.Float("spread"), q)
	perm := r.Perm(q)
	var needles []fit.Needle
	var track []int
	primary, best := 0, math.Inf(1)
	for i := 0; i < q; i++ {
		track = append(track, i)
		d := slots[perm[i]]
		needles = append(needles, fit.Needle{Text: needleText(valueType, keys[i/perKey], values[i/perKey][i%perKey]), Depth: d})
		if dist := math.Abs(d - c.Depth); dist < best {
			primary, best = i, dist
		}
	}
	for i := nAsked; i < nKeys; i++ {
		for _, v := range values[i] {
			needles = append(needles, fit.Needle{Text: needleText(valueType, keys[i], v), Depth: float64(r.IntN(1001)) / 1000})
		}
	}

	var hay text.Stream
	if src != nil {
		hay = src.Sentences(r.Uint64())
	} else { // haystack of distractor needles, fresh keys and values
		hr := rand.New(rand.NewPCG(r.Uint64(), 0x6e6565646c65))
		hay = text.StreamFunc(func() text.Sentence {
			k := keyType.Distinct(hr, 1, used)[0]
			v := valueType.Distinct(hr, 1, used)[0]
			return text.Sentence{Text: needleText(valueType, k, v)}
		})
	}
	noun := valueType.Noun()
	req := &fit.Request{
		Target:    c.Length,
		Reserve:   t.p.Int("max_tokens"),
		Tolerance: t.p.Float("tolerance"),
		Before: fmt.Sprintf("Hidden in the text below are some special secret %s. Read it carefully and keep them in mind: "+
			"afterwards you will be asked for them.\n", noun),
		After: fmt.Sprintf("\nWhich special secret %s for %s appear in the text above? Give all of them.\n"+
			"Answer: The special secret %s for %s in the text above are:", noun, list(asked), noun, list(asked)),
		Haystack: hay,
		Needles:  needles,
		Track:    track,
	}
	return &Sample{Request: req, References: refs, Asked: asked, Primary: primary}, nil
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
	res, g, err := fit.Generate(ctx, m, s.Request, t.p.Int("max_tokens"), t.stop, s.Primary)
	if err != nil {
		return nil, err
	}
	res.References = s.References
	res.Scores["string_match_all"] = score.StringMatchAll(g.Text, s.References)
	res.Info["scorer"] = Scorer
	res.Info["asked_keys"] = s.Asked
	return res, nil
}
