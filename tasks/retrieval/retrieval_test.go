package retrieval

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
	"github.com/evalctl/evalctl/tasks/internal/testmodel"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

var (
	passkeyRe = regexp.MustCompile(`The pass key is (\d+)\. Remember it\.`)
	kvKeyRe   = regexp.MustCompile(`\nKey: "([0-9a-f-]+)"\n`)
	vtValueRe = regexp.MustCompile(`holding the value (\d+) in the text above\?`)
	vtStmtRe  = regexp.MustCompile(`VAR ([A-Z]+) = (VAR )?([A-Z0-9]+)\.`)
)

// oracle reads the prompt like a perfect model.
func oracle(prompt string) string {
	switch {
	case strings.Contains(prompt, "\nWhat is the pass key?"):
		ctx := prompt[:strings.LastIndex(prompt, "\nWhat is the pass key?")]
		if m := passkeyRe.FindStringSubmatch(ctx); m != nil {
			return " " + m[1] + "."
		}
	case strings.Contains(prompt, "JSON data:"):
		k := kvKeyRe.FindStringSubmatchIndex(prompt)
		if k == nil {
			break
		}
		key := prompt[k[2]:k[3]]
		if m := regexp.MustCompile(regexp.QuoteMeta(`"`+key+`": "`) + `([0-9a-f-]+)"`).FindStringSubmatch(prompt[:k[0]]); m != nil {
			return " " + m[1]
		}
	default:
		q := vtValueRe.FindStringSubmatchIndex(prompt)
		if q == nil {
			break
		}
		value := prompt[q[2]:q[3]]
		holds := map[string]bool{value: true}
		var names []string
		for changed := true; changed; {
			changed = false
			for _, st := range vtStmtRe.FindAllStringSubmatch(prompt[:q[0]], -1) {
				if holds[st[3]] && !holds[st[1]] {
					holds[st[1]] = true
					names = append(names, st[1])
					changed = true
				}
			}
		}
		return " " + strings.Join(names, ", ")
	}
	return " I do not know."
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

func TestScores(t *testing.T) {
	toks := []string{"bytelevel-gpt2", "bytelevel-llama3", "sentencepiece-bpe"}
	for vi, v := range []struct {
		name    string
		raw     map[string]any
		lengths []int
	}{
		{"passkey-noise", map[string]any{}, []int{512, 1024, 4096}},
		{"passkey-essay", map[string]any{"haystack": "essay", "digits": 9}, []int{1024, 2048}},
		// A JSON pair is about 80 tokens with these small vocabularies:
		// whole pairs meet 1% from 8K on, or a wider tolerance.
		{"kv", map[string]any{"kind": "kv"}, []int{8192}},
		{"kv-tolerance", map[string]any{"kind": "kv", "tolerance": 0.1}, []int{1024, 2048}},
		{"vt", map[string]any{"kind": "vt", "max_tokens": 64}, []int{1024, 2048, 4096}},
		{"vt-distractors", map[string]any{"kind": "vt", "max_tokens": 64, "chains": 3, "hops": 2, "haystack": "essay"}, []int{1024, 4096}},
	} {
		for _, length := range v.lengths {
			tok := toks[(vi+length/1024)%len(toks)]
			t.Run(fmt.Sprintf("%s/%d/%s", v.name, length, tok), func(t *testing.T) {
				tk := newTask(t, v.raw)
				cell := tasks.Cell{Length: length, Depth: 0.6, Seed: int64(100*vi + length)}
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
	total := len(ids) + tk.budget
	if tol := tk.p.Float("tolerance"); total > cell.Length || float64(total) < (1-tol)*float64(cell.Length) {
		t.Fatalf("prompt %d + budget %d outside [%v*%d, %d]", len(ids), tk.budget, 1-tol, cell.Length, cell.Length)
	}
	pos := int(res.Metrics["needle_token_position"].Value)
	primary := s.Request.Needles[s.Primary].Text
	if got := strings.TrimLeft(m.Tok.Decode(ids[pos:]), " "); !strings.HasPrefix(got, primary) {
		t.Fatalf("needle_token_position %d decodes to %q, want %q", pos, got[:min(40, len(got))], primary)
	}
	if res.Metrics["target_tokens"].Value != float64(cell.Length) || res.Info["kind"] != tk.kind || res.Info["scorer"] != Scorer {
		t.Fatalf("metrics %v info %v", res.Metrics, res.Info)
	}
	if _, ok := res.Timings["prefill_ms"]; !ok {
		t.Fatal("no prefill_ms")
	}
}

func TestKVIsJSON(t *testing.T) {
	tk := newTask(t, map[string]any{"kind": "kv"})
	m := testmodel.New(t, "bytelevel-llama3", oracle)
	cell := tasks.Cell{Length: 16384, Depth: 0.25, Seed: 5}
	s, _ := tk.Build(cell)
	fr, err := fit.Fit(context.Background(), m.Tokenize, s.Request)
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(fr.Prompt, "{")
	end := strings.LastIndex(fr.Prompt, "}")
	var obj map[string]string
	if err := json.Unmarshal([]byte(fr.Prompt[start:end+1]), &obj); err != nil {
		t.Fatalf("the context is not a JSON object: %v", err)
	}
	if len(obj) != fr.Units+1 {
		t.Fatalf("%d pairs, want %d", len(obj), fr.Units+1)
	}
	key := kvKeyRe.FindStringSubmatch(fr.Prompt)[1]
	if obj[key] != s.References[0] {
		t.Fatalf("asked key maps to %q, want %q", obj[key], s.References[0])
	}
	if d := fr.Needles[0].Depth; d < 0.24 || d > 0.26 {
		t.Fatalf("asked pair at depth %v", d)
	}
}

func TestKVWindowError(t *testing.T) {
	tk := newTask(t, map[string]any{"kind": "kv"})
	m := testmodel.New(t, "bytelevel-gpt2", oracle)
	// 1% of 1K is 10 tokens, a pair is about 80: most samples miss.
	misses := 0
	for seed := int64(0); seed < 5; seed++ {
		_, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 1024, Depth: 0.5, Seed: seed})
		if errors.Is(err, fit.ErrWindow) {
			misses++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if misses == 0 {
		t.Fatal("no sample missed the 1% window with 80-token units")
	}
}

func TestVTChainOrder(t *testing.T) {
	tk := newTask(t, map[string]any{"kind": "vt", "chains": 2, "hops": 5, "spread": 1})
	m := testmodel.New(t, "sentencepiece-bpe", oracle)
	s, _ := tk.Build(tasks.Cell{Length: 4096, Depth: 0.5, Seed: 9})
	fr, err := fit.Fit(context.Background(), m.Tokenize, s.Request)
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for i := 0; i < 6; i++ {
		off := fr.Needles[i].Offset
		if off <= last {
			t.Fatalf("statement %d before statement %d", i, i-1)
		}
		last = off
	}
	if fr.Needles[0].Depth > 0.05 || fr.Needles[5].Depth < 0.95 {
		t.Fatalf("spread 1: chain from %v to %v", fr.Needles[0].Depth, fr.Needles[5].Depth)
	}
	if len(s.References) != 6 {
		t.Fatalf("references %q", s.References)
	}
}

func TestGolden(t *testing.T) {
	for _, v := range []struct {
		name string
		raw  map[string]any
	}{
		{"passkey", map[string]any{}},
		{"kv", map[string]any{"kind": "kv", "tolerance": 0.2}},
		{"vt", map[string]any{"kind": "vt", "chains": 2, "hops": 2, "max_tokens": 64}},
	} {
		t.Run(v.name, func(t *testing.T) {
			tk := newTask(t, v.raw)
			m := testmodel.New(t, "bytelevel-gpt2", oracle)
			cell := tasks.Cell{Length: 768, Depth: 0.5, Seed: 1}
			res, err := tk.Evaluate(context.Background(), m, cell)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := tk.Build(cell)
			fr, _ := fit.Fit(context.Background(), m.Tokenize, s.Request)
			got := fmt.Sprintf("references: %q\nprompt_tokens: %v\nneedle_token_position: %v\nscore: %v\n----\n%s\n",
				res.References, res.Metrics["prompt_tokens"].Value, res.Metrics["needle_token_position"].Value,
				res.Scores["string_match_all"], fr.Prompt)
			path := filepath.Join("testdata", v.name+".golden")
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
		})
	}
}

func TestSamplesDiffer(t *testing.T) {
	for _, kind := range []string{"passkey", "kv", "vt"} {
		tk := newTask(t, map[string]any{"kind": kind})
		a, _ := tk.Build(tasks.Cell{Length: 2048, Seed: 1})
		b, _ := tk.Build(tasks.Cell{Length: 2048, Seed: 1})
		c, _ := tk.Build(tasks.Cell{Length: 2048, Seed: 2})
		if strings.Join(a.References, ",") != strings.Join(b.References, ",") || a.Request.After != b.Request.After {
			t.Fatalf("%s: same seed, different samples", kind)
		}
		if strings.Join(a.References, ",") == strings.Join(c.References, ",") {
			t.Fatalf("%s: different seeds, same references", kind)
		}
	}
}

type notText struct{}

func (notText) Close() error { return nil }

func TestErrors(t *testing.T) {
	tk := newTask(t, nil)
	m := testmodel.New(t, "bytelevel-gpt2", oracle)
	if _, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 40, Seed: 1}); !errors.Is(err, fit.ErrNoRoom) {
		t.Fatalf("length 40: %v", err)
	}
	if _, err := tk.Evaluate(context.Background(), notText{}, tasks.Cell{Length: 1024}); err == nil {
		t.Fatal("not a text model: no error")
	}
	info, _ := tasks.Lookup("retrieval")
	for _, raw := range []map[string]any{{"haystack": "corpus"}, {"stop": `a\`}} {
		set, _ := params.Resolve(Specs, raw)
		if err := info.Check(set); err == nil {
			t.Errorf("Check(%v) passed", raw)
		}
	}
	if tk.budget != 16 || newTask(t, map[string]any{"kind": "vt"}).budget != 30 || newTask(t, map[string]any{"kind": "kv", "max_tokens": 7}).budget != 7 {
		t.Fatal("answer budgets")
	}
}
