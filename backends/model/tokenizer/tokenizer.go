// Package tokenizer owns text-to-token conversion for the native model
// runtime: it reads Hugging Face tokenizer.json files that use a BPE model,
// builds the same tokenizers from GGUF-style vocabulary metadata (Vocab,
// FromVocab) and gives them back in that form (Tokenizer.Vocab), and
// encodes/decodes text with them.
//
// Supported tokenizer.json components: model BPE (merges as pairs or "a b"
// strings, byte_fallback, unk_token, fuse_unk, ignore_merges); normalizers
// Prepend, Replace (string pattern), NFC, NFD, NFKC, NFKD and Sequence of them; pre-tokenizers
// ByteLevel, Split (behavior Isolated, with exactly the GPT-2, Llama-3 or
// Qwen2 regex, matched by hand-written code since Go's regexp has no
// look-ahead) and Sequence of them; decoders ByteLevel, Replace (string
// pattern), ByteFallback, Fuse, Strip and Sequence of them. Anything else
// (NFC and other Unicode normalizers included) is an error naming it. Added
// tokens are matched literally in the raw text (leftmost, longest) before
// anything else.
//
// GGUF vocabularies: model "gpt2" (byte-level BPE, pre-tokenizers default /
// gpt-2, llama-bpe / llama3 and qwen2) and model "llama" (SentencePiece-style
// BPE with byte fallback, merges ranked by a merge list or by token scores).
package tokenizer

import (
	"container/heap"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Tokenizer is a loaded BPE tokenizer. It is safe for concurrent use.
type Tokenizer struct {
	vocab      map[string]int
	idToToken  map[int]string
	merges     map[[2]int]merge
	unkID      int // -1 if none
	fuseUnk    bool
	byteFB     bool
	ignoreMrg  bool
	added      []addedToken // sorted by length descending
	addedFirst [256]bool    // the first bytes of the added tokens
	addedByID  map[int]bool
	normalizer []normStep
	pretok     []pretokStep
	decoder    []decStep
	vocabSize  int

	// What only a GGUF-style vocabulary says, kept for Vocab: nil, nil,
	// false and -1 for a tokenizer.json.
	scores      []float32
	types       []int32
	scoreRanked bool // merges made from scores, not from a merge list
	bos, eos    int
}

type merge struct{ rank, id int }

type addedToken struct {
	content string
	id      int
	special bool
}

type normStep struct {
	kind string // "prepend", "replace", "nfc", "nfd", "nfkc", "nfkd"
	a, b string
}

type pretokStep struct {
	kind   string        // "bytelevel", "split"
	pat    *splitPattern // the split regex; bytelevel's (GPT-2) when useRe
	prefix bool          // bytelevel add_prefix_space
	useRe  bool          // bytelevel use_regex
}

type decStep struct {
	kind        string // "bytelevel", "replace", "bytefallback", "fuse", "strip"
	a, b        string
	start, stop int
}

// Load reads and parses a tokenizer.json file.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(data, filepath.Base(path))
}

