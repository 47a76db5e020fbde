//go:build !linux

package redistest

import "os/exec"

// setDeathSignal does nothing where the kernel offers no parent-death
// signal; the test cleanup (or Close, for Launch) stops the server.
func setDeathSignal(*exec.Cmd) {}
