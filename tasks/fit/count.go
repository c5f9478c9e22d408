package fit

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/tasks"
)

// CountRequest describes a prompt whose size is a count rather than a
// haystack of sentences: RULER's aggregation tasks regenerate the whole
// context for each size (a word list where every distinct word is repeated,
// a coded text whose word frequencies follow a law), so a larger prompt is
// not a smaller one plus units.
type CountRequest struct {
	Target    int     // tokens: prompt plus Reserve
	Reserve   int     // tokens kept for the answer (max new tokens)
	Tolerance float64 // window below Target as a fraction; 0 means DefaultTolerance

	// Min and Max bound the count: Build(Min) is the smallest prompt the
	// task accepts, and the search never goes beyond Max (0: 4*Target +
	// 64, enough when every step of the count adds a token on average).
	Min, Max int
	// Build returns the whole prompt for a count; its token count should
	// grow with the count (a count whose prompt fits while a smaller one
	// does not is not looked for).
	Build func(n int) string
}

// Count returns the largest count in [Min, Max] whose prompt plus the
// answer budget fits the target, and requires the result to land in the
// window [Target - floor(Tolerance*Target), Target], like Fit.
//
// Search: the tokens of Build(Min) first (ErrNoRoom if they do not fit);
// then secant steps on the exact counts inside the bracket [largest count
// known to fit, smallest known not to], each guess the count where the line
// through the measured count nearest to the budget and its nearest measured
// neighbour meets the budget (moved inside the bracket, which makes the
// last steps neighbour checks); three steps that do not halve the bracket
// are followed by a bisection. Token counts are near-linear in the count, so a fit takes
// 4 to 7 whole tokenizations with RULER's shapes (Stats.Full; 4 to 10 in
// the tests). The result has Units
// set to the count, no needles and no haystack bytes.
func Count(ctx context.Context, tokenize TokenizeFunc, req *CountRequest) (*Result, error) {
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
	if req.Build == nil {
		return nil, fmt.Errorf("fit: no Build function")
	}
	hiBound := req.Max
	if hiBound <= 0 {
		hiBound = 4*req.Target + 64
	}
	if req.Min < 0 || req.Min > hiBound {
		return nil, fmt.Errorf("fit: count range [%d, %d]: want 0 <= min <= max", req.Min, hiBound)
	}
	budget := req.Target - req.Reserve
	low := req.Target - int(math.Floor(float64(req.Target)*tol)) - req.Reserve

	c := &counter{tokenize: tokenize, req: req, exact: map[int]int{}, prompts: map[int]string{}}
	plo, err := c.measure(ctx, req.Min)
	if err != nil {
		return nil, err
	}
	if plo > budget {
		return nil, fmt.Errorf("%w: the smallest prompt (count %d) has %d tokens, plus %d for the answer = %d > target %d",
			ErrNoRoom, req.Min, plo, req.Reserve, plo+req.Reserve, req.Target)
	}
	lo, hi, phi := req.Min, -1, 0
	ref, stall := 0, 0
	for iter := 0; lo < hiBound && (hi < 0 || hi > lo+1); iter++ {
		if iter > 200 {
			return nil, fmt.Errorf("fit: no convergence after %d tokenizations", c.stats.Full)
		}
		var g int
		if stall >= 3 {
			// Three steps without halving the bracket: bisect.
			g, stall = lo+(hi-lo)/2, 0
		} else {
			g = c.secant(budget, lo, hi, hiBound)
		}
		p, err := c.measure(ctx, g)
		if err != nil {
			return nil, err
		}
		if p <= budget {
			lo, plo = g, p
		} else {
			hi, phi = g, p
		}
		switch {
		case hi < 0:
		case ref == 0 || 2*(hi-lo) <= ref:
			ref, stall = hi-lo, 0
		default:
			stall++
		}
	}
	if plo < low {
		next := "the largest count allowed"
		if hi >= 0 {
			next = fmt.Sprintf("count %d has %d", hi, phi+req.Reserve)
		}
		return nil, fmt.Errorf("%w: window [%d, %d] (tolerance %g), but the largest prompt that fits (count %d) has %d tokens + %d for the answer = %d, and %s; raise the tolerance or the length",
			ErrWindow, low+req.Reserve, req.Target, tol, lo, plo, req.Reserve, plo+req.Reserve, next)
	}
	c.stats.Elapsed = time.Since(start)
	return &Result{Prompt: c.prompts[lo], Tokens: plo, Target: req.Target, Reserve: req.Reserve, Units: lo, Stats: c.stats}, nil
}

type counter struct {
	tokenize TokenizeFunc
	req      *CountRequest
	exact    map[int]int    // count -> prompt tokens
	prompts  map[int]string // count -> prompt
	order    []int          // counts in the order measured
	stats    Stats
}

// measure returns the exact prompt tokens of count n.
func (c *counter) measure(ctx context.Context, n int) (int, error) {
	if p, ok := c.exact[n]; ok {
		return p, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	prompt := c.req.Build(n)
	c.stats.Full++
	c.stats.Bytes += int64(len(prompt))
	ids, err := c.tokenize(ctx, prompt)
	if err != nil {
		return 0, fmt.Errorf("fit: tokenize: %w", err)
	}
	c.exact[n], c.prompts[n] = len(ids), prompt
	c.order = append(c.order, n)
	return len(ids), nil
}

// secant guesses the count whose prompt meets the budget, strictly inside
// (lo, hi) (above lo up to hiBound when hi < 0): from the measured count
// whose tokens are nearest to the budget (the anchor), along the slope to
// the measured count nearest to it. Tokens per count drift (item numbers
// gain digits, words differ), so local points predict best; a guess that
// the clamp moves next to lo or hi is the neighbour check that closes the
// bracket. With one point the slope is that of a prompt made of count
// only, which fixed text makes too steep: the first guess falls short of
// the budget rather than past it, and the second point gives a secant.
func (c *counter) secant(budget, lo, hi, hiBound int) int {
	anchor := -1
	for _, n := range c.order {
		if anchor < 0 || abs(c.exact[n]-budget) < abs(c.exact[anchor]-budget) {
			anchor = n
		}
	}
	near := -1
	for _, n := range c.order {
		if n != anchor && (near < 0 || abs(n-anchor) < abs(near-anchor)) {
			near = n
		}
	}
	pa := c.exact[anchor]
	slope := float64(pa) / float64(max(anchor, 1))
	if near >= 0 {
		slope = float64(c.exact[near]-pa) / float64(near-anchor)
	}
	var g int
	if slope <= 0 {
		g = 2*lo + 1
	} else {
		g = anchor + int(math.Floor(float64(budget-pa)/slope))
	}
	g = max(g, lo+1)
	if hi >= 0 {
		g = min(g, hi-1)
	}
	return min(g, hiBound)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// GenerateCount is Generate for a CountRequest: it fits req with m's
// tokenizer (Count), asks m for a completion of at most maxTokens tokens
// ending at the first of stop, and starts the result (NewResult,
// AddGeneration). The caller adds references and scores.
func GenerateCount(ctx context.Context, m lm.Model, req *CountRequest, maxTokens int, stop []string) (*tasks.Result, *lm.GenerateResponse, *Result, error) {
	fr, err := Count(ctx, m.Tokenize, req)
	if err != nil {
		return nil, nil, nil, err
	}
	g, err := m.Generate(ctx, &lm.GenerateRequest{Prompt: fr.Prompt, MaxTokens: maxTokens, Stop: stop})
	if err != nil {
		return nil, nil, nil, err
	}
	res := NewResult(fr)
	AddGeneration(res, fr, g)
	return res, g, fr, nil
}
