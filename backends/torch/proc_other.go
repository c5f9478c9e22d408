//go:build !linux

package torch

import "os/exec"

func setProcAttrs(cmd *exec.Cmd) {}

func killProc(cmd *exec.Cmd) { cmd.Process.Kill() }
