package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/backends/model"
	"github.com/evalctl/evalctl/datasets/gguf"
	"github.com/evalctl/evalctl/params"
)

func convertCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "convert",
		Usage:     "convert a model (Hugging Face directory or GGUF) to a GGUF v3 file",
		ArgsUsage: "SRC OUT.gguf",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "type", Value: "f16", Usage: "type of the matrices: f32, f16, bf16 or q8_0 (norms and biases stay f32)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return badConfig("model convert takes SRC and OUT, got %d arguments", c.NArg())
			}
			types := map[string]gguf.GGMLType{"f32": gguf.F32, "f16": gguf.F16, "bf16": gguf.BF16, "q8_0": gguf.Q8_0}
			typ, ok := types[strings.ToLower(c.String("type"))]
			if !ok {
				return badConfig("--type %q: want f32, f16, bf16 or q8_0", c.String("type"))
			}
			m, err := model.Load(c.Args().Get(0))
			if err != nil {
				return badConfig("%v", err)
			}
			out := c.Args().Get(1)
			if err := model.WriteGGUF(m, out, typ); err != nil {
				return err
			}
			st, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "wrote %s (%s, %s)\n", out, typ, params.FormatSize(st.Size()))
			return nil
		},
	}
}
