// Package fit fits a prompt to a target length in the model's own tokens,
// the way RULER sizes its haystacks, and holds the plumbing the model tasks
// share (the text-model capability, stop strings, standard metrics and
// timings).
//
// A prompt is Before + context + After, where the context is a haystack of
// sentences (units) with needles inserted on unit boundaries. Fit finds the
// largest haystack whose prompt tokens plus the answer budget (the
// generation's max tokens) stay within the target, and requires the result
// to land in the window [target - floor(tolerance*target), target]
// (tolerance 1% by default). When whole units cannot land in the window (a
// unit is longer than the window at short lengths), the next unit is cut at
// a word boundary, as RULER cuts its essay haystack by words; requests that
// must keep units whole (JSON pairs) set Whole. A prompt that cannot fit,
// because the fixed parts alone exceed the target or because the window
// cannot be hit, is an error (ErrNoRoom, ErrWindow), never a silent
// truncation. Prompts whose size is a count rather than a haystack (a word
// list regenerated for each size, as in RULER's aggregation tasks) are
// fitted by Count, which searches the count with the same window and
// errors.
//
// Cost. Only the backend's Tokenize is used (it includes the template and
// special tokens, so the counts are exactly what the model sees). The
// haystack is tokenized once in chunks of about 2 KiB to estimate every
// unit's tokens (a chunk's tokens are shared among its units by bytes);
// then exact tokenizations of whole candidate prompts drive an
// interpolation search: the estimate is rescaled after every exact count,
// the bracket [largest size known to fit, smallest known not to fit] shrinks
// to adjacent sizes, with bisection whenever an interpolation step fails to
// halve it. Measured at 32K tokens (BenchmarkFit32K: three tokenizers,
// essay and noise haystacks): 3 to 4 tokenizations of whole candidate
// prompts (the first is the prompt without haystack, a few dozen tokens),
// 23 to 30 chunk tokenizations, and in all 3.5 to 4.5 times the final
// prompt's bytes through the tokenizer, one needle's prefix included: the
// cost of about four tokenizations of the prompt, where a plain binary
// search over the 700 to 2,500 units would tokenize 10 to 12 whole
// prompts. Each tracked needle (Request.Track) costs one tokenization of
// the prompt prefix before it.
//
// Depth: a needle of depth d goes to the unit boundary whose share of the
// haystack text before it (in bytes, needles excluded) is nearest to d,
// ties to the earlier boundary (the end of a cut last sentence is not a
// boundary); needles at the same boundary keep their request order. The
// actual depth is reported. A needle's token position is
// the number of tokens of the prompt prefix before it, trailing spaces
// excluded (BPE tokenizers attach a space to the word after it): the index
// of the needle's first token in the model's ids with a plain template. With
// a chat template the prefix's tokenization also carries the template's
// closing tokens, a constant offset of a few tokens.
package fit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/evalctl/evalctl/datasets/text"
)

// DefaultTolerance is the window below the target a fitted prompt must land
// in, as a fraction of the target.
const DefaultTolerance = 0.01

// Errors of Fit, wrapped with the numbers.
var (
	// ErrNoRoom: the prompt without any haystack plus the answer budget
	// exceeds the target.
	ErrNoRoom = errors.New("prompt does not fit the target")
	// ErrWindow: no haystack size lands within the tolerance below the
	// target.
	ErrWindow = errors.New("prompt cannot land within the tolerance below the target")
)

// TokenizeFunc returns the ids the model sees for a prompt: lm.Model's
// Tokenize.
type TokenizeFunc func(ctx context.Context, prompt string) ([]int, error)

// Needle is a sentence to hide in the haystack.
type Needle struct {
	Text  string
	Depth float64 // in [0, 1]: the share of the haystack text before it
}

// Request describes the prompt to fit.
type Request struct {
	Target    int     // tokens: prompt plus Reserve
	Reserve   int     // tokens kept for the answer (max new tokens)
	Tolerance float64 // window below Target as a fraction; 0 means DefaultTolerance

	Before, After string      // fixed text around the context
	Haystack      text.Stream // units, pulled as needed
	Needles       []Needle

	Sep     string // between units; "" means text.Space
	ParaSep string // before a unit that starts a paragraph; "" means text.ParaBreak
	// Whole keeps every unit whole: the window is met with whole units or
	// not at all.
	Whole bool
	// Track lists the needles whose token positions are measured (one
	// tokenization of the prompt prefix each); nil measures all. The
	// others get Token -1.
	Track []int
}

// Placement is where a needle landed.
type Placement struct {
	Token  int     // tokens of the prompt before the needle; -1 if not tracked
	Offset int     // byte offset of the needle in the prompt
	Depth  float64 // actual depth: haystack bytes before it / haystack bytes
}

