package qa

// The reading test model: it finds the question at the end of the prompt,
// finds the entity it is about among the documents, and reads the answer
// out of the documents' sentences with string processing. It knows how the
// synthetic world words its statements (datasets/qa) and the shape of the
// hand-written test files ("The A of S is V."), never the answer.

import (
	"regexp"
	"strings"

	"github.com/evalctl/evalctl/tasks/internal/testmodel"
)

var questionRe = regexp.MustCompile(`(?m)^Question: (.+)$`)

// oracle answers like a careful reader; " unanswerable" when the documents
// do not say.
func oracle(prompt string) string {
	ms := questionRe.FindAllStringSubmatchIndex(prompt, -1)
	if ms == nil {
		return " I cannot find the question."
	}
	m := ms[len(ms)-1]
	ctx, q := prompt[:m[0]], prompt[m[2]:m[3]]
	if a, ok := synthetic(ctx, q); ok {
		return " " + a
	}
	if a, ok := relation(ctx, q); ok {
		return " " + a
	}
	return " " + Unanswerable
}

// wrong answers with every letter and digit of the right answer changed.
func wrong(prompt string) string { return testmodel.Garble(oracle(prompt)) }

// The synthetic question templates (datasets/qa): the attribute asked and,
// for two hops, the attribute that leads to the bridge entity.
var synthQuestions = []struct{ text, link, attr string }{
	{"In which city was %s born?", "", "birth_city"},
	{"In which year was %s born?", "", "birth_year"},
	{"Which company does %s work for?", "", "employer"},
	{"What is the occupation of %s?", "", "occupation"},
	{"What is the most prized possession of %s?", "", "possession"},
	{"In which year was %s founded?", "", "founded"},
	{"In which city does %s have its headquarters?", "", "seat"},
	{"What product is %s best known for?", "", "product"},
	{"How many people does %s employ?", "", "employees"},
	{"In which year was the city of %s founded?", "", "founded"},
	{"On which river does %s lie?", "", "river"},
	{"What is the population of %s?", "", "population"},
	{"In which year was the company founded that employs %s?", "employer", "founded"},
	{"In which city does the company that employs %s have its headquarters?", "employer", "seat"},
	{"What product is the employer of %s best known for?", "employer", "product"},
	{"How many people does the employer of %s employ?", "employer", "employees"},
	{"In which year was the city founded where %s was born?", "birth_city", "founded"},
	{"On which river lies the city where %s was born?", "birth_city", "river"},
	{"What is the population of the city where %s was born?", "birth_city", "population"},
	{"In which year was the city founded where %s has its headquarters?", "seat", "founded"},
	{"On which river lies the city where %s has its headquarters?", "seat", "river"},
	{"What is the population of the city where %s has its headquarters?", "seat", "population"},
}

// statements are the ways the synthetic world states an attribute of {S};
// the group captures the value.
var statements = map[string][]string{
	"birth_city": {`{S} was born in the city of ([^.]+)\.`, `{S} is a native of ([^.]+)\.`, `The birthplace of {S} is the city of ([^.]+)\.`},
	"birth_year": {`{S} was born in the year (\d+)\.`, `{S} was born in (\d+)\.`, `The year of birth of {S} is (\d+)\.`},
	"employer":   {`{S} works for ([^.]+)\.`, `{S} is employed by ([^.]+)\.`, `{S} holds a position at ([^.]+)\.`},
	"occupation": {`{S} works as an? ([^.]+)\.`, `{S} is an? ([^.]+) by trade\.`, `By profession, {S} is an? ([^.]+)\.`},
	"possession": {`The most prized possession of {S} is an? ([^.]+)\.`, `Among the belongings of {S}, the most treasured is an? ([^.]+)\.`},
	"founded":    {`{S} was founded in (\d+)\.`, `{S} was established in the year (\d+)\.`, `The city of {S} dates from the year (\d+)\.`},
	"seat":       {`{S} has its headquarters in ([^.]+)\.`, `The headquarters of {S} are in the city of ([^.]+)\.`},
	"product":    {`{S} is best known for its ([^.]+)\.`, `The best-known product of {S} is its ([^.]+)\.`},
	"employees":  {`{S} employs (\d+) people\.`, `{S} has a workforce of (\d+) people\.`},
	"river":      {`{S} lies on the river ([^.]+)\.`, `The river ([^.]+) flows through {S}\.`},
	"population": {`{S} has a population of (\d+)\.`, `The city of {S} is home to (\d+) inhabitants\.`},
}

// state finds the value of attr of subject in the context.
func state(ctx, subject, attr string) (string, bool) {
	for _, p := range statements[attr] {
		re := regexp.MustCompile(`\b` + strings.Replace(p, "{S}", regexp.QuoteMeta(subject), 1))
		if m := re.FindStringSubmatch(ctx); m != nil {
			return m[1], true
		}
	}
	return "", false
}

func synthetic(ctx, q string) (string, bool) {
	for _, sq := range synthQuestions {
		parts := strings.Split(sq.text, "%s")
		re := regexp.MustCompile(`^` + regexp.QuoteMeta(parts[0]) + `(.+)` + regexp.QuoteMeta(parts[1]) + `$`)
		m := re.FindStringSubmatch(q)
		// The subject is an entity with a document of its own.
		if m == nil || !strings.Contains(ctx, "(Title: "+m[1]+"):") {
			continue
		}
		subject := m[1]
		if sq.link != "" {
			bridge, ok := state(ctx, subject, sq.link)
			if !ok {
				continue
			}
			subject = bridge
		}
		if a, ok := state(ctx, subject, sq.attr); ok {
			return a, true
		}
	}
	return "", false
}

var (
	relationRe = regexp.MustCompile(`^(?:What|Who) is the (.+?) of (.+)\?$`)
	nestedRe   = regexp.MustCompile(`^the (.+?) of (.+)$`)
)

// relation answers "What is the A of S?" from a sentence "The A of S is
// V.", where S may itself be "the B of T".
func relation(ctx, q string) (string, bool) {
	m := relationRe.FindStringSubmatch(q)
	if m == nil {
		return "", false
	}
	return lookup(ctx, m[1], m[2])
}

func lookup(ctx, attr, subject string) (string, bool) {
	if m := nestedRe.FindStringSubmatch(subject); m != nil {
		if v, ok := lookup(ctx, m[1], m[2]); ok {
			subject = v
		}
	}
	re := regexp.MustCompile(`(?:^|\s)[Tt]he ` + regexp.QuoteMeta(attr) + ` of ` + regexp.QuoteMeta(subject) + ` is ([^\n]+?)\.(?:\s|$)`)
	if m := re.FindStringSubmatch(ctx); m != nil {
		return m[1], true
	}
	return "", false
}
