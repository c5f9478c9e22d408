package qa

import (
	"fmt"
	"slices"
	"strings"
)

// This file builds the synthetic world: invented names, entities with their
// attributes, and one encyclopedia-style document per entity. Everything is
// drawn from one rng in a fixed order, and entities are only ever appended,
// so the first k documents of a world do not depend on how many more follow.

type entKind uint8

const (
	kindPerson entKind = iota
	kindCompany
	kindCity
)

// ref names one entity of a world.
type ref struct {
	kind entKind
	idx  int
}

type personEnt struct {
	name       string
	occupation string
	possession string
	born       int // year
	city       int // birth city
	employer   int // company
	doc        int
}

type companyEnt struct {
	name      string
	product   string
	founded   int // year
	employees int
	hq        int // city
	doc       int
}

type cityEnt struct {
	name       string
	river      string
	founded    int // year
	population int
	doc        int
}

// worldDoc is an entity's document with the other entities its text names.
type worldDoc struct {
	doc      Document
	self     ref
	mentions []ref
}

// kindPattern is the order in which a world adds entities, repeated: cities
// come before the companies placed in them and companies before the people
// they employ.
var kindPattern = [8]entKind{kindCity, kindCompany, kindPerson, kindPerson, kindCompany, kindPerson, kindCity, kindPerson}

type world struct {
	r     *rng
	class uint32          // which half of the name space this world draws from
	used  map[string]bool // lowercase name words taken (lookups only)
	keep  bool            // keep documents (item worlds) or only entities (streams)

	people    []personEnt
	companies []companyEnt
	cities    []cityEnt
	docs      []worldDoc
	count     int // documents made, kept or not
}

func newWorld(seed, stream uint64, class uint32, keep bool) *world {
	return &world{r: newRNG(seed, stream), class: class, used: map[string]bool{}, keep: keep}
}

func (w *world) entityName(e ref) string {
	switch e.kind {
	case kindPerson:
		return w.people[e.idx].name
	case kindCompany:
		return w.companies[e.idx].name
	default:
		return w.cities[e.idx].name
	}
}

func (w *world) entityDoc(e ref) int {
	switch e.kind {
	case kindPerson:
		return w.people[e.idx].doc
	case kindCompany:
		return w.companies[e.idx].doc
	default:
		return w.cities[e.idx].doc
	}
}

// grow adds the next entity and returns its document.
func (w *world) grow() worldDoc {
	var d worldDoc
	switch kindPattern[w.count%len(kindPattern)] {
	case kindCity:
		d = w.addCity()
	case kindCompany:
		d = w.addCompany()
	default:
		d = w.addPerson()
	}
	w.count++
	if w.keep {
		w.docs = append(w.docs, d)
	}
	return d
}

// Name syllables. Words are two or three syllables of onset and nucleus,
// with an occasional closing consonant inside the word and an optional
// ending.
var (
	onsets = []string{"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
		"br", "dr", "gr", "kr", "tr", "th", "st", "sh", "qu", "fl", "vr"}
	nuclei  = []string{"a", "e", "i", "o", "u", "a", "e", "o", "ae", "ei", "ou"}
	closers = []string{"l", "n", "r", "s", "m"}
	endings = []string{"", "", "", "n", "r", "l", "s", "th", "ss", "nd"}
)

// word returns a new capitalised name word: never used before in this world,
// not a word of any template or vocabulary list, and of this world's class.
// Item worlds and distractor streams draw from opposite classes, so no name
// word of one ever occurs in the other.
func (w *world) word() string {
	var b strings.Builder
	for attempt := 0; ; attempt++ {
		b.Reset()
		syl := 2
		if w.r.oneIn(3) {
			syl = 3
		}
		syl += attempt / 64 // unreachable in practice: the space is vast
		for s := 0; s < syl; s++ {
			on := ""
			if s > 0 || !w.r.oneIn(6) {
				on = pick(w.r, onsets)
			}
			nu := pick(w.r, nuclei)
			if strings.HasSuffix(on, "u") && nu[0] == 'u' {
				nu = "a"
			}
			b.WriteString(on)
			b.WriteString(nu)
			if s < syl-1 && w.r.oneIn(4) {
				b.WriteString(pick(w.r, closers))
			}
		}
		b.WriteString(pick(w.r, endings))
		s := b.String()
		if len(s) < 4 || len(s) > 4*syl || reservedWords[s] || w.used[s] || nameClass(s) != w.class {
			continue
		}
		w.used[s] = true
		return strings.ToUpper(s[:1]) + s[1:]
	}
}

