package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/reports"
)

func compareCommand(e *env) *cli.Command {
	def := reports.DefaultThresholds()
	return &cli.Command{
		Name:      "compare",
		Usage:     "compare two runs cell by cell; exit status 4 when a regression is found",
		ArgsUsage: "BASE NEW (run directories or record files)",
		Flags: []cli.Flag{
			&cli.Float64Flag{Name: "max-score-drop", Value: def.MaxScoreDrop, Usage: "largest allowed drop of a score's mean"},
			&cli.Float64Flag{Name: "max-slowdown", Value: def.MaxSlowdown, Usage: "largest allowed ratio of a timing's median, new/base"},
			&cli.Float64Flag{Name: "alpha", Value: def.Alpha, Usage: "significance level of the paired test on timings"},
			&cli.StringFlag{Name: "summary", Usage: "also append the markdown to this file (e.g. $GITHUB_STEP_SUMMARY)"},
			&cli.StringFlag{Name: "config", Usage: "YAML file of thresholds (max_score_drop, max_slowdown, alpha); flags given explicitly override it"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return badConfig("compare takes two runs, BASE and NEW; got %d arguments", c.NArg())
			}
			th := reports.DefaultThresholds()
			if p := c.String("config"); p != "" {
				data, err := os.ReadFile(p)
				if err != nil {
					return badConfig("--config: %v", err)
				}
				if th, err = reports.ParseThresholds(data, p); err != nil {
					return withCode(exitBadConfig, err)
				}
			}
			if c.IsSet("max-score-drop") {
				th.MaxScoreDrop = c.Float64("max-score-drop")
			}
			if c.IsSet("max-slowdown") {
				th.MaxSlowdown = c.Float64("max-slowdown")
			}
			if c.IsSet("alpha") {
				th.Alpha = c.Float64("alpha")
			}
			if th.MaxScoreDrop < 0 || th.MaxSlowdown < 1 || th.Alpha <= 0 || th.Alpha >= 1 {
				return badConfig("thresholds: --max-score-drop %g (>= 0), --max-slowdown %g (>= 1), --alpha %g (in (0, 1))", th.MaxScoreDrop, th.MaxSlowdown, th.Alpha)
			}
			base, err := readRaw(e, []string{c.Args().Get(0)})
			if err != nil {
				return err
			}
			newer, err := readRaw(e, []string{c.Args().Get(1)})
			if err != nil {
				return err
			}
			// One labelling over both runs, so that a task's
			// configurations carry the same labels on each side.
			reports.LabelTasks(append(append([]*record.Record(nil), base...), newer...))
			if len(base) == 0 || len(newer) == 0 {
				return fmt.Errorf("compare: no records in %s", map[bool]string{true: c.Args().Get(0), false: c.Args().Get(1)}[len(base) == 0])
			}
			cmp := reports.Compare(base, newer, th)
			if len(cmp.Diffs) == 0 {
				// Nothing paired: a gate that compares nothing must not pass.
				return fmt.Errorf("compare: no cell of %s is in %s: cells pair by key, which hashes the suite seed and every backend and task parameter (different suites, or parameter defaults changed since the base run?)", c.Args().Get(1), c.Args().Get(0))
			}
			var buf bytes.Buffer
			if err := cmp.Markdown(&buf); err != nil {
				return err
			}
			e.stdout.Write(buf.Bytes())
			if p := c.String("summary"); p != "" {
				f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					return err
				}
				_, werr := f.Write(buf.Bytes())
				if cerr := f.Close(); werr == nil {
					werr = cerr
				}
				if werr != nil {
					return werr
				}
			}
			if cmp.Regressions > 0 {
				return withCode(exitRegression, fmt.Errorf("%d regression(s) between %s and %s", cmp.Regressions, c.Args().Get(0), c.Args().Get(1)))
			}
			return nil
		},
	}
}
