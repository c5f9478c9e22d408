package fit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/tasks"
)

// TextModel returns the text-model capability of b, or an error saying
// that the backend cannot run model tasks.
func TextModel(b backends.Backend) (lm.Model, error) {
	m, ok := b.(lm.Model)
	if !ok {
		return nil, fmt.Errorf("backend %T is not a text model (it has no lm.Model capability: tokenize, generate, loglikelihood); model tasks need a model backend", b)
	}
	return m, nil
}

// ParseStop parses a stop parameter: stop strings separated by "|", with
// the escapes \n, \t, \r, \\ and \| ("" means none). Empty alternatives
// are dropped.
func ParseStop(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '|':
			if cur.Len() > 0 {
				out = append(out, cur.String())
			}
			cur.Reset()
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("stop %q: a trailing backslash; escape it as \\\\", s)
			}
			i++
			switch s[i] {
			case 'n':
				cur.WriteByte('\n')
			case 't':
				cur.WriteByte('\t')
			case 'r':
				cur.WriteByte('\r')
			case '\\', '|':
				cur.WriteByte(s[i])
			default:
				return nil, fmt.Errorf("stop %q: unknown escape \\%c; accepted: \\n \\t \\r \\\\ \\|", s, s[i])
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// NewResult starts the task result of a fitted prompt with the standard
// metrics: prompt_tokens (exact), target_tokens, answer_budget,
// haystack_units, fit_tokenizations (tokenizer calls of the fit, all
// kinds), and the timing fit_ms.
func NewResult(fr *Result) *tasks.Result {
	res := &tasks.Result{
		Scores:  map[string]float64{},
		Metrics: map[string]record.Value{},
		Timings: map[string]record.Value{},
		Info:    map[string]any{},
	}
	res.Metrics["prompt_tokens"] = record.Value{Value: float64(fr.Tokens), Unit: "tokens"}
	res.Metrics["target_tokens"] = record.Value{Value: float64(fr.Target), Unit: "tokens"}
	res.Metrics["answer_budget"] = record.Value{Value: float64(fr.Reserve), Unit: "tokens"}
	res.Metrics["haystack_units"] = record.Value{Value: float64(fr.Units), Unit: "sentences"}
	res.Metrics["fit_tokenizations"] = record.Value{Value: float64(fr.Stats.Calls()), Unit: "calls", Better: record.Lower}
	res.Timings["fit_ms"] = record.Value{Value: ms(fr.Stats.Elapsed), Unit: "ms", Better: record.Lower}
	res.Info["fit"] = map[string]any{
		"full_tokenizations": fr.Stats.Full, "estimate_tokenizations": fr.Stats.Estimate,
		"prefix_tokenizations": fr.Stats.Prefix, "tokenized_bytes": fr.Stats.Bytes,
		"units": fr.Units, "tail_words": fr.TailWords, "haystack_bytes": fr.HaystackBytes,
	}
	return res
}

// Generate fits req with m's tokenizer, asks m for a completion of at most
// maxTokens tokens ending at the first of stop, and starts the result: the
// fit's metrics (NewResult), the needle placements with needle primary as
// the headline (AddNeedles) and the completion (AddGeneration). The caller
// adds references and scores.
func Generate(ctx context.Context, m lm.Model, req *Request, maxTokens int, stop []string, primary int) (*tasks.Result, *lm.GenerateResponse, error) {
	fr, err := Fit(ctx, m.Tokenize, req)
	if err != nil {
		return nil, nil, err
	}
	g, err := m.Generate(ctx, &lm.GenerateRequest{Prompt: fr.Prompt, MaxTokens: maxTokens, Stop: stop})
	if err != nil {
		return nil, nil, err
	}
	res := NewResult(fr)
	AddNeedles(res, fr, primary)
	AddGeneration(res, fr, g)
	return res, g, nil
}

// Window returns n depths spread evenly over a window of width spread
// centred at depth and moved inside [0, 1] (one depth: depth itself). Tasks
// that plant several needles around a cell's depth place them at these
// depths.
func Window(depth, spread float64, n int) []float64 {
	if n == 1 {
		return []float64{depth}
	}
	lo, hi := depth-spread/2, depth+spread/2
	if lo < 0 {
		lo, hi = 0, spread
	}
	if hi > 1 {
		lo, hi = 1-spread, 1
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return out
}

// AddNeedles records needle placements: needle_token_position and
// depth_actual of the primary needle (index primary of fr.Needles) as
// metrics, every needle's position and depth in Info.
func AddNeedles(res *tasks.Result, fr *Result, primary int) {
	if len(fr.Needles) == 0 {
		return
	}
	p := fr.Needles[primary]
	res.Metrics["needle_token_position"] = record.Value{Value: float64(p.Token), Unit: "tokens"}
	res.Metrics["depth_actual"] = record.Value{Value: p.Depth, Unit: "ratio"}
	pos := make([]int, len(fr.Needles))
	depths := make([]float64, len(fr.Needles))
	for i, n := range fr.Needles {
		pos[i], depths[i] = n.Token, n.Depth
	}
	res.Info["needle_token_positions"] = pos
	res.Info["needle_depths"] = depths
}

// AddGeneration records a completion: Output, output_tokens, the timings
// tokenize_ms, prefill_ms (time to the first token), decode_ms (mean time
// of the later tokens) and total_ms, the rates prefill_tokens_per_s and
// decode_tokens_per_s, peak_kv_mib and the attended fractions when the
// backend measured them.
func AddGeneration(res *tasks.Result, fr *Result, g *lm.GenerateResponse) {
	res.Output = g.Text
	res.Metrics["output_tokens"] = record.Value{Value: float64(g.OutputTokens), Unit: "tokens"}
	res.Info["finish_reason"] = g.FinishReason
	if g.PromptTokens != 0 && g.PromptTokens != fr.Tokens {
		// The backend fed a different number of tokens than its Tokenize
		// counted: the length axis of this record is off.
		res.Info["backend_prompt_tokens"] = g.PromptTokens
	}
	AddTiming(res, g.Timing, g.PromptTokens)
}

// AddTiming records a backend's timing (see AddGeneration).
func AddTiming(res *tasks.Result, t lm.Timing, promptTokens int) {
	res.Timings["tokenize_ms"] = record.Value{Value: ms(t.Tokenize), Unit: "ms", Better: record.Lower}
	res.Timings["prefill_ms"] = record.Value{Value: ms(t.Prefill), Unit: "ms", Better: record.Lower}
	res.Timings["total_ms"] = record.Value{Value: ms(t.Total), Unit: "ms", Better: record.Lower}
	if t.Prefill > 0 && promptTokens > 0 {
		res.Metrics["prefill_tokens_per_s"] = record.Value{Value: float64(promptTokens) / t.Prefill.Seconds(), Unit: "tok/s", Better: record.Higher}
	}
	if len(t.Decode) > 0 {
		var sum time.Duration
		for _, d := range t.Decode {
			sum += d
		}
		mean := sum / time.Duration(len(t.Decode))
		res.Timings["decode_ms"] = record.Value{Value: ms(sum) / float64(len(t.Decode)), Unit: "ms", Better: record.Lower}
		if mean > 0 {
			res.Metrics["decode_tokens_per_s"] = record.Value{Value: float64(len(t.Decode)) / sum.Seconds(), Unit: "tok/s", Better: record.Higher}
		}
	}
	if t.PeakKVBytes > 0 {
		res.Metrics["peak_kv_mib"] = record.Value{Value: float64(t.PeakKVBytes) / (1 << 20), Unit: "MiB", Better: record.Lower}
	}
	if t.PeakDeviceBytes > 0 {
		res.Metrics["peak_device_mib"] = record.Value{Value: float64(t.PeakDeviceBytes) / (1 << 20), Unit: "MiB", Better: record.Lower}
	}
	if a := t.PrefillAttention; a != nil && a.VisibleTokens > 0 {
		res.Metrics["attended_fraction_prefill"] = record.Value{Value: float64(a.Tokens) / float64(a.VisibleTokens), Unit: "ratio"}
	}
	if a := t.DecodeAttention; a != nil && a.VisibleTokens > 0 {
		res.Metrics["attended_fraction_decode"] = record.Value{Value: float64(a.Tokens) / float64(a.VisibleTokens), Unit: "ratio"}
	}
}

// Metrics are the names NewResult, AddNeedles, AddGeneration and AddTiming
// may report, for tasks.Info.Metrics.
var Metrics = []string{"prompt_tokens", "target_tokens", "answer_budget", "haystack_units", "fit_tokenizations",
	"needle_token_position", "depth_actual", "output_tokens", "prefill_tokens_per_s", "decode_tokens_per_s",
	"peak_kv_mib", "peak_device_mib", "attended_fraction_prefill", "attended_fraction_decode",
	"fit_ms", "tokenize_ms", "prefill_ms", "decode_ms", "total_ms"}