// Stats is what a fit cost.
type Stats struct {
	Full     int   // tokenizations of whole candidate prompts, the first without haystack
	Estimate int   // tokenizations of haystack chunks (and of the empty prompt)
	Prefix   int   // tokenizations of prompt prefixes (needle positions)
	Bytes    int64 // bytes passed to the tokenizer in all
	Elapsed  time.Duration
}

// Calls is the number of tokenizer calls.
func (s Stats) Calls() int { return s.Full + s.Estimate + s.Prefix }

// Result is a fitted prompt.
type Result struct {
	Prompt    string
	Tokens    int // exact prompt tokens (Tokenize of Prompt)
	Target    int
	Reserve   int
	Units     int // whole haystack units
	TailWords int // words of the next unit after them (0: none)
	// HaystackBytes is the size of the haystack text (needles and
	// separators excluded).
	HaystackBytes int
	Needles       []Placement // in request order
	Stats         Stats
}

// Fit builds the prompt of req that fits req.Target; see the package
// documentation.
func Fit(ctx context.Context, tokenize TokenizeFunc, req *Request) (*Result, error) {
	start := time.Now()
	if req.Target < 1 || req.Reserve < 0 {
		return nil, fmt.Errorf("fit: target %d and reserve %d: want target >= 1 and reserve >= 0", req.Target, req.Reserve)
	}
	tol := req.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	if tol < 0 || math.IsNaN(tol) {
		return nil, fmt.Errorf("fit: tolerance %v: want a fraction >= 0", req.Tolerance)
	}
	if req.Haystack == nil {
		return nil, fmt.Errorf("fit: no haystack")
	}
	for i, n := range req.Needles {
		if !(n.Depth >= 0 && n.Depth <= 1) {
			return nil, fmt.Errorf("fit: needle %d: depth %v outside [0, 1]", i, n.Depth)
		}
	}
	f := &fitter{req: req, tok: tokenize, sep: req.Sep, paraSep: req.ParaSep, exact: map[[2]int]int{}}
	if f.sep == "" {
		f.sep = text.Space
	}
	if f.paraSep == "" {
		f.paraSep = text.ParaBreak
	}
	budget := req.Target - req.Reserve
	slack := int(math.Floor(float64(req.Target) * tol))
	low := req.Target - slack - req.Reserve // the window for the prompt is [low, budget]

	ids, err := f.tokenize(ctx, "", &f.stats.Estimate)
	if err != nil {
		return nil, err
	}
	f.overhead = len(ids)
	p0, err := f.measure(ctx, 0, 0)
	if err != nil {
		return nil, err
	}
	if p0 > budget {
		return nil, fmt.Errorf("%w: the prompt without haystack has %d tokens, plus %d for the answer = %d > target %d",
			ErrNoRoom, p0, req.Reserve, p0+req.Reserve, req.Target)
	}
	f.p0 = p0

	// Whole units: the largest n with P(n) <= budget.
	n, pn, phi, err := f.searchUnits(ctx, budget)
	if err != nil {
		return nil, err
	}
	k, step := 0, "unit"
	if pn < low && !req.Whole {
		// Cut unit n at a word: the largest k with P(n, k) <= budget.
		words := len(strings.Fields(f.units[n].Text))
		if words > 1 {
			k, pn, phi, err = f.searchWords(ctx, n, words, pn, phi, budget)
			if err != nil {
				return nil, err
			}
			step = "word"
		}
	}
	if pn < low {
		return nil, fmt.Errorf("%w: window [%d, %d] (tolerance %g), but the largest prompt that fits has %d tokens + %d for the answer = %d and one more %s brings it to %d; raise the tolerance or the length",
			ErrWindow, low+req.Reserve, req.Target, tol, pn, req.Reserve, pn+req.Reserve, step, phi+req.Reserve)
	}
	b := f.build(n, k)
	res := &Result{Prompt: b.prompt, Tokens: pn, Target: req.Target, Reserve: req.Reserve, Units: n, TailWords: k,
		HaystackBytes: b.haystackBytes, Needles: b.needles}
	track := req.Track
	if track == nil {
		track = make([]int, len(res.Needles))
		for i := range track {
			track[i] = i
		}
	}
	for i := range res.Needles {
		res.Needles[i].Token = -1
	}
	for _, i := range track {
		if i < 0 || i >= len(res.Needles) {
			return nil, fmt.Errorf("fit: Track names needle %d of %d", i, len(res.Needles))
		}
		pl := &res.Needles[i]
		if pl.Token >= 0 {
			continue
		}
		ids, err := f.tokenize(ctx, strings.TrimRight(b.prompt[:pl.Offset], " "), &f.stats.Prefix)
		if err != nil {
			return nil, err
		}
		pl.Token = len(ids)
	}
	f.stats.Elapsed = time.Since(start)
	res.Stats = f.stats
	return res, nil
}

