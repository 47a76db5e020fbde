package redistest

import "syscall"

// Pause stops the server process with SIGSTOP: it keeps its connections
// open and answers nothing, as a hung server does, until Resume. The test's
// cleanup resumes it, so that it can be stopped.
func (s *Server) Pause() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGSTOP)
	if s.t != nil {
		s.t.Cleanup(s.Resume)
	}
}

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
	}
}
