package fit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends/model/tokenizer"
	"github.com/evalctl/evalctl/datasets/text"
	"github.com/evalctl/evalctl/tasks/internal/testmodel"
)

var tokNames = []string{"bytelevel-gpt2", "bytelevel-llama3", "sentencepiece-bpe"}

// tokenizeFunc is a plain template: BOS, then the text.
func tokenizeFunc(tk *tokenizer.Tokenizer) TokenizeFunc {
	bos, _ := tk.TokenID("<s>")
	return func(_ context.Context, s string) ([]int, error) {
		return append([]int{bos}, tk.Encode(s)...), nil
	}
}

const (
	instr    = "Some special magic numbers are hidden in the text below. Remember them.\n"
	question = "\nWhat is the special magic number for quiet-harbor? Answer: The number is"
)

func needleReq(target int, depth float64, src text.Source) *Request {
	return &Request{
		Target: target, Reserve: 32, Before: instr, After: question,
		Haystack: src.Sentences(1),
		Needles:  []Needle{{Text: "The special magic number for quiet-harbor is 4711042.", Depth: depth}},
	}
}

func TestFitLengthsAndDepths(t *testing.T) {
	lengths := []int{512, 1024, 4096, 16384}
	if testing.Short() {
		lengths = lengths[:3]
	}
	for _, name := range tokNames {
		tok := tokenizeFunc(testmodel.Tokenizer(t, name))
		for _, src := range []struct {
			name string
			s    text.Source
		}{{"essay", text.Essays()}, {"noise", text.Noise()}} {
			for _, target := range lengths {
				for _, depth := range []float64{0, 0.37, 1} {
					t.Run(fmt.Sprintf("%s/%s/%d/%g", name, src.name, target, depth), func(t *testing.T) {
						req := needleReq(target, depth, src.s)
						res, err := Fit(context.Background(), tok, req)
						if err != nil {
							t.Fatal(err)
						}
						ids, _ := tok(context.Background(), res.Prompt)
						if len(ids) != res.Tokens {
							t.Fatalf("Tokens %d, but the prompt has %d", res.Tokens, len(ids))
						}
						total := res.Tokens + req.Reserve
						if float64(total) < 0.99*float64(target) || total > target {
							t.Fatalf("prompt %d + reserve %d = %d outside [0.99*%d, %d]", res.Tokens, req.Reserve, total, target, target)
						}
						checkDepth(t, res, req, depth)
						checkPosition(t, testmodel.Tokenizer(t, name), res, req.Needles[0].Text)
						t.Logf("%d tokens (%d units + %d words), needle at token %d depth %.3f; tokenizations: %d full, %d estimate, %d prefix, %d KiB",
							res.Tokens, res.Units, res.TailWords, res.Needles[0].Token, res.Needles[0].Depth,
							res.Stats.Full, res.Stats.Estimate, res.Stats.Prefix, res.Stats.Bytes>>10)
					})
				}
			}
		}
	}
}

// checkDepth checks that the needle sits on a sentence boundary within one
// sentence of the requested depth, and that its token position is right.
func checkDepth(t *testing.T, res *Result, req *Request, depth float64) {
	t.Helper()
	pl := res.Needles[0]
	if !strings.HasPrefix(res.Prompt[pl.Offset:], req.Needles[0].Text) {
		t.Fatalf("needle not at offset %d", pl.Offset)
	}
	ctxStart, ctxEnd := len(req.Before), len(res.Prompt)-len(req.After)
	context := res.Prompt[ctxStart:ctxEnd]
	hay := strings.Replace(context, req.Needles[0].Text, "", 1)
	beforeNeedle := res.Prompt[ctxStart:pl.Offset]
	// On a boundary: the text before ends a sentence (or is empty), the
	// needle is followed by a separator or the end of the context.
	if b := strings.TrimSpace(beforeNeedle); b != "" && !strings.HasSuffix(b, ".") && !strings.HasSuffix(b, "?") {
		t.Fatalf("needle not after a sentence end: ...%q", b[max(0, len(b)-30):])
	}
	after := res.Prompt[pl.Offset+len(req.Needles[0].Text) : ctxEnd]
	if after != "" && !strings.HasPrefix(after, " ") && !strings.HasPrefix(after, "\n\n") {
		t.Fatalf("needle not followed by a separator: %q", after[:min(20, len(after))])
	}
	// Within one sentence of the target depth: the needle is on one of
	// the two boundaries of the sentence holding the requested point.
	var total, got int
	var lens []int
	for _, x := range text.SplitSentences(hay) {
		total += len(x.Text)
		lens = append(lens, len(x.Text))
	}
	for _, x := range text.SplitSentences(beforeNeedle) {
		got += len(x.Text)
	}
	if total != res.HaystackBytes {
		t.Fatalf("haystack has %d bytes, result says %d", total, res.HaystackBytes)
	}
	want := depth * float64(total)
	bound, pos := 0, 0
	for _, l := range lens {
		if float64(pos) <= want && want <= float64(pos+l) {
			bound = max(bound, l)
		}
		pos += l
	}
	if d := float64(got) - want; d > float64(bound) || d < -float64(bound) {
		t.Fatalf("needle %v bytes from the requested depth; the sentence there has %d", d, bound)
	}
	if got := float64(got) / float64(max(total, 1)); pl.Depth != got {
		t.Fatalf("actual depth %v, want %v", pl.Depth, got)
	}
	// The token position: the tokens before the needle in the full prompt
	// are those of the prefix, up to the boundary token.
	if pl.Token < 1 || pl.Token > res.Tokens {
		t.Fatalf("needle token %d of %d", pl.Token, res.Tokens)
	}
}

