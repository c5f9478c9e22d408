package text

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// Kind is a kind of random key or value hidden in a haystack.
type Kind string

// Kinds of keys and values.
const (
	Words   Kind = "words"   // adjective-noun pairs from the word lists: "quiet-harbor"
	Numbers Kind = "numbers" // 7 digits, the first not 0
	UUIDs   Kind = "uuids"   // random version 4 UUIDs
)

// Kinds lists the accepted kind names.
var Kinds = []string{string(Words), string(Numbers), string(UUIDs)}

// ParseKind checks a kind name.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(s); k {
	case Words, Numbers, UUIDs:
		return k, nil
	}
	return "", fmt.Errorf("unknown kind %q; accepted: %s", s, strings.Join(Kinds, ", "))
}

// Noun is how a prompt names values of the kind: "words", "numbers",
// "UUIDs".
func (k Kind) Noun() string {
	if k == UUIDs {
		return "UUIDs"
	}
	return string(k)
}

// Draw returns one random value of the kind.
func (k Kind) Draw(r *rand.Rand) string {
	switch k {
	case Words:
		w := DefaultLexicon()
		return w.Adjectives[r.IntN(len(w.Adjectives))] + "-" + w.Things[r.IntN(len(w.Things))].Singular
	case Numbers:
		return Number(r, 7)
	case UUIDs:
		return UUID(r)
	}
	panic("text: Draw of unknown kind " + strconv.Quote(string(k)))
}

// Distinct draws n values of the kind that differ from each other and from
// every value in avoid; it adds them to avoid (which may be nil). It
// panics if the kind cannot supply that many (more than half its range).
func (k Kind) Distinct(r *rand.Rand, n int, avoid map[string]bool) []string {
	if avoid == nil {
		avoid = map[string]bool{}
	}
	out := make([]string, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 1000+100*n {
			panic(fmt.Sprintf("text: cannot draw %d distinct %s", n, k))
		}
		v := k.Draw(r)
		if avoid[v] {
			continue
		}
		avoid[v] = true
		out = append(out, v)
	}
	return out
}

// Number returns a random number of exactly digits digits (the first is
// not 0).
func Number(r *rand.Rand, digits int) string {
	b := make([]byte, digits)
	for i := range b {
		if i == 0 {
			b[i] = byte('1' + r.IntN(9))
		} else {
			b[i] = byte('0' + r.IntN(10))
		}
	}
	return string(b)
}

// UUID returns a version 4 UUID (RFC 9562) whose random bits come from r,
// in lower-case hex.
func UUID(r *rand.Rand) string {
	var b [16]byte
	hi, lo := r.Uint64(), r.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // variant 10
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}