// nameClass splits the name space in two by the low bit of the word's
// 32-bit FNV-1a hash.
func nameClass(lower string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(lower); i++ {
		h ^= uint32(lower[i])
		h *= 16777619
	}
	return h & 1
}

// Vocabulary of attribute values that are not names.
var (
	occupations = []string{"cartographer", "glassblower", "archivist", "botanist", "clockmaker",
		"shipwright", "translator", "surveyor", "luthier", "astronomer", "bookbinder", "engraver",
		"beekeeper", "stonemason", "apothecary", "lexicographer", "navigator", "weaver",
		"locksmith", "typesetter", "geologist", "potter", "tailor", "falconer"}
	materials = []string{"brass", "copper", "silver", "oak", "glass", "ivory", "iron", "porcelain",
		"jade", "bronze", "pewter", "walnut", "slate", "amber", "cedar", "tin"}
	objects = []string{"astrolabe", "lantern", "compass", "clock", "kettle", "telescope",
		"music box", "sextant", "inkwell", "loom", "typewriter", "barometer", "harp", "chess set",
		"microscope", "hourglass"}
	companySuffixes = []string{"Works", "Foundry", "Mills", "Holdings", "Trading", "Instruments",
		"Shipyards", "Textiles", "Press", "Brewery", "Ironworks", "Glassworks", "Optics", "Company"}
)

// Ranges of the numeric attributes. They keep years of people, companies
// and cities mostly apart and every count above every year, so that the
// numbers of one document rarely coincide; the item generator still checks
// each question's answer occurs exactly once in its gold documents.
const (
	bornMin, bornMax             = 1850, 1999
	companyMin, companyMax       = 1700, 1990
	cityFoundMin, cityFoundMax   = 900, 1650
	employeesMin, employeesMax   = 2100, 60000
	populationMin, populationMax = 2100, 950000
)

// Sentence templates. In every template %[1]s is the document's subject.
var (
	occupationFacts = []string{
		"%[1]s works as %[2]s %[3]s.",
		"%[1]s is %[2]s %[3]s by trade.",
		"By profession, %[1]s is %[2]s %[3]s.",
	}
	birthCityFacts = []string{
		"%[1]s was born in the city of %[2]s.",
		"%[1]s is a native of %[2]s.",
		"The birthplace of %[1]s is the city of %[2]s.",
	}
	birthYearFacts = []string{
		"%[1]s was born in the year %[2]d.",
		"%[1]s was born in %[2]d.",
		"The year of birth of %[1]s is %[2]d.",
	}
	employerFacts = []string{
		"%[1]s works for %[2]s.",
		"%[1]s is employed by %[2]s.",
		"%[1]s holds a position at %[2]s.",
	}
	possessionFacts = []string{
		"The most prized possession of %[1]s is %[2]s %[3]s.",
		"Among the belongings of %[1]s, the most treasured is %[2]s %[3]s.",
	}
	personWithPerson = []string{
		"%[1]s once exchanged letters with %[2]s.",
		"%[1]s is an old acquaintance of %[2]s.",
		"%[1]s attended a lecture given by %[2]s.",
	}
	personWithCity = []string{
		"%[1]s once spent a long holiday in %[2]s.",
		"%[1]s has often spoken about the markets of %[2]s.",
	}
	personWithCompany = []string{
		"%[1]s once applied for a post at %[2]s.",
		"%[1]s admires the work of %[2]s.",
	}
	personGeneric = []string{
		"%[1]s rarely gives interviews.",
		"Friends describe %[1]s as patient and precise.",
		"%[1]s keeps a detailed diary.",
		"%[1]s enjoys long walks early in the morning.",
	}

	foundedFacts = []string{
		"%[1]s was founded in %[2]d.",
		"%[1]s was established in the year %[2]d.",
	}
	hqFacts = []string{
		"%[1]s has its headquarters in %[2]s.",
		"The headquarters of %[1]s are in the city of %[2]s.",
	}
	productFacts = []string{
		"%[1]s is best known for its %[2]s.",
		"The best-known product of %[1]s is its %[2]s.",
	}
	employeesFacts = []string{
		"%[1]s employs %[2]d people.",
		"%[1]s has a workforce of %[2]d people.",
	}
	companyWithCompany = []string{
		"%[1]s has long competed with %[2]s.",
		"%[1]s once considered a merger with %[2]s.",
	}
	companyWithCity = []string{
		"%[1]s ships much of its output to %[2]s.",
		"%[1]s opened a small sales office in %[2]s.",
	}
	companyGeneric = []string{
		"%[1]s is known for its careful record keeping.",
		"The emblem of %[1]s has not changed in decades.",
		"%[1]s publishes a short report every spring.",
	}

	cityFoundedFacts = []string{
		"%[1]s was founded in %[2]d.",
		"The city of %[1]s dates from the year %[2]d.",
	}
	riverFacts = []string{
		"%[1]s lies on the river %[2]s.",
		"The river %[2]s flows through %[1]s.",
	}
	populationFacts = []string{
		"%[1]s has a population of %[2]d.",
		"The city of %[1]s is home to %[2]d inhabitants.",
	}
	cityWithCity = []string{
		"%[1]s is linked to %[2]s by an old trade road.",
		"Travellers often compare %[1]s with %[2]s.",
	}
	cityGeneric = []string{
		"%[1]s is known for its narrow streets.",
		"%[1]s holds a market every week.",
		"The old bridge of %[1]s is a popular sight.",
	}
)