// checkPosition checks that the needle's first token in the full prompt is
// at its reported position.
func checkPosition(t *testing.T, tk *tokenizer.Tokenizer, res *Result, needle string) {
	t.Helper()
	ids, _ := tokenizeFunc(tk)(context.Background(), res.Prompt)
	pos := res.Needles[0].Token
	if got := strings.TrimLeft(tk.Decode(ids[pos:]), " "); !strings.HasPrefix(got, needle) {
		t.Fatalf("tokens from %d decode to %q, want the needle", pos, got[:min(len(got), 40)])
	}
	if got := strings.TrimRight(tk.Decode(ids[1:pos]), " "); !strings.HasSuffix(strings.TrimRight(res.Prompt[:res.Needles[0].Offset], " "), got) && pos > 1 {
		t.Fatalf("tokens before %d decode to ...%q", pos, got[max(0, len(got)-40):])
	}
}

func TestFitErrors(t *testing.T) {
	tok := tokenizeFunc(testmodel.Tokenizer(t, "bytelevel-gpt2"))
	ctx := context.Background()
	// The fixed parts alone exceed the target.
	_, err := Fit(ctx, tok, needleReq(40, 0.5, text.Noise()))
	if !errors.Is(err, ErrNoRoom) {
		t.Fatalf("tiny target: %v, want ErrNoRoom", err)
	}
	// Whole units of ~60 tokens cannot land within 1% of 300.
	pairs := text.StreamFunc(func() text.Sentence {
		return text.Sentence{Text: `"0b7e3f5a-1c2d-4e5f-8a9b-0c1d2e3f4a5b": "9f8e7d6c-5b4a-4321-8fed-cba987654321"`}
	})
	_, err = Fit(ctx, tok, &Request{Target: 300, Before: "{", After: "}", Haystack: pairs, Sep: ",\n", Whole: true})
	if !errors.Is(err, ErrWindow) {
		t.Fatalf("whole units: %v, want ErrWindow", err)
	}
	if _, err := Fit(ctx, tok, &Request{Target: 300, Haystack: pairs, Needles: []Needle{{Text: "x", Depth: 2}}}); err == nil {
		t.Fatal("depth 2 accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Fit(cctx, tok, needleReq(4096, 0.5, text.Essays())); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestFitRandom fits random targets, reserves, depths and needle counts:
// every result lands in its window with exact counts, or the error says
// why.
func TestFitRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	fits := 0
	defer func() {
		if fits < 45 {
			t.Errorf("only %d of 60 random requests fit", fits)
		}
	}()
	for i := 0; i < 60; i++ {
		name := tokNames[i%len(tokNames)]
		tok := tokenizeFunc(testmodel.Tokenizer(t, name))
		target := 200 + r.IntN(3000)
		req := &Request{
			Target: target, Reserve: r.IntN(64), Tolerance: []float64{0, 0.005, 0.02}[r.IntN(3)],
			Before: "Intro.\n", After: "\nQuestion?", Haystack: []text.Source{text.Essays(), text.Noise()}[r.IntN(2)].Sentences(r.Uint64()),
		}
		for j := r.IntN(4); j > 0; j-- {
			req.Needles = append(req.Needles, Needle{Text: fmt.Sprintf("Needle %d is here.", j), Depth: float64(r.IntN(101)) / 100})
		}
		res, err := Fit(ctx, tok, req)
		if err != nil {
			if !errors.Is(err, ErrWindow) && !errors.Is(err, ErrNoRoom) {
				t.Fatalf("case %d: %v", i, err)
			}
			continue
		}
		fits++
		ids, _ := tok(ctx, res.Prompt)
		tol := req.Tolerance
		if tol == 0 {
			tol = DefaultTolerance
		}
		low := target - int(float64(target)*tol)
		if len(ids) != res.Tokens || res.Tokens+req.Reserve > target || res.Tokens+req.Reserve < low {
			t.Fatalf("case %d (%s, target %d, reserve %d, tolerance %v): %d tokens (says %d)", i, name, target, req.Reserve, tol, len(ids), res.Tokens)
		}
		for j, n := range req.Needles {
			if strings.Count(res.Prompt, n.Text) != 1 || !strings.HasPrefix(res.Prompt[res.Needles[j].Offset:], n.Text) {
				t.Fatalf("case %d: needle %d missing or misplaced", i, j)
			}
		}
		if res.Stats.Full > 8 {
			t.Errorf("case %d: %d full tokenizations", i, res.Stats.Full)
		}
	}
}

func TestTrack(t *testing.T) {
	tok := tokenizeFunc(testmodel.Tokenizer(t, "bytelevel-llama3"))
	req := needleReq(2048, 0.2, text.Essays())
	req.Needles = append(req.Needles, Needle{Text: "Another needle.", Depth: 0.9}, Needle{Text: "A third needle.", Depth: 0.5})
	req.Track = []int{2}
	res, err := Fit(context.Background(), tok, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Needles[0].Token != -1 || res.Needles[1].Token != -1 || res.Needles[2].Token <= 0 || res.Stats.Prefix != 1 {
		t.Fatalf("placements %+v, %d prefix tokenizations", res.Needles, res.Stats.Prefix)
	}
	if !(res.Needles[0].Offset < res.Needles[2].Offset && res.Needles[2].Offset < res.Needles[1].Offset) {
		t.Fatalf("needles out of depth order: %+v", res.Needles)
	}
	req.Track = []int{3}
	req.Haystack = text.Essays().Sentences(1)
	if _, err := Fit(context.Background(), tok, req); err == nil {
		t.Fatal("Track out of range accepted")
	}
}
