package needle

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
	"github.com/evalctl/evalctl/tasks/internal/testmodel"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	questionRe = regexp.MustCompile(`Which special secret (\w+) for (.+) appear in the text above\?`)
)

// oracle reads the prompt like a perfect model: it finds the asked keys in
// the question and every value stated for them in the context.
func oracle(prompt string) string {
	m := questionRe.FindStringSubmatchIndex(prompt)
	if m == nil {
		return "I do not know."
	}
	context := prompt[:m[0]]
	keys := strings.Split(strings.ReplaceAll(prompt[m[4]:m[5]], " and ", ", "), ", ")
	var vals []string
	for _, k := range keys {
		re := regexp.MustCompile(`A special secret \w+ for ` + regexp.QuoteMeta(k) + ` is (\S+)\.(?:\s|$)`)
		for _, sm := range re.FindAllStringSubmatch(context, -1) {
			vals = append(vals, sm[1])
		}
	}
	return " " + strings.Join(vals, ", ") + "."
}

func wrong(prompt string) string { return testmodel.Garble(oracle(prompt)) }

func newTask(t testing.TB, raw map[string]any) *Task {
	t.Helper()
	set, err := params.Resolve(Specs, raw)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := New(tasks.Config{Params: set})
	if err != nil {
		t.Fatal(err)
	}
	return tk.(*Task)
}

var variants = []struct {
	name string
	raw  map[string]any
}{
	{"single-essay", map[string]any{}},
	{"single-noise", map[string]any{"haystack": "noise"}},
	{"single-needle-haystack", map[string]any{"haystack": "needle"}},
	{"uuid-values", map[string]any{"value_type": "uuids", "key_type": "numbers"}},
	{"multikey", map[string]any{"keys": 4, "haystack": "noise"}},
	// A unit of this haystack is a needle of two UUIDs (about 90 tokens
	// with these small vocabularies): 1% of 1K cannot be hit.
	{"multikey-uuids", map[string]any{"keys": 3, "key_type": "uuids", "haystack": "needle", "tolerance": 0.1}},
	{"multivalue", map[string]any{"values_per_key": 4}},
	{"multiquery", map[string]any{"keys": 4, "queries": 3, "value_type": "words"}},
}

func TestScores(t *testing.T) {
	toks := []string{"bytelevel-gpt2", "bytelevel-llama3", "sentencepiece-bpe"}
	for vi, v := range variants {
		for _, length := range []int{1024, 2048, 4096} {
			tok := toks[(vi+length/1024)%len(toks)]
			t.Run(fmt.Sprintf("%s/%d/%s", v.name, length, tok), func(t *testing.T) {
				tk := newTask(t, v.raw)
				cell := tasks.Cell{Length: length, Depth: 0.3, Sample: 0, Seed: int64(1000*vi + length)}
				for _, c := range []struct {
					name   string
					answer func(string) string
					want   float64
				}{{"oracle", oracle, 1}, {"wrong", wrong, 0}} {
					m := testmodel.New(t, tok, c.answer)
					res, err := tk.Evaluate(context.Background(), m, cell)
					if err != nil {
						t.Fatal(err)
					}
					if got := res.Scores["string_match_all"]; got != c.want {
						t.Fatalf("%s: string_match_all = %v, want %v\noutput %q\nreferences %q", c.name, got, c.want, res.Output, res.References)
					}
					checkRecord(t, tk, m, cell, res)
				}
			})
		}
	}
}

