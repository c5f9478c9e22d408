package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/harness"
)

func runCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a suite: a YAML file or a built-in suite name (default: the built-in default suite)",
		ArgsUsage: "[SUITE]",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "set", Usage: "override a suite value: path=value, e.g. seed=7, lengths=[1K,4K], backends.sparse.params.topk=32 (repeatable)"},
			&cli.StringFlag{Name: "out", Value: "results", Usage: "results root; the run is written to OUT/<run-id>/"},
			&cli.StringFlag{Name: "run-id", Usage: "name of the run directory (default: <suite>-<UTC time>)"},
			&cli.StringFlag{Name: "resume", Usage: "continue the run in this directory, skipping finished cells"},
			&cli.IntFlag{Name: "limit", Usage: "run only the first N cells of the plan (after --shard)"},
			&cli.StringFlag{Name: "shard", Usage: "run shard i of n of the plan, e.g. 2/4, in OUT/RUN-ID/shard-i-of-n/ (resumed if it exists); auto: from a Slurm array (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX); join shards with evalctl merge"},
			&cli.IntFlag{Name: "shard-count", Usage: "with --shard auto under Kubernetes: the number of shards (the Job's completions); default $EVALCTL_SHARD_COUNT"},
			&cli.IntFlag{Name: "workers", Usage: "parallel cells (default: the suite's workers, else the number of cores)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
			&cli.BoolFlag{Name: "no-report", Usage: "do not write report.md and plots after the run"},
			&cli.StringFlag{Name: "format", Value: "png", Usage: "plot format: png or svg"},
			&cli.BoolFlag{Name: "fail-on-errors", Usage: "exit with status 3 if any cell failed"},
			&cli.DurationFlag{Name: "flush-interval", Value: time.Second, Usage: "write records to disk at least this often", Hidden: true},
		},
		Action: func(c *cli.Context) error { return runAction(c, e) },
	}
}

// loadSuite reads a suite by file path or built-in name.
func loadSuite(arg string, sets []string) (*harness.Suite, error) {
	if arg == "" {
		arg = "default"
	}
	var data []byte
	source := arg
	if b, ok := harness.BuiltinSuite(arg); ok && !fileExists(arg) {
		data, source = b, "builtin:"+arg
	} else {
		b, err := os.ReadFile(arg)
		if err != nil {
			if os.IsNotExist(err) {
				return nil, badConfig("suite %q: no such file, and no built-in suite of that name (built-in: %s)", arg, strings.Join(harness.BuiltinSuites(), ", "))
			}
			return nil, badConfig("suite %q: %v", arg, err)
		}
		data = b
	}
	s, err := harness.ParseSuite(source, data, sets)
	if err != nil {
		return nil, withCode(exitBadConfig, err)
	}
	return s, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func runAction(c *cli.Context, e *env) error {
	if c.NArg() > 1 {
		return badConfig("run takes at most one suite, got %d arguments", c.NArg())
	}
	format := c.String("format")
	if format != "png" && format != "svg" {
		return badConfig("--format %q: accepted: png, svg", format)
	}
	if c.Int("limit") < 0 {
		return badConfig("--limit %d: must be >= 0", c.Int("limit"))
	}
	if c.Int("workers") < 0 || c.Int("workers") > harness.MaxWorkers {
		return badConfig("--workers %d: must be in [0, %d]", c.Int("workers"), harness.MaxWorkers)
	}
	opts := harness.Options{
		Root: c.String("out"), RunID: c.String("run-id"), Workers: c.Int("workers"), Limit: c.Int("limit"),
		Log: e.stderr, Version: version, FlushEvery: c.Duration("flush-interval"),
	}
	if c.String("resume") != "" && (c.NArg() > 0 || len(c.StringSlice("set")) > 0 || c.IsSet("limit") || c.IsSet("shard") || c.IsSet("shard-count") || c.IsSet("run-id")) {
		return badConfig("--resume continues the run as it was planned: give no suite, --set, --limit, --shard or --run-id with it")
	}
	sharded := c.String("shard") != ""
	switch s := c.String("shard"); {
	case s == "auto":
		if c.Int("shard-count") < 0 {
			return badConfig("--shard-count %d: must be >= 1", c.Int("shard-count"))
		}
		sh, from, err := harness.ShardFromEnv(c.Int("shard-count"), os.Getenv)
		if err != nil {
			return badConfig("%v", err)
		}
		opts.Shard = sh
		fmt.Fprintf(e.stderr, "shard %d/%d (%s)\n", sh.I, sh.N, from)
	case c.IsSet("shard-count"):
		return badConfig("--shard-count goes with --shard auto")
	case s != "":
		sh, err := harness.ParseShard(s)
		if err != nil {
			return badConfig("--shard: %v", err)
		}
		opts.Shard = sh
	}
	if e.stderrIsTTY && !c.Bool("quiet") {
		opts.Progress = e.stderr
	}
	var out *harness.Outcome
	var err error
	if dir := c.String("resume"); dir != "" {
		if _, statErr := os.Stat(filepath.Join(dir, harness.ManifestName)); statErr != nil {
			return badConfig("--resume %s: not a run directory (no %s)", dir, harness.ManifestName)
		}
		out, err = harness.Resume(c.Context, dir, opts)
	} else {
		s, lerr := loadSuite(c.Args().First(), c.StringSlice("set"))
		if lerr != nil {
			return lerr
		}
		cells := harness.Select(harness.Plan(s), opts.Shard, opts.Limit)
		if sharded && opts.RunID == "" {
			// Every task of a Slurm array shares the array's job id.
			if jid := os.Getenv(harness.EnvSlurmJobID); jid != "" {
				opts.RunID = s.Name + "-" + jid
			} else {
				return badConfig("a sharded run needs --run-id, the same for every shard, so that the shards share OUT/RUN-ID/ and a restarted shard finds its directory")
			}
		}
		fmt.Fprintf(e.stderr, "suite %s: %d cells (%d backends x %d tasks), seed %d\n", s.Name, len(cells), len(s.Backends), len(s.Tasks), s.Seed)
		if sharded {
			out, err = harness.RunShard(c.Context, s, opts)
		} else {
			out, err = harness.Run(c.Context, s, opts)
		}
	}
	if out == nil {
		var ce *harness.ConfigError
		if errors.As(err, &ce) || errors.Is(err, harness.ErrShardDirTaken) {
			return withCode(exitBadConfig, err)
		}
		return withCode(exitRunFailed, err)
	}
	fmt.Fprintf(e.stderr, "run %s: %d cells done this session, %d already done, %d errors, in %s\n",
		out.RunID, out.Done, out.Skipped, out.Errors, out.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(e.stdout, "records: %s\n", out.Dir)
	if errors.Is(err, harness.ErrInterrupted) {
		return withCode(exitInterrupted, err)
	}
	if err != nil {
		return withCode(exitRunFailed, err)
	}
	if !c.Bool("no-report") {
		if rerr := writeReport(e, []string{out.Dir}, out.Dir, format, true, io.Discard); rerr != nil {
			return withCode(exitFailure, fmt.Errorf("report: %w", rerr))
		}
	}
	if c.Bool("fail-on-errors") && out.Errors > 0 {
		return withCode(exitRunFailed, fmt.Errorf("%d cells failed (see the error field of their records)", out.Errors))
	}
	return nil
}