type rawFile struct {
	AddedTokens []struct {
		ID      *int    `json:"id"`
		Content *string `json:"content"`
		Special bool    `json:"special"`
	} `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Model        json.RawMessage `json:"model"`
	Decoder      json.RawMessage `json:"decoder"`
}

type rawModel struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   map[string]int  `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

type rawComp struct {
	Type           string            `json:"type"`
	Prepend        string            `json:"prepend"`
	Pattern        map[string]string `json:"pattern"`
	Content        string            `json:"content"`
	Behavior       string            `json:"behavior"`
	Invert         bool              `json:"invert"`
	AddPrefixSpace bool              `json:"add_prefix_space"`
	UseRegex       *bool             `json:"use_regex"`
	Start          int               `json:"start"`
	Stop           int               `json:"stop"`
}

func isNull(m json.RawMessage) bool {
	s := strings.TrimSpace(string(m))
	return s == "" || s == "null"
}

// Parse parses the contents of a tokenizer.json file; name is used in errors.
func Parse(data []byte, name string) (*Tokenizer, error) {
	errf := func(format string, a ...any) error {
		return fmt.Errorf("%s: "+format, append([]any{name}, a...)...)
	}
	var f rawFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, errf("invalid JSON: %v", err)
	}
	if isNull(f.Model) {
		return nil, errf("missing key \"model\"")
	}
	var m rawModel
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, errf("model: %v", err)
	}
	if m.Type != "BPE" {
		return nil, errf("model type %q is not supported", m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return nil, errf("model.dropout %v is not supported", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return nil, errf("model.continuing_subword_prefix is not supported")
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return nil, errf("model.end_of_word_suffix is not supported")
	}
	if m.Vocab == nil {
		return nil, errf("missing key \"model.vocab\"")
	}
	t := &Tokenizer{
		vocab:     m.Vocab,
		idToToken: make(map[int]string, len(m.Vocab)),
		merges:    map[[2]int]merge{},
		unkID:     -1,
		bos:       -1,
		eos:       -1,
		fuseUnk:   m.FuseUnk,
		byteFB:    m.ByteFallback,
		ignoreMrg: m.IgnoreMerges,
		addedByID: map[int]bool{},
	}
	for tok, id := range m.Vocab {
		if id < 0 {
			return nil, errf("model.vocab: negative id %d for %q", id, tok)
		}
		t.idToToken[id] = tok
	}
	if m.UnkToken != nil {
		id, ok := m.Vocab[*m.UnkToken]
		if !ok {
			return nil, errf("model.unk_token %q is not in model.vocab", *m.UnkToken)
		}
		t.unkID = id
	}
	if err := t.parseMerges(m.Merges); err != nil {
		return nil, errf("model.merges: %v", err)
	}
	for i, a := range f.AddedTokens {
		if a.ID == nil || a.Content == nil || *a.ID < 0 {
			return nil, errf("added_tokens[%d]: missing or invalid id/content", i)
		}
		if *a.Content == "" {
			continue
		}
		t.added = append(t.added, addedToken{*a.Content, *a.ID, a.Special})
		t.addedByID[*a.ID] = true
		if old, ok := t.idToToken[*a.ID]; !ok || old != *a.Content {
			t.idToToken[*a.ID] = *a.Content
		}
	}
	t.sortAdded()
	var err error
	if t.normalizer, err = parseChain(f.Normalizer, "normalizers", parseNormalizer); err != nil {
		return nil, errf("normalizer: %v", err)
	}
	if t.pretok, err = parseChain(f.PreTokenizer, "pretokenizers", parsePretok); err != nil {
		return nil, errf("pre_tokenizer: %v", err)
	}
	if t.decoder, err = parseChain(f.Decoder, "decoders", parseDecoder); err != nil {
		return nil, errf("decoder: %v", err)
	}
	t.vocabSize = len(t.idToToken)
	return t, nil
}

// sortAdded orders the added tokens longest first, so that Encode takes the
// longest at a position, and notes their first bytes, so that Encode looks
// for them only where one may start.
func (t *Tokenizer) sortAdded() {
	sort.SliceStable(t.added, func(i, j int) bool { return len(t.added[i].content) > len(t.added[j].content) })
	t.addedFirst = [256]bool{}
	for _, a := range t.added {
		t.addedFirst[a.content[0]] = true
	}
}

func (t *Tokenizer) parseMerges(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return err
	}
	for rank, it := range items {
		var a, b string
		var s string
		var pair []string
		if err := json.Unmarshal(it, &s); err == nil {
			if !strings.Contains(s, " ") {
				return fmt.Errorf("entry %d %q is not \"a b\"", rank, s)
			}
			a, b, _ = splitMerge(s, t.vocab)
		} else if err := json.Unmarshal(it, &pair); err == nil && len(pair) == 2 {
			a, b = pair[0], pair[1]
		} else {
			return fmt.Errorf("entry %d is neither a string nor a pair of strings", rank)
		}
		if err := t.addMerge(rank, a, b); err != nil {
			return fmt.Errorf("entry %d: %v", rank, err)
		}
	}
	return nil
}

// addMerge records that a and b merge into a+b with rank, unless the pair
// already has a (lower) rank.
func (t *Tokenizer) addMerge(rank int, a, b string) error {
	ia, ok1 := t.vocab[a]
	ib, ok2 := t.vocab[b]
	im, ok3 := t.vocab[a+b]
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("(%q, %q) uses a token that is not in the vocabulary", a, b)
	}
	k := [2]int{ia, ib}
	if _, dup := t.merges[k]; !dup {
		t.merges[k] = merge{rank, im}
	}
	return nil
}