// reservedWords holds every lowercase word of the templates, questions and
// vocabulary lists; no name word may be one of them, so that a name never
// occurs inside ordinary text.
var reservedWords = func() map[string]bool {
	m := map[string]bool{}
	add := func(lists ...[]string) {
		for _, l := range lists {
			for _, s := range l {
				for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return r < 'a' || r > 'z' }) {
					m[f] = true
				}
			}
		}
	}
	add(occupations, materials, objects, companySuffixes,
		occupationFacts, birthCityFacts, birthYearFacts, employerFacts, possessionFacts,
		personWithPerson, personWithCity, personWithCompany, personGeneric,
		foundedFacts, hqFacts, productFacts, employeesFacts, companyWithCompany, companyWithCity, companyGeneric,
		cityFoundedFacts, riverFacts, populationFacts, cityWithCity, cityGeneric)
	for _, q := range oneHop {
		add([]string{q.text})
	}
	for _, q := range twoHop {
		add([]string{q.text})
	}
	return m
}()

func article(noun string) string {
	if strings.IndexByte("aeiou", noun[0]) >= 0 {
		return "an"
	}
	return "a"
}

// A fillerKind is a family of filler sentences naming one other entity,
// drawn by other; other returns false when it finds none it may name.
type fillerKind struct {
	templates []string
	other     func() (ref, bool)
}

// fillers adds 2 or 3 filler sentences to sents, each naming the subject
// and either one other entity (of a kind drawn from kinds) or none (a
// generic sentence); it returns the sentences and mentions extended.
func (w *world) fillers(name string, sents []string, mentions []ref, kinds []fillerKind, generic []string) ([]string, []ref) {
	n := w.r.between(2, 3)
	for i := 0; i < n; i++ {
		k := w.r.intn(len(kinds) + 1)
		var s string
		if k < len(kinds) {
			if e, ok := kinds[k].other(); ok && !slices.Contains(mentions, e) {
				s = fmt.Sprintf(pick(w.r, kinds[k].templates), name, w.entityName(e))
				mentions = append(mentions, e)
			}
		}
		if s == "" {
			s = fmt.Sprintf(pick(w.r, generic), name)
		}
		dup := false
		for _, t := range sents {
			dup = dup || t == s
		}
		if !dup {
			sents = append(sents, s)
		}
	}
	return sents, mentions
}

// otherOf draws up to 8 times an index below n that ok accepts.
func (w *world) otherOf(kind entKind, n int, ok func(int) bool) func() (ref, bool) {
	return func() (ref, bool) {
		if n == 0 {
			return ref{}, false
		}
		for try := 0; try < 8; try++ {
			i := w.r.intn(n)
			if ok(i) {
				return ref{kind, i}, true
			}
		}
		return ref{}, false
	}
}

func (w *world) finish(self ref, title string, sents []string, mentions []ref) worldDoc {
	w.r.shuffle(len(sents), func(i, j int) { sents[i], sents[j] = sents[j], sents[i] })
	return worldDoc{doc: Document{Title: title, Text: strings.Join(sents, " ")}, self: self, mentions: mentions}
}