// checkRecord checks the lengths and positions a record carries against an
// independent tokenization of the prompt.
func checkRecord(t *testing.T, tk *Task, m *testmodel.Model, cell tasks.Cell, res *tasks.Result) {
	t.Helper()
	s, err := tk.Build(cell)
	if err != nil {
		t.Fatal(err)
	}
	fr, err := fit.Fit(context.Background(), m.Tokenize, s.Request)
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := m.Tokenize(context.Background(), fr.Prompt)
	if got := int(res.Metrics["prompt_tokens"].Value); got != len(ids) {
		t.Fatalf("prompt_tokens %d, the prompt has %d", got, len(ids))
	}
	budget := tk.p.Int("max_tokens")
	total := len(ids) + budget
	tol := tk.p.Float("tolerance")
	if total > cell.Length || float64(total) < (1-tol)*float64(cell.Length) {
		t.Fatalf("prompt %d + budget %d outside [%v*%d, %d]", len(ids), budget, 1-tol, cell.Length, cell.Length)
	}
	if res.Metrics["target_tokens"].Value != float64(cell.Length) || res.Metrics["answer_budget"].Value != float64(budget) {
		t.Fatalf("target/budget metrics %v %v", res.Metrics["target_tokens"], res.Metrics["answer_budget"])
	}
	pos := int(res.Metrics["needle_token_position"].Value)
	primary := s.Request.Needles[s.Primary].Text
	if got := strings.TrimLeft(m.Tok.Decode(ids[pos:]), " "); !strings.HasPrefix(got, primary) {
		t.Fatalf("needle_token_position %d decodes to %q, want %q", pos, got[:min(40, len(got))], primary)
	}
	if d := res.Metrics["depth_actual"].Value; d < cell.Depth-0.2 || d > cell.Depth+0.2 {
		t.Fatalf("depth_actual %v for depth %v", d, cell.Depth)
	}
	for _, name := range []string{"prefill_ms", "decode_ms", "total_ms", "tokenize_ms", "fit_ms"} {
		if v, ok := res.Timings[name]; !ok || v.Unit != "ms" {
			t.Fatalf("timing %s missing or without unit: %+v", name, v)
		}
	}
	if want := float64(len(ids)) / 1000; res.Timings["prefill_ms"].Value != want {
		t.Fatalf("prefill_ms %v, want %v", res.Timings["prefill_ms"].Value, want)
	}
	if res.Output == "" || len(res.References) == 0 || res.Info["scorer"] != Scorer {
		t.Fatalf("output %q references %q info %v", res.Output, res.References, res.Info["scorer"])
	}
}

