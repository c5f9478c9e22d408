package text

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

//go:generate go test -run TestWordsEmbedded -update

// wordsZst is testdata/words.txt compressed with zstd.
//
//go:embed words.zst
var wordsZst []byte

// Noun is a noun with its plural. Mass nouns have no plural and take no
// article "a".
type Noun struct {
	Singular, Plural string
	Mass             bool
}

// Verb holds the forms of a verb the grammar uses.
type Verb struct {
	Base, Third, Past, Gerund string
}

// Topic is a subject an essay keeps to, with its own people and things.
type Topic struct {
	Name   string // a noun phrase: "the sea", "old bridges"
	Agents []Noun // people who act
	Things []Noun
}

// Lexicon holds the word lists of the essay generator.
type Lexicon struct {
	Adjectives, Adverbs []string
	Verbs               []Verb // transitive
	Intransitive        []Verb
	Agents, Things      []Noun // general people and things
	Topics              []Topic
}

var (
	defaultOnce    sync.Once
	defaultLexicon *Lexicon
)

// DefaultLexicon returns the embedded word lists.
func DefaultLexicon() *Lexicon {
	defaultOnce.Do(func() {
		data, err := decompress(wordsZst)
		if err != nil {
			panic("text: embedded words.zst: " + err.Error())
		}
		w, err := ParseLexicon(string(data))
		if err != nil {
			panic("text: embedded words.zst: " + err.Error())
		}
		defaultLexicon = w
	})
	return defaultLexicon
}

func decompress(b []byte) ([]byte, error) {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.DecodeAll(b, nil)
}

// ParseLexicon parses word lists in the syntax of testdata/words.txt: a line
// "@section" (adjectives, adverbs, verbs, intransitive, agents, things)
// or "@topic NAME" starts a section, topic lists start with "agents:" or
// "things:" (other lines continue the list before), entries are separated by white space, "#" starts a comment.
// Entries are lower-case ASCII words; nouns may give "|plural" or "|-"
// (mass noun), verbs "|past" and "|past|gerund". A duplicate in a section
// is an error, and so is an empty section or topic.
func ParseLexicon(src string) (*Lexicon, error) {
	w := &Lexicon{}
	section := ""
	var topic *Topic
	sub := "" // agents or things, inside a topic
	seen := map[string]bool{}
	for n, line := range strings.Split(src, "\n") {
		lineNo := n + 1
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "@") {
			name := strings.TrimSpace(line[1:])
			topic, sub = nil, ""
			seen = map[string]bool{}
			switch {
			case name == "adjectives", name == "adverbs", name == "verbs", name == "intransitive", name == "agents", name == "things":
				section = name
			case strings.HasPrefix(name, "topic ") && strings.TrimSpace(name[6:]) != "":
				section = "topic"
				w.Topics = append(w.Topics, Topic{Name: strings.Join(strings.Fields(name[6:]), " ")})
				topic = &w.Topics[len(w.Topics)-1]
			default:
				return nil, fmt.Errorf("line %d: unknown section %q", lineNo, line)
			}
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("line %d: entries before the first @section", lineNo)
		}
		fields := strings.Fields(line)
		if section == "topic" {
			switch fields[0] {
			case "agents:", "things:":
				sub = strings.TrimSuffix(fields[0], ":")
				fields = fields[1:]
			default:
				if sub == "" {
					return nil, fmt.Errorf("line %d: a topic's first line must start with agents: or things:", lineNo)
				}
			}
		}
		for _, f := range fields {
			parts := strings.Split(f, "|")
			for i, p := range parts {
				if p == "-" && i == 1 && len(parts) == 2 {
					continue
				}
				if !isWord(p) && !(p == "" && i > 0) {
					return nil, fmt.Errorf("line %d: entry %q: want lower-case ASCII letters", lineNo, f)
				}
			}
			if parts[0] == "" {
				return nil, fmt.Errorf("line %d: entry %q: empty word", lineNo, f)
			}
			key := sub + "/" + parts[0]
			if seen[key] {
				return nil, fmt.Errorf("line %d: duplicate entry %q", lineNo, parts[0])
			}
			seen[key] = true
			switch section {
			case "adjectives", "adverbs":
				if len(parts) != 1 {
					return nil, fmt.Errorf("line %d: entry %q: %s take no forms", lineNo, f, section)
				}
				if section == "adjectives" {
					w.Adjectives = append(w.Adjectives, f)
				} else {
					w.Adverbs = append(w.Adverbs, f)
				}
			case "verbs", "intransitive":
				v, err := parseVerb(parts)
				if err != nil {
					return nil, fmt.Errorf("line %d: %v", lineNo, err)
				}
				if section == "verbs" {
					w.Verbs = append(w.Verbs, v)
				} else {
					w.Intransitive = append(w.Intransitive, v)
				}
			default:
				nn, err := parseNoun(parts)
				if err != nil {
					return nil, fmt.Errorf("line %d: %v", lineNo, err)
				}
				switch {
				case section == "agents":
					w.Agents = append(w.Agents, nn)
				case section == "things":
					w.Things = append(w.Things, nn)
				case sub == "agents":
					topic.Agents = append(topic.Agents, nn)
				default:
					topic.Things = append(topic.Things, nn)
				}
			}
		}
	}
	for _, c := range []struct {
		name string
		n    int
	}{{"adjectives", len(w.Adjectives)}, {"adverbs", len(w.Adverbs)}, {"verbs", len(w.Verbs)},
		{"intransitive", len(w.Intransitive)}, {"agents", len(w.Agents)}, {"things", len(w.Things)}, {"topic", len(w.Topics)}} {
		if c.n == 0 {
			return nil, fmt.Errorf("section @%s is missing or empty", c.name)
		}
	}
	for _, t := range w.Topics {
		if len(t.Agents) == 0 || len(t.Things) == 0 {
			return nil, fmt.Errorf("topic %q needs agents and things", t.Name)
		}
	}
	return w, nil
}

