package fit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/tasks/internal/testmodel"
)

// listPrompt is a numbered list of n words with every word repeated reps
// times, in an order that depends on n (as the aggregation tasks build
// theirs), between fixed text.
func listPrompt(words []string, reps int) func(int) string {
	return func(n int) string {
		var items []string
		for i := 0; i < n; i++ {
			for range reps {
				items = append(items, words[i%len(words)])
			}
		}
		r := rand.New(rand.NewPCG(uint64(n), 7))
		for i := len(items) - 1; i > 0; i-- {
			j := r.IntN(i + 1)
			items[i], items[j] = items[j], items[i]
		}
		var b strings.Builder
		b.WriteString("Below is a numbered list of words. Find the most common ones.\n")
		for i, w := range items {
			fmt.Fprintf(&b, "%d. %s ", i+1, w)
		}
		b.WriteString("\nQuestion: which words are the most common? Answer:")
		return b.String()
	}
}

var countWords = strings.Fields("harbor lantern quietly meadow copper ladder violin orchard thunder velvet basket " +
	"whisper granite marble candle saddle compass tundra falcon")

func TestCountRealTokenizers(t *testing.T) {
	for _, name := range tokNames {
		tok := tokenizeFunc(testmodel.Tokenizer(t, name))
		for _, target := range []int{1024, 4096, 32768} {
			for _, reps := range []int{1, 3} {
				t.Run(fmt.Sprintf("%s/%d/x%d", name, target, reps), func(t *testing.T) {
					build := listPrompt(countWords, reps)
					req := &CountRequest{Target: target, Reserve: 120, Min: 10, Build: build}
					res, err := Count(context.Background(), tok, req)
					if err != nil {
						t.Fatal(err)
					}
					if res.Prompt != build(res.Units) {
						t.Fatal("the prompt is not Build(Units)")
					}
					ids, _ := tok(context.Background(), res.Prompt)
					if len(ids) != res.Tokens {
						t.Fatalf("Tokens %d, the prompt has %d", res.Tokens, len(ids))
					}
					total := res.Tokens + req.Reserve
					if total > target || total < target-target/100 {
						t.Fatalf("prompt %d + %d = %d outside [%d, %d]", res.Tokens, req.Reserve, total, target-target/100, target)
					}
					// The largest count: one more does not fit.
					next, _ := tok(context.Background(), build(res.Units+1))
					if len(next)+req.Reserve <= target {
						t.Fatalf("count %d fits too (%d tokens), Count returned %d", res.Units+1, len(next), res.Units)
					}
					if res.Stats.Full > 7 {
						t.Errorf("%d whole tokenizations, want at most 7", res.Stats.Full)
					}
					t.Logf("count %d, %d tokens, %d tokenizations", res.Units, res.Tokens, res.Stats.Full)
				})
			}
		}
	}
}

// wordTokens counts white-space separated words: a tokenizer whose counts
// the tests can predict.
func wordTokens(_ context.Context, s string) ([]int, error) {
	return make([]int, len(strings.Fields(s))), nil
}

// stepPrompt has fixed words plus per words for each count.
func stepPrompt(fixed, per int) func(int) string {
	return func(n int) string { return strings.Repeat("w ", fixed+per*n) }
}

