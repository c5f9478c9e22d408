// Command evalctl benchmarks and evaluates long-context attention modes:
// dense, InfLLM-V2 sparse, switching, and baselines, side by side on the
// same samples. See README.md.
//
// Every subcommand runs in-process through run(ctx, env, args); only main
// touches the process (os.Args, signals, exit codes).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/urfave/cli/v2"

	_ "github.com/evalctl/evalctl/backends/model" // registers the native model runtime
	_ "github.com/evalctl/evalctl/backends/modes"
	_ "github.com/evalctl/evalctl/backends/openai"
	_ "github.com/evalctl/evalctl/backends/torch"   // registers the PyTorch worker backends (torch, torch-attention)
	_ "github.com/evalctl/evalctl/datasets/models"  // the embedded default model (path: default)  // registers the attention modes
	_ "github.com/evalctl/evalctl/tasks/attention"  // registers the attention suite
	_ "github.com/evalctl/evalctl/tasks/needle"     // registers the needle task
	_ "github.com/evalctl/evalctl/tasks/perplexity" // registers the perplexity task
	_ "github.com/evalctl/evalctl/tasks/qa"         // registers the QA task
	_ "github.com/evalctl/evalctl/tasks/retrieval"  // registers the retrieval task

	_ "github.com/evalctl/evalctl/tasks/aggregation" // registers the cwe and fwe tasks (RULER aggregation)
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

// Exit codes.
const (
	exitOK          = 0
	exitFailure     = 1 // anything else (I/O, merge conflicts)
	exitBadConfig   = 2 // bad flags, suite or parameters: nothing ran
	exitRunFailed   = 3 // the run could not complete (or cells failed with --fail-on-errors)
	exitRegression  = 4 // compare found a regression
	exitInterrupted = 130
)

// env is the process environment injected into every command.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stderrIsTTY    bool           // draw a progress bar
	ready          func(net.Addr) // serve: called with the bound address (tests)
}

// exitError carries an exit code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code, err}
}

func badConfig(format string, a ...any) error {
	return &exitError{exitBadConfig, fmt.Errorf(format, a...)}
}

// exitCode maps an error returned by run to a process exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return exitFailure
}

func newApp(e *env) *cli.App {
	app := &cli.App{
		Name:                      "evalctl",
		Usage:                     "benchmark and evaluate long-context attention: dense, sparse (InfLLM-V2), switching and baselines",
		Version:                   version,
		Reader:                    e.stdin,
		Writer:                    e.stdout,
		ErrWriter:                 e.stderr,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {},
		Commands: []*cli.Command{
			runCommand(e), reportCommand(e), compareCommand(e), adviseCommand(e), listCommand(e), mergeCommand(e), datasetsCommand(e), modelCommand(e), serveCommand(e), torchWorkerCommand(e), versionCommand(e),
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return withCode(exitBadConfig, err)
		},
	}
	// An error from an action without an exit code is a plain failure;
	// errors that never reach an action are urfave/cli's usage errors.
	for _, c := range app.Commands {
		act := c.Action
		c.Action = func(ctx *cli.Context) error {
			err := act(ctx)
			var ee *exitError
			if err != nil && !errors.As(err, &ee) {
				err = withCode(exitFailure, err)
			}
			return err
		}
	}
	return app
}

// run runs evalctl with args (args[0] is the program name).
func run(ctx context.Context, e *env, args []string) error {
	app := newApp(e)
	err := app.RunContext(ctx, interspersed(app, args))
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) {
			// urfave/cli's own flag errors are usage errors.
			err = withCode(exitBadConfig, err)
		}
	}
	return err
}

// interspersed moves a subcommand's flags before its positional arguments,
// so that "evalctl run smoke --limit 3" works (urfave/cli v2 stops parsing
// flags at the first positional argument). "--" ends the flags.
func interspersed(app *cli.App, args []string) []string {
	if len(args) < 2 {
		return args
	}
	cmd := app.Command(args[1])
	if cmd == nil {
		return args
	}
	head := 2
	// A command with subcommands: reorder the subcommand's flags.
	for len(cmd.Subcommands) > 0 && len(args) > head {
		sub := cmd.Command(args[head])
		if sub == nil {
			return args
		}
		cmd = sub
		head++
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var flags, pos []string
	rest := args[head:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			pos = append(pos, rest[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if !strings.Contains(name, "=") && takesValue[name] && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
			continue
		}
		pos = append(pos, a)
	}
	out := append(append([]string(nil), args[:head]...), flags...)
	if len(pos) > 0 {
		out = append(append(out, "--"), pos...)
	}
	return out
}
