package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/openai/server"
)

// reverse stands in for a model: its completion is the prompt reversed.
type reverse struct{}

func (reverse) Tokenize(_ context.Context, p string) ([]int, error) { return []int{len(p)}, nil }

func (reverse) Generate(_ context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	rs := []rune(req.Prompt)
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return &lm.GenerateResponse{Text: string(rs), PromptTokens: 1, OutputTokens: 1, FinishReason: "stop"}, nil
}

func (reverse) Loglikelihood(context.Context, *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	return nil, errors.New("not supported")
}

// Serving a model on a free loopback port and asking it for a streamed
// completion.
func ExampleServer_ListenAndServe() {
	srv := server.New(reverse{}, server.Options{ModelName: "reverse"})
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe("127.0.0.1:0", func(a net.Addr) { addr <- a }) }()
	url := "http://" + (<-addr).String()

	resp, err := http.Post(url+"/v1/completions", "application/json",
		strings.NewReader(`{"model": "reverse", "prompt": "stressed", "max_tokens": 8, "stream": true, "stream_options": {"include_usage": true}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, line := range strings.Split(string(body), "\n") {
		if i := strings.Index(line, `"choices"`); i >= 0 {
			line = "data: {…" + line[i:] // drop the id and time stamp
		}
		if line != "" {
			fmt.Println(line)
		}
	}
	fmt.Println(srv.Shutdown(context.Background()), <-done)
	// Output:
	// data: {…"choices":[{"index":0,"text":"desserts","logprobs":null,"finish_reason":null}]}
	// data: {…"choices":[{"index":0,"text":"","logprobs":null,"finish_reason":"stop"}]}
	// data: {…"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}
	// data: [DONE]
	// <nil> http: Server closed
}
