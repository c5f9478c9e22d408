package tokenizer

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Vocab is a tokenizer as a GGUF file's metadata stores it (the
// tokenizer.ggml.* keys), in plain Go values, so that a GGUF reader or
// writer needs nothing from this package but FromVocab and Tokenizer.Vocab.
type Vocab struct {
	// Model is "gpt2" (byte-level BPE) or "llama" (SentencePiece-style BPE:
	// "▁" for spaces, a "▁" before the text, byte fallback to "<0xNN>").
	Model string
	// Pre is llama.cpp's pre-tokenizer name. Model gpt2 takes "default" or
	// "gpt-2" (the GPT-2 regex), "llama-bpe" or "llama3" (the Llama-3 regex)
	// and "qwen2" (the Qwen2 regex); "" reads as "default", as for files
	// written before the key existed. Model llama has no pre-tokenizer and
	// takes "" or "default".
	Pre string
	// Tokens are the token strings by id; ids are dense, 0 to len-1.
	Tokens []string
	// Scores are per token (nil for none). Model llama ranks merges by
	// them when Merges is empty: see FromVocab.
	Scores []float32
	// Types are per token (TokenNormal, ...); nil means all normal.
	Types []int32
	// Merges are "a b" strings, first merged first.
	Merges []string
	// BOS, EOS and UNK are token ids, -1 for none.
	BOS, EOS, UNK int
}

// Token types, as GGUF stores them in tokenizer.ggml.token_type.
const (
	TokenUndefined   int32 = 0 // read as normal
	TokenNormal      int32 = 1
	TokenUnknown     int32 = 2
	TokenControl     int32 = 3
	TokenUserDefined int32 = 4
	TokenUnused      int32 = 5
	TokenByte        int32 = 6
)

// The fixed pipelines of the two GGUF tokenizer models.
var (
	spmNormalizer = []normStep{{kind: "prepend", a: "▁"}, {kind: "replace", a: " ", b: "▁"}}
	spmDecoder    = []decStep{{kind: "replace", a: "▁", b: " "}, {kind: "bytefallback"}, {kind: "fuse"}, {kind: "strip", a: " ", start: 1}}
	byteDecoder   = []decStep{{kind: "bytelevel"}}
)

// byteLevelPretok is the pre-tokenizer of model gpt2 with split pattern p:
// ByteLevel with its own (GPT-2) regex, or a Split with p then ByteLevel
// without a regex, as Llama-3's and Qwen2's tokenizer.json have it.
func byteLevelPretok(p *splitPattern) []pretokStep {
	if p == gpt2Split {
		return []pretokStep{{kind: "bytelevel", pat: gpt2Split, useRe: true}}
	}
	return []pretokStep{{kind: "split", pat: p}, {kind: "bytelevel", pat: gpt2Split}}
}

// preNames maps llama.cpp pre-tokenizer names to split patterns.
var preNames = map[string]*splitPattern{
	"":          gpt2Split,
	"default":   gpt2Split,
	"gpt-2":     gpt2Split,
	"llama-bpe": llama3Split,
	"llama3":    llama3Split,
	"qwen2":     qwen2Split,
}

