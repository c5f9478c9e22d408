// Package qa is long-context question answering as a task ("qa"): the
// documents that answer a question (the gold documents) are hidden at the
// cell's depth among distractor documents, the context is fitted to the
// cell's length with the model's own tokenizer (package fit), and the answer
// is scored with SQuAD's exact match and F1 and RULER's string_match_part
// or, with answer_mode: choice, chosen among answers by loglikelihood and
// scored with lm-evaluation-harness's acc and acc_norm. It runs on any
// backend with the text-model capability (lm.Model).
//
// Material (package datasets/qa):
//
//   - source: synthetic (the default): one question about an invented world,
//     generated from a seed drawn from the cell's seed, so every backend sees
//     the same item. hops picks single-hop questions (1, the default), two-hop
//     questions (2: the question names an entity of the first gold document,
//     which names the bridge entity whose own document states the answer) or
//     a draw per sample (mixed).
//   - source: file: the user's SQuAD v1.1/v2.0, HotpotQA (distractor setting)
//     or RULER/LongBench JSON Lines file (format auto detects which). The
//     item of a cell is drawn from the cell's seed (an index into the file's
//     usable items), so a cell gives the same item for every backend, and
//     different cells (lengths, depths, samples) mostly give different items.
//     Items without any context document (RULER records that carry the whole
//     prompt in "input") cannot be placed in a haystack: they are skipped,
//     and a file with no other item is an error when the suite is checked.
//     A bad path, an unreadable file or a file not in the named format is an
//     error when the suite is checked too, naming the file, the line and the
//     JSON path at fault.
//
// hops applies to the synthetic source only and unanswerable to files only:
// setting either for the other source is an error when the suite is
// checked, as is a file with source: synthetic.
//
// Distractors. The context around the gold documents is filled with whole
// documents, the last one cut at a word where whole documents cannot land
// within the tolerance window (as fit cuts any haystack):
//
//   - synthetic: the documents of qa.NewDistractorStream (seeded from the
//     cell's seed), a world whose names never occur in any synthetic item, so
//     no distractor can answer or contradict the question.
//   - file: the documents of the file's other items (every distinct gold and
//     distractor document of every usable item, duplicates removed by title
//     and text), in an order shuffled from the cell's seed. A document is left
//     out when it is one of the item's own documents or when its title or
//     text contains any gold answer of the item as a whole word, ignoring
//     case (a match must not continue a letter or digit on either side where
//     the answer itself begins or ends with one), so the context holds the
//     answer only where the dataset put it. An answer worded differently
//     elsewhere in the file cannot be caught this way. When the remaining
//     documents run out before the length is filled, they are used again in
//     a new order (Info distractors_repeated says so); an item whose every
//     other document contains its answer is an error for that cell.
//   - distractor_docs: own adds the item's own hard distractors at depths
//     drawn uniformly from the cell's seed: for synthetic items 8 documents
//     of the item's own world (they share its cities, companies and people
//     but neither name its subject nor its bridge entity), for HotpotQA the
//     example's distractor paragraphs; SQuAD and JSONL items have none. The
//     default, others, uses only the documents above.
//
// Placement. Gold documents are the fit needles; they are never cut. One gold
// document goes at the cell depth (the share of the distractor text before
// it). Several (two-hop) go at the ends of a window of width spread (0.1 of
// the context by default) centred at the cell depth and moved inside [0, 1],
// n documents evenly over the window in general, in an order drawn from the
// cell's seed so that neither reading order is favoured; spread 0 puts them
// side by side. The primary document, whose needle_token_position and
// depth_actual are the metrics, is the item's last gold document: for
// synthetic two-hop items the one that states the answer. Info lists the
// token positions and "Document [k]" numbers of every gold document.
//
// The prompt: the instruction, a line break, the documents one per line as
// "Document [k] (Title: T): text" ("Document [k]: text" without a title),
// numbered from 1 in the order they appear, a blank line, "Question: ", the
// question, a line break and the answer prefix ("Answer:"). The numbers are
// part of what the model sees and what fit counts: the documents are fitted
// with a placeholder for their number, and the tokenizer fit calls (the
// backend's) is given the prompt with the placeholders numbered in order of
// appearance, which is what a prompt prefix gets too, so prompt_tokens and
// the token positions are exact for the numbered prompt that is sent.
//
// Scoring (answer_mode: generate, the default). Output records the
// completion as generated (max_tokens, 16 by default, stop strings none by
// default). The prediction scored is its first
// non-blank line, trimmed (Info prediction), so that a model
// that goes on with another question after its answer is not penalised for
// it. Scores, each in [0, 1], the maximum over the gold answers (References):
//
//   - exact_match: SQuAD v1.1's exact match of normalised strings
//     (lower case, ASCII punctuation and the articles a, an, the removed,
//     white space collapsed);
//   - f1: SQuAD v1.1's token F1 of the normalised strings;
//   - string_match_part: RULER's string_match_part, 1 if any reference is a
//     case-insensitive substring of the prediction: the score that credits
//     an answer wrapped in a sentence ("The city is Stodo.").
//
// Unanswerable questions (SQuAD v2.0 is_impossible, JSONL records with no
// answers): skipped by default (unanswerable: skip). With unanswerable: ask
// they are asked like the others with their passage as the gold document,
// the instruction gains a sentence asking to reply "unanswerable" when the
// documents do not answer the question, and the reference is
// "unanswerable". Another passage of the file may still answer such a
// question; SQuAD v2.0 wrote them against one passage only.
//
// Multiple choice (answer_mode: choice), scored by loglikelihood as
// lm-evaluation-harness scores its multiple-choice tasks. The prompt is
// built and fitted as above (documents, question, answer prefix); the
// model generates nothing (max_tokens and stop are not used). The choices
// are the gold answer (the item's first gold answer, trimmed) and
// choices-1 distractor answers (choices: 4 by default, 2 to 16), in an
// order shuffled from the cell's seed, so the gold lands at any position:
//
//   - synthetic: the answers of the item's later siblings, the items that
//     qa.Synthetic makes after it from the same seed and options (the
//     same invented world), whose question asks for the same class of
//     answer: a city (birth city or seat), a company, an occupation, an
//     object (possession or product, both "material object"), a river, a
//     person's birth year, a company's founding year, a city's founding
//     year, a number of employees or a population, each from the same
//     range as the gold. The first choices-1 usable ones in item order are
//     taken (so the distractors of choices: 4 are among those of 5); as
//     many siblings are made as that takes (32, then 4 times more, up to
//     qa.MaxSyntheticItems). The class is read from the question's
//     template (the question with the subject's name, the title of its
//     first gold document, taken out); a template not known here draws
//     from the siblings with the same template.
//   - file: the first gold answers (trimmed) of the file's other usable
//     items, drawn in an order from the cell's seed. The file must hold at
//     least choices distinct answers (checked with the suite); an item for
//     which fewer than choices-1 are left is an error for that cell.
//
// A distractor is never blank, never equal after SQuAD normalisation
// (score.Normalize) to a gold answer of the item or to another choice, and
// neither contains a normalised gold answer nor is contained in one as
// whole words ("Broncos" for "Denver Broncos", "in 1887" for "1887"), so
// the gold is among the choices exactly once and no other choice is a
// wording of it. Same seed, same choices in the same order, on every
// backend.
//
// Each choice is scored with lm.Model.Loglikelihood, the fitted prompt as
// Context and the choice as Continuation after a delimiter: a single space
// (lm-evaluation-harness's target_delimiter " "), or none where the prompt
// already ends in white space (an answer_prefix such as "Answer: " or
// ending in a line break), so that exactly one separator comes between the
// prefix and the answer. The fit reserves room for the longest choice:
// the answer budget (answer_budget) is the longest continuation's token
// count plus one instead of max_tokens, the token count of a continuation
// being the tokens the backend's Tokenize gives for it beyond those it
// gives for an empty prompt (template and BOS); the one spare token
// covers a merge at the boundary. A backend whose scored sequence
// (context plus continuation tokens) exceeds the length is an error.
//
// Scores, each 0 or 1:
//
//   - acc: 1 if the choice with the highest log-probability (the sum over
//     its tokens, natural log) is the gold one; ties go to the lowest
//     index (numpy's argmax), so a tie credits the gold only where it is
//     first; a NaN ranks below every number;
//   - acc_norm: the same on the log-probability divided by the choice's
//     length in bytes (UTF-8; the choice without its delimiter, as
//     lm-evaluation-harness divides by len(choice): the same number for
//     ASCII answers, where Python counts characters).
//
// Output is the choice acc picks; References the gold answers; Info
// answer_mode, choices (in the order scored), choice_logprobs,
// choice_tokens (continuation tokens, as the backend counted them),
// choice_greedy, gold_choice (the gold's index), prediction_index and
// prediction_norm (acc_norm's pick), continuation_delimiter,
// distractor_class (synthetic) and the scorer definitions. Metrics and
// Info otherwise as in generate mode (prompt_tokens, needle positions,
// gold documents); the timings (tokenize_ms, prefill_ms, total_ms) are
// sums over the choices' requests, prefill_tokens_per_s counts every
// scored sequence, peak_kv_mib is the largest of them.
//
// Unanswerable questions (SQuAD v2.0 is_impossible, JSONL records with no
// answers) are skipped in choice mode: there is no gold choice to put
// among the others, and an "unanswerable" choice would be a different
// task. unanswerable: ask with answer_mode: choice is an error when the
// suite is checked.
package qa

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/lm"
	qadata "github.com/evalctl/evalctl/datasets/qa"
	"github.com/evalctl/evalctl/datasets/text"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
	"github.com/evalctl/evalctl/tasks/score"
)

