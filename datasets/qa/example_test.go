package qa_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/evalctl/evalctl/datasets/qa"
)

func Example() {
	// Two two-hop questions about an invented world; the same seed gives
	// the same items everywhere.
	items, err := qa.Synthetic(7, 2, qa.SyntheticOptions{Hops: 2})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		fmt.Println(it.ID, it.Question, "->", it.Answers)
		for _, d := range it.Gold {
			fmt.Println("  gold:", d.Title)
		}
	}

	// Distractor documents to fill a long context around the gold ones:
	// a stream of documents that never name an entity of any item.
	stream := qa.NewDistractorStream(7)
	for range 3 {
		fmt.Println("distractor:", stream.Next().Title)
	}
	// Output:
	// synthetic-7-0 What product is the employer of Krosado Vrirzus best known for? -> [iron kettle]
	//   gold: Krosado Vrirzus
	//   gold: Rake Mills
	// synthetic-7-1 On which river lies the city where Lostand Gralol was born? -> [Boukaend]
	//   gold: Lostand Gralol
	//   gold: Stodo
	// distractor: Zogringes
	// distractor: Nusos Holdings
	// distractor: Ousar Kashath
}

func ExampleReadJSONL() {
	// A LongBench-style record; Load(path, "auto") reads files the same way.
	const data = `{"_id": "q1", "input": "Who built the mill?", "context": "The mill was built by Ada Oyelaran in 1861.", "answers": ["Ada Oyelaran"]}`
	items, err := qa.ReadJSONL(strings.NewReader(data), "longbench.jsonl", qa.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, it := range items {
		fmt.Printf("%s %s: %q %q, %d gold document\n", it.Source, it.ID, it.Question, it.Answers, len(it.Gold))
	}

	// Errors name the file, the line and the key at fault.
	_, err = qa.ReadJSONL(strings.NewReader(data+"\n"+`{"input": "Who?", "answers": [["nested"]]}`), "longbench.jsonl", qa.Options{})
	fmt.Println(err)
	// Output:
	// jsonl:longbench.jsonl q1: "Who built the mill?" ["Ada Oyelaran"], 1 gold document
	// longbench.jsonl:2: answers[0]: want a string or a number, got a list
}