// FromVocab builds a tokenizer from GGUF-style vocabulary metadata.
//
// Model gpt2 is byte-level BPE: the pre-tokenizer named by Pre, then the
// merges in Merges (required). With Pre "llama-bpe" or "llama3", a word that
// is a token as a whole is that token, merges or not (ignore_merges, as
// Llama-3's tokenizer.json and llama.cpp have it).
//
// Model llama is SentencePiece-style BPE: a "▁" goes before the text (before
// each run of text between added tokens), spaces become "▁", a character
// that is not a token falls back to its UTF-8 bytes as "<0xNN>" tokens, or
// else to UNK (consecutive ones fused). Merges, when given, rank the pairs
// as in model gpt2. Without Merges, any two adjacent symbols whose
// concatenation is a normal token may merge, the pair making the token of
// highest score first (leftmost on ties), as SentencePiece BPE models are
// run from their scores.
//
// For both, tokens of type unknown, control and user-defined are added
// tokens: matched literally in the text before anything else. Only normal
// tokens are made by score-ranked merges; byte tokens serve byte fallback.
//
// Errors name the field, as in "tokens[17]: duplicate token".
func FromVocab(v Vocab) (*Tokenizer, error) {
	n := len(v.Tokens)
	var pre *splitPattern
	switch v.Model {
	case "gpt2":
		var ok bool
		if pre, ok = preNames[v.Pre]; !ok {
			return nil, fmt.Errorf("pre %q is not supported for model gpt2 (want default, gpt-2, llama-bpe, llama3 or qwen2)", v.Pre)
		}
		if len(v.Merges) == 0 {
			return nil, fmt.Errorf("merges: none given (model gpt2 needs them)")
		}
	case "llama":
		if v.Pre != "" && v.Pre != "default" {
			return nil, fmt.Errorf("pre %q is not supported for model llama (want \"default\" or none)", v.Pre)
		}
		if len(v.Merges) == 0 && len(v.Scores) == 0 {
			return nil, fmt.Errorf("merges, scores: neither is given (model llama ranks its merges by one of them)")
		}
	default:
		return nil, fmt.Errorf("model %q is not supported (want \"gpt2\" or \"llama\")", v.Model)
	}
	if n == 0 {
		return nil, fmt.Errorf("tokens: none given")
	}
	if len(v.Scores) != 0 && len(v.Scores) != n {
		return nil, fmt.Errorf("scores: %d entries for %d tokens (want one per token, or none)", len(v.Scores), n)
	}
	if len(v.Types) != 0 && len(v.Types) != n {
		return nil, fmt.Errorf("types: %d entries for %d tokens (want one per token, or none)", len(v.Types), n)
	}
	for _, f := range []struct {
		name string
		id   int
	}{{"bos", v.BOS}, {"eos", v.EOS}, {"unk", v.UNK}} {
		if f.id < -1 || f.id >= n {
			return nil, fmt.Errorf("%s: id %d is out of range (want -1 for none, or 0 to %d)", f.name, f.id, n-1)
		}
	}
	t := &Tokenizer{
		vocab:       make(map[string]int, n),
		idToToken:   make(map[int]string, n),
		merges:      map[[2]int]merge{},
		unkID:       v.UNK,
		addedByID:   map[int]bool{},
		vocabSize:   n,
		bos:         v.BOS,
		eos:         v.EOS,
		scoreRanked: len(v.Merges) == 0,
	}
	if len(v.Scores) > 0 {
		t.scores = slices.Clone(v.Scores)
	}
	if len(v.Types) > 0 {
		t.types = slices.Clone(v.Types)
	}
	for id, tok := range v.Tokens {
		if tok == "" {
			return nil, fmt.Errorf("tokens[%d]: empty token", id)
		}
		if old, dup := t.vocab[tok]; dup {
			return nil, fmt.Errorf("tokens[%d]: duplicate token %q (also tokens[%d])", id, tok, old)
		}
		t.vocab[tok] = id
		t.idToToken[id] = tok
		typ := t.typeOf(id)
		if typ < TokenUndefined || typ > TokenByte {
			return nil, fmt.Errorf("types[%d]: %d is not a token type (want 0 to 6)", id, typ)
		}
		if typ == TokenUnknown || typ == TokenControl || typ == TokenUserDefined {
			t.added = append(t.added, addedToken{tok, id, typ != TokenUserDefined})
			t.addedByID[id] = true
		}
		if len(v.Scores) > 0 && (math.IsNaN(float64(v.Scores[id])) || math.IsInf(float64(v.Scores[id]), 0)) {
			return nil, fmt.Errorf("scores[%d]: %v (want a finite number)", id, v.Scores[id])
		}
	}
	t.sortAdded()
	for rank, m := range v.Merges {
		a, b, ok := splitMerge(m, t.vocab)
		if !ok {
			if !strings.Contains(m, " ") {
				return nil, fmt.Errorf("merges[%d]: %q is not \"a b\"", rank, m)
			}
			return nil, fmt.Errorf("merges[%d]: %q: %q, %q or %q is not a token", rank, m, a, b, a+b)
		}
		_ = t.addMerge(rank, a, b)
	}
	switch v.Model {
	case "gpt2":
		t.pretok = byteLevelPretok(pre)
		t.decoder = slices.Clone(byteDecoder)
		t.ignoreMrg = pre == llama3Split
	case "llama":
		t.normalizer = slices.Clone(spmNormalizer)
		t.decoder = slices.Clone(spmDecoder)
		t.byteFB = true
		t.fuseUnk = true
		if t.scoreRanked {
			t.mergesFromScores()
		}
	}
	return t, nil
}