type fitter struct {
	req          *Request
	tok          TokenizeFunc
	sep, paraSep string
	overhead     int // tokens of the empty prompt (template, BOS)
	p0           int // tokens of the prompt without haystack
	units        []text.Sentence
	cum          []float64 // cum[i]: estimated tokens of the first i units with their separators
	exact        map[[2]int]int
	stats        Stats
	scale        float64 // exact/estimated haystack tokens, from the last exact count
}

func (f *fitter) tokenize(ctx context.Context, s string, counter *int) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	*counter++
	f.stats.Bytes += int64(len(s))
	ids, err := f.tok(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("fit: tokenize: %w", err)
	}
	return ids, nil
}

// measure returns the exact tokens of the prompt with n units and k words
// of the next.
func (f *fitter) measure(ctx context.Context, n, k int) (int, error) {
	if p, ok := f.exact[[2]int{n, k}]; ok {
		return p, nil
	}
	if err := f.ensure(ctx, n+1); err != nil {
		return 0, err
	}
	ids, err := f.tokenize(ctx, f.build(n, k).prompt, &f.stats.Full)
	if err != nil {
		return 0, err
	}
	f.exact[[2]int{n, k}] = len(ids)
	return len(ids), nil
}

const chunkBytes = 2048

// maxUnits bounds the haystack: a unit has at least one token.
func (f *fitter) maxUnits() int { return 4*f.req.Target + 64 }

// ensure pulls and estimates units until there are at least n.
func (f *fitter) ensure(ctx context.Context, n int) error {
	if f.cum == nil {
		f.cum = []float64{0}
	}
	for len(f.units) < n {
		if len(f.units) >= f.maxUnits() {
			return fmt.Errorf("fit: the haystack needs more than %d units; its sentences carry no tokens", f.maxUnits())
		}
		first := len(f.units)
		var b strings.Builder
		var sizes []int
		for b.Len() < chunkBytes {
			u := f.req.Haystack.Next()
			sep := f.sepBefore(len(f.units), u)
			b.WriteString(sep)
			b.WriteString(u.Text)
			sizes = append(sizes, len(sep)+len(u.Text))
			f.units = append(f.units, u)
		}
		ids, err := f.tokenize(ctx, b.String(), &f.stats.Estimate)
		if err != nil {
			return err
		}
		tokens := float64(max(len(ids)-f.overhead, 0))
		total := float64(b.Len())
		for i, sz := range sizes {
			f.cum = append(f.cum, f.cum[first+i]+tokens*float64(sz)/total)
		}
	}
	return nil
}

func (f *fitter) sepBefore(i int, u text.Sentence) string {
	switch {
	case i == 0:
		return ""
	case u.Para:
		return f.paraSep
	}
	return f.sep
}

// predict estimates P(n).
func (f *fitter) predict(n int) float64 { return float64(f.p0) + f.scale*f.cum[n] }

// searchUnits returns the largest n with P(n) <= budget, P(n) and
// P(n+1).
func (f *fitter) searchUnits(ctx context.Context, budget int) (lo, plo, phi int, err error) {
	f.scale = 1
	hi := -1
	lo, plo = 0, f.p0
	bisect := false
	for iter := 0; hi < 0 || hi > lo+1; iter++ {
		if iter > 200 {
			return 0, 0, 0, fmt.Errorf("fit: no convergence after %d tokenizations", f.stats.Full)
		}
		var g int
		if bisect && hi >= 0 {
			g = lo + (hi-lo)/2
		} else {
			g, err = f.guess(ctx, budget, lo, hi)
			if err != nil {
				return 0, 0, 0, err
			}
		}
		width := hi - lo
		p, err := f.measure(ctx, g, 0)
		if err != nil {
			return 0, 0, 0, err
		}
		if p <= budget {
			lo, plo = g, p
		} else {
			hi, phi = g, p
		}
		if f.cum[g] > 0 {
			f.scale = float64(p-f.p0) / f.cum[g]
		}
		// Bisect next when an interpolation step did not halve a known
		// bracket.
		bisect = !bisect && width > 0 && hi >= 0 && 2*(hi-lo) > width
	}
	return lo, plo, phi, nil
}

