package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

const llama3Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// qwen2Pattern is llama3Pattern with digits split one at a time.
const qwen2Pattern = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`

// splitPattern is a pre-tokenizer regex this package implements by hand:
// its name (the llama.cpp pre-tokenizer name a GGUF file stores), the exact
// pattern string of tokenizer.json, and the matcher.
type splitPattern struct {
	name    string
	pattern string
	match   func(rs []rune, i int) int
}

var (
	gpt2Split   = &splitPattern{"gpt-2", gpt2Pattern, matchGPT2}
	llama3Split = &splitPattern{"llama-bpe", llama3Pattern, matchLlama3}
	qwen2Split  = &splitPattern{"qwen2", qwen2Pattern, matchQwen2}
)

// splitPatterns are the Split regexes accepted in tokenizer.json.
var splitPatterns = []*splitPattern{gpt2Split, llama3Split, qwen2Split}

var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
	}
}

func byteLevelEncode(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		sb.WriteRune(byteToRune[s[i]])
	}
	return sb.String()
}

func byteLevelDecode(tok string) []byte {
	out := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return []byte(tok)
		}
		out = append(out, b)
	}
	return out
}

func isL(r rune) bool { return unicode.IsLetter(r) }
func isN(r rune) bool { return unicode.IsNumber(r) }
func isS(r rune) bool { return unicode.IsSpace(r) }

// other is [^\s\p{L}\p{N}].
func other(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }

func run(rs []rune, i int, f func(rune) bool) int {
	j := i
	for j < len(rs) && f(rs[j]) {
		j++
	}
	return j - i
}

func contraction(rs []rune, i int, fold bool) int {
	if rs[i] != '\'' || i+1 >= len(rs) {
		return 0
	}
	eq := func(k int, c rune) bool {
		if i+k >= len(rs) {
			return false
		}
		r := rs[i+k]
		if fold {
			return unicode.SimpleFold(c) == r || unicode.ToLower(r) == c || r == c
		}
		return r == c
	}
	for _, suf := range []string{"s", "t", "re", "ve", "m", "ll", "d"} {
		ok := true
		for k, c := range []rune(suf) {
			if !eq(k+1, c) {
				ok = false
				break
			}
		}
		if ok {
			return 1 + utf8.RuneCountInString(suf)
		}
	}
	return 0
}

// trailingSpace implements \s+(?!\S) followed by the \s+ fallback.
func trailingSpace(rs []rune, i int) int {
	k := run(rs, i, isS)
	if k == 0 {
		return 0
	}
	if i+k == len(rs) || k == 1 {
		return k // either (?!\S) holds, or the \s+ fallback takes k == 1
	}
	return k - 1
}

func optPrefixRun(rs []rune, i int, f func(rune) bool) int {
	if rs[i] == ' ' && i+1 < len(rs) && f(rs[i+1]) {
		return 1 + run(rs, i+1, f)
	}
	return run(rs, i, f)
}

// matchGPT2 returns the length in runes of the GPT-2 pattern match at i.
func matchGPT2(rs []rune, i int) int {
	if n := contraction(rs, i, false); n > 0 {
		return n
	}
	for _, f := range []func(rune) bool{isL, isN, other} {
		if n := optPrefixRun(rs, i, f); n > 0 {
			return n
		}
	}
	return trailingSpace(rs, i)
}

func isCRLF(r rune) bool { return r == '\r' || r == '\n' }

// matchLlama3 returns the length in runes of the Llama-3 pattern match at i.
func matchLlama3(rs []rune, i int) int { return matchDigitRuns(rs, i, 3) }

// matchQwen2 returns the length in runes of the Qwen2 pattern match at i.
func matchQwen2(rs []rune, i int) int { return matchDigitRuns(rs, i, 1) }

// matchDigitRuns returns the length in runes of the match at i of the
// Llama-3 pattern family, whose members differ only in the longest run of
// digits one piece takes: \p{N}{1,maxDigits}.
func matchDigitRuns(rs []rune, i int, maxDigits int) int {
	if n := contraction(rs, i, true); n > 0 {
		return n
	}
	r := rs[i]
	if !isCRLF(r) && !isL(r) && !isN(r) && i+1 < len(rs) && isL(rs[i+1]) {
		return 1 + run(rs, i+1, isL)
	}
	if isL(r) {
		return run(rs, i, isL)
	}
	if isN(r) {
		return min(maxDigits, run(rs, i, isN))
	}
	if n := optPrefixRun(rs, i, other); n > 0 {
		return n + run(rs, i+n, isCRLF)
	}
	if k := run(rs, i, isS); k > 0 {
		for p := i + k - 1; p >= i; p-- {
			if isCRLF(rs[p]) {
				return p + 1 - i
			}
		}
	}
	return trailingSpace(rs, i)
}