// DefaultInstruction is the instruction before the documents.
const DefaultInstruction = "Answer the question at the end using the documents below; only some of them are relevant. " +
	"Reply with the answer alone, a short phrase taken from the documents, without any other words."

// AbstainInstruction is added to the instruction with unanswerable: ask.
const AbstainInstruction = " If the documents do not answer the question, reply with the single word unanswerable."

// Unanswerable is the reference of a question without an answer
// (unanswerable: ask).
const Unanswerable = "unanswerable"

// OwnSynthetic is the number of the item's own distractor documents a
// synthetic sample gets with distractor_docs: own.
const OwnSynthetic = 8

// Specs are the task's parameters.
var Specs = []params.Spec{
	params.StringSpec("source", "synthetic", "where the questions come from: synthetic (an invented world) or file (the user's QA file)", "synthetic", "file"),
	params.StringSpec("file", "", "QA file (source: file): SQuAD v1.1/v2.0 JSON, HotpotQA distractor-setting JSON, or RULER/LongBench JSON Lines"),
	params.StringSpec("format", qadata.FormatAuto, "format of file; auto detects it", qadata.FormatAuto, qadata.FormatSQuAD, qadata.FormatHotpot, qadata.FormatJSONL),
	params.StringSpec("hops", "1", "documents a synthetic answer needs: 1, 2 (bridge entity) or mixed (drawn per sample)", "1", "2", "mixed"),
	params.StringSpec("distractor_docs", "others", "what surrounds the gold documents: others (synthetic: a disjoint world; file: other items' documents without the answer) or own (also the item's own hard distractors at random depths)", "others", "own"),
	params.FloatSpec("spread", 0.1, "width of the depth window holding several gold documents (two-hop), centred at the cell depth; 0 puts them side by side").Range(0, 1),
	params.StringSpec("unanswerable", "skip", "file questions without an answer: skip them, or ask them with the reference \"unanswerable\" (generate mode only)", "skip", "ask"),
	params.StringSpec("answer_mode", "generate", "generate (greedy answer scored by EM/F1) or choice (multiple choice scored by loglikelihood: acc, acc_norm)", "generate", "choice"),
	params.IntSpec("choices", 4, "answer_mode choice: the gold answer plus choices-1 distractor answers").Range(2, 16),
	params.IntSpec("max_tokens", 16, "answer budget: tokens generated at most, reserved in the context length (generate mode)").Range(1, 1<<16),
	params.StringSpec("stop", "", "stop strings separated by |, with escapes \\n \\t \\r \\\\ \\| (empty: none) (generate mode)"),
	params.StringSpec("instruction", DefaultInstruction, "the instruction before the documents"),
	params.StringSpec("answer_prefix", "Answer:", "the text after the question that the model continues"),
	params.FloatSpec("tolerance", fit.DefaultTolerance, "how far below the length the prompt plus answer budget may land, as a fraction").Range(0.001, 1),
}

