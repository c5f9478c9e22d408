package params

import (
	"errors"
	"strings"
	"testing"
)

var specs = []Spec{
	IntSpec("topk", 96, "blocks").Range(1, 1000),
	FloatSpec("depth", 0.5, "depth").Range(0, 1),
	StringSpec("lse", "exact", "normaliser", "exact", "approx"),
	BoolSpec("nope", false, "pre-rotary"),
}

func TestResolveDefaultsAndConversion(t *testing.T) {
	got, err := Resolve(specs, map[string]any{"topk": "2K", "depth": int64(1), "nope": "true"})
	if err == nil {
		t.Fatalf("topk 2K > max accepted: %v", got)
	}
	got, err = Resolve(specs, map[string]any{"topk": float64(32), "depth": int64(1), "nope": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Int("topk") != 32 || got.Float("depth") != 1 || got.String("lse") != "exact" || !got.Bool("nope") {
		t.Errorf("resolved %v", got)
	}
}

func TestResolveErrors(t *testing.T) {
	cases := []struct {
		raw  map[string]any
		want []string
	}{
		{map[string]any{"top_k": 3}, []string{`"top_k"`, "unknown", "topk"}},
		{map[string]any{"topk": 0}, []string{`"topk"`, "bad value 0", "int in [1, 1000]"}},
		{map[string]any{"topk": 2.5}, []string{"not an integer"}},
		{map[string]any{"depth": "deep"}, []string{`"depth"`, "not a number"}},
		{map[string]any{"lse": "fast"}, []string{"fast", "one of exact, approx"}},
		{map[string]any{"nope": "maybe"}, []string{"not a boolean"}},
	}
	for _, c := range cases {
		_, err := Resolve(specs, c.raw)
		var pe *Error
		if !errors.As(err, &pe) {
			t.Fatalf("%v: error %v is not a *Error", c.raw, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %q lacks %q", c.raw, err, w)
			}
		}
	}
}

func TestSizes(t *testing.T) {
	for s, want := range map[string]int64{"1024": 1024, "1K": 1024, "32k": 32768, "1M": 1 << 20, "1_000": 1000, "-1": -1} {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "K", "1.5K", "1G", "x", "99999999999999999999"} {
		if _, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q): no error", s)
		}
	}
	for n, want := range map[int64]string{1024: "1K", 131072: "128K", 1 << 20: "1M", 1000: "1000", 0: "0"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1K", "32k", "1M", "7", "-3", "9223372036854775807", "8796093022208M"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		// A parsed size formats and parses back to itself.
		if m, err := ParseSize(FormatSize(n)); err != nil || m != n {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, n, FormatSize(n), m, err)
		}
	})
}
