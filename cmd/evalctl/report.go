package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/reports"
)

func reportCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "turn records into a markdown table and plots (from run directories, record files, or - for stdin)",
		ArgsUsage: "RUN_DIR|FILE|- ...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "directory for report.md and plots/ (default: the run directory when one is given, else ./report)"},
			&cli.StringFlag{Name: "format", Value: "png", Usage: "plot format: png or svg"},
			&cli.BoolFlag{Name: "no-plots", Usage: "write the tables only (markdown and CSV; no plots, no HTML)"},
			&cli.BoolFlag{Name: "text", Usage: "print the tables as plain aligned text instead of markdown"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return badConfig("report needs at least one run directory, record file, or - for stdin")
			}
			format := c.String("format")
			if format != "png" && format != "svg" {
				return badConfig("--format %q: accepted: png, svg", format)
			}
			out := c.String("out")
			if out == "" {
				out = "report"
				if c.NArg() == 1 && isDir(c.Args().First()) {
					out = c.Args().First()
				}
			}
			if c.Bool("text") {
				return writeReport(e, c.Args().Slice(), out, format, !c.Bool("no-plots"), textWriter{e.stdout})
			}
			return writeReport(e, c.Args().Slice(), out, format, !c.Bool("no-plots"), e.stdout)
		},
	}
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// readInputs reads records from run directories, directories of shard run
// directories (OUT/RUN-ID/ of a sharded run), files or stdin ("-"),
// warning on stderr about every corrupt line, and labels several
// configurations of one task apart (reports.LabelTasks).
func readInputs(e *env, inputs []string) ([]*record.Record, error) {
	all, err := readRaw(e, inputs)
	if err != nil {
		return nil, err
	}
	reports.LabelTasks(all)
	return all, nil
}

// readRaw is readInputs without the task labels.
func readRaw(e *env, inputs []string) ([]*record.Record, error) {
	var all []*record.Record
	for _, in := range expandShardRoots(inputs) {
		var recs []*record.Record
		var bad []error
		if in == "-" {
			recs, bad = record.ReadAll(e.stdin, "<stdin>")
		} else {
			var err error
			recs, bad, err = record.ReadRun(in)
			if err != nil {
				return nil, err
			}
		}
		for _, b := range bad {
			fmt.Fprintf(e.stderr, "warning: %v\n", b)
		}
		all = append(all, recs...)
	}
	return all, nil
}

// writeReport writes out/report.md (and out/plots/) from the records of
// inputs, copies the markdown to md, and says on stderr where things are.
func writeReport(e *env, inputs []string, out, format string, plots bool, md io.Writer) error {
	recs, err := readInputs(e, inputs)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("no records in %v", inputs)
	}
	s := reports.New()
	for _, r := range recs {
		s.Add(r)
	}
	var buf bytes.Buffer
	if err := s.Markdown(&buf); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	path := filepath.Join(out, "report.md")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if tw, ok := md.(textWriter); ok {
		if err := s.Text(tw.Writer); err != nil {
			return err
		}
	} else if _, err := md.Write(buf.Bytes()); err != nil {
		return err
	}
	var csvBuf, htmlBuf bytes.Buffer
	if err := s.CSV(&csvBuf); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "report.csv"), csvBuf.Bytes(), 0o644); err != nil {
		return err
	}
	if plots {
		if err := s.HTML(&htmlBuf, "evalctl report"); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "report.html"), htmlBuf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "report: %s, report.csv%s (%d records)\n", path, map[bool]string{true: ", report.html", false: ""}[plots], len(recs))
	if plots {
		dir := filepath.Join(out, "plots")
		files, err := s.Plots(dir, format)
		if err != nil {
			return err
		}
		extra, err := extraPlots(s, recs, dir, format)
		if err != nil {
			return err
		}
		lat, err := s.LatencyPlots(dir, format, "dense")
		if err != nil {
			return err
		}
		extra += len(lat)
		methods, err := s.MethodPlots(dir, format, reports.MethodOptions{})
		if err != nil {
			return err
		}
		extra += len(methods)
		fmt.Fprintf(e.stderr, "plots: %s (%d files)\n", dir, len(files)+extra)
	}
	return nil
}

// extraPlots draws, for each task, the needle heatmaps (when the records
// have several depths) and the accuracy-vs-speedup Pareto plots (when they
// carry speedup_prefill), for the task's headline score: needle_recall when
// it has one, else its first score.
func extraPlots(s *reports.Summary, recs []*record.Record, dir, format string) (int, error) {
	n := 0
	for _, task := range s.Tasks() {
		score, speed := "", false
		for _, m := range s.Metrics(task) {
			switch {
			case m.Kind == reports.KindScore && (score == "" || m.Name == "needle_recall"):
				score = m.Name
			case m.Name == "speedup_prefill":
				speed = true
			}
		}
		if score == "" {
			continue
		}
		depths := map[float64]bool{}
		for _, r := range recs {
			if r.Task == task {
				depths[r.Depth] = true
			}
		}
		if len(depths) > 1 {
			files, err := reports.NeedleHeatmaps(recs, task, score, dir, format)
			if err != nil {
				return n, err
			}
			n += len(files)
		}
		if speed {
			files, err := reports.ParetoPlots(recs, task, score, "speedup_prefill", dir, format)
			if err != nil {
				return n, err
			}
			n += len(files)
		}
	}
	return n, nil
}

// textWriter marks the stdout copy of a report as wanted in plain text.
type textWriter struct{ io.Writer }