// Scorers names the score definitions in every record's info.
var Scorers = map[string]string{
	"exact_match":       "SQuAD v1.1 exact match: normalised prediction equals a normalised reference (lower case, ASCII punctuation and articles a/an/the removed, white space collapsed), max over references",
	"f1":                "SQuAD v1.1 token F1 of the normalised prediction and reference, max over references",
	"string_match_part": "RULER string_match_part: 1 if any reference is a case-insensitive substring of the prediction, else 0",
	"prediction":        "the first non-blank line of the output, trimmed",
}

// ScoreNames are the scores of every record in generate mode.
var ScoreNames = []string{"exact_match", "f1", "string_match_part"}

func init() {
	tasks.Register(tasks.Info{
		Name:      "qa",
		Help:      "long-context question answering: gold documents at the depth among distractor documents (synthetic one- or two-hop, or SQuAD, HotpotQA, JSONL files), SQuAD EM/F1 and RULER string_match_part, or multiple choice by loglikelihood (acc, acc_norm)",
		Params:    Specs,
		UsesDepth: true,
		Metrics:   append(append(append(slices.Clone(ScoreNames), ChoiceScoreNames...), "documents"), fit.Metrics...),
		New:       New,
		Check:     check,
	})
}

func check(p params.Set) error {
	_, err := newTask(p)
	return err
}

