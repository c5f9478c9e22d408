package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model/tokenizer"
	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/tasks"
)

func datasetsCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "datasets",
		Usage: "work with the samples that tasks generate",
		Subcommands: []*cli.Command{{
			Name:      "export",
			Usage:     "write the samples of a suite's model tasks as JSONL (prompt, references, metadata), fitted with a tokenizer",
			ArgsUsage: "[SUITE]",
			Description: "Every (task, length, depth, sample) of the suite is generated once, as a run would for any backend\n" +
				"with this tokenizer, and written as one JSON object per line. Use --set seed=N with seeds disjoint\n" +
				"from your evaluation seeds to make training data. Output ending in .zst is zstd-compressed.\n" +
				"A file is written as OUT.partial and renamed to OUT at the end, so OUT is always a whole export;\n" +
				"an interrupted export leaves its complete samples in OUT.partial.",
			Flags: []cli.Flag{
				&cli.StringSliceFlag{Name: "set", Usage: "override a suite value (repeatable), e.g. seed=1000"},
				&cli.StringFlag{Name: "tokenizer", Required: true, Usage: "tokenizer.json used to fit prompts to the lengths (or a model directory holding one)"},
				&cli.IntFlag{Name: "bos", Value: -1, Usage: "id of a BOS token counted at the start of every prompt (-1: none)"},
				&cli.StringFlag{Name: "out", Value: "-", Usage: "output file (.jsonl or .jsonl.zst); - for stdout"},
				&cli.IntFlag{Name: "workers", Usage: "samples generated in parallel (default: the number of cores); the output order is the plan's"},
			},
			Action: func(c *cli.Context) error { return exportAction(c, e) },
		}},
	}
}

// exportRecord is one exported sample.
type exportRecord struct {
	Task         string         `json:"task"`
	TaskParams   map[string]any `json:"task_params"`
	Length       int            `json:"length"`
	Depth        float64        `json:"depth"`
	Sample       int            `json:"sample"`
	Seed         int64          `json:"seed"`
	Kind         string         `json:"kind"` // generate or loglikelihood
	Prompt       string         `json:"prompt,omitempty"`
	MaxTokens    int            `json:"max_tokens,omitempty"`
	Stop         []string       `json:"stop,omitempty"`
	Context      string         `json:"context,omitempty"`
	Continuation string         `json:"continuation,omitempty"`
	References   []string       `json:"references,omitempty"`
	PromptTokens int            `json:"prompt_tokens"`
	Metrics      map[string]any `json:"metrics,omitempty"`
	Info         map[string]any `json:"info,omitempty"`
}

// recorder is a text-model backend that answers nothing: it tokenizes with
// a real tokenizer (so tasks fit their prompts exactly as for a model with
// it) and records the requests the task sends.
type recorder struct {
	tok *tokenizer.Tokenizer
	bos int

	mu   sync.Mutex
	reqs []any
	// counts holds the token count of every prompt tokenized, so that the
	// final prompt (which fitting tokenizes) is not tokenized again.
	counts map[string]int
}

func (r *recorder) Close() error { return nil }

func (r *recorder) Tokenize(_ context.Context, prompt string) ([]int, error) {
	var ids []int
	if r.bos >= 0 {
		ids = append(ids, r.bos)
	}
	ids = append(ids, r.tok.Encode(prompt)...)
	r.mu.Lock()
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[prompt] = len(ids)
	r.mu.Unlock()
	return ids, nil
}

// promptTokens is the token count of a prompt, from the task's own
// tokenization when it made one.
func (r *recorder) promptTokens(ctx context.Context, prompt string) int {
	r.mu.Lock()
	n, ok := r.counts[prompt]
	r.mu.Unlock()
	if ok {
		return n
	}
	ids, _ := r.Tokenize(ctx, prompt)
	return len(ids)
}

func (r *recorder) Generate(_ context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	return &lm.GenerateResponse{FinishReason: "stop"}, nil
}

func (r *recorder) Loglikelihood(_ context.Context, req *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	n := len(r.tok.Encode(req.Continuation))
	resp := &lm.LoglikelihoodResponse{Tokens: n}
	if req.TokenLogprobs {
		resp.TokenLogprobs = make([]float64, n)
	}
	return resp, nil
}