// typeOf is the type of token id: from the types kept by FromVocab, or
// normal.
func (t *Tokenizer) typeOf(id int) int32 {
	if t.types == nil {
		return TokenNormal
	}
	return t.types[id]
}

// mergesFromScores makes every split of a normal token into two tokens a
// merge, ranked by the token's score: the highest score has rank 0, equal
// scores share a rank.
func (t *Tokenizer) mergesFromScores() {
	distinct := slices.Clone(t.scores)
	slices.SortFunc(distinct, func(a, b float32) int {
		switch {
		case a > b:
			return -1
		case a < b:
			return 1
		}
		return 0
	})
	distinct = slices.Compact(distinct)
	rank := make(map[float32]int, len(distinct))
	for i, s := range distinct {
		rank[s] = i
	}
	for id := 0; id < t.vocabSize; id++ {
		if typ := t.typeOf(id); typ != TokenNormal && typ != TokenUndefined {
			continue
		}
		tok := t.idToToken[id]
		for k := 0; k < len(tok); {
			_, size := utf8.DecodeRuneInString(tok[k:])
			k += size
			if k == len(tok) {
				break
			}
			ia, okA := t.vocab[tok[:k]]
			ib, okB := t.vocab[tok[k:]]
			if okA && okB {
				t.merges[[2]int{ia, ib}] = merge{rank[t.scores[id]], id}
			}
		}
	}
}