// Task is the QA task.
type Task struct {
	p      params.Set
	stop   []string
	budget int
	hops   int
	own    bool
	before string
	file   *fileData // source: file
	// choices is the number of choices with answer_mode: choice, 0 in
	// generate mode.
	choices int
}

// New builds the task; with source: file it reads the file.
func New(c tasks.Config) (tasks.Task, error) { return newTask(c.Params) }

func newTask(p params.Set) (*Task, error) {
	stop, err := fit.ParseStop(p.String("stop"))
	if err != nil {
		return nil, err
	}
	t := &Task{p: p, stop: stop, budget: p.Int("max_tokens"), own: p.String("distractor_docs") == "own"}
	switch p.String("hops") {
	case "1":
		t.hops = 1
	case "2":
		t.hops = 2
	default:
		t.hops = qadata.HopsMixed
	}
	if p.String("answer_mode") == "choice" {
		t.choices = p.Int("choices")
		if u := p.String("unanswerable"); u != "skip" {
			return nil, fmt.Errorf("parameter \"unanswerable\" = %q applies to answer_mode: generate; answer_mode: choice skips unanswerable questions (there is no gold answer to offer among the choices)", u)
		}
	}
	instr := p.String("instruction")
	path := p.String("file")
	switch p.String("source") {
	case "synthetic":
		if path != "" {
			return nil, fmt.Errorf("parameter \"file\" = %q, but source is synthetic: set source: file to read it", path)
		}
		if p.String("unanswerable") != "skip" {
			return nil, fmt.Errorf("parameter \"unanswerable\" = %q applies to source: file; synthetic questions all have answers", p.String("unanswerable"))
		}
	case "file":
		if path == "" {
			return nil, fmt.Errorf("source: file needs parameter \"file\": a SQuAD, HotpotQA or JSONL file")
		}
		if h := p.String("hops"); h != "1" {
			return nil, fmt.Errorf("parameter \"hops\" = %q applies to source: synthetic; a file's questions need what they need (HotpotQA two documents, SQuAD one)", h)
		}
		ask := p.String("unanswerable") == "ask"
		t.file, err = loadFile(path, p.String("format"), ask)
		if err != nil {
			return nil, err
		}
		if ask {
			instr += AbstainInstruction
		}
		if t.choices > 0 && t.file.answers < t.choices {
			return nil, fmt.Errorf("parameter \"choices\" = %d: %s has %d distinct answers (after SQuAD normalisation) among its usable questions; a question's choices are its own answer and the answers of %d others", t.choices, path, t.file.answers, t.choices-1)
		}
	}
	t.before = clean(instr) + "\n"
	return t, nil
}

