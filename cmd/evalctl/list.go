package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
)

func listCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "list backends, tasks and built-in suites with their parameters",
		ArgsUsage: "[backends|tasks|suites]",
		Action: func(c *cli.Context) error {
			what := c.Args().First()
			switch what {
			case "", "backends", "tasks", "suites":
			default:
				return badConfig("list %q: accepted: backends, tasks, suites", what)
			}
			w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			if what == "" || what == "backends" {
				fmt.Fprintln(w, "BACKENDS")
				for _, b := range backends.List() {
					fmt.Fprintf(w, "%s\t%s\n", b.Name, b.Help)
					listParams(w, b.Params)
				}
			}
			if what == "" || what == "tasks" {
				if what == "" {
					fmt.Fprintln(w)
				}
				fmt.Fprintln(w, "TASKS")
				for _, t := range tasks.List() {
					fmt.Fprintf(w, "%s\t%s\n", t.Name, t.Help)
					if len(t.Metrics) > 0 {
						fmt.Fprintf(w, "  reports:\t%s\n", strings.Join(t.Metrics, ", "))
					}
					listParams(w, t.Params)
				}
			}
			if what == "" || what == "suites" {
				if what == "" {
					fmt.Fprintln(w)
				}
				fmt.Fprintln(w, "SUITES (built in; run with: evalctl run NAME)")
				for _, name := range harness.BuiltinSuites() {
					data, _ := harness.BuiltinSuite(name)
					s, err := harness.ParseSuite("builtin:"+name, data, nil)
					if err != nil {
						fmt.Fprintf(w, "%s\tINVALID: %v\n", name, err)
						continue
					}
					cells := len(harness.Plan(s))
					var labels []string
					for _, b := range s.Backends {
						labels = append(labels, b.Label)
					}
					fmt.Fprintf(w, "%s\t%s\n", name, s.Description)
					fmt.Fprintf(w, "  cells:\t%d (backends %s)\n", cells, strings.Join(labels, ", "))
				}
			}
			return w.Flush()
		},
	}
}

func listParams(w io.Writer, specs []params.Spec) {
	for _, p := range specs {
		fmt.Fprintf(w, "  %s\t%s (default %v; %s)\n", p.Name, p.Help, fmtDefault(p), p.Accepted())
	}
}

func fmtDefault(p params.Spec) string {
	if s, ok := p.Default.(string); ok {
		if s == "" {
			return `""`
		}
		return s
	}
	return fmt.Sprint(p.Default)
}

func mergeCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "merge",
		Usage:     "join the records of shards or runs into one file, detecting duplicates and conflicts",
		ArgsUsage: "-o OUT.jsonl[.zst] INPUT ...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "o", Aliases: []string{"output"}, Required: true, Usage: "output file (.jsonl or .jsonl.zst); must not exist"},
			&cli.BoolFlag{Name: "allow-conflicts", Usage: "write the output even if a cell has conflicting records (the first is kept)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return badConfig("merge needs at least one input (run directory, record file or -)")
			}
			var sets [][]*record.Record
			for _, in := range c.Args().Slice() {
				recs, err := readInputs(e, []string{in})
				if err != nil {
					return err
				}
				sets = append(sets, recs)
			}
			merged, rep := record.Merge(sets)
			fmt.Fprintf(e.stderr, "merge: %d records in, %d out, %d duplicates dropped, %d conflicts\n",
				countAll(sets), len(merged), len(rep.Duplicates), len(rep.Conflicts))
			for _, cf := range rep.Conflicts {
				fmt.Fprintf(e.stderr, "conflict: %v\n", cf)
			}
			if len(rep.Conflicts) > 0 && !c.Bool("allow-conflicts") {
				return fmt.Errorf("%d cells have conflicting records; nothing written (use --allow-conflicts to keep the first of each)", len(rep.Conflicts))
			}
			w, err := record.Create(c.String("o"))
			if err != nil {
				return err
			}
			for _, r := range merged {
				if err := w.Write(r); err != nil {
					w.Close()
					return err
				}
			}
			if err := w.Close(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "records: %s\n", c.String("o"))
			return nil
		},
	}
}

func countAll(sets [][]*record.Record) int {
	n := 0
	for _, s := range sets {
		n += len(s)
	}
	return n
}

func versionCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print the version, VCS revision and Go version",
		Action: func(c *cli.Context) error {
			b := harness.CurrentBuild(version)
			fmt.Fprintf(e.stdout, "evalctl %s\n", b.Version)
			if b.Revision != "" {
				mod := ""
				if b.Modified {
					mod = " (modified)"
				}
				fmt.Fprintf(e.stdout, "revision %s%s\n", b.Revision, mod)
			}
			fmt.Fprintf(e.stdout, "go %s\n", b.GoVersion)
			fmt.Fprintf(e.stdout, "record schema v%d\n", record.Version)
			return nil
		},
	}
}