// splitMerge splits a merge written as "a b". A token may itself hold a
// space, so every space is tried, first to last, and the first split whose
// parts and their concatenation are all tokens wins; without one, the split
// at the first space is returned with ok false.
func splitMerge(s string, vocab map[string]int) (a, b string, ok bool) {
	first := -1
	for k := 0; k < len(s); k++ {
		if s[k] != ' ' {
			continue
		}
		if first < 0 {
			first = k
		}
		a, b := s[:k], s[k+1:]
		_, okA := vocab[a]
		_, okB := vocab[b]
		_, okM := vocab[a+b]
		if okA && okB && okM {
			return a, b, true
		}
	}
	if first < 0 {
		return s, "", false
	}
	return s[:first], s[first+1:], false
}

func parseComp(raw json.RawMessage) (rawComp, error) {
	var c rawComp
	err := json.Unmarshal(raw, &c)
	return c, err
}

func stringPattern(c rawComp) (string, error) {
	if s, ok := c.Pattern["String"]; ok && len(c.Pattern) == 1 {
		return s, nil
	}
	return "", fmt.Errorf("%s pattern %v is not supported (only {\"String\": ...})", c.Type, c.Pattern)
}

// parseChain parses a normalizer, pre-tokenizer or decoder into a flat list
// of steps: null gives none, a component of type "Sequence" gives the steps
// of the components listed under key (nested Sequences flattened), and any
// other component is parsed by leaf. Errors inside a Sequence name the
// position, as in "pretokenizers[1]: ...".
func parseChain[T any](raw json.RawMessage, key string, leaf func(rawComp) (T, error)) ([]T, error) {
	if isNull(raw) {
		return nil, nil
	}
	c, err := parseComp(raw)
	if err != nil {
		return nil, err
	}
	if c.Type != "Sequence" {
		step, err := leaf(c)
		if err != nil {
			return nil, err
		}
		return []T{step}, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	list, ok := fields[key]
	if !ok {
		return nil, fmt.Errorf("Sequence without %q", key)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(list, &items); err != nil {
		return nil, fmt.Errorf("%s: %v", key, err)
	}
	var out []T
	for i, item := range items {
		steps, err := parseChain(item, key, leaf)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", key, i, err)
		}
		out = append(out, steps...)
	}
	return out, nil
}

func parseNormalizer(c rawComp) (normStep, error) {
	switch c.Type {
	case "Prepend":
		return normStep{kind: "prepend", a: c.Prepend}, nil
	case "Replace":
		p, err := stringPattern(c)
		if err != nil {
			return normStep{}, err
		}
		if p == "" {
			return normStep{}, fmt.Errorf("Replace with empty pattern is not supported")
		}
		return normStep{kind: "replace", a: p, b: c.Content}, nil
	case "NFC", "NFD", "NFKC", "NFKD":
		return normStep{kind: strings.ToLower(c.Type)}, nil
	}
	return normStep{}, fmt.Errorf("type %q is not supported", c.Type)
}

func parsePretok(c rawComp) (pretokStep, error) {
	switch c.Type {
	case "ByteLevel":
		useRe := true
		if c.UseRegex != nil {
			useRe = *c.UseRegex
		}
		return pretokStep{kind: "bytelevel", prefix: c.AddPrefixSpace, useRe: useRe, pat: gpt2Split}, nil
	case "Split":
		re, ok := c.Pattern["Regex"]
		if !ok || len(c.Pattern) != 1 {
			return pretokStep{}, fmt.Errorf("Split pattern %v is not supported (only the GPT-2, Llama-3 and Qwen2 regexes)", c.Pattern)
		}
		if c.Behavior != "Isolated" || c.Invert {
			return pretokStep{}, fmt.Errorf("Split behavior %q (invert %v) is not supported", c.Behavior, c.Invert)
		}
		for _, p := range splitPatterns {
			if re == p.pattern {
				return pretokStep{kind: "split", pat: p}, nil
			}
		}
		return pretokStep{}, fmt.Errorf("Split regex %q is not supported (only the GPT-2, Llama-3 and Qwen2 regexes)", re)
	}
	return pretokStep{}, fmt.Errorf("type %q is not supported", c.Type)
}

func parseDecoder(c rawComp) (decStep, error) {
	switch c.Type {
	case "ByteLevel":
		return decStep{kind: "bytelevel"}, nil
	case "Replace":
		p, err := stringPattern(c)
		if err != nil {
			return decStep{}, err
		}
		if p == "" {
			return decStep{}, fmt.Errorf("Replace with empty pattern is not supported")
		}
		return decStep{kind: "replace", a: p, b: c.Content}, nil
	case "ByteFallback":
		return decStep{kind: "bytefallback"}, nil
	case "Fuse":
		return decStep{kind: "fuse"}, nil
	case "Strip":
		if utf8.RuneCountInString(c.Content) != 1 || c.Start < 0 || c.Stop < 0 {
			return decStep{}, fmt.Errorf("Strip content %q start %d stop %d is not supported", c.Content, c.Start, c.Stop)
		}
		return decStep{kind: "strip", a: c.Content, start: c.Start, stop: c.Stop}, nil
	}
	return decStep{}, fmt.Errorf("type %q is not supported", c.Type)
}

// VocabSize returns the number of distinct ids (model vocab plus added tokens).
func (t *Tokenizer) VocabSize() int { return t.vocabSize }

// TokenID returns the id of a token string (added tokens included).
func (t *Tokenizer) TokenID(s string) (int, bool) {
	for _, a := range t.added {
		if a.content == s {
			return a.id, true
		}
	}
	id, ok := t.vocab[s]
	return id, ok
}

// Encode tokenizes text without adding special tokens.
func (t *Tokenizer) Encode(text string) []int {
	ids := []int{}
	start := 0
	for i := 0; i < len(text); {
		matched := false
		if !t.addedFirst[text[i]] {
			i++
			continue
		}
		for _, a := range t.added {
			if strings.HasPrefix(text[i:], a.content) {
				ids = t.encodeSegment(text[start:i], ids)
				ids = append(ids, a.id)
				i += len(a.content)
				start = i
				matched = true
				break
			}
		}
		if !matched {
			i++
		}
	}
	return t.encodeSegment(text[start:], ids)
}

func (t *Tokenizer) encodeSegment(s string, ids []int) []int {
	if s == "" {
		return ids
	}
	for _, n := range t.normalizer {
		switch n.kind {
		case "prepend":
			s = n.a + s
		case "replace":
			s = strings.ReplaceAll(s, n.a, n.b)
		case "nfc":
			s = norm.NFC.String(s)
		case "nfd":
			s = norm.NFD.String(s)
		case "nfkc":
			s = norm.NFKC.String(s)
		case "nfkd":
			s = norm.NFKD.String(s)
		}
	}
	pieces := []string{s}
	for _, p := range t.pretok {
		var next []string
		for _, piece := range pieces {
			switch p.kind {
			case "split":
				next = append(next, splitWith(piece, p.pat.match)...)
			case "bytelevel":
				if p.prefix && !strings.HasPrefix(piece, " ") {
					piece = " " + piece
				}
				parts := []string{piece}
				if p.useRe {
					parts = splitWith(piece, p.pat.match)
				}
				for _, q := range parts {
					next = append(next, byteLevelEncode(q))
				}
			}
		}
		pieces = next
	}
	for _, w := range pieces {
		ids = t.bpe(w, ids)
	}
	return ids
}

func splitWith(s string, match func(rs []rune, i int) int) []string {
	rs := []rune(s)
	var out []string
	gap := 0
	for i := 0; i < len(rs); {
		n := match(rs, i)
		if n <= 0 {
			i++
			continue
		}
		if gap < i {
			out = append(out, string(rs[gap:i]))
		}
		out = append(out, string(rs[i:i+n]))
		i += n
		gap = i
	}
	if gap < len(rs) {
		out = append(out, string(rs[gap:]))
	}
	return out
}

func (t *Tokenizer) bpe(w string, ids []int) []int {
	if w == "" {
		return ids
	}
	if t.ignoreMrg {
		if id, ok := t.vocab[w]; ok {
			return append(ids, id)
		}
	}
	var syms []int
	lastUnk := false
	for _, r := range w {
		if id, ok := t.vocab[string(r)]; ok {
			syms = append(syms, id)
			lastUnk = false
			continue
		}
		if t.byteFB {
			var buf [utf8.UTFMax]byte
			n := utf8.EncodeRune(buf[:], r)
			var bs []int
			for _, b := range buf[:n] {
				id, ok := t.vocab[fmt.Sprintf("<0x%02X>", b)]
				if !ok {
					bs = nil
					break
				}
				bs = append(bs, id)
			}
			if bs != nil {
				syms = append(syms, bs...)
				lastUnk = false
				continue
			}
		}
		if t.unkID >= 0 {
			if !(t.fuseUnk && lastUnk) {
				syms = append(syms, t.unkID)
			}
			lastUnk = true
		}
	}
	if naiveMerge {
		return append(ids, t.mergeNaive(syms)...)
	}
	return append(ids, t.merge(syms)...)
}

// naiveMerge makes bpe use mergeNaive, for the tests that compare the two.
var naiveMerge bool

// mergeNaive applies the merges to syms by repeated scans: the lowest-rank
// adjacent pair first, the leftmost on ties. O(n^2); kept as the oracle of
// merge in the tests.
func (t *Tokenizer) mergeNaive(syms []int) []int {
	for len(syms) > 1 {
		best, bestRank, bestID := -1, 0, 0
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := t.merges[[2]int{syms[i], syms[i+1]}]; ok && (best < 0 || m.rank < bestRank) {
				best, bestRank, bestID = i, m.rank, m.id
			}
		}
		if best < 0 {
			break
		}
		syms[best] = bestID
		syms = append(syms[:best+1], syms[best+2:]...)
	}
	return syms
}

