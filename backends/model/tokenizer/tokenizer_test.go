package tokenizer

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

const refDir = "../../../testdata/refmodels/tokenizers"

var names = []string{"bytelevel-gpt2", "bytelevel-llama3", "sentencepiece-bpe"}

type refCase struct {
	Text    string   `json:"text"`
	IDs     []int    `json:"ids"`
	Tokens  []string `json:"tokens"`
	Decoded string   `json:"decoded"`
}

type refTok struct {
	VocabSize int       `json:"vocab_size"`
	Cases     []refCase `json:"cases"`
}

func loadRef(t testing.TB) map[string]refTok {
	data, err := os.ReadFile(filepath.Join(refDir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]refTok
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func mustLoad(t testing.TB, name string) *Tokenizer {
	tk, err := Load(filepath.Join(refDir, name, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestReference(t *testing.T) {
	ref := loadRef(t)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			tk := mustLoad(t, name)
			r, ok := ref[name]
			if !ok || len(r.Cases) == 0 {
				t.Fatalf("no reference cases for %s", name)
			}
			if tk.VocabSize() != r.VocabSize {
				t.Errorf("VocabSize = %d, want %d", tk.VocabSize(), r.VocabSize)
			}
			for i, c := range r.Cases {
				got := tk.Encode(c.Text)
				if !slices.Equal(got, c.IDs) {
					var toks []string
					for _, id := range got {
						toks = append(toks, tk.idToToken[id])
					}
					t.Errorf("case %d %q: ids\n got  %v %q\n want %v %q", i, c.Text, got, toks, c.IDs, c.Tokens)
				}
				if d := tk.Decode(c.IDs); d != c.Decoded {
					t.Errorf("case %d: Decode = %q, want %q", i, d, c.Decoded)
				}
				for j, tok := range c.Tokens {
					if id, ok := tk.TokenID(tok); !ok || id != c.IDs[j] {
						t.Errorf("case %d: TokenID(%q) = %d, %v, want %d", i, tok, id, ok, c.IDs[j])
					}
				}
				if c.Decoded == c.Text {
					if rt := tk.Decode(tk.Encode(c.Text)); rt != c.Text {
						t.Errorf("case %d: round trip %q, want %q", i, rt, c.Text)
					}
				}
			}
		})
	}
}

func TestAddedTokensMatchedFirst(t *testing.T) {
	tk := mustLoad(t, "bytelevel-gpt2")
	got := tk.Encode("<s>x</s>")
	want := append(append([]int{1}, tk.Encode("x")...), 2)
	if !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	base, err := os.ReadFile(filepath.Join(refDir, "bytelevel-gpt2", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(map[string]any)) []byte {
		var d map[string]any
		b, _ := json.Marshal(doc)
		_ = json.Unmarshal(b, &d)
		f(d)
		out, _ := json.Marshal(d)
		return out
	}
	cases := []struct {
		data []byte
		want string
	}{
		{[]byte("{"), "tokenizer.json: invalid JSON"},
		{mod(func(d map[string]any) { d["pre_tokenizer"] = map[string]any{"type": "Metaspace"} }), `tokenizer.json: pre_tokenizer: type "Metaspace" is not supported`},
		{mod(func(d map[string]any) { d["model"].(map[string]any)["type"] = "WordPiece" }), `model type "WordPiece" is not supported`},
		{mod(func(d map[string]any) {
			d["pre_tokenizer"] = map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `\w+`}, "behavior": "Isolated"}
		}), `Split regex "\\w+" is not supported`},
		{mod(func(d map[string]any) { d["decoder"] = map[string]any{"type": "WordPiece"} }), `decoder: type "WordPiece" is not supported`},
		{mod(func(d map[string]any) {
			d["decoder"] = map[string]any{"type": "Sequence", "decoders": []any{
				map[string]any{"type": "Fuse"},
				map[string]any{"type": "Sequence", "decoders": []any{map[string]any{"type": "CTC"}}},
			}}
		}), `decoder: decoders[1]: decoders[0]: type "CTC" is not supported`},
		{mod(func(d map[string]any) { d["pre_tokenizer"] = map[string]any{"type": "Sequence"} }), `pre_tokenizer: Sequence without "pretokenizers"`},
		{mod(func(d map[string]any) {
			d["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{map[string]any{"type": "Lowercase"}}}
		}), `normalizer: normalizers[0]: type "Lowercase" is not supported`},
		{mod(func(d map[string]any) { d["normalizer"] = map[string]any{"type": "BertNormalizer"} }), `normalizer: type "BertNormalizer" is not supported`},
		{mod(func(d map[string]any) { delete(d, "model") }), `missing key "model"`},
	}
	for i, c := range cases {
		_, err := Parse(c.data, "tokenizer.json")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("case %d: err = %v, want containing %q", i, err, c.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(refDir, name, "tokenizer.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{}"))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		_ = tk.Decode(tk.Encode(string(data[:min(len(data), 64)])))
	})
}

func FuzzEncode(f *testing.F) {
	tks := map[string]*Tokenizer{}
	for _, name := range names {
		tks[name] = mustLoad(f, name)
	}
	for _, c := range loadRef(f)["bytelevel-gpt2"].Cases {
		f.Add(c.Text)
	}
	f.Add("a\r\n \n  \t'S'LL\u00a0\u3000x ſ")
	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range names {
			tk := tks[name]
			ids := tk.Encode(s)
			d := tk.Decode(ids)
			if strings.HasPrefix(name, "bytelevel") && utf8.ValidString(s) && d != s {
				t.Errorf("%s: Decode(Encode(%q)) = %q", name, s, d)
			}
		}
	})
}