func TestReferences(t *testing.T) {
	tk := newTask(t, map[string]any{"keys": 5, "queries": 2, "values_per_key": 3})
	s, err := tk.Build(tasks.Cell{Length: 4096, Depth: 0.8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.References) != 6 || len(s.Asked) != 2 || len(s.Request.Needles) != 15 {
		t.Fatalf("%d references, %d asked, %d needles", len(s.References), len(s.Asked), len(s.Request.Needles))
	}
	// The asked needles sit in the window around the depth.
	for _, n := range s.Request.Needles[:6] {
		if n.Depth < 0.75-1e-9 || n.Depth > 0.85+1e-9 {
			t.Fatalf("asked needle at depth %v, want within [0.75, 0.85]", n.Depth)
		}
	}
	// Six slots 0.02 apart: the primary needle is one of the two next to
	// the depth.
	if d := s.Request.Needles[s.Primary].Depth; d < 0.79-1e-9 || d > 0.81+1e-9 {
		t.Fatalf("primary needle at %v", d)
	}
}

// TestGolden pins the prompts of a fixed seed at a short length: the same
// seed gives the same prompt on every machine.
func TestGolden(t *testing.T) {
	for _, v := range []struct {
		name string
		raw  map[string]any
	}{
		{"single-essay", map[string]any{}},
		{"multivalue-noise", map[string]any{"values_per_key": 2, "haystack": "noise"}},
		{"multikey-needle-uuids", map[string]any{"keys": 2, "key_type": "uuids", "value_type": "uuids", "haystack": "needle"}},
	} {
		t.Run(v.name, func(t *testing.T) {
			tk := newTask(t, v.raw)
			m := testmodel.New(t, "bytelevel-gpt2", oracle)
			res, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 768, Depth: 0.5, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			s, _ := tk.Build(tasks.Cell{Length: 768, Depth: 0.5, Seed: 1})
			fr, _ := fit.Fit(context.Background(), m.Tokenize, s.Request)
			got := fmt.Sprintf("references: %q\nprompt_tokens: %v\nneedle_token_position: %v\n----\n%s\n",
				res.References, res.Metrics["prompt_tokens"].Value, res.Metrics["needle_token_position"].Value, fr.Prompt)
			golden(t, v.name+".golden", got)
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(want) != got {
		t.Errorf("differs from %s (run with -update if intended)\ngot:\n%s", path, got)
	}
}

func TestSamplesDiffer(t *testing.T) {
	tk := newTask(t, nil)
	m := testmodel.New(t, "bytelevel-llama3", oracle)
	prompt := func(seed int64) string {
		s, err := tk.Build(tasks.Cell{Length: 2048, Depth: 0.5, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		fr, err := fit.Fit(context.Background(), m.Tokenize, s.Request)
		if err != nil {
			t.Fatal(err)
		}
		return fr.Prompt
	}
	a, b, c := prompt(11), prompt(11), prompt(12)
	if a != b {
		t.Fatal("same seed, different prompts")
	}
	if a == c {
		t.Fatal("different samples, same prompt")
	}
}

type notText struct{}

func (notText) Close() error { return nil }

func TestErrors(t *testing.T) {
	tk := newTask(t, nil)
	m := testmodel.New(t, "bytelevel-gpt2", oracle)
	_, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 150, Depth: 0.5, Seed: 1})
	if !errors.Is(err, fit.ErrNoRoom) {
		t.Fatalf("length 150: %v, want ErrNoRoom", err)
	}
	if _, err := tk.Evaluate(context.Background(), notText{}, tasks.Cell{Length: 1024}); err == nil || !strings.Contains(err.Error(), "not a text model") {
		t.Fatalf("not a text model: %v", err)
	}
	info, ok := tasks.Lookup("needle")
	if !ok {
		t.Fatal("needle is not registered")
	}
	for _, raw := range []map[string]any{
		{"keys": 2, "queries": 3},
		{"haystack": "corpus"},
		{"stop": `\q`},
	} {
		set, err := params.Resolve(Specs, raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := info.Check(set); err == nil {
			t.Errorf("Check(%v) passed", raw)
		}
	}
	// A corpus haystack reads the user's files.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte(strings.Repeat("The river bends here. It keeps going north. ", 200)), 0o644)
	ct := newTask(t, map[string]any{"haystack": "corpus", "corpus": dir})
	res, err := ct.Evaluate(context.Background(), m, tasks.Cell{Length: 1024, Depth: 0.5, Seed: 1})
	if err != nil || res.Scores["string_match_all"] != 1 {
		t.Fatalf("corpus haystack: %v %v", err, res)
	}
	set, _ := params.Resolve(Specs, map[string]any{"haystack": "corpus", "corpus": filepath.Join(dir, "missing")})
	if err := info.Check(set); err == nil {
		t.Fatal("missing corpus passed Check")
	}
	if !slices.Contains(info.Metrics, "string_match_all") || !info.UsesDepth {
		t.Fatal("info")
	}
}

// BenchmarkEvaluate32K runs a whole cell at 32K tokens against the oracle
// test model: drawing, fitting, the model's own tokenization and reading,
// scoring.
func BenchmarkEvaluate32K(b *testing.B) {
	tk := newTask(b, map[string]any{"keys": 4, "queries": 2})
	m := testmodel.New(b, "bytelevel-llama3", oracle)
	for i := 0; b.Loop(); i++ {
		res, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 32768, Depth: 0.5, Seed: int64(i)})
		if err != nil || res.Scores["string_match_all"] != 1 {
			b.Fatal(err, res.Scores)
		}
	}
}