// fileData is a loaded QA file: its usable items and the distinct documents
// of all of them.
type fileData struct {
	path  string
	items []qadata.Item
	// own[i] lists the pool indices of item i's gold and distractor
	// documents.
	own       [][]int
	pool      []qadata.Document
	noContext int // items skipped: no context document
	noAnswer  int // items skipped: unanswerable (unanswerable: skip)
	// answers counts the distinct normalised, non-blank first answers of
	// the usable items (the distractor answers of answer_mode: choice).
	answers int
}

// The last file loaded, so that checking a suite and building its task read
// the file once.
var fileCache struct {
	sync.Mutex
	key  string
	data *fileData
}

func loadFile(path, format string, ask bool) (*fileData, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("parameter \"file\": %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("parameter \"file\": %s is a directory; want a SQuAD, HotpotQA or JSONL file", path)
	}
	key := fmt.Sprintf("%s\x00%s\x00%v\x00%d\x00%d", path, format, ask, st.Size(), st.ModTime().UnixNano())
	fileCache.Lock()
	defer fileCache.Unlock()
	if fileCache.key == key {
		return fileCache.data, nil
	}
	items, err := qadata.Load(path, format)
	if err != nil {
		return nil, fmt.Errorf("parameter \"file\" (format %s): %w", format, err)
	}
	f := &fileData{path: path}
	index := map[qadata.Document]int{}
	add := func(d qadata.Document) int {
		if i, ok := index[d]; ok {
			return i
		}
		index[d] = len(f.pool)
		f.pool = append(f.pool, d)
		return len(f.pool) - 1
	}
	for _, it := range items {
		switch {
		case len(it.Gold) == 0:
			f.noContext++
			continue
		case it.Unanswerable && !ask:
			f.noAnswer++
			continue
		}
		var own []int
		for _, d := range it.Gold {
			own = append(own, add(d))
		}
		for _, d := range it.Distractors {
			own = append(own, add(d))
		}
		f.items = append(f.items, it)
		f.own = append(f.own, own)
	}
	if len(f.items) == 0 {
		var why []string
		if f.noContext > 0 {
			why = append(why, fmt.Sprintf("%d without a context document (records that carry the whole prompt in \"input\", as RULER writes them, cannot be placed among distractors: give the passage as \"context\")", f.noContext))
		}
		if f.noAnswer > 0 {
			why = append(why, fmt.Sprintf("%d unanswerable, skipped (unanswerable: ask keeps them)", f.noAnswer))
		}
		if len(why) == 0 {
			why = append(why, "the file holds no item")
		}
		return nil, fmt.Errorf("parameter \"file\": %s: no usable question: %s", path, strings.Join(why, "; "))
	}
	if len(f.pool) < 2 {
		return nil, fmt.Errorf("parameter \"file\": %s: one distinct document in the whole file; the distractors come from the other items' documents, so a file source needs several", path)
	}
	distinct := map[string]bool{}
	for _, it := range f.items {
		if len(it.Answers) > 0 {
			if n := score.Normalize(it.Answers[0]); n != "" {
				distinct[n] = true
			}
		}
	}
	f.answers = len(distinct)
	fileCache.key, fileCache.data = key, f
	return f, nil
}

// marker stands for a document's number until the prompt is complete: a
// private-use code point, removed from every text that goes into a prompt.
const marker = "\uE000"

// clean replaces the marker in user text.
func clean(s string) string { return strings.ReplaceAll(s, marker, "\uFFFD") }

// render is a document as a prompt unit, its number still a marker.
func render(d qadata.Document) string {
	title, body := clean(strings.TrimSpace(d.Title)), clean(strings.TrimSpace(d.Text))
	if title == "" {
		return "Document [" + marker + "]: " + body
	}
	return "Document [" + marker + "] (Title: " + title + "): " + body
}

