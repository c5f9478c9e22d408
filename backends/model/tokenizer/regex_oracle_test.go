package tokenizer

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// This file holds the test oracle of the hand-written split matchers: a
// small backtracking regex engine with Perl semantics (alternatives tried
// in order, greedy quantifiers that give back, look-ahead), which runs the
// pattern strings of tokenizer.json as they are written. It supports only
// what those patterns use: literals, (?i:...), (?!...), groups,
// alternation, the quantifiers ? * + {m,n}, classes [...] and [^...], and
// the escapes \p{L} \p{N} \s \S \r \n.

type reKind int

const (
	reChar reKind = iota // one rune in class
	reSeq
	reAlt
	reRep
	reNotAhead
)

type reNode struct {
	kind     reKind
	class    func(rune) bool
	subs     []*reNode
	min, max int // reRep; max -1 is unbounded
}

type reParser struct {
	src  []rune
	pos  int
	fold bool
}

func compileOracle(pattern string) (*reNode, error) {
	p := &reParser{src: []rune(pattern)}
	n, err := p.alt()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected %q at %d", p.src[p.pos], p.pos)
	}
	return n, nil
}

func (p *reParser) more() bool { return p.pos < len(p.src) }

func (p *reParser) peek(s string) bool {
	return strings.HasPrefix(string(p.src[p.pos:]), s)
}

func (p *reParser) alt() (*reNode, error) {
	var subs []*reNode
	for {
		s, err := p.seq()
		if err != nil {
			return nil, err
		}
		subs = append(subs, s)
		if !p.more() || p.src[p.pos] != '|' {
			break
		}
		p.pos++
	}
	if len(subs) == 1 {
		return subs[0], nil
	}
	return &reNode{kind: reAlt, subs: subs}, nil
}

func (p *reParser) seq() (*reNode, error) {
	n := &reNode{kind: reSeq}
	for p.more() && p.src[p.pos] != '|' && p.src[p.pos] != ')' {
		a, err := p.atom()
		if err != nil {
			return nil, err
		}
		a, err = p.quant(a)
		if err != nil {
			return nil, err
		}
		n.subs = append(n.subs, a)
	}
	return n, nil
}

