package openai_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/openai"
	"github.com/evalctl/evalctl/backends/openai/server"
)

// shout stands in for a model: its completion is the prompt in upper case,
// its tokens the prompt's bytes.
type shout struct{}

func (shout) Tokenize(_ context.Context, p string) ([]int, error) {
	ids := []int{}
	for i := 0; i < len(p); i++ {
		ids = append(ids, int(p[i]))
	}
	return ids, nil
}

func (shout) Generate(_ context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	text := strings.ToUpper(req.Prompt)
	return &lm.GenerateResponse{Text: text, PromptTokens: len(req.Prompt), OutputTokens: len(text), FinishReason: "stop"}, nil
}

func (shout) Loglikelihood(context.Context, *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	return nil, errors.New("not supported")
}

// A model served over HTTP by backends/openai/server and used through the
// openai client, as any OpenAI-compatible server would be.
func Example() {
	srv := server.New(shout{}, server.Options{ModelName: "shout"})
	addr := make(chan net.Addr, 1)
	go srv.ListenAndServe("127.0.0.1:0", func(a net.Addr) { addr <- a })
	defer srv.Shutdown(context.Background())

	c, err := openai.New(openai.Options{
		URLs:      []string{"http://" + (<-addr).String() + "/v1"},
		API:       "chat",
		Stream:    true,
		Tokenizer: "server",
		Retries:   2,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	ctx := context.Background()
	resp, err := c.Generate(ctx, &lm.GenerateRequest{Prompt: "hello, world", MaxTokens: 16, Stop: []string{","}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text, resp.FinishReason, resp.PromptTokens, resp.OutputTokens)
	ids, err := c.Tokenize(ctx, "hi")
	fmt.Println(ids, err)
	// Output:
	// HELLO stop 12 12
	// [104 105] <nil>
}
