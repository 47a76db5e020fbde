//go:build !linux

package redisproc

import "os/exec"

// setDeathSignal does nothing where the kernel offers no parent-death
// signal; Stop (called by Main) stops the server.
func setDeathSignal(*exec.Cmd) {}
