package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/backends/openai/server"
)

func serveCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "serve a model of the native runtime over an OpenAI-compatible HTTP API",
		ArgsUsage: "[PATH]",
		Description: "Endpoints: GET /v1/models, POST /v1/completions, POST /v1/chat/completions (streaming with SSE),\n" +
			"POST /tokenize. PATH is a model directory or .gguf file (default: the embedded default model).\n" +
			"The attention mode and its parameters are backend parameters: --set attention=sparse --set topk=16.\n" +
			"The first interrupt stops accepting requests and lets those in flight finish; a second one exits.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "addr", Value: "127.0.0.1:8000", Usage: "listen address (host:port; port 0 picks a free one)"},
			&cli.StringSliceFlag{Name: "set", Usage: "backend parameter name=value (repeatable), e.g. attention=switching, dense_len=8K, template=auto"},
			&cli.StringFlag{Name: "name", Value: "evalctl", Usage: "model id in /v1/models and responses"},
			&cli.IntFlag{Name: "max-concurrent", Value: 1, Usage: "requests that run the model at once"},
			&cli.IntFlag{Name: "max-queue", Value: 64, Usage: "requests that may wait for their turn; more get 503"},
			&cli.Int64Flag{Name: "max-request-bytes", Value: 32 << 20, Usage: "largest request body; larger ones get 413"},
			&cli.DurationFlag{Name: "shutdown-timeout", Value: 30 * time.Second, Usage: "how long a shutdown waits for requests in flight"},
		},
		Action: func(c *cli.Context) error { return serveAction(c, e) },
	}
}

func serveAction(c *cli.Context, e *env) error {
	if c.NArg() > 1 {
		return badConfig("serve takes at most one PATH, got %d arguments", c.NArg())
	}
	path := c.Args().First()
	if path == "" {
		path = "default"
	}
	b, err := newModelBackend(path, c.StringSlice("set"))
	if err != nil {
		return err
	}
	defer b.Close()
	srv := server.New(b, server.Options{
		ModelName: c.String("name"), MaxConcurrent: c.Int("max-concurrent"), MaxQueue: c.Int("max-queue"),
		MaxRequestBytes: c.Int64("max-request-bytes"), Tokenizer: b.M.Tok,
	})
	l, err := net.Listen("tcp", c.String("addr"))
	if err != nil {
		return badConfig("--addr: %v", err)
	}
	fmt.Fprintf(e.stderr, "serving %s (%s attention) on http://%s/v1\n", b.M.Path, b.Mode.Name(), l.Addr())
	if e.ready != nil {
		e.ready(l.Addr())
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-c.Context.Done():
	}
	fmt.Fprintln(e.stderr, "shutting down: finishing requests in flight")
	ctx, cancel := context.WithTimeout(context.Background(), c.Duration("shutdown-timeout"))
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return err
	}
	<-done
	return nil
}
