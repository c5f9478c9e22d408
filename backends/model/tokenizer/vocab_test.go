package tokenizer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// vocabFromJSON builds, independently of Vocab, the GGUF-style vocabulary of
// a reference tokenizer.json: tokens in id order, the merges as "a b", the
// types from the added tokens (the model's unk_token unknown, <0xNN> byte,
// the others control) and, for the SentencePiece-style one, scores = -rank of the merge
// that creates each token (0 for base tokens). BOS is <s>, EOS </s>.
func vocabFromJSON(t testing.TB, name string) Vocab {
	data, err := os.ReadFile(filepath.Join(refDir, name, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
		Model struct {
			Vocab    map[string]int `json:"vocab"`
			Merges   [][2]string    `json:"merges"`
			UnkToken *string        `json:"unk_token"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	n := len(f.Model.Vocab)
	v := Vocab{Model: "gpt2", Tokens: make([]string, n), Types: make([]int32, n), BOS: -1, EOS: -1, UNK: -1}
	for tok, id := range f.Model.Vocab {
		v.Tokens[id] = tok
		v.Types[id] = TokenNormal
	}
	for _, a := range f.AddedTokens {
		switch {
		case strings.HasPrefix(a.Content, "<0x"):
			v.Types[a.ID] = TokenByte
		case f.Model.UnkToken != nil && a.Content == *f.Model.UnkToken:
			v.Types[a.ID] = TokenUnknown
		default:
			v.Types[a.ID] = TokenControl
		}
		switch a.Content {
		case "<s>":
			v.BOS = a.ID
		case "</s>":
			v.EOS = a.ID
		}
	}
	for _, m := range f.Model.Merges {
		v.Merges = append(v.Merges, m[0]+" "+m[1])
	}
	switch name {
	case "bytelevel-gpt2":
		v.Pre = "gpt-2"
	case "bytelevel-llama3":
		v.Pre = "llama-bpe"
	case "sentencepiece-bpe":
		v.Model, v.Pre = "llama", "default"
		v.UNK = f.Model.Vocab[*f.Model.UnkToken]
		v.Scores = make([]float32, n)
		seen := map[string]bool{}
		for rank, m := range f.Model.Merges {
			if tok := m[0] + m[1]; !seen[tok] {
				seen[tok] = true
				v.Scores[f.Model.Vocab[tok]] = -float32(rank)
			}
		}
	}
	return v
}

// checkRef checks tk against every reference case of name.
func checkRef(t *testing.T, tk *Tokenizer, name string) {
	t.Helper()
	r := loadRef(t)[name]
	if len(r.Cases) == 0 {
		t.Fatalf("no reference cases for %s", name)
	}
	if tk.VocabSize() != r.VocabSize {
		t.Errorf("VocabSize = %d, want %d", tk.VocabSize(), r.VocabSize)
	}
	for i, c := range r.Cases {
		if got := tk.Encode(c.Text); !slices.Equal(got, c.IDs) {
			t.Errorf("case %d %q: ids\n got  %v\n want %v", i, c.Text, got, c.IDs)
		}
		if d := tk.Decode(c.IDs); d != c.Decoded {
			t.Errorf("case %d: Decode = %q, want %q", i, d, c.Decoded)
		}
	}
}

func TestFromVocabReference(t *testing.T) {
	for _, name := range names {
		v := vocabFromJSON(t, name)
		t.Run(name, func(t *testing.T) {
			tk, err := FromVocab(v)
			if err != nil {
				t.Fatal(err)
			}
			checkRef(t, tk, name)
		})
		if v.Model == "llama" {
			// The same vocabulary ranked by the scores alone, as a GGUF
			// file of a SentencePiece model has it.
			v.Merges = nil
			t.Run(name+"/scores", func(t *testing.T) {
				tk, err := FromVocab(v)
				if err != nil {
					t.Fatal(err)
				}
				checkRef(t, tk, name)
			})
		}
	}
}

// Added tokens of a vocabulary (control, user-defined, unknown) are matched
// in the text; byte and unused ones are not.
func TestFromVocabAddedTokens(t *testing.T) {
	v := vocabFromJSON(t, "sentencepiece-bpe")
	tk, err := FromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := tk.TokenID("<s>")
	e, _ := tk.TokenID("</s>")
	got := tk.Encode("<s>hi</s>")
	want := append(append([]int{s}, tk.Encode("hi")...), e)
	if !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	if got := tk.Encode("<0x41>"); slices.Contains(got, 68) {
		t.Errorf("Encode(<0x41>) = %v: a byte token matched as an added token", got)
	}
}

func TestVocabRoundTrip(t *testing.T) {
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			v, err := mustLoad(t, name).Vocab()
			if err != nil {
				t.Fatal(err)
			}
			want := vocabFromJSON(t, name)
			want.BOS, want.EOS = -1, -1 // tokenizer.json does not name them
			if !reflect.DeepEqual(v, want) {
				t.Errorf("Vocab differs from the one built from tokenizer.json:\n%s", vocabDiff(v, want))
			}
			tk, err := FromVocab(v)
			if err != nil {
				t.Fatal(err)
			}
			checkRef(t, tk, name)
			v2, err := tk.Vocab()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, v2) {
				t.Errorf("Vocab after FromVocab differs:\n%s", vocabDiff(v2, v))
			}
		})
	}
	// A scores-only vocabulary comes back scores-only.
	v := vocabFromJSON(t, "sentencepiece-bpe")
	v.Merges = nil
	tk, err := FromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := tk.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, v2) {
		t.Errorf("scores-only Vocab round trip differs:\n%s", vocabDiff(v2, v))
	}
}

func vocabDiff(got, want Vocab) string {
	var b strings.Builder
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < gv.NumField(); i++ {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			gs, ws := fmt.Sprint(g), fmt.Sprint(w)
			fmt.Fprintf(&b, "  %s:\n    got  %.300s\n    want %.300s\n", gv.Type().Field(i).Name, gs, ws)
		}
	}
	return b.String()
}

func TestFromVocabErrors(t *testing.T) {
	good := func() Vocab {
		return Vocab{
			Model:  "gpt2",
			Tokens: []string{"a", "b", "ab", "<s>"},
			Types:  []int32{1, 1, 1, 3},
			Merges: []string{"a b"},
			BOS:    3, EOS: -1, UNK: -1,
		}
	}
	if _, err := FromVocab(good()); err != nil {
		t.Fatalf("good vocabulary: %v", err)
	}
	cases := []struct {
		mod  func(*Vocab)
		want string
	}{
		{func(v *Vocab) { v.Model = "bert" }, `model "bert" is not supported (want "gpt2" or "llama")`},
		{func(v *Vocab) { v.Pre = "deepseek-llm" }, `pre "deepseek-llm" is not supported for model gpt2`},
		{func(v *Vocab) { v.Model, v.Pre = "llama", "qwen2" }, `pre "qwen2" is not supported for model llama`},
		{func(v *Vocab) { v.Merges = nil }, `merges: none given`},
		{func(v *Vocab) { v.Model, v.Merges = "llama", nil }, `merges, scores: neither is given`},
		{func(v *Vocab) { v.Tokens = nil; v.BOS = -1 }, `tokens: none given`},
		{func(v *Vocab) { v.Tokens[2] = "a" }, `tokens[2]: duplicate token "a" (also tokens[0])`},
		{func(v *Vocab) { v.Tokens[1] = "" }, `tokens[1]: empty token`},
		{func(v *Vocab) { v.Types = v.Types[:2] }, `types: 2 entries for 4 tokens`},
		{func(v *Vocab) { v.Types[2] = 9 }, `types[2]: 9 is not a token type (want 0 to 6)`},
		{func(v *Vocab) { v.Scores = []float32{0} }, `scores: 1 entries for 4 tokens`},
		{func(v *Vocab) { v.Scores = []float32{0, 0, float32(nan()), 0} }, `scores[2]: NaN (want a finite number)`},
		{func(v *Vocab) { v.Merges = []string{"ab"} }, `merges[0]: "ab" is not "a b"`},
		{func(v *Vocab) { v.Merges = []string{"a b", "b a"} }, `merges[1]: "b a": "b", "a" or "ba" is not a token`},
		{func(v *Vocab) { v.BOS = 4 }, `bos: id 4 is out of range (want -1 for none, or 0 to 3)`},
		{func(v *Vocab) { v.UNK = -2 }, `unk: id -2 is out of range`},
	}
	for i, c := range cases {
		v := good()
		c.mod(&v)
		_, err := FromVocab(v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: err = %v, want containing %q", i, err, c.want)
		}
	}
}

func nan() float64 {
	var z float64
	return z / z
}

// A token may hold a space; the merge "a b" is then split where the parts
// are tokens.
func TestVocabMergeWithSpace(t *testing.T) {
	v := Vocab{Model: "gpt2", Tokens: []string{"x", "y", "x y", "x yy"}, Merges: []string{"x y y"}, BOS: -1, EOS: -1, UNK: -1}
	tk, err := FromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := tk.merges[[2]int{2, 1}]; !ok || m.id != 3 {
		t.Errorf("merges = %v, want (x y, y) -> x yy", tk.merges)
	}
	back, err := tk.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Merges, v.Merges) {
		t.Errorf("Vocab().Merges = %q, want %q", back.Merges, v.Merges)
	}
}

// Scores rank merges highest first, and any split of a normal token is a
// merge: "abc" forms from "a"+"bc" even though no merge list says so.
func TestFromVocabScores(t *testing.T) {
	v := Vocab{
		Model:  "llama",
		Tokens: []string{"<unk>", "▁", "a", "b", "c", "ab", "bc", "abc", "▁abc"},
		Scores: []float32{0, 0, 0, 0, 0, -2, -1, -3, -4},
		Types:  []int32{2, 1, 1, 1, 1, 1, 1, 1, 1},
		BOS:    -1, EOS: -1, UNK: 0,
	}
	tk, err := FromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	// "▁abc": bc (-1) before ab (-2); then a+bc = abc (-3); then ▁+abc (-4).
	if got := tk.Encode("abc"); !slices.Equal(got, []int{8}) {
		t.Errorf("Encode(abc) = %v, want [8]", got)
	}
	// "▁abca": ▁abc then a.
	if got := tk.Encode("abca"); !slices.Equal(got, []int{8, 2}) {
		t.Errorf("Encode(abca) = %v, want [8 2]", got)
	}
	// No byte tokens: an unknown character is UNK, runs of them fused.
	if got := tk.Encode("a€€"); !slices.Equal(got, []int{1, 2, 0}) {
		t.Errorf("Encode(a€€) = %v, want [1 2 0]", got)
	}
}

// The naive and heap merges agree on score-ranked merges too, where ties
// between equal ranks are common.
func TestScoreMergeMatchesNaive(t *testing.T) {
	v := vocabFromJSON(t, "sentencepiece-bpe")
	v.Merges = nil
	for i := range v.Scores {
		v.Scores[i] = float32(int(v.Scores[i]) / 20) // coarse: many ties
	}
	tk, err := FromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields("the of and to in is that needle haystack attention sparse dense block query aaa aaaa ll ss 12345 Zürich naïve 日本語 🙂 don't")
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 200; trial++ {
		var b strings.Builder
		for i := rng.IntN(30); i >= 0; i-- {
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteString([]string{" ", "  ", "", ", "}[rng.IntN(4)])
		}
		got := tk.Encode(b.String())
		naiveMerge = true
		want := tk.Encode(b.String())
		naiveMerge = false
		if !slices.Equal(got, want) {
			t.Fatalf("%q: heap merge %v, naive %v", b.String(), got, want)
		}
	}
}

func TestVocabErrors(t *testing.T) {
	base, err := os.ReadFile(filepath.Join(refDir, "bytelevel-gpt2", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(map[string]any)) []byte {
		var d map[string]any
		_ = json.Unmarshal(base, &d)
		f(d)
		out, _ := json.Marshal(d)
		return out
	}
	cases := []struct {
		data []byte
		want string
	}{
		{mod(func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "ByteLevel", "add_prefix_space": true}
		}),
			"the pre-tokenizer is not ByteLevel with the GPT-2, Llama-3 or Qwen2 split"},
		{mod(func(d map[string]any) { d["decoder"] = map[string]any{"type": "Fuse"} }),
			"neither byte-level BPE nor SentencePiece-style BPE"},
		{mod(func(d map[string]any) {
			d["added_tokens"] = append(d["added_tokens"].([]any), map[string]any{"id": 1000, "content": "<x>"})
		}), "id 384 has no token, but GGUF ids are dense (0 to 384)"},
		{mod(func(d map[string]any) {
			d["added_tokens"] = append(d["added_tokens"].([]any), map[string]any{"id": 5, "content": "<x>"})
		}), `id 5 is both the vocabulary token`},
	}
	for i, c := range cases {
		tk, err := Parse(c.data, "tokenizer.json")
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		_, err = tk.Vocab()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: err = %v, want containing %q", i, err, c.want)
		}
	}
}

// FromVocab never panics, and what it accepts encodes, decodes and comes
// back unchanged through Vocab.
func FuzzFromVocab(f *testing.F) {
	f.Add("a\x00b\x00ab\x00<s>", "a b", "\x01\x01\x01\x03", false, 3)
	f.Add("▁\x00a\x00b\x00▁a\x00ab\x00<0x41>", "", "\x01\x01\x01\x01\x01\x06", true, -1)
	f.Fuzz(func(t *testing.T, tokens, merges, types string, llama bool, bos int) {
		if len(tokens)+len(merges) > 2000 {
			return // a token of many kilobytes costs quadratic time; real ones are short
		}
		v := Vocab{Model: "gpt2", Tokens: strings.Split(tokens, "\x00"), BOS: bos, EOS: -1, UNK: -1}
		if merges != "" {
			v.Merges = strings.Split(merges, "\n")
		}
		if llama {
			v.Model = "llama"
			v.Scores = make([]float32, len(v.Tokens))
			for i := range v.Scores {
				v.Scores[i] = -float32(len(v.Tokens[i]) % 5)
			}
		}
		if types != "" {
			for _, c := range []byte(types) {
				v.Types = append(v.Types, int32(c))
			}
		}
		tk, err := FromVocab(v)
		if err != nil {
			return
		}
		text := strings.Join(v.Tokens, " ")
		_ = tk.Decode(tk.Encode(text))
		v2, err := tk.Vocab()
		if err != nil {
			t.Fatalf("Vocab: %v", err)
		}
		tk2, err := FromVocab(v2)
		if err != nil {
			t.Fatalf("FromVocab(Vocab()): %v", err)
		}
		if a, b := tk.Encode(text), tk2.Encode(text); !slices.Equal(a, b) {
			t.Fatalf("round trip encodes %q as %v, was %v", text, b, a)
		}
	})
}
