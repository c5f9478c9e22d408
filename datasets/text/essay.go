package text

import (
	"math/rand/v2"
	"strings"
)

// Essays returns the procedural essay source over the embedded word lists.
func Essays() Source { return EssaysFrom(DefaultLexicon()) }

// EssaysFrom returns the procedural essay source over w.
func EssaysFrom(w *Lexicon) Source { return essays{w} }

type essays struct{ w *Lexicon }

// Sentences implements Source: an endless run of essays.
func (e essays) Sentences(seed uint64) Stream {
	return &essayGen{w: e.w, r: NewRand(seed)}
}

// essayGen writes essays: each keeps one topic and one tense for 3 to 6
// paragraphs of 4 to 8 sentences; the first sentence of the essay
// introduces the topic, later paragraphs open with a topic sentence or an
// ordinary one.
type essayGen struct {
	w         *Lexicon
	r         *rand.Rand
	topic     *Topic
	past      bool
	parasLeft int
	sentsLeft int
	firstPara bool
}

// Next implements Stream.
func (g *essayGen) Next() Sentence {
	if g.sentsLeft == 0 {
		if g.parasLeft == 0 {
			g.topic = &g.w.Topics[g.r.IntN(len(g.w.Topics))]
			g.past = g.chance(40)
			g.parasLeft = 3 + g.r.IntN(4)
			g.firstPara = true
		}
		g.parasLeft--
		g.sentsLeft = 4 + g.r.IntN(5)
		var s string
		switch {
		case g.firstPara:
			s = g.opening()
		case g.chance(50):
			s = g.transition()
		default:
			s = g.sentence()
		}
		g.firstPara = false
		g.sentsLeft--
		return Sentence{Text: s, Para: true}
	}
	g.sentsLeft--
	return Sentence{Text: g.sentence()}
}

func (g *essayGen) chance(pct int) bool { return g.r.IntN(100) < pct }

func (g *essayGen) pick(list []string) string { return list[g.r.IntN(len(list))] }

func pickNoun(r *rand.Rand, list []Noun) Noun { return list[r.IntN(len(list))] }

// finish capitalises the first letter and adds the full stop (or question
// mark).
func finish(s, stop string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + stop
}

func (g *essayGen) opening() string {
	t := g.topic.Name
	switch g.r.IntN(8) {
	case 0:
		return finish("much can be said about "+t, ".")
	case 1:
		return finish("consider "+t+" for a moment", ".")
	case 2:
		return finish("people rarely think about "+t+", yet they should", ".")
	case 3:
		return finish("there is more to "+t+" than most people expect", ".")
	case 4:
		return finish("anyone who studies "+t+" learns to notice small things", ".")
	case 5:
		return finish("let us begin with "+t, ".")
	case 6:
		return finish("a good way to understand "+t+" is to watch "+g.plainPlural(true), ".")
	default:
		return finish("some of the best stories people tell concern "+t, ".")
	}
}

func (g *essayGen) transition() string {
	t := g.topic.Name
	switch g.r.IntN(5) {
	case 0:
		return finish("there is more to say about "+t, ".")
	case 1:
		return finish("return for a moment to "+t, ".")
	case 2:
		return finish("another side of "+t+" concerns "+g.np(false, false).text, ".")
	case 3:
		return finish("not everything about "+t+" is so simple", ".")
	default:
		return finish("the story of "+t+" does not end there", ".")
	}
}

// phrase is a noun phrase and its grammatical number.
type phrase struct {
	text   string
	plural bool
}

func (p phrase) pronoun() string {
	if p.plural {
		return "them"
	}
	return "it"
}

// noun draws a person (agent) or a thing, mostly from the essay's topic.
func (g *essayGen) noun(agent bool) Noun {
	if agent {
		if g.chance(65) {
			return pickNoun(g.r, g.topic.Agents)
		}
		return pickNoun(g.r, g.w.Agents)
	}
	if g.chance(65) {
		return pickNoun(g.r, g.topic.Things)
	}
	return pickNoun(g.r, g.w.Things)
}

func (g *essayGen) plainPlural(agent bool) string {
	n := g.noun(agent)
	if n.Mass {
		return n.Singular
	}
	return n.Plural
}

// article is "a" or "an" for the word that follows.
func article(next string) string {
	for _, p := range []string{"uni", "use", "usu", "uti", "eu", "one", "once"} {
		if strings.HasPrefix(next, p) {
			return "a"
		}
	}
	for _, p := range []string{"hour", "honest", "honor", "heir"} {
		if strings.HasPrefix(next, p) {
			return "an"
		}
	}
	if next != "" && isVowel(next[0]) {
		return "an"
	}
	return "a"
}

