//go:build linux

package torch

import (
	"os/exec"
	"syscall"
)

// setProcAttrs puts the worker in its own process group (so a kill reaches
// the compiler processes Triton may have started) and has the kernel kill
// it if evalctl dies first.
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killProc(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Process.Kill()
}
