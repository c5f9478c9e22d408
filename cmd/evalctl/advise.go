package main

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/reports"
)

func adviseCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "advise",
		Usage:     "recommend a switching threshold (dense_len) and report effective lengths, from a run over lengths",
		ArgsUsage: "RUN_DIR|FILE|- ...",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "task", Value: "attention", Usage: "task whose cells to use"},
			&cli.StringFlag{Name: "dense", Value: "dense", Usage: "label of the dense configuration"},
			&cli.StringFlag{Name: "sparse", Value: "sparse", Usage: "label of the sparse configuration"},
			&cli.StringFlag{Name: "timing", Value: "prefill_ms", Usage: "timing to compare (lower is better)"},
			&cli.StringFlag{Name: "score", Value: "needle_recall", Usage: "score that must stay within the tolerance"},
			&cli.Float64Flag{Name: "tolerance", Value: 0.02, Usage: "largest accepted drop of the sparse score below dense's"},
			&cli.Float64Flag{Name: "threshold", Value: 0.856, Usage: "score threshold of the effective length (RULER uses 85.6 on a 0-100 scale)"},
			&cli.StringFlag{Name: "plot", Usage: "also draw the evidence (speedup vs length, break-even, recommendation) to this .png or .svg file"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return badConfig("advise needs at least one run directory, record file, or - for stdin")
			}
			if c.Float64("tolerance") < 0 {
				return badConfig("--tolerance %g: must be >= 0", c.Float64("tolerance"))
			}
			recs, err := readInputs(e, c.Args().Slice())
			if err != nil {
				return err
			}
			s := reports.New()
			for _, r := range recs {
				s.Add(r)
			}
			var buf bytes.Buffer
			task, score := c.String("task"), c.String("score")
			eff := s.EffectiveLength(task, score, c.Float64("threshold"))
			fmt.Fprintf(&buf, "## Effective length (%s >= %g)\n\n| backend | effective length |\n|:--|--:|\n", score, c.Float64("threshold"))
			var labels []string
			for b := range eff {
				labels = append(labels, b)
			}
			sort.Strings(labels)
			for _, b := range labels {
				l := "below threshold at every length"
				if eff[b] > 0 {
					l = reports.FormatLength(eff[b])
				}
				fmt.Fprintf(&buf, "| %s | %s |\n", b, l)
			}
			fmt.Fprintln(&buf)
			a, err := s.SwitchAdvice(task, c.String("dense"), c.String("sparse"), c.String("timing"), score, c.Float64("tolerance"))
			if err != nil {
				return withCode(exitBadConfig, err)
			}
			if err := a.Markdown(&buf); err != nil {
				return err
			}
			if p := c.String("plot"); p != "" {
				if err := a.SavePlot(p); err != nil {
					return err
				}
				fmt.Fprintf(e.stderr, "plot: %s\n", p)
			}
			_, err = e.stdout.Write(buf.Bytes())
			return err
		},
	}
}