// The heap-based merge gives the same ids as the naive scan, on random
// texts made of the corpus words (so merges, ties and overlapping pairs are
// common) for each reference tokenizer.
func TestMergeMatchesNaive(t *testing.T) {
	words := strings.Fields("the of and to in is that needle haystack attention sparse dense block query aaa aaaa ll ss 12345 7281934 Zürich naïve 日本語 🙂 don't it's")
	for _, name := range []string{"bytelevel-gpt2", "bytelevel-llama3", "sentencepiece-bpe"} {
		tk, err := Load("../../../testdata/refmodels/tokenizers/" + name + "/tokenizer.json")
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(len(name)), 9))
		for trial := 0; trial < 200; trial++ {
			var b strings.Builder
			for i := rng.IntN(40); i >= 0; i-- {
				b.WriteString(words[rng.IntN(len(words))])
				b.WriteString([]string{" ", "  ", "", ", ", "\n"}[rng.IntN(5)])
			}
			text := b.String()
			got := tk.Encode(text)
			naiveMerge = true
			want := tk.Encode(text)
			naiveMerge = false
			if !slices.Equal(got, want) {
				t.Fatalf("%s: %q: heap merge %v, naive %v", name, text, got, want)
			}
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	var text strings.Builder
	for _, c := range loadRef(b)["bytelevel-gpt2"].Cases {
		text.WriteString(c.Text)
		text.WriteString("\n")
	}
	s := strings.Repeat(text.String(), 20)
	for _, name := range names {
		tk := mustLoad(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(s)))
			for b.Loop() {
				tk.Encode(s)
			}
		})
	}
}

// TestNFCNormalizer: an NFC normalizer (real Qwen2 tokenizers declare one)
// composes "e" + combining acute into "é" before tokenization.
func TestNFCNormalizer(t *testing.T) {
	data, err := os.ReadFile("../../../testdata/refmodels/tokenizers/bytelevel-llama3/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	raw["normalizer"] = map[string]any{"type": "NFC"}
	mod, _ := json.Marshal(raw)
	tk, err := Parse(mod, "nfc.json")
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := Parse(data, "plain.json")
	if got, want := tk.Encode("cafe\u0301"), plain.Encode("café"); !slices.Equal(got, want) {
		t.Fatalf("NFC: %v, want %v", got, want)
	}
	if slices.Equal(plain.Encode("cafe\u0301"), plain.Encode("café")) {
		t.Fatal("without NFC the decomposed form should tokenize differently")
	}
}