func (p *reParser) quant(a *reNode) (*reNode, error) {
	if !p.more() {
		return a, nil
	}
	switch p.src[p.pos] {
	case '?':
		p.pos++
		return &reNode{kind: reRep, subs: []*reNode{a}, min: 0, max: 1}, nil
	case '*':
		p.pos++
		return &reNode{kind: reRep, subs: []*reNode{a}, min: 0, max: -1}, nil
	case '+':
		p.pos++
		return &reNode{kind: reRep, subs: []*reNode{a}, min: 1, max: -1}, nil
	case '{':
		var lo, hi int
		end := slices.Index(p.src[p.pos:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed {")
		}
		if _, err := fmt.Sscanf(string(p.src[p.pos:p.pos+end+1]), "{%d,%d}", &lo, &hi); err != nil {
			return nil, err
		}
		p.pos += end + 1
		return &reNode{kind: reRep, subs: []*reNode{a}, min: lo, max: hi}, nil
	}
	return a, nil
}

func (p *reParser) atom() (*reNode, error) {
	switch {
	case p.peek("(?i:"):
		p.pos += 4
		old := p.fold
		p.fold = true
		n, err := p.group()
		p.fold = old
		return n, err
	case p.peek("(?!"):
		p.pos += 3
		n, err := p.group()
		if err != nil {
			return nil, err
		}
		return &reNode{kind: reNotAhead, subs: []*reNode{n}}, nil
	case p.peek("("):
		p.pos++
		return p.group()
	case p.peek("["):
		p.pos++
		neg := false
		if p.peek("^") {
			neg = true
			p.pos++
		}
		var parts []func(rune) bool
		for !p.peek("]") {
			if !p.more() {
				return nil, fmt.Errorf("unclosed [")
			}
			c, err := p.char()
			if err != nil {
				return nil, err
			}
			parts = append(parts, c)
		}
		p.pos++
		return &reNode{kind: reChar, class: func(r rune) bool {
			in := slices.ContainsFunc(parts, func(f func(rune) bool) bool { return f(r) })
			return in != neg
		}}, nil
	}
	c, err := p.char()
	if err != nil {
		return nil, err
	}
	return &reNode{kind: reChar, class: c}, nil
}

func (p *reParser) group() (*reNode, error) {
	n, err := p.alt()
	if err != nil {
		return nil, err
	}
	if !p.peek(")") {
		return nil, fmt.Errorf("unclosed group at %d", p.pos)
	}
	p.pos++
	return n, nil
}

// char parses one literal or escape into a rune predicate.
func (p *reParser) char() (func(rune) bool, error) {
	r := p.src[p.pos]
	p.pos++
	if r != '\\' {
		if p.fold {
			return func(x rune) bool { return sameFold(x, r) }, nil
		}
		return func(x rune) bool { return x == r }, nil
	}
	if !p.more() {
		return nil, fmt.Errorf("trailing backslash")
	}
	e := p.src[p.pos]
	p.pos++
	switch e {
	case 'r':
		return func(x rune) bool { return x == '\r' }, nil
	case 'n':
		return func(x rune) bool { return x == '\n' }, nil
	case 's':
		return func(x rune) bool { return unicode.Is(unicode.White_Space, x) }, nil
	case 'S':
		return func(x rune) bool { return !unicode.Is(unicode.White_Space, x) }, nil
	case 'p':
		switch {
		case p.peek("{L}"):
			p.pos += 3
			return func(x rune) bool { return unicode.In(x, unicode.L) }, nil
		case p.peek("{N}"):
			p.pos += 3
			return func(x rune) bool { return unicode.In(x, unicode.N) }, nil
		}
	}
	return nil, fmt.Errorf("escape \\%c is not supported by the oracle", e)
}

// sameFold reports whether a and b are equal under simple case folding:
// whether b is in the folding orbit of a.
func sameFold(a, b rune) bool {
	for f := a; ; {
		if f == b {
			return true
		}
		if f = unicode.SimpleFold(f); f == a {
			return false
		}
	}
}

// match runs n at i and calls k with each end position, in priority order,
// until k returns true.
func (n *reNode) match(rs []rune, i int, k func(int) bool) bool {
	switch n.kind {
	case reChar:
		return i < len(rs) && n.class(rs[i]) && k(i+1)
	case reSeq:
		return matchSeq(n.subs, rs, i, k)
	case reAlt:
		for _, s := range n.subs {
			if s.match(rs, i, k) {
				return true
			}
		}
		return false
	case reRep:
		return n.rep(rs, i, 0, k)
	case reNotAhead:
		return !n.subs[0].match(rs, i, func(int) bool { return true }) && k(i)
	}
	panic("bad node")
}

func matchSeq(subs []*reNode, rs []rune, i int, k func(int) bool) bool {
	if len(subs) == 0 {
		return k(i)
	}
	return subs[0].match(rs, i, func(j int) bool { return matchSeq(subs[1:], rs, j, k) })
}

// rep is greedy: one more repetition first (never an empty one), then stop.
func (n *reNode) rep(rs []rune, i, count int, k func(int) bool) bool {
	if n.max < 0 || count < n.max {
		if n.subs[0].match(rs, i, func(j int) bool { return j > i && n.rep(rs, j, count+1, k) }) {
			return true
		}
	}
	return count >= n.min && k(i)
}

// matchAt returns the length in runes of the match of n at i: the first
// one found, which is the one Perl semantics picks; 0 if none.
func (n *reNode) matchAt(rs []rune, i int) int {
	end := i
	n.match(rs, i, func(j int) bool { end = j; return true })
	return end - i
}

// oracleAlphabet mixes what the patterns tell apart: letters of several
// scripts and cases, digits of several kinds (decimal, letter-number,
// other-number), every kind of space and line break, apostrophes and the
// letters of contractions (ſ folds to s), punctuation and symbols.
var oracleAlphabet = []string{
	"a", "Z", "é", "日", "Я", "s", "S", "ſ", "t", "T", "r", "e", "v", "m", "l", "L", "d", "D",
	"1", "7", "٣", "Ⅻ", "²", "0",
	" ", " ", " ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "\v", "\u2028",
	"'", "'", ".", "!", "-", "_", "🙂", "$", "€",
}

func randomText(rng *rand.Rand, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(oracleAlphabet[rng.IntN(len(oracleAlphabet))])
	}
	return b.String()
}

// Every split matcher agrees with the oracle run on its pattern string, at
// every position of random texts.
func TestMatchersAgainstOracle(t *testing.T) {
	for _, sp := range splitPatterns {
		re, err := compileOracle(sp.pattern)
		if err != nil {
			t.Fatalf("%s: %v", sp.name, err)
		}
		rng := rand.New(rand.NewPCG(7, uint64(len(sp.pattern))))
		for trial := 0; trial < 3000; trial++ {
			rs := []rune(randomText(rng, 1+rng.IntN(12)))
			for i := range rs {
				want := re.matchAt(rs, i)
				if got := sp.match(rs, i); got != want {
					t.Fatalf("%s: %q at %d: matcher takes %d runes, oracle %d", sp.name, string(rs), i, got, want)
				}
			}
		}
	}
}

// The oracle itself, on hand-checked cases.
func TestOracle(t *testing.T) {
	cases := []struct {
		pattern, text string
		want          []string
	}{
		{qwen2Pattern, "12345", []string{"1", "2", "3", "4", "5"}},
		{llama3Pattern, "12345", []string{"123", "45"}},
		{gpt2Pattern, "a  b", []string{"a", " ", " b"}},
		{llama3Pattern, "x   \n\ny", []string{"x", "   \n\n", "y"}},
		{llama3Pattern, "I'M ſ'S", []string{"I", "'M", " ſ", "'S"}},
		{gpt2Pattern, "I'M", []string{"I", "'", "M"}},
	}
	for _, c := range cases {
		re, err := compileOracle(c.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := splitWith(c.text, re.matchAt); !slices.Equal(got, c.want) {
			t.Errorf("oracle split %q = %q, want %q", c.text, got, c.want)
		}
	}
}

// Qwen2 is Llama-3 with single digits: the two agree on texts without two
// digits in a row, and on hand-checked digit runs Qwen2 takes one digit.
func TestQwen2Split(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 3000; trial++ {
		s := randomText(rng, 1+rng.IntN(16))
		rs := []rune(s)
		run := false
		for i := 0; i+1 < len(rs); i++ {
			if isN(rs[i]) && isN(rs[i+1]) {
				run = true
			}
		}
		if run {
			continue
		}
		if a, b := splitWith(s, matchQwen2), splitWith(s, matchLlama3); !slices.Equal(a, b) {
			t.Fatalf("%q: qwen2 %q, llama3 %q", s, a, b)
		}
	}
	cases := []struct {
		text string
		want []string
	}{
		{"12345", []string{"1", "2", "3", "4", "5"}},
		{"a 2024-01-02", []string{"a", " ", "2", "0", "2", "4", "-", "0", "1", "-", "0", "2"}},
		{"x12y", []string{"x", "1", "2", "y"}},
		{"٣٤Ⅻ", []string{"٣", "٤", "Ⅻ"}},
		{"  42\n", []string{" ", " ", "4", "2", "\n"}},
		{"It's 3.14!", []string{"It", "'s", " ", "3", ".", "1", "4", "!"}},
	}
	for _, c := range cases {
		if got := splitWith(c.text, matchQwen2); !slices.Equal(got, c.want) {
			t.Errorf("split %q = %q, want %q", c.text, got, c.want)
		}
	}
}

func FuzzMatchers(f *testing.F) {
	res := make([]*reNode, len(splitPatterns))
	for i, sp := range splitPatterns {
		re, err := compileOracle(sp.pattern)
		if err != nil {
			f.Fatal(err)
		}
		res[i] = re
	}
	f.Add("Hello world! It's 12345 \n\n  x\r\n")
	f.Add("a\u00a0\u3000 'S'LL ſ ٣٤ Ⅻ²")
	f.Fuzz(func(t *testing.T, s string) {
		rs := []rune(s)
		if len(rs) > 64 {
			rs = rs[:64]
		}
		for k, sp := range splitPatterns {
			for i := range rs {
				if got, want := sp.match(rs, i), res[k].matchAt(rs, i); got != want {
					t.Fatalf("%s: %q at %d: matcher takes %d runes, oracle %d", sp.name, string(rs), i, got, want)
				}
			}
		}
	})
}

// A tokenizer.json with the Qwen2 split (Llama-3's structure, as Qwen2's
// own file has it) parses, and splits digits one at a time.
func TestParseQwen2(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(refDir, "bytelevel-llama3", "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	seq := d["pre_tokenizer"].(map[string]any)["pretokenizers"].([]any)
	seq[0].(map[string]any)["pattern"] = map[string]any{"Regex": qwen2Pattern}
	data, _ = json.Marshal(d)
	tk, err := Parse(data, "tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	if tk.pretok[0].pat != qwen2Split {
		t.Fatalf("pre-tokenizer = %+v, want the Qwen2 split", tk.pretok)
	}
	var want []int
	for _, c := range "12345" {
		want = append(want, tk.Encode(string(c))...)
	}
	if got := tk.Encode("12345"); !slices.Equal(got, want) || len(got) != 5 {
		t.Errorf("Encode(12345) = %v, want %v", got, want)
	}
	v, err := tk.Vocab()
	if err != nil {
		t.Fatal(err)
	}
	if v.Pre != "qwen2" {
		t.Errorf("Vocab().Pre = %q, want qwen2", v.Pre)
	}
	tk2, err := FromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range loadRef(t)["bytelevel-llama3"].Cases {
		if a, b := tk.Encode(c.Text), tk2.Encode(c.Text); !slices.Equal(a, b) {
			t.Errorf("%q: tokenizer.json %v, FromVocab %v", c.Text, a, b)
		}
	}
}
