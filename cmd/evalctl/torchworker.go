package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/evalctl/evalctl/backends/torch"
)

func torchWorkerCommand(e *env) *cli.Command {
	return &cli.Command{
		Name:      "torch-worker",
		Usage:     "start a PyTorch worker of the torch backends by hand, to name it by URL (url: http://host:port)",
		ArgsUsage: "[MODEL_DIR]",
		Description: "Runs the worker that the torch and torch-attention backends otherwise start themselves, in the\n" +
			"foreground: PYTHON -m evalctl_torch serve, with the worker's Python package (embedded in evalctl)\n" +
			"on PYTHONPATH. MODEL_DIR is the Hugging Face model directory it serves (none: raw attention only).\n" +
			"It prints one JSON line when ready ({\"ready\": true, \"port\": N, ...}) and serves until POST /shutdown.\n" +
			"Backends name it with url: http://HOST:PORT; their path must be a copy of the same model\n" +
			"(config.json is compared).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "host", Value: "127.0.0.1", Usage: "listen address (0.0.0.0 for other hosts: the protocol has no authentication)"},
			&cli.IntFlag{Name: "port", Value: 0, Usage: "listen port (0 picks a free one)"},
			&cli.StringFlag{Name: "device", Value: "cuda:0", Usage: "cpu, cuda or cuda:N"},
			&cli.StringFlag{Name: "dtype", Value: "auto", Usage: "auto (bfloat16 on CUDA, float32 on the CPU), float32, bfloat16 or float16"},
			&cli.IntFlag{Name: "threads", Value: 0, Usage: "CPU threads of PyTorch (0: all cores)"},
			&cli.StringFlag{Name: "python", Value: "python3", Usage: "Python interpreter with PyTorch"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return badConfig("torch-worker takes at most one MODEL_DIR, got %d arguments", c.NArg())
			}
			dir, err := torch.WorkerDir()
			if err != nil {
				return err
			}
			args := []string{"-m", "evalctl_torch", "serve", "--host", c.String("host"), "--port", strconv.Itoa(c.Int("port")),
				"--device", c.String("device"), "--dtype", c.String("dtype"), "--threads", strconv.Itoa(c.Int("threads"))}
			if p := c.Args().First(); p != "" {
				args = append(args, "--path", p)
			}
			cmd := exec.CommandContext(c.Context, c.String("python"), args...)
			cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
			cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stdout, e.stderr
			if err := cmd.Run(); err != nil {
				if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 2 {
					return withCode(exitBadConfig, fmt.Errorf("torch worker: %v", err))
				}
				return fmt.Errorf("torch worker: %v", err)
			}
			return nil
		},
	}
}
