package chat_test

import (
	"errors"
	"fmt"
	"log"

	"github.com/evalctl/evalctl/backends/model/chat"
)

func ExampleByName() {
	t, err := chat.ByName("chatml")
	if err != nil {
		log.Fatal(err)
	}
	prompt, err := t.Format([]chat.Message{{Role: "user", Content: "Hi"}}, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q, add BOS: %v\n", prompt, chat.AddBOS(t, false))
	// Output:
	// "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", add BOS: false
}

// "auto": the model's chat template when it has one, else plain, falling
// back to plain with a warning when the template is not recognised.
func ExampleFromTokenizerConfig() {
	for _, path := range []string{"testdata/configs/llama3.json", "testdata/configs/unknown.json"} {
		t, cfg, err := chat.FromTokenizerConfig(path)
		if errors.Is(err, chat.ErrUnrecognized) {
			fmt.Println("warning:", err)
			t, err = chat.Plain(), nil
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(t.Name(), t.AddsBOS(), cfg.BOSToken)
	}
	// Output:
	// llama3 true <|begin_of_text|>
	// warning: testdata/configs/unknown.json: chat template not recognised: it has none of the markers <|start_header_id|>, <|im_start|>, <start_of_turn>, <用户>, [INST]
	// plain false <s>
}
