package fit

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/tasks"
)

func TestParseStop(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{`\n\n`, []string{"\n\n"}},
		{`\n|END|`, []string{"\n", "END"}},
		{`a\|b|c\\`, []string{"a|b", `c\`}},
		{`\t\r`, []string{"\t\r"}},
	} {
		got, err := ParseStop(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseStop(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{`a\`, `\x`} {
		if _, err := ParseStop(bad); err == nil {
			t.Errorf("ParseStop(%q): no error", bad)
		}
	}
}

// escapeStop is ParseStop's inverse.
func escapeStop(stops []string) string {
	r := strings.NewReplacer(`\`, `\\`, "|", `\|`, "\n", `\n`, "\t", `\t`, "\r", `\r`)
	var parts []string
	for _, s := range stops {
		parts = append(parts, r.Replace(s))
	}
	return strings.Join(parts, "|")
}

func FuzzParseStop(f *testing.F) {
	for _, s := range []string{"", `\n\n`, `a\|b|c\\`, `\`, `||`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		stops, err := ParseStop(s)
		if err != nil {
			return
		}
		for _, x := range stops {
			if x == "" {
				t.Fatalf("empty stop string from %q", s)
			}
		}
		again, err := ParseStop(escapeStop(stops))
		if err != nil || !reflect.DeepEqual(again, stops) {
			t.Fatalf("round trip of %q: %q, %v", stops, again, err)
		}
	})
}

func TestResultPlumbing(t *testing.T) {
	fr := &Result{Tokens: 1000, Target: 1024, Reserve: 16, Units: 40,
		Needles: []Placement{{Token: 10, Depth: 0.01}, {Token: 500, Depth: 0.5}},
		Stats:   Stats{Full: 3, Estimate: 2, Prefix: 2, Elapsed: 1500 * time.Microsecond}}
	res := NewResult(fr)
	AddNeedles(res, fr, 1)
	g := &lm.GenerateResponse{Text: "42", PromptTokens: 1001, OutputTokens: 3, FinishReason: "stop", Timing: lm.Timing{
		Tokenize: time.Millisecond, Prefill: 200 * time.Millisecond, Decode: []time.Duration{10 * time.Millisecond, 30 * time.Millisecond},
		Total: 250 * time.Millisecond, PeakKVBytes: 3 << 20,
		PrefillAttention: &attention.Stats{Tokens: 30, VisibleTokens: 120},
	}}
	AddGeneration(res, fr, g)
	want := map[string]float64{
		"prompt_tokens": 1000, "target_tokens": 1024, "answer_budget": 16, "haystack_units": 40, "fit_tokenizations": 7,
		"needle_token_position": 500, "depth_actual": 0.5, "output_tokens": 3, "peak_kv_mib": 3,
		"decode_tokens_per_s": 50, "prefill_tokens_per_s": 5005, "attended_fraction_prefill": 0.25,
	}
	for k, v := range want {
		if got, ok := res.Metrics[k]; !ok || got.Value != v {
			t.Errorf("metric %s = %+v, want %v", k, got, v)
		}
	}
	for k, v := range map[string]float64{"fit_ms": 1.5, "tokenize_ms": 1, "prefill_ms": 200, "decode_ms": 20, "total_ms": 250} {
		if got := res.Timings[k]; got.Value != v || got.Unit != "ms" || got.Better != "lower" {
			t.Errorf("timing %s = %+v, want %v ms", k, got, v)
		}
	}
	if res.Output != "42" || res.Info["backend_prompt_tokens"] != 1001 || res.Info["finish_reason"] != "stop" {
		t.Errorf("output %q info %v", res.Output, res.Info)
	}
	for k := range res.Metrics {
		if !contains(Metrics, k) {
			t.Errorf("metric %s is not listed in Metrics", k)
		}
	}
	for k := range res.Timings {
		if !contains(Metrics, k) {
			t.Errorf("timing %s is not listed in Metrics", k)
		}
	}
	if _, err := TextModel(nil); err == nil {
		t.Error("TextModel(nil): no error")
	}
	var _ = tasks.Result{}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestWindow(t *testing.T) {
	for _, c := range []struct {
		depth, spread float64
		n             int
		want          []float64
	}{
		{0.5, 0.2, 1, []float64{0.5}},
		{0.5, 0.2, 3, []float64{0.4, 0.5, 0.6}},
		{0, 0.2, 3, []float64{0, 0.1, 0.2}},
		{1, 0.5, 2, []float64{0.5, 1}},
	} {
		got := Window(c.depth, c.spread, c.n)
		for i := range got {
			if d := got[i] - c.want[i]; d > 1e-12 || d < -1e-12 {
				t.Errorf("Window(%v, %v, %d) = %v, want %v", c.depth, c.spread, c.n, got, c.want)
				break
			}
		}
	}
}
