package qa

import (
	"fmt"
	"strconv"
	"strings"
)

// Limits of Synthetic.
const (
	// HopsMixed (SyntheticOptions.Hops = 0) draws 1 or 2 hops for each item.
	HopsMixed = 0
	// MaxSyntheticItems is the most items one call to Synthetic makes.
	MaxSyntheticItems = 10000
	// MaxSyntheticDistractors is the largest SyntheticOptions.Distractors.
	MaxSyntheticDistractors = 1000
)

// SyntheticOptions configure Synthetic. The zero value asks for mixed hops
// and no distractors attached to the items.
type SyntheticOptions struct {
	// Hops is 1 (single-hop questions), 2 (two-hop questions) or HopsMixed
	// (each item draws 1 or 2 with equal odds).
	Hops int
	// Distractors is the number of documents of the item's own world
	// attached to each item as Item.Distractors, 0 to MaxSyntheticDistractors.
	// They share the gold documents' cities, companies and people, which
	// makes them harder to dismiss than those of a DistractorStream.
	Distractors int
}

func (o SyntheticOptions) validate() error {
	if o.Hops != HopsMixed && o.Hops != 1 && o.Hops != 2 {
		return fmt.Errorf("qa: SyntheticOptions.Hops = %d: want 0 (mixed), 1 or 2", o.Hops)
	}
	if o.Distractors < 0 || o.Distractors > MaxSyntheticDistractors {
		return fmt.Errorf("qa: SyntheticOptions.Distractors = %d: want 0 to %d", o.Distractors, MaxSyntheticDistractors)
	}
	return nil
}

// attr is an attribute a question can ask for.
type attr uint8

const (
	attrBirthCity attr = iota // person: a city
	attrBirthYear
	attrEmployer // person: a company
	attrOccupation
	attrPossession
	attrFounded // company
	attrSeat    // company: a city
	attrProduct
	attrEmployees
	attrCityFounded
	attrRiver
	attrPopulation
)

type oneHopQuestion struct {
	subj entKind
	attr attr
	text string // %s is the subject's name
}

type twoHopQuestion struct {
	subj entKind
	link attr // attrEmployer, attrBirthCity or attrSeat: the bridge entity
	attr attr // asked of the bridge entity
	text string
}

var oneHop = []oneHopQuestion{
	{kindPerson, attrBirthCity, "In which city was %s born?"},
	{kindPerson, attrBirthYear, "In which year was %s born?"},
	{kindPerson, attrEmployer, "Which company does %s work for?"},
	{kindPerson, attrOccupation, "What is the occupation of %s?"},
	{kindPerson, attrPossession, "What is the most prized possession of %s?"},
	{kindCompany, attrFounded, "In which year was %s founded?"},
	{kindCompany, attrSeat, "In which city does %s have its headquarters?"},
	{kindCompany, attrProduct, "What product is %s best known for?"},
	{kindCompany, attrEmployees, "How many people does %s employ?"},
	{kindCity, attrCityFounded, "In which year was the city of %s founded?"},
	{kindCity, attrRiver, "On which river does %s lie?"},
	{kindCity, attrPopulation, "What is the population of %s?"},
}

var twoHop = []twoHopQuestion{
	{kindPerson, attrEmployer, attrFounded, "In which year was the company founded that employs %s?"},
	{kindPerson, attrEmployer, attrSeat, "In which city does the company that employs %s have its headquarters?"},
	{kindPerson, attrEmployer, attrProduct, "What product is the employer of %s best known for?"},
	{kindPerson, attrEmployer, attrEmployees, "How many people does the employer of %s employ?"},
	{kindPerson, attrBirthCity, attrCityFounded, "In which year was the city founded where %s was born?"},
	{kindPerson, attrBirthCity, attrRiver, "On which river lies the city where %s was born?"},
	{kindPerson, attrBirthCity, attrPopulation, "What is the population of the city where %s was born?"},
	{kindCompany, attrSeat, attrCityFounded, "In which year was the city founded where %s has its headquarters?"},
	{kindCompany, attrSeat, attrRiver, "On which river lies the city where %s has its headquarters?"},
	{kindCompany, attrSeat, attrPopulation, "What is the population of the city where %s has its headquarters?"},
}

// oneHopKinds weights the subject of a single-hop question: people twice as
// often as companies or cities, as people carry most attributes.
var oneHopKinds = [4]entKind{kindPerson, kindPerson, kindCompany, kindCity}