func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

func parseNoun(parts []string) (Noun, error) {
	n := Noun{Singular: parts[0]}
	switch {
	case len(parts) == 1 || (len(parts) == 2 && parts[1] == ""):
		n.Plural = regularS(parts[0])
	case len(parts) == 2 && parts[1] == "-":
		n.Mass, n.Plural = true, parts[0]
	case len(parts) == 2:
		n.Plural = parts[1]
	default:
		return n, fmt.Errorf("noun %q: want singular or singular|plural", strings.Join(parts, "|"))
	}
	return n, nil
}

func parseVerb(parts []string) (Verb, error) {
	if len(parts) > 3 {
		return Verb{}, fmt.Errorf("verb %q: want base, base|past or base|past|gerund", strings.Join(parts, "|"))
	}
	b := parts[0]
	v := Verb{Base: b, Third: regularThird(b), Past: regularPast(b), Gerund: regularGerund(b)}
	if len(parts) > 1 && parts[1] != "" {
		v.Past = parts[1]
	}
	if len(parts) > 2 && parts[2] != "" {
		v.Gerund = parts[2]
	}
	return v, nil
}

func isVowel(c byte) bool { return strings.IndexByte("aeiou", c) >= 0 }

// regularS is the regular plural of a noun: -es after sibilants, -ies after
// a consonant and y, else -s.
func regularS(w string) string {
	n := len(w)
	switch {
	case strings.HasSuffix(w, "s"), strings.HasSuffix(w, "x"), strings.HasSuffix(w, "z"),
		strings.HasSuffix(w, "ch"), strings.HasSuffix(w, "sh"):
		return w + "es"
	case n > 1 && w[n-1] == 'y' && !isVowel(w[n-2]):
		return w[:n-1] + "ies"
	}
	return w + "s"
}

// regularThird is the third person singular of a verb: regularS, and -es
// after o ("echoes"). (Nouns in -o take -s: "pianos"; exceptions are
// spelled out in the lists.)
func regularThird(w string) string {
	if strings.HasSuffix(w, "o") {
		return w + "es"
	}
	return regularS(w)
}

func regularPast(w string) string {
	n := len(w)
	switch {
	case w[n-1] == 'e':
		return w + "d"
	case n > 1 && w[n-1] == 'y' && !isVowel(w[n-2]):
		return w[:n-1] + "ied"
	}
	return w + "ed"
}

func regularGerund(w string) string {
	n := len(w)
	switch {
	case strings.HasSuffix(w, "ie"):
		return w[:n-2] + "ying"
	case w[n-1] == 'e' && n > 2 && !strings.HasSuffix(w, "ee") && !strings.HasSuffix(w, "ye") && !strings.HasSuffix(w, "oe"):
		return w[:n-1] + "ing"
	}
	return w + "ing"
}