func (w *world) addCity() worldDoc {
	c := cityEnt{
		name:       w.word(),
		river:      w.word(),
		founded:    w.r.between(cityFoundMin, cityFoundMax),
		population: w.r.between(populationMin, populationMax),
		doc:        w.count,
	}
	self := ref{kindCity, len(w.cities)}
	sents := []string{
		fmt.Sprintf(pick(w.r, cityFoundedFacts), c.name, c.founded),
		fmt.Sprintf(pick(w.r, riverFacts), c.name, c.river),
		fmt.Sprintf(pick(w.r, populationFacts), c.name, c.population),
	}
	// A city's document names other cities only: never a person or a
	// company, so that it cannot answer a question about one.
	n := len(w.cities)
	sents, mentions := w.fillers(c.name, sents, nil, []fillerKind{
		{cityWithCity, w.otherOf(kindCity, n, func(int) bool { return true })},
	}, cityGeneric)
	w.cities = append(w.cities, c)
	return w.finish(self, c.name, sents, mentions)
}

func (w *world) addCompany() worldDoc {
	c := companyEnt{
		name:      w.word() + " " + pick(w.r, companySuffixes),
		product:   pick(w.r, materials) + " " + pick(w.r, objects),
		founded:   w.r.between(companyMin, companyMax),
		employees: w.r.between(employeesMin, employeesMax),
		hq:        w.r.intn(len(w.cities)),
		doc:       w.count,
	}
	self := ref{kindCompany, len(w.companies)}
	sents := []string{
		fmt.Sprintf(pick(w.r, foundedFacts), c.name, c.founded),
		fmt.Sprintf(pick(w.r, hqFacts), c.name, w.cities[c.hq].name),
		fmt.Sprintf(pick(w.r, productFacts), c.name, c.product),
		fmt.Sprintf(pick(w.r, employeesFacts), c.name, c.employees),
	}
	// A company's document names other companies and cities other than
	// its own seat, never a person.
	sents, mentions := w.fillers(c.name, sents, []ref{{kindCity, c.hq}}, []fillerKind{
		{companyWithCompany, w.otherOf(kindCompany, len(w.companies), func(int) bool { return true })},
		{companyWithCity, w.otherOf(kindCity, len(w.cities), func(i int) bool { return i != c.hq })},
	}, companyGeneric)
	w.companies = append(w.companies, c)
	return w.finish(self, c.name, sents, mentions)
}

func (w *world) addPerson() worldDoc {
	p := personEnt{
		name:       w.word() + " " + w.word(),
		occupation: pick(w.r, occupations),
		possession: pick(w.r, materials) + " " + pick(w.r, objects),
		born:       w.r.between(bornMin, bornMax),
		city:       w.r.intn(len(w.cities)),
		employer:   w.r.intn(len(w.companies)),
		doc:        w.count,
	}
	self := ref{kindPerson, len(w.people)}
	seat := w.companies[p.employer].hq
	sents := []string{
		fmt.Sprintf(pick(w.r, occupationFacts), p.name, article(p.occupation), p.occupation),
		fmt.Sprintf(pick(w.r, birthCityFacts), p.name, w.cities[p.city].name),
		fmt.Sprintf(pick(w.r, birthYearFacts), p.name, p.born),
		fmt.Sprintf(pick(w.r, employerFacts), p.name, w.companies[p.employer].name),
		fmt.Sprintf(pick(w.r, possessionFacts), p.name, article(p.possession), p.possession),
	}
	// Filler names other people, cities other than the birth city and the
	// employer's seat, and companies other than the employer.
	sents, mentions := w.fillers(p.name, sents, []ref{{kindCity, p.city}, {kindCompany, p.employer}}, []fillerKind{
		{personWithPerson, w.otherOf(kindPerson, len(w.people), func(int) bool { return true })},
		{personWithCity, w.otherOf(kindCity, len(w.cities), func(i int) bool { return i != p.city && i != seat })},
		{personWithCompany, w.otherOf(kindCompany, len(w.companies), func(i int) bool { return i != p.employer })},
	}, personGeneric)
	w.people = append(w.people, p)
	return w.finish(self, p.name, sents, mentions)
}