// value returns attribute a of entity e as the answer string.
func (w *world) value(e ref, a attr) string {
	switch a {
	case attrBirthCity:
		return w.cities[w.people[e.idx].city].name
	case attrBirthYear:
		return strconv.Itoa(w.people[e.idx].born)
	case attrEmployer:
		return w.companies[w.people[e.idx].employer].name
	case attrOccupation:
		return w.people[e.idx].occupation
	case attrPossession:
		return w.people[e.idx].possession
	case attrFounded:
		return strconv.Itoa(w.companies[e.idx].founded)
	case attrSeat:
		return w.cities[w.companies[e.idx].hq].name
	case attrProduct:
		return w.companies[e.idx].product
	case attrEmployees:
		return strconv.Itoa(w.companies[e.idx].employees)
	case attrCityFounded:
		return strconv.Itoa(w.cities[e.idx].founded)
	case attrRiver:
		return w.cities[e.idx].river
	default: // attrPopulation
		return strconv.Itoa(w.cities[e.idx].population)
	}
}

// link returns the entity that attribute a of e names.
func (w *world) link(e ref, a attr) ref {
	switch a {
	case attrEmployer:
		return ref{kindCompany, w.people[e.idx].employer}
	case attrBirthCity:
		return ref{kindCity, w.people[e.idx].city}
	default: // attrSeat
		return ref{kindCity, w.companies[e.idx].hq}
	}
}

func (w *world) entities(k entKind) int {
	switch k {
	case kindPerson:
		return len(w.people)
	case kindCompany:
		return len(w.companies)
	default:
		return len(w.cities)
	}
}

