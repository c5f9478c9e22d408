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
		Usage:     "join the records of shards or runs into one file, detecting duplicates and conflicts; shards must form a complete set",
		ArgsUsage: "-o OUT.jsonl[.zst] INPUT ...",
		Description: "An input is a run directory, a records file, - (stdin), or a directory of shard run directories\n" +
			"(OUT/RUN-ID/ of a sharded run), which stands for all of them. The sharded inputs must hold every\n" +
			"shard 1/n .. n/n exactly once, each complete and of one suite: otherwise nothing is written and the\n" +
			"error names the missing, repeated or incomplete shard (--partial merges what is there).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "o", Aliases: []string{"output"}, Required: true, Usage: "output file (.jsonl or .jsonl.zst); must not exist"},
			&cli.BoolFlag{Name: "allow-conflicts", Usage: "write the output even if a cell has conflicting records (the first is kept)"},
			&cli.BoolFlag{Name: "partial", Usage: "merge even if shards are missing, repeated or incomplete (e.g. to look at a run whose shards still run)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return badConfig("merge needs at least one input (run directory, record file or -)")
			}
			inputs := expandShardRoots(c.Args().Slice())
			var sets [][]*record.Record
			var shards []harness.ShardInput
			for _, in := range inputs {
				// Raw records: task labels are for reports, and labelling
				// each input on its own could name one task two ways.
				recs, err := readRaw(e, []string{in})
				if err != nil {
					return err
				}
				sets = append(sets, recs)
				shards = append(shards, shardInput(in, recs))
			}
			if err := harness.CheckShardSet(shards); err != nil {
				if !c.Bool("partial") {
					return fmt.Errorf("the shards do not form a complete set; nothing written (--partial merges what is there):\n%w", err)
				}
				fmt.Fprintf(e.stderr, "warning: partial merge:\n%v\n", err)
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

// expandShardRoots replaces each input that is a directory of shard run
// directories (OUT/RUN-ID/ of a sharded run) by those directories.
func expandShardRoots(inputs []string) []string {
	var out []string
	for _, in := range inputs {
		if dirs, ok := harness.ShardDirs(in); in != "-" && ok {
			out = append(out, dirs...)
			continue
		}
		out = append(out, in)
	}
	return out
}

// shardInput describes an input for harness.CheckShardSet: a run
// directory by its manifest, a records file by its records' shard field
// when they all share one.
func shardInput(name string, recs []*record.Record) harness.ShardInput {
	in := harness.ShardInput{Name: name, Recorded: len(record.Keys(recs))}
	if m, err := harness.ReadManifest(name); err == nil {
		in.Manifest, in.Shard = m, m.Shard
		return in
	}
	for i, r := range recs {
		if i > 0 && r.Shard != in.Shard {
			in.Shard = "" // several shards: a merged file
			break
		}
		in.Shard = r.Shard
	}
	return in
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