// np builds a noun phrase: determiner, maybe adjectives, the noun, and
// (when post is set) sometimes a prepositional phrase after it.
func (g *essayGen) np(agent, post bool) phrase {
	n := g.noun(agent)
	plural := !n.Mass && g.chance(35)
	word := n.Singular
	if plural {
		word = n.Plural
	}
	mods := ""
	switch k := g.r.IntN(100); {
	case k < 6:
		mods = g.pick(g.w.Adjectives) + ", " + g.pick(g.w.Adjectives) + " "
	case k < 42:
		mods = g.pick(g.w.Adjectives) + " "
	}
	head := mods + word
	var det string
	k := g.r.IntN(100)
	switch {
	case n.Mass:
		det = pickBy(k, []int{60, 15, 15, 5, 5}, []string{"the", "some", "", "this", "their"})
	case plural:
		det = pickBy(k, []int{40, 18, 8, 6, 6, 5, 5, 4, 4, 4}, []string{"the", "", "some", "many", "several", "a few", "these", "those", "their", "our"})
	default:
		det = pickBy(k, []int{50, 30, 5, 3, 4, 2, 3, 3}, []string{"the", "a", "this", "that", "every", "one", "their", "our"})
		if det == "a" {
			det = article(head)
		}
	}
	text := head
	if det != "" {
		text = det + " " + head
	}
	if post && !agent && g.chance(15) {
		text += " " + g.pick(postPreps) + " " + g.np(false, false).text
	}
	if post && agent && g.chance(12) {
		text += " from " + g.np(false, false).text
	}
	// "every" and "one" take a singular verb; everything else follows the
	// noun.
	return phrase{text: text, plural: plural}
}

// pickBy picks values[i] for the weight bucket k in [0, sum(weights)).
func pickBy(k int, weights []int, values []string) string {
	for i, w := range weights {
		if k < w {
			return values[i]
		}
		k -= w
	}
	return values[len(values)-1]
}

var (
	postPreps = []string{"of", "near", "beside", "behind", "above", "below", "beyond", "along", "under", "by", "across", "without", "with"}
	pps       = []string{"near", "beside", "behind", "above", "below", "beyond", "along", "under", "across", "around", "inside", "outside", "past", "toward", "against", "through"}
	timePreps = []string{"before", "after", "during", "since"}
	openers   = []string{
		"in the morning", "by evening", "at first", "later", "for a long time", "every spring",
		"in those years", "on most days", "even so", "in practice", "without much fuss",
		"over the years", "before long", "still", "perhaps", "of course", "in other words",
		"for this reason", "meanwhile", "at the same time", "in the end", "as a rule",
		"naturally", "oddly enough", "sometimes", "often", "now and then", "on the whole",
		"in winter", "by noon", "as it happens", "more than once",
	}
	evaluative = []string{"strange", "clear", "obvious", "remarkable", "curious", "fortunate", "odd", "true",
		"certain", "likely", "unsurprising", "worth noting", "hard to believe", "easy to forget", "no accident"}
	presentModals = []string{"can", "may", "might", "must", "should", "will", "cannot", "would rather not"}
	pastModals    = []string{"could", "might", "would", "had to", "could not", "would often", "used to"}
)

// verb returns the tensed form for a subject of that number.
func (g *essayGen) verb(v Verb, plural bool) string {
	switch {
	case g.past:
		return v.Past
	case plural:
		return v.Base
	}
	return v.Third
}

func (g *essayGen) be(plural bool) string {
	switch {
	case g.past && plural:
		return "were"
	case g.past:
		return "was"
	case plural:
		return "are"
	}
	return "is"
}

func (g *essayGen) transitive() Verb   { return g.w.Verbs[g.r.IntN(len(g.w.Verbs))] }
func (g *essayGen) intransitive() Verb { return g.w.Intransitive[g.r.IntN(len(g.w.Intransitive))] }

func (g *essayGen) pp() string { return g.pick(pps) + " " + g.np(false, false).text }

// subject is usually a person.
func (g *essayGen) subject() phrase { return g.np(g.chance(75), true) }

