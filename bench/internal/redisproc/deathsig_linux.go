package redisproc

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the server when the benchmark
// binary dies without calling Stop (a panic, a test timeout, a signal).
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