// guess is the largest n in (lo, hi) whose prediction fits the budget,
// pulling more units as needed; hi < 0 means no upper bound yet.
func (f *fitter) guess(ctx context.Context, budget, lo, hi int) (int, error) {
	if err := f.ensure(ctx, lo+2); err != nil {
		return 0, err
	}
	// Extend until the estimate passes the budget (or reaches hi).
	for (hi < 0 || len(f.units) < hi) && f.predict(len(f.units)) <= float64(budget) {
		if err := f.ensure(ctx, len(f.units)+1); err != nil {
			return 0, err
		}
	}
	top := len(f.units)
	if hi >= 0 {
		top = min(top, hi)
	}
	// Largest n in [lo+1, top-1] with predict(n) <= budget; cum is
	// increasing, so binary search.
	n := sort.Search(top+1, func(i int) bool { return f.predict(i) > float64(budget) }) - 1
	n = max(n, lo+1)
	if hi >= 0 {
		n = min(n, hi-1)
	}
	return n, nil
}

// searchWords returns the largest k in [0, words) with P(n, k) <= budget,
// P(n, k) and P(n, k+1), knowing P(n, 0) = pn and P(n+1) = pnext > budget.
func (f *fitter) searchWords(ctx context.Context, n, words, pn, pnext, budget int) (int, int, int, error) {
	w := strings.Fields(f.units[n].Text)
	cum := make([]int, words+1) // bytes of the first k words
	for i, x := range w {
		cum[i+1] = cum[i] + len(x) + 1
	}
	lo, plo, hi, phi := 0, pn, words, pnext
	bisect := false
	for hi > lo+1 {
		var g int
		if bisect {
			g = lo + (hi-lo)/2
		} else {
			// Interpolate by bytes between the two known points.
			need := float64(budget-plo) / float64(max(phi-plo, 1))
			target := float64(cum[lo]) + need*float64(cum[hi]-cum[lo])
			g = sort.Search(hi, func(i int) bool { return float64(cum[i]) > target }) - 1
			g = min(max(g, lo+1), hi-1)
		}
		width := hi - lo
		p, err := f.measure(ctx, n, g)
		if err != nil {
			return 0, 0, 0, err
		}
		if p <= budget {
			lo, plo = g, p
		} else {
			hi, phi = g, p
		}
		bisect = !bisect && 2*(hi-lo) > width
	}
	return lo, plo, phi, nil
}

type built struct {
	prompt        string
	haystackBytes int
	needles       []Placement
}

// build assembles the prompt with n whole units and k words of unit n.
func (f *fitter) build(n, k int) built {
	items := f.units[:n:n]
	if k > 0 {
		u := f.units[n]
		items = append(items, text.Sentence{Text: strings.Join(strings.Fields(u.Text)[:k], " "), Para: u.Para})
	}
	// before[j]: haystack bytes before boundary j.
	before := make([]int, len(items)+1)
	for i, it := range items {
		before[i+1] = before[i] + len(it.Text)
	}
	total := before[len(items)]
	// Needles go on sentence boundaries: not after a cut last sentence.
	bounds := len(before)
	if k > 0 {
		bounds--
	}
	type slot struct{ needle, boundary int }
	slots := make([]slot, len(f.req.Needles))
	for i, nd := range f.req.Needles {
		want := nd.Depth * float64(total)
		j := sort.Search(bounds, func(j int) bool { return float64(before[j]) >= want })
		if j == bounds {
			j = bounds - 1
		}
		if j > 0 && want-float64(before[j-1]) <= float64(before[j])-want {
			j-- // nearer to (or as near as) the earlier boundary
		}
		slots[i] = slot{i, j}
	}
	sort.SliceStable(slots, func(a, b int) bool { return slots[a].boundary < slots[b].boundary })

	var b strings.Builder
	b.WriteString(f.req.Before)
	placed := make([]Placement, len(f.req.Needles))
	first := true
	s := 0
	for j := 0; j <= len(items); j++ {
		for ; s < len(slots) && slots[s].boundary == j; s++ {
			if !first {
				b.WriteString(f.sep)
			}
			first = false
			depth := 0.0
			if total > 0 {
				depth = float64(before[j]) / float64(total)
			}
			placed[slots[s].needle] = Placement{Offset: b.Len(), Depth: depth}
			b.WriteString(f.req.Needles[slots[s].needle].Text)
		}
		if j == len(items) {
			break
		}
		if !first {
			if items[j].Para {
				b.WriteString(f.paraSep)
			} else {
				b.WriteString(f.sep)
			}
		}
		first = false
		b.WriteString(items[j].Text)
	}
	b.WriteString(f.req.After)
	return built{prompt: b.String(), haystackBytes: total, needles: placed}
}