func exportAction(c *cli.Context, e *env) error {
	if c.NArg() > 1 {
		return badConfig("datasets export takes at most one suite, got %d arguments", c.NArg())
	}
	s, err := loadSuite(c.Args().First(), c.StringSlice("set"))
	if err != nil {
		return err
	}
	tp := c.String("tokenizer")
	if st, err := os.Stat(tp); err == nil && st.IsDir() {
		tp = filepath.Join(tp, "tokenizer.json")
	}
	tok, err := tokenizer.Load(tp)
	if err != nil {
		return badConfig("--tokenizer: %v", err)
	}
	// One item per (task, length, depth, sample): the plan repeats them
	// for every backend.
	type item struct {
		cell harness.Cell
		task tasks.Task
	}
	built := map[int]tasks.Task{}
	seen := map[string]bool{}
	var items []item
	for _, cell := range harness.Plan(s) {
		k := fmt.Sprintf("%d/%d/%g/%d", cell.TaskIdx, cell.Length, cell.Depth, cell.Sample)
		if seen[k] {
			continue
		}
		seen[k] = true
		t, ok := built[cell.TaskIdx]
		if !ok {
			info, _ := tasks.Lookup(cell.Task.Name)
			if t, err = info.New(tasks.Config{Params: cell.Task.Params}); err != nil {
				return badConfig("task %s: %v", cell.Task.Name, err)
			}
			built[cell.TaskIdx] = t
		}
		items = append(items, item{cell, t})
	}

	// A file is written as OUT.partial and renamed to OUT when every cell
	// has been tried, so that OUT is always a whole export. An interrupted
	// export flushes the complete samples it has to OUT.partial and says
	// so; a killed one leaves OUT.partial (its last line may be cut).
	var w io.Writer = e.stdout
	out := c.String("out")
	partial := out + ".partial"
	var closers []func() error
	if out != "-" {
		f, err := os.Create(partial)
		if err != nil {
			return err
		}
		closers = append(closers, f.Close)
		w = f
		if strings.HasSuffix(out, ".zst") {
			zw, err := zstd.NewWriter(f)
			if err != nil {
				return err
			}
			closers = append([]func() error{zw.Close}, closers...)
			w = zw
		}
	}
	bw := bufio.NewWriter(w)
	// finish flushes what was written and closes the zstd stream and the
	// file (each of them, even after an error), returning the first error.
	finish := func() error {
		err := bw.Flush()
		for _, cl := range closers {
			if cerr := cl(); err == nil {
				err = cerr
			}
		}
		return err
	}

	workers := c.Int("workers")
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	results := make([][]exportRecord, len(items))
	errs := make([]error, len(items))
	done := make([]chan struct{}, len(items))
	for i := range done {
		done[i] = make(chan struct{})
	}
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = exportOne(ctx, tok, c.Int("bos"), items[i].task, items[i].cell)
				close(done[i])
			}
		}()
	}
	// Feed in plan order, at most a window ahead of the writer, and write
	// in plan order: memory stays bounded and the output deterministic.
	go func() {
		defer close(next)
		for i := range items {
			if i >= 4*workers {
				select {
				case <-done[i-4*workers]:
				case <-ctx.Done():
					return
				}
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	n, failed := 0, 0
	for i := range items {
		select {
		case <-done[i]:
		case <-ctx.Done():
			cancel()
			wg.Wait()
			err := finish()
			if out != "-" {
				if err != nil {
					return fmt.Errorf("interrupted, and writing %s failed: %w", partial, err)
				}
				fmt.Fprintf(e.stderr, "export interrupted: %d complete samples of %d cells in %s; %s not written\n", n, i, partial, out)
			}
			return harness.ErrInterrupted
		}
		if errs[i] != nil {
			cell := items[i].cell
			fmt.Fprintf(e.stderr, "export: %s length %d depth %g sample %d: %v\n", cell.Task.Name, cell.Length, cell.Depth, cell.Sample, errs[i])
			failed++
			continue
		}
		for _, r := range results[i] {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			bw.Write(b)
			bw.WriteByte('\n')
			n++
		}
		results[i] = nil
	}
	wg.Wait()
	if err := finish(); err != nil {
		return err
	}
	if out != "-" {
		if err := os.Rename(partial, out); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "exported %d samples from %d cells\n", n, len(items))
	if failed > 0 {
		return &exitError{exitRunFailed, fmt.Errorf("%d of %d cells failed (see above)", failed, len(items))}
	}
	return nil
}

// exportOne generates one cell's sample through a recorder.
func exportOne(ctx context.Context, tok *tokenizer.Tokenizer, bos int, t tasks.Task, cell harness.Cell) ([]exportRecord, error) {
	rec := &recorder{tok: tok, bos: bos}
	res, err := t.Evaluate(ctx, rec, tasks.Cell{Length: cell.Length, Depth: cell.Depth, Sample: cell.Sample, Seed: cell.Seed})
	if err != nil {
		return nil, err
	}
	if len(rec.reqs) == 0 {
		return nil, fmt.Errorf("task %s sent no text request (not a model task?)", cell.Task.Name)
	}
	base := exportRecord{Task: cell.Task.Name, TaskParams: cell.Task.Params, Length: cell.Length, Depth: cell.Depth,
		Sample: cell.Sample, Seed: cell.Seed, References: res.References, Info: res.Info}
	if len(res.Metrics) > 0 {
		base.Metrics = map[string]any{}
		for k, v := range res.Metrics {
			base.Metrics[k] = v.Value
		}
	}
	out := make([]exportRecord, 0, len(rec.reqs))
	for _, r := range rec.reqs {
		x := base
		switch r := r.(type) {
		case *lm.GenerateRequest:
			x.Kind, x.Prompt, x.MaxTokens, x.Stop = "generate", r.Prompt, r.MaxTokens, r.Stop
			x.PromptTokens = rec.promptTokens(ctx, r.Prompt)
		case *lm.LoglikelihoodRequest:
			x.Kind, x.Context, x.Continuation = "loglikelihood", r.Context, r.Continuation
			x.PromptTokens = len(tok.Encode(r.Context)) + len(tok.Encode(r.Continuation))
		}
		out = append(out, x)
	}
	return out, nil
}