// clause is a simple clause: subject, predicate, maybe adverb and
// prepositional phrase. It is lower case and unpunctuated.
func (g *essayGen) clause() string {
	s := g.subject()
	switch k := g.r.IntN(100); {
	case k < 55: // transitive
		pred := g.verb(g.transitive(), s.plural) + " " + g.np(false, true).text
		if g.chance(20) {
			pred = g.pick(g.w.Adverbs) + " " + pred
		} else if g.chance(12) {
			pred += " " + g.pick(g.w.Adverbs)
		}
		if g.chance(20) {
			pred += " " + g.pp()
		}
		return s.text + " " + pred
	case k < 80: // intransitive
		pred := g.verb(g.intransitive(), s.plural)
		if g.chance(40) {
			pred += " " + g.pick(g.w.Adverbs)
		}
		if g.chance(40) {
			pred += " " + g.pp()
		}
		return s.text + " " + pred
	default: // copula
		pred := g.be(s.plural) + " " + g.pick(g.w.Adjectives)
		if g.chance(30) {
			pred += " " + g.pp()
		}
		return s.text + " " + pred
	}
}

// sentence is one sentence from a template.
func (g *essayGen) sentence() string {
	switch k := g.r.IntN(100); {
	case k < 18:
		return finish(g.clause(), ".")
	case k < 30:
		return finish(g.pick(openers)+", "+g.clause(), ".")
	case k < 36:
		return finish(g.pick(timePreps)+" "+g.np(false, false).text+", "+g.clause(), ".")
	case k < 42:
		return finish("when "+g.clause()+", "+g.clause(), ".")
	case k < 48:
		return finish(g.clause()+", but "+g.clause(), ".")
	case k < 53:
		return finish(g.clause()+" because "+g.clause(), ".")
	case k < 57:
		return finish("as "+g.clause()+", "+g.clause(), ".")
	case k < 61:
		return finish(g.clause()+"; "+g.clause(), ".")
	case k < 66: // there is / there are
		n := g.np(false, false)
		return finish("there "+g.be(n.plural)+" "+n.text+" "+g.pp(), ".")
	case k < 70:
		return finish("it "+g.be(false)+" "+g.pick(evaluative)+" that "+g.clause(), ".")
	case k < 75: // relative clause
		s := g.np(true, false)
		return finish(s.text+", who "+g.verb(g.transitive(), s.plural)+" "+g.np(false, false).text+", "+
			g.verb(g.intransitive(), s.plural)+" "+g.pick(g.w.Adverbs), ".")
	case k < 79: // object topicalised
		o := g.np(false, false)
		s := g.np(true, false)
		return finish(o.text+" "+g.be(o.plural)+" "+g.pick(g.w.Adjectives)+", and "+s.text+" "+
			g.verb(g.transitive(), s.plural)+" "+o.pronoun()+" "+g.pick(g.w.Adverbs), ".")
	case k < 82:
		return finish("nobody "+g.verb(g.transitive(), false)+" "+g.np(false, false).text+" quite like "+g.np(true, false).text, ".")
	case k < 85: // question
		s := g.subject()
		aux := "does"
		switch {
		case g.past:
			aux = "did"
		case s.plural:
			aux = "do"
		}
		return finish("why "+aux+" "+s.text+" "+g.transitive().Base+" "+g.np(false, false).text, "?")
	case k < 89: // modal
		s := g.subject()
		m := g.pick(presentModals)
		if g.past {
			m = g.pick(pastModals)
		}
		return finish(s.text+" "+m+" "+g.transitive().Base+" "+g.np(false, true).text, ".")
	case k < 92: // by + gerund
		s := g.np(true, false)
		return finish(s.text+" "+g.verb(g.transitive(), s.plural)+" "+g.np(false, false).text+" by "+
			g.transitive().Gerund+" "+g.np(false, false).text, ".")
	case k < 95: // compound predicate
		s := g.subject()
		return finish(s.text+" "+g.verb(g.transitive(), s.plural)+" "+g.np(false, false).text+" and "+
			g.verb(g.transitive(), s.plural)+" "+g.np(false, false).text, ".")
	case k < 98:
		agent := g.noun(true)
		who := agent.Plural
		if agent.Mass {
			who = agent.Singular
		}
		v := g.transitive()
		verb := v.Base
		if g.past {
			verb = v.Past
		}
		return finish("few "+who+" "+verb+" "+g.np(false, false).text+" without "+g.transitive().Gerund+" "+g.np(false, false).text, ".")
	default:
		s := g.np(true, false)
		return finish("not every "+g.noun(true).Singular+" "+g.verb(g.transitive(), false)+" "+g.np(false, false).text+
			", but "+s.text+" "+g.verb(g.transitive(), s.plural)+" "+g.np(false, false).text, ".")
	}
}