// Renumber replaces the document number markers of s with 1, 2, 3, ... in
// order. Numbering by order of appearance makes the numbers of a prefix of
// a prompt those of the whole prompt.
func renumber(s string) string {
	if !strings.Contains(s, marker) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8*strings.Count(s, marker))
	for n := 1; ; n++ {
		i := strings.Index(s, marker)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(strconv.Itoa(n))
		s = s[i+len(marker):]
	}
}

// Sample is one drawn prompt before fitting.
type Sample struct {
	Item       qadata.Item
	ItemIndex  int // index among the file's usable items; -1 for synthetic
	References []string
	Request    *fit.Request
	// Gold[i] is the needle of the item's gold document i; the gold
	// needles come first in Request.Needles, the own distractors after.
	Gold    []int
	Own     int // own distractor documents placed
	Primary int // the needle of the item's last gold document

	// Choices (answer_mode: choice) are the answers offered, in the order
	// scored; GoldChoice is the index of the gold one, Delimiter what goes
	// before each choice in the continuation scored, and DistractorClass
	// the class of synthetic answers the distractors were drawn from.
	Choices         []string
	GoldChoice      int
	Delimiter       string
	DistractorClass string

	pool *poolStream // source: file
}

// Build draws the sample of a cell.
func (t *Task) Build(c tasks.Cell) (*Sample, error) {
	r := rand.New(rand.NewPCG(uint64(c.Seed), 0x7161))
	s := &Sample{ItemIndex: -1}
	var hay text.Stream
	var own []qadata.Document
	var opt qadata.SyntheticOptions
	var itemSeed uint64
	if t.file == nil {
		opt = qadata.SyntheticOptions{Hops: t.hops}
		if t.own {
			opt.Distractors = OwnSynthetic
		}
		itemSeed = r.Uint64()
		items, err := qadata.Synthetic(itemSeed, 1, opt)
		if err != nil {
			return nil, err
		}
		s.Item = items[0]
		ds := qadata.NewDistractorStream(r.Uint64())
		hay = text.StreamFunc(func() text.Sentence { return text.Sentence{Text: render(ds.Next())} })
	} else {
		f := t.file
		s.ItemIndex = r.IntN(len(f.items))
		s.Item = f.items[s.ItemIndex]
		ps, err := f.stream(s.ItemIndex, r.Uint64())
		if err != nil {
			return nil, err
		}
		s.pool, hay = ps, ps
	}
	if t.own {
		own = s.Item.Distractors
	}
	s.References = s.Item.Answers
	if s.Item.Unanswerable {
		s.References = []string{Unanswerable}
	}

	g := len(s.Item.Gold)
	slots := fit.Window(c.Depth, t.p.Float("spread"), g)
	order := r.Perm(g)
	req := &fit.Request{
		Target:    c.Length,
		Reserve:   t.budget,
		Tolerance: t.p.Float("tolerance"),
		Before:    t.before,
		After:     "\n\nQuestion: " + clean(s.Item.Question) + "\n" + clean(t.p.String("answer_prefix")),
		Haystack:  hay,
		Sep:       "\n",
		ParaSep:   "\n",
	}
	s.Gold = make([]int, g)
	for j, gi := range order {
		req.Needles = append(req.Needles, fit.Needle{Text: render(s.Item.Gold[gi]), Depth: slots[j]})
		req.Track = append(req.Track, j)
		s.Gold[gi] = j
	}
	s.Primary = s.Gold[g-1]
	for _, d := range own {
		req.Needles = append(req.Needles, fit.Needle{Text: render(d), Depth: float64(r.IntN(1001)) / 1000})
	}
	s.Own = len(own)
	s.Request = req
	if t.choices > 0 {
		if err := t.drawChoices(c, s, itemSeed, opt); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// poolStream hands out the file's documents for one item: the pool in an
// order shuffled by the seed, reshuffled after each pass, without the
// item's own documents and those that contain one of its answers.
type poolStream struct {
	f       *fileData
	r       *rand.Rand
	answers []string
	own     map[int]bool
	ok      map[int]bool // decisions made so far
	perm    []int
	pos     int
	// delivered counts the documents handed out; wrapAt is how many were
	// handed out before the first repeat (-1: none yet).
	delivered, wrapAt int
}

func (f *fileData) stream(item int, seed uint64) (*poolStream, error) {
	s := &poolStream{f: f, r: rand.New(rand.NewPCG(seed, 0x706f6f6c)), answers: f.items[item].Answers,
		own: map[int]bool{}, ok: map[int]bool{}, wrapAt: -1}
	for _, d := range f.own[item] {
		s.own[d] = true
	}
	s.perm = s.r.Perm(len(f.pool))
	// Make sure that Next finds a document.
	for _, d := range s.perm {
		if s.usable(d) {
			return s, nil
		}
	}
	it := f.items[item]
	return nil, fmt.Errorf("qa: %s: item %s (%q): every other document of the file contains one of its answers %q; no distractor is left",
		f.path, it.ID, it.Question, it.Answers)
}

func (s *poolStream) usable(d int) bool {
	if ok, seen := s.ok[d]; seen {
		return ok
	}
	doc := s.f.pool[d]
	ok := !s.own[d] && !containsAnyWord(doc.Title, s.answers) && !containsAnyWord(doc.Text, s.answers)
	s.ok[d] = ok
	return ok
}

// Next implements text.Stream.
func (s *poolStream) Next() text.Sentence {
	for {
		if s.pos == len(s.perm) {
			if s.wrapAt < 0 {
				s.wrapAt = s.delivered
			}
			s.perm, s.pos = s.r.Perm(len(s.f.pool)), 0
		}
		d := s.perm[s.pos]
		s.pos++
		if s.usable(d) {
			s.delivered++
			return text.Sentence{Text: render(s.f.pool[d])}
		}
	}
}

// containsAnyWord reports whether text contains any of words, ignoring
// case, as a whole word: where a word begins (ends) with a letter or digit,
// the text must not have one just before (after) the match.
func containsAnyWord(text string, words []string) bool {
	lt := strings.ToLower(text)
	for _, w := range words {
		if containsWord(lt, strings.ToLower(w)) {
			return true
		}
	}
	return false
}

func containsWord(text, word string) bool {
	if word == "" {
		return false
	}
	first, _ := utf8.DecodeRuneInString(word)
	last, _ := utf8.DecodeLastRuneInString(word)
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(word)
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		if (start == 0 || !isWordRune(first) || !isWordRune(before)) &&
			(end == len(text) || !isWordRune(last) || !isWordRune(after)) {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[start:])
		i = start + size
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// Prompt is a cell's prompt fitted to its length.
type Prompt struct {
	*Sample
	// Fit is the fitted prompt with its documents numbered: Fit.Prompt is
	// the text sent, Fit.Tokens its exact token count, Fit.Needles the gold
	// documents and then the own distractors.
	Fit *fit.Result
	// Numbers[i] is the number of needle i in the prompt ("Document [k]").
	Numbers []int
	// Documents is the number of documents in the prompt, a cut last one
	// included.
	Documents int
	// ChoiceTokens (answer_mode: choice) are the token counts of the
	// continuations that the answer budget was sized with.
	ChoiceTokens []int
}

// Prompt draws and fits the prompt of a cell with the backend's tokenizer;
// with answer_mode: choice the answer budget is sized to the longest
// choice with the same tokenizer.
func (t *Task) Prompt(ctx context.Context, tokenize fit.TokenizeFunc, c tasks.Cell) (*Prompt, error) {
	s, err := t.Build(c)
	if err != nil {
		return nil, err
	}
	var est []int
	if t.choices > 0 {
		// The answer budget: the longest continuation and one token.
		if est, err = continuationTokens(ctx, tokenize, s); err != nil {
			return nil, err
		}
		s.Request.Reserve = slices.Max(est) + 1
	}
	numbered := func(ctx context.Context, p string) ([]int, error) { return tokenize(ctx, renumber(p)) }
	fr, err := fit.Fit(ctx, numbered, s.Request)
	if err != nil {
		return nil, err
	}
	raw := fr.Prompt
	p := &Prompt{Sample: s, Fit: fr, Numbers: make([]int, len(fr.Needles)), Documents: strings.Count(raw, marker), ChoiceTokens: est}
	for i := range fr.Needles {
		prefix := raw[:fr.Needles[i].Offset]
		p.Numbers[i] = strings.Count(prefix, marker) + 1
		fr.Needles[i].Offset = len(renumber(prefix))
	}
	fr.Prompt = renumber(raw)
	return p, nil
}

// Prediction is the part of an output that is scored: its first non-blank
// line, trimmed.
func Prediction(output string) string {
	s := strings.TrimLeftFunc(output, unicode.IsSpace)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// Evaluate implements tasks.Task.
func (t *Task) Evaluate(ctx context.Context, b backends.Backend, c tasks.Cell) (*tasks.Result, error) {
	m, err := fit.TextModel(b)
	if err != nil {
		return nil, err
	}
	p, err := t.Prompt(ctx, m.Tokenize, c)
	if err != nil {
		return nil, err
	}
	var res *tasks.Result
	if t.choices > 0 {
		res, err = t.scoreChoices(ctx, m, c, p)
	} else {
		res, err = t.generate(ctx, m, p)
	}
	if err != nil {
		return nil, err
	}
	t.addInfo(res, p)
	return res, nil
}

// newResult starts the record of a fitted prompt: the fit's metrics and the
// placements of the documents.
func newResult(p *Prompt) *tasks.Result {
	fr := p.Fit
	res := fit.NewResult(fr)
	res.Metrics["haystack_units"] = record.Value{Value: float64(fr.Units), Unit: "documents"}
	res.Metrics["documents"] = record.Value{Value: float64(p.Documents), Unit: "documents"}
	fit.AddNeedles(res, fr, p.Primary)
	return res
}

// generate asks for the answer (answer_mode: generate) and scores it.
func (t *Task) generate(ctx context.Context, m lm.Model, p *Prompt) (*tasks.Result, error) {
	fr := p.Fit
	g, err := m.Generate(ctx, &lm.GenerateRequest{Prompt: fr.Prompt, MaxTokens: t.budget, Stop: t.stop})
	if err != nil {
		return nil, err
	}
	res := newResult(p)
	fit.AddGeneration(res, fr, g)

	pred := Prediction(g.Text)
	res.References = p.References
	res.Scores["exact_match"] = score.ExactMatch(pred, p.References)
	res.Scores["f1"] = score.F1(pred, p.References)
	res.Scores["string_match_part"] = score.StringMatchPart(pred, p.References)

	res.Info["scorers"] = Scorers
	res.Info["prediction"] = pred
	return res, nil
}

// addInfo records the item, its gold documents and the file it came from.
func (t *Task) addInfo(res *tasks.Result, p *Prompt) {
	fr := p.Fit
	it := p.Item
	res.Info["item_id"] = it.ID
	res.Info["item_source"] = it.Source
	res.Info["hops"] = it.Hops
	res.Info["question"] = it.Question
	if it.Unanswerable {
		res.Info["unanswerable"] = true
	}
	titles := make([]string, len(it.Gold))
	numbers := make([]int, len(it.Gold))
	positions := make([]int, len(it.Gold))
	for i, d := range it.Gold {
		titles[i] = d.Title
		numbers[i] = p.Numbers[p.Gold[i]]
		positions[i] = fr.Needles[p.Gold[i]].Token
	}
	res.Info["gold_titles"] = titles
	res.Info["gold_documents"] = numbers
	res.Info["gold_token_positions"] = positions
	res.Info["distractor_docs"] = t.p.String("distractor_docs")
	res.Info["own_distractors"] = p.Own
	if f := t.file; f != nil {
		res.Info["file"] = f.path
		res.Info["item_index"] = p.ItemIndex
		res.Info["file_items"] = len(f.items)
		if f.noContext+f.noAnswer > 0 {
			res.Info["file_items_skipped"] = map[string]int{"no_context": f.noContext, "unanswerable": f.noAnswer}
		}
		used := fr.Units
		if fr.TailWords > 0 {
			used++
		}
		res.Info["distractors_repeated"] = p.pool.wrapAt >= 0 && used > p.pool.wrapAt
	}
}