// candidate is a mergeable adjacent pair: the symbol at pos and its right
// neighbour, which held ids left and right when it was queued.
type candidate struct{ rank, pos, left, right int }

type candidates []candidate

func (h candidates) Len() int { return len(h) }
func (h candidates) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h candidates) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candidates) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *candidates) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merge applies the merges to syms with the same result as mergeNaive in
// O(n log n): symbols form a linked list, candidate pairs wait in a heap
// ordered by (rank, position), and a popped pair that is no longer adjacent
// with the same ids is stale and skipped. Positions are those of the first
// symbol of each merged run, so the heap order is left to right.
func (t *Tokenizer) merge(syms []int) []int {
	n := len(syms)
	if n < 2 {
		return syms
	}
	next := make([]int, n)
	prev := make([]int, n)
	for i := range syms {
		next[i], prev[i] = i+1, i-1
	}
	next[n-1] = -1
	h := &candidates{}
	push := func(i int) {
		j := next[i]
		if i < 0 || j < 0 {
			return
		}
		if m, ok := t.merges[[2]int{syms[i], syms[j]}]; ok {
			heap.Push(h, candidate{m.rank, i, syms[i], syms[j]})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	alive := make([]bool, n)
	for i := range alive {
		alive[i] = true
	}
	for h.Len() > 0 {
		c := heap.Pop(h).(candidate)
		i := c.pos
		j := next[i]
		if !alive[i] || j < 0 || syms[i] != c.left || syms[j] != c.right {
			continue // stale
		}
		syms[i] = t.merges[[2]int{c.left, c.right}].id
		alive[j] = false
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if prev[i] >= 0 {
			push(prev[i])
		}
		push(i)
	}
	out := syms[:0]
	for i := 0; i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

// Decode turns ids back into text. Unknown ids are skipped; special tokens
// are kept (they pass through the decoder like any token).
func (t *Tokenizer) Decode(ids []int) string {
	toks := make([]string, 0, len(ids))
	for _, id := range ids {
		if s, ok := t.idToToken[id]; ok {
			toks = append(toks, s)
		}
	}
	for _, d := range t.decoder {
		switch d.kind {
		case "bytelevel":
			var b []byte
			for _, tok := range toks {
				b = append(b, byteLevelDecode(tok)...)
			}
			toks = []string{lossy(b)}
		case "replace":
			for i := range toks {
				toks[i] = strings.ReplaceAll(toks[i], d.a, d.b)
			}
		case "bytefallback":
			toks = byteFallbackDecode(toks)
		case "fuse":
			toks = []string{strings.Join(toks, "")}
		case "strip":
			for i := range toks {
				s := toks[i]
				for k := 0; k < d.start && strings.HasPrefix(s, d.a); k++ {
					s = s[len(d.a):]
				}
				for k := 0; k < d.stop && strings.HasSuffix(s, d.a); k++ {
					s = s[:len(s)-len(d.a)]
				}
				toks[i] = s
			}
		}
	}
	return strings.Join(toks, "")
}

func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	v, err := strconv.ParseUint(s[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(v), true
}

func byteFallbackDecode(toks []string) []string {
	var out []string
	var pend []byte
	flush := func() {
		if len(pend) == 0 {
			return
		}
		if utf8.Valid(pend) {
			out = append(out, string(pend))
		} else {
			for range pend {
				out = append(out, "\uFFFD")
			}
		}
		pend = pend[:0]
	}
	for _, tok := range toks {
		if b, ok := parseByteToken(tok); ok {
			pend = append(pend, b)
			continue
		}
		flush()
		out = append(out, tok)
	}
	flush()
	return out
}

// lossy converts bytes to a string, replacing each invalid byte with U+FFFD.
func lossy(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			sb.WriteRune(utf8.RuneError)
			b = b[1:]
			continue
		}
		sb.Write(b[:n])
		b = b[n:]
	}
	return sb.String()
}