func TestCountErrors(t *testing.T) {
	ctx := context.Background()
	// The smallest prompt does not fit.
	_, err := Count(ctx, wordTokens, &CountRequest{Target: 100, Reserve: 10, Min: 10, Build: stepPrompt(50, 5)})
	if !errors.Is(err, ErrNoRoom) || !strings.Contains(err.Error(), "count 10") {
		t.Fatalf("no room: %v", err)
	}
	// Each count adds 50 tokens; the window at 1000 is 10.
	_, err = Count(ctx, wordTokens, &CountRequest{Target: 1000, Reserve: 0, Build: stepPrompt(5, 50)})
	if !errors.Is(err, ErrWindow) {
		t.Fatalf("window: %v", err)
	}
	// A wider tolerance takes it: 19 counts = 955 tokens, 20 = 1005.
	res, err := Count(ctx, wordTokens, &CountRequest{Target: 1000, Tolerance: 0.05, Build: stepPrompt(5, 50)})
	if err != nil || res.Units != 19 || res.Tokens != 955 {
		t.Fatalf("tolerance 0.05: %+v %v", res, err)
	}
	// Max caps the count: everything fits, the cap is out of the window.
	_, err = Count(ctx, wordTokens, &CountRequest{Target: 1000, Max: 50, Build: stepPrompt(5, 1)})
	if !errors.Is(err, ErrWindow) || !strings.Contains(err.Error(), "largest count allowed") {
		t.Fatalf("max: %v", err)
	}
	for _, req := range []*CountRequest{
		{Target: 0, Build: stepPrompt(1, 1)},
		{Target: 10, Reserve: -1, Build: stepPrompt(1, 1)},
		{Target: 10, Tolerance: -1, Build: stepPrompt(1, 1)},
		{Target: 10},
		{Target: 10, Min: 20, Max: 10, Build: stepPrompt(1, 1)},
	} {
		if _, err := Count(ctx, wordTokens, req); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Count(cancelled, wordTokens, &CountRequest{Target: 100, Build: stepPrompt(1, 1)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// fuzzTokens backs the token slices of FuzzCount's tokenizer: a prompt of
// a billion tokens must not allocate them. It is longer than any target, so
// the cap keeps the token counts monotone and above every budget.
var fuzzTokens = make([]int, 1<<17)

// FuzzCount checks the search on prompts of fixed + per·n + curve·n²/1000
// words (monotone), against every count: the result is the largest count
// that fits, and it is returned exactly when it lands in the window.
func FuzzCount(f *testing.F) {
	f.Add(uint16(30), uint8(3), uint8(0), uint16(1000), uint8(1), uint16(0))
	f.Add(uint16(300), uint8(17), uint8(5), uint16(4096), uint8(1), uint16(10))
	f.Add(uint16(2), uint8(1), uint8(200), uint16(50000), uint8(3), uint16(7))
	f.Fuzz(func(t *testing.T, fixed uint16, per, curve uint8, target uint16, tolPct uint8, minCount uint16) {
		if per == 0 || target == 0 {
			return
		}
		tokens := func(n int) int {
			return min(int(fixed)+int(per)*n+int(curve)*n*n/1000, len(fuzzTokens))
		}
		build := func(n int) string { return strconv.Itoa(tokens(n)) }
		tok := func(_ context.Context, s string) ([]int, error) {
			n, err := strconv.Atoi(s)
			return fuzzTokens[:min(n, len(fuzzTokens))], err
		}
		tol := float64(tolPct%50+1) / 100
		req := &CountRequest{Target: int(target), Reserve: 5, Tolerance: tol, Min: int(minCount), Build: build}
		res, err := Count(context.Background(), tok, req)
		budget := int(target) - 5
		low := int(target) - int(float64(target)*tol) - 5
		if tokens(int(minCount)) > budget {
			if !errors.Is(err, ErrNoRoom) {
				t.Fatalf("min does not fit: %v", err)
			}
			return
		}
		best := int(minCount)
		for tokens(best+1) <= budget && best < 4*int(target)+64 {
			best++
		}
		if tokens(best) < low {
			if !errors.Is(err, ErrWindow) {
				t.Fatalf("count %d (%d tokens) is below the window %d: %v %+v", best, tokens(best), low, err, res)
			}
			return
		}
		if err != nil {
			t.Fatalf("count %d fits the window: %v", best, err)
		}
		if res.Units != best || res.Tokens != tokens(best) {
			t.Fatalf("count %d (%d tokens), want %d (%d)", res.Units, res.Tokens, best, tokens(best))
		}
		if res.Stats.Full > 40 {
			t.Fatalf("%d tokenizations", res.Stats.Full)
		}
	})
}
