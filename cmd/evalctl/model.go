package main

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model"
	"github.com/evalctl/evalctl/params"
)

func modelCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "model",
		Usage: "inspect, run and convert models of the native runtime",
		Subcommands: []*cli.Command{
			{
				Name:      "info",
				Usage:     "print a model's architecture, size and tokenizer",
				ArgsUsage: "PATH",
				Action:    func(c *cli.Context) error { return modelInfo(c, e) },
			},
			{
				Name:      "generate",
				Usage:     "greedy generation from a prompt with one attention mode",
				ArgsUsage: "PATH PROMPT",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "max-tokens", Value: 32, Usage: "tokens to generate at most"},
					&cli.StringSliceFlag{Name: "stop", Usage: "stop string (repeatable)"},
					&cli.StringSliceFlag{Name: "set", Usage: "backend parameter name=value (repeatable), e.g. attention=sparse, topk=16"},
				},
				Action: func(c *cli.Context) error { return modelGenerate(c, e) },
			},
			convertCommand(e),
		},
	}
}

func modelInfo(c *cli.Context, e *env) error {
	if c.NArg() != 1 {
		return badConfig("model info takes one PATH, got %d arguments", c.NArg())
	}
	m, err := model.Load(c.Args().First())
	if err != nil {
		return badConfig("%v", err)
	}
	cfg := m.Cfg
	fmt.Fprintf(e.stdout, "path:       %s\n", c.Args().First())
	fmt.Fprintf(e.stdout, "model:      %s\n", cfg)
	fmt.Fprintf(e.stdout, "parameters: %.2fM (%s as float32 in memory)\n", float64(cfg.Params())/1e6, params.FormatSize(cfg.Params()*4))
	kv := int64(cfg.Layers) * int64(cfg.KVHeads*cfg.HeadDim) * 2 * 4
	fmt.Fprintf(e.stdout, "kv cache:   %s per token (float32 keys and values, all layers)\n", params.FormatSize(kv))
	fmt.Fprintf(e.stdout, "bos/eos:    %d / %v (prompts start with BOS: %v)\n", cfg.BOS, cfg.EOS, m.AddBOS)
	if m.Tok != nil {
		fmt.Fprintf(e.stdout, "tokenizer:  %d tokens\n", m.Tok.VocabSize())
	} else {
		fmt.Fprintf(e.stdout, "tokenizer:  none\n")
	}
	if m.ChatTemplate != "" {
		fmt.Fprintf(e.stdout, "chat:       the tokenizer config has a chat template\n")
	}
	return nil
}

// newModelBackend builds the "model" backend from name=value settings.
func newModelBackend(path string, sets []string) (*model.Backend, error) {
	info, _ := backends.Lookup("model")
	raw := map[string]any{"path": path}
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return nil, badConfig("--set %q: want name=value", s)
		}
		raw[k] = v
	}
	p, err := params.Resolve(info.Params, raw)
	if err != nil {
		return nil, badConfig("%v", err)
	}
	if info.Check != nil {
		if err := info.Check(p); err != nil {
			return nil, badConfig("%v", err)
		}
	}
	b, err := info.New(backends.Config{Label: "model", Params: p})
	if err != nil {
		return nil, badConfig("%v", err)
	}
	return b.(*model.Backend), nil
}

func modelGenerate(c *cli.Context, e *env) error {
	if c.NArg() != 2 {
		return badConfig("model generate takes PATH and PROMPT, got %d arguments", c.NArg())
	}
	b, err := newModelBackend(c.Args().Get(0), c.StringSlice("set"))
	if err != nil {
		return err
	}
	defer b.Close()
	r, err := b.Generate(c.Context, &lm.GenerateRequest{Prompt: c.Args().Get(1), MaxTokens: c.Int("max-tokens"), Stop: c.StringSlice("stop")})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, r.Text)
	var dec float64
	for _, d := range r.Timing.Decode {
		dec += d.Seconds()
	}
	rate := 0.0
	if len(r.Timing.Decode) > 0 {
		rate = float64(len(r.Timing.Decode)) / dec
	}
	fmt.Fprintf(e.stderr, "%d prompt tokens, %d generated (%s); prefill %v (%.0f tokens/s), decode %.1f tokens/s, peak KV %s\n",
		r.PromptTokens, r.OutputTokens, r.FinishReason, r.Timing.Prefill.Round(1e5),
		float64(r.PromptTokens)/r.Timing.Prefill.Seconds(), rate, params.FormatSize(r.Timing.PeakKVBytes))
	return nil
}