// Vocab returns the tokenizer as GGUF-style vocabulary metadata, for a GGUF
// writer; FromVocab of the result encodes the same.
//
// It fails for a tokenizer that GGUF cannot describe: a pipeline other than
// byte-level BPE with the GPT-2, Llama-3 or Qwen2 split, or
// SentencePiece-style BPE with byte fallback (as in Llama-2's
// tokenizer.json); ids with gaps; an added token that takes the id of a
// different vocabulary token.
//
// For a tokenizer read from tokenizer.json, types are derived (the unknown
// token; "<0xNN>" tokens of a byte-fallback model as byte; other added
// tokens as control if special, else user-defined; the rest normal); model
// llama gets the scores -rank of the first merge making each token (0 for
// tokens no merge makes that are a single character, below every merge for
// longer ones), and BOS and EOS are -1, as tokenizer.json does not name
// them: set them from the model's configuration.
//
// GGUF has no key for ignore_merges: FromVocab turns it on for "llama-bpe"
// only, and Vocab writes the Llama-3 split as "llama-bpe" whatever the
// setting. A tokenizer with the setting the other way round comes back
// different only on words that are tokens the merges do not build.
func (t *Tokenizer) Vocab() (Vocab, error) {
	v := Vocab{BOS: t.bos, EOS: t.eos, UNK: t.unkID}
	switch {
	case len(t.normalizer) == 0 && slices.Equal(t.decoder, byteDecoder):
		v.Model = "gpt2"
		for _, p := range splitPatterns {
			if slices.Equal(t.pretok, byteLevelPretok(p)) ||
				p == gpt2Split && slices.Equal(t.pretok, []pretokStep{{kind: "split", pat: p}, {kind: "bytelevel", pat: gpt2Split}}) {
				v.Pre = p.name
			}
		}
		if v.Pre == "" {
			return Vocab{}, fmt.Errorf("the pre-tokenizer is not ByteLevel with the GPT-2, Llama-3 or Qwen2 split, which is all GGUF can name")
		}
	case slices.Equal(t.normalizer, spmNormalizer) && len(t.pretok) == 0 && slices.Equal(t.decoder, spmDecoder):
		v.Model, v.Pre = "llama", "default"
		if !t.byteFB {
			return Vocab{}, fmt.Errorf("model.byte_fallback is off, but a GGUF llama vocabulary always falls back to bytes")
		}
		if !t.fuseUnk {
			return Vocab{}, fmt.Errorf("model.fuse_unk is off, but a GGUF llama vocabulary always fuses unknown tokens")
		}
	default:
		return Vocab{}, fmt.Errorf("the normalizer, pre-tokenizer and decoder are neither byte-level BPE nor SentencePiece-style BPE (Prepend and Replace \"▁\"), which is all GGUF can describe")
	}
	v.Tokens = make([]string, t.vocabSize)
	for id := range v.Tokens {
		tok, ok := t.idToToken[id]
		if !ok {
			return Vocab{}, fmt.Errorf("id %d has no token, but GGUF ids are dense (0 to %d)", id, t.vocabSize-1)
		}
		v.Tokens[id] = tok
	}
	for tok, id := range t.vocab {
		if v.Tokens[id] != tok {
			return Vocab{}, fmt.Errorf("id %d is both the vocabulary token %q and the added token %q", id, tok, v.Tokens[id])
		}
	}
	if t.types != nil {
		v.Types = slices.Clone(t.types)
	} else {
		v.Types = t.deriveTypes()
	}
	if !t.scoreRanked {
		ms := make([]struct {
			pair [2]int
			rank int
		}, 0, len(t.merges))
		for pair, m := range t.merges {
			ms = append(ms, struct {
				pair [2]int
				rank int
			}{pair, m.rank})
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].rank < ms[j].rank })
		v.Merges = make([]string, len(ms))
		for i, m := range ms {
			a, b := v.Tokens[m.pair[0]], v.Tokens[m.pair[1]]
			s := a + " " + b
			if a2, b2, _ := splitMerge(s, t.vocab); a2 != a || b2 != b {
				return Vocab{}, fmt.Errorf("merge (%q, %q) reads back as (%q, %q) when written as \"a b\"", a, b, a2, b2)
			}
			v.Merges[i] = s
		}
	}
	switch {
	case t.scores != nil:
		v.Scores = slices.Clone(t.scores)
	case v.Model == "llama":
		v.Scores = t.deriveScores()
	}
	return v, nil
}

// deriveTypes gives the token types of a tokenizer read from tokenizer.json.
func (t *Tokenizer) deriveTypes() []int32 {
	special := map[int]bool{}
	for _, a := range t.added {
		special[a.id] = a.special
	}
	types := make([]int32, t.vocabSize)
	for id := range types {
		_, isByte := parseByteToken(t.idToToken[id])
		sp, added := special[id]
		switch {
		case id == t.unkID:
			types[id] = TokenUnknown
		case t.byteFB && isByte:
			types[id] = TokenByte
		case added && sp:
			types[id] = TokenControl
		case added:
			types[id] = TokenUserDefined
		default:
			types[id] = TokenNormal
		}
	}
	return types
}

// deriveScores gives SentencePiece-style scores that rank the merges as the
// merge list does: -rank of the first merge making a token.
func (t *Tokenizer) deriveScores() []float32 {
	scores := make([]float32, t.vocabSize)
	made := make([]bool, t.vocabSize)
	for _, m := range t.merges {
		if !made[m.id] || float32(-m.rank) > scores[m.id] {
			scores[m.id] = float32(-m.rank)
		}
		made[m.id] = true
	}
	for id, tok := range t.idToToken {
		if !made[id] && !t.addedByID[id] && utf8.RuneCountInString(tok) > 1 {
			scores[id] = float32(-len(t.merges))
		}
	}
	return scores
}
