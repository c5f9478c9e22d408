// Package score holds the answer scorers of the text tasks, with the
// definitions of the suites they come from, so that numbers compare:
//
//   - StringMatchAll (RULER's string_match_all): the fraction of reference
//     strings found in the prediction, case-insensitive substring.
//   - StringMatchPart (RULER's own string_match_part): 1 if any reference
//     is found, else 0. (lm-evaluation-harness's port scores it otherwise;
//     this is RULER's definition.)
//
// Every score is in [0, 1], as all evalctl scores are (reports compute
// Wilson intervals and paired tests on that scale); RULER and SQuAD print
// the same numbers times 100.
//   - ExactMatch and F1 (SQuAD v1.1's evaluation script): on normalised
//     answers, the maximum over references; normalisation lowercases,
//     removes ASCII punctuation (Python's string.punctuation), removes the
//     articles a, an, the as whole words (between non-word characters, as
//     the script's regular expression does), and collapses whitespace.
package score

import (
	"strings"
	"unicode"
)

// StringMatchAll is RULER's string_match_all, in [0, 1].
func StringMatchAll(pred string, refs []string) float64 {
	if len(refs) == 0 {
		return 0
	}
	p := strings.ToLower(pred)
	hit := 0
	for _, r := range refs {
		if strings.Contains(p, strings.ToLower(r)) {
			hit++
		}
	}
	return float64(hit) / float64(len(refs))
}

// StringMatchPart is RULER's string_match_part, 0 or 1.
func StringMatchPart(pred string, refs []string) float64 {
	p := strings.ToLower(pred)
	for _, r := range refs {
		if strings.Contains(p, strings.ToLower(r)) {
			return 1
		}
	}
	return 0
}

const asciiPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// Normalize is SQuAD's answer normalisation.
func Normalize(s string) string {
	s = strings.ToLower(s)
	s = strings.Map(func(r rune) rune {
		if r < 128 && strings.ContainsRune(asciiPunct, r) {
			return -1
		}
		return r
	}, s)
	// Articles as whole words, word meaning a run of letters, digits and
	// underscores (Python's \w): like re.sub(r"\b(a|an|the)\b", " ", s),
	// so "«a»" loses its article too.
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if !isWord(rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		j := i
		for j < len(rs) && isWord(rs[j]) {
			j++
		}
		switch w := string(rs[i:j]); w {
		case "a", "an", "the":
			b.WriteByte(' ')
		default:
			b.WriteString(w)
		}
		i = j
	}
	return strings.Join(strings.FieldsFunc(b.String(), unicode.IsSpace), " ")
}

func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// ExactMatch is 1 when the normalised prediction equals a normalised
// reference, else 0.
func ExactMatch(pred string, refs []string) float64 {
	p := Normalize(pred)
	for _, r := range refs {
		if p == Normalize(r) {
			return 1
		}
	}
	return 0
}

// F1 is SQuAD's token F1, the maximum over references.
func F1(pred string, refs []string) float64 {
	best := 0.0
	pt := strings.Fields(Normalize(pred))
	for _, r := range refs {
		best = max(best, tokenF1(pt, strings.Fields(Normalize(r))))
	}
	return best
}

func tokenF1(pred, ref []string) float64 {
	if len(pred) == 0 || len(ref) == 0 {
		if len(pred) == len(ref) {
			return 1 // SQuAD v2 convention: both empty
		}
		return 0
	}
	counts := map[string]int{}
	for _, t := range ref {
		counts[t]++
	}
	common := 0
	for _, t := range pred {
		if counts[t] > 0 {
			counts[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	p := float64(common) / float64(len(pred))
	r := float64(common) / float64(len(ref))
	return 2 * p * r / (p + r)
}