// Synthetic returns n question-answer items about an invented world, all
// determined by seed and opt: the same arguments give byte-identical items
// on every machine and Go release. Items are prefix-stable:
// Synthetic(seed, m, opt) is the first m items of Synthetic(seed, n, opt)
// for m <= n. See the package documentation for the world, the questions
// and the guarantees.
func Synthetic(seed uint64, n int, opt SyntheticOptions) ([]Item, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if n < 0 || n > MaxSyntheticItems {
		return nil, fmt.Errorf("qa: Synthetic: n = %d: want 0 to %d", n, MaxSyntheticItems)
	}
	g := &itemGen{
		seed: seed,
		opt:  opt,
		w:    newWorld(seed, streamItemWorld, 0, true),
		r:    newRNG(seed, streamItems),
		used: map[questionKey]bool{},
	}
	items := make([]Item, 0, n)
	for i := 0; i < n; i++ {
		it, err := g.item(i)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, nil
}

type questionKey struct {
	hops, q int
	subj    ref
}

type itemGen struct {
	seed uint64
	opt  SyntheticOptions
	w    *world
	r    *rng
	used map[questionKey]bool // lookups only
}

// worldSize is the number of documents the world has before item i is
// drawn: it grows with i (so that subjects stay plentiful) and with the
// distractors wanted per item, never with the number of items asked for,
// which keeps the items prefix-stable.
func (g *itemGen) worldSize(i int) int {
	return 32 + 2*g.opt.Distractors + 4*(i+1)
}

// maxAttempts bounds the draws for one item; a draw is rejected when its
// question was already asked or its answer is not stated exactly once in
// its gold documents, which happens for a few draws in a hundred.
const maxAttempts = 1000

func (g *itemGen) item(i int) (Item, error) {
	w, r := g.w, g.r
	for len(w.docs) < g.worldSize(i) {
		w.grow()
	}
	for attempt := 0; attempt < maxAttempts; attempt++ {
		hops := g.opt.Hops
		if hops == HopsMixed {
			hops = 1 + r.intn(2)
		}
		var (
			key              questionKey
			subj, bridge     ref
			question, answer string
			gold             []int
			avoid            []ref
		)
		if hops == 1 {
			kind := oneHopKinds[r.intn(len(oneHopKinds))]
			var qs []int
			for j, q := range oneHop {
				if q.subj == kind {
					qs = append(qs, j)
				}
			}
			qi := qs[r.intn(len(qs))]
			q := oneHop[qi]
			subj = ref{kind, r.intn(w.entities(kind))}
			key = questionKey{1, qi, subj}
			question = fmt.Sprintf(q.text, w.entityName(subj))
			answer = w.value(subj, q.attr)
			gold = []int{w.entityDoc(subj)}
			avoid = []ref{subj}
		} else {
			qi := r.intn(len(twoHop))
			q := twoHop[qi]
			subj = ref{q.subj, r.intn(w.entities(q.subj))}
			key = questionKey{2, qi, subj}
			bridge = w.link(subj, q.link)
			question = fmt.Sprintf(q.text, w.entityName(subj))
			answer = w.value(bridge, q.attr)
			gold = []int{w.entityDoc(subj), w.entityDoc(bridge)}
			avoid = []ref{subj, bridge}
		}
		if g.used[key] || !g.unambiguous(gold, subj, bridge, answer) {
			continue
		}
		dis, ok := g.distractors(gold, avoid)
		if !ok {
			continue
		}
		g.used[key] = true
		it := Item{
			ID:          "synthetic-" + strconv.FormatUint(g.seed, 10) + "-" + strconv.Itoa(i),
			Question:    question,
			Answers:     []string{answer},
			Hops:        hops,
			Source:      "synthetic",
			Distractors: dis,
		}
		for _, d := range gold {
			it.Gold = append(it.Gold, w.docs[d].doc)
		}
		return it, nil
	}
	return Item{}, fmt.Errorf("qa: Synthetic: item %d: no valid question in %d draws", i, maxAttempts)
}

// unambiguous reports whether the answer is stated exactly once in the gold
// documents and, for two hops, only in the second one, while the subject is
// named only in the first and the bridge entity in the first: then neither
// document alone answers the question.
func (g *itemGen) unambiguous(gold []int, subj, bridge ref, answer string) bool {
	w := g.w
	first := w.docs[gold[0]].doc.Text
	if len(gold) == 1 {
		return countWord(first, answer) == 1
	}
	second := w.docs[gold[1]].doc.Text
	return countWord(first, answer) == 0 && countWord(second, answer) == 1 &&
		countWord(second, w.entityName(subj)) == 0 && countWord(first, w.entityName(bridge)) > 0
}

// distractors draws opt.Distractors documents of the world, other than the
// gold ones, that name none of the entities in avoid (the subject and the
// bridge). A document names an entity's attribute only in that entity's own
// document, so these can neither answer the question nor contradict it.
func (g *itemGen) distractors(gold []int, avoid []ref) ([]Document, bool) {
	k := g.opt.Distractors
	if k == 0 {
		return nil, true
	}
	w, r := g.w, g.r
	ok := func(d int) bool {
		for _, gd := range gold {
			if d == gd {
				return false
			}
		}
		for _, a := range avoid {
			if w.docs[d].self == a {
				return false
			}
			for _, m := range w.docs[d].mentions {
				if m == a {
					return false
				}
			}
		}
		return true
	}
	n := len(w.docs)
	picked := make([]int, 0, k)
	seen := map[int]bool{}
	for tries := 0; len(picked) < k && tries < 20*k+100; tries++ {
		d := r.intn(n)
		if !seen[d] && ok(d) {
			seen[d] = true
			picked = append(picked, d)
		}
	}
	if len(picked) < k {
		// Rejection sampling ran long (only when nearly every document
		// is needed): take the rest from the full list of candidates.
		var rest []int
		for d := 0; d < n; d++ {
			if !seen[d] && ok(d) {
				rest = append(rest, d)
			}
		}
		if len(picked)+len(rest) < k {
			return nil, false
		}
		r.shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		picked = append(picked, rest[:k-len(picked)]...)
	}
	docs := make([]Document, len(picked))
	for i, d := range picked {
		docs[i] = w.docs[d].doc
	}
	return docs, true
}

// countWord counts the occurrences of word in text, ignoring ASCII case,
// that are neither preceded nor followed by a letter or digit.
func countWord(text, word string) int {
	if word == "" {
		return 0
	}
	t, wd := strings.ToLower(text), strings.ToLower(word)
	n := 0
	for i := 0; ; {
		j := strings.Index(t[i:], wd)
		if j < 0 {
			return n
		}
		start, end := i+j, i+j+len(wd)
		if (start == 0 || !isWordByte(t[start-1])) && (end == len(t) || !isWordByte(t[end])) {
			n++
		}
		i = start + 1
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80
}

// A DistractorStream writes an unbounded sequence of synthetic documents of
// the same shape as the gold documents of Synthetic, about a world of their
// own: every name word in it belongs to the half of the name space that item
// worlds never use, so no stream document, of any seed, names an entity of
// any Synthetic item, and none can answer or contradict its question. The
// documents are determined by the seed, and a stream's first k documents do
// not depend on how many are read after them.
//
// A DistractorStream is not safe for concurrent use.
type DistractorStream struct {
	w *world
}

// NewDistractorStream returns the stream of the given seed.
func NewDistractorStream(seed uint64) *DistractorStream {
	return &DistractorStream{w: newWorld(seed, streamDistractors, 1, false)}
}

// Next returns the next document.
func (s *DistractorStream) Next() Document {
	return s.w.grow().doc
}

// SyntheticDistractors returns the first n documents of the seed's
// DistractorStream (nil for n <= 0).
func SyntheticDistractors(seed uint64, n int) []Document {
	if n <= 0 {
		return nil
	}
	s := NewDistractorStream(seed)
	docs := make([]Document, n)
	for i := range docs {
		docs[i] = s.Next()
	}
	return docs
}
