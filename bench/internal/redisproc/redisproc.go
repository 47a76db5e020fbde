// Package redisproc starts a throwaway redis-server for the benchmarks of the
// bench module: one process on a free loopback port, in a temporary
// directory, without persistence, stopped when the benchmark binary ends.
//
// The root module's internal/redistest does the same for tests but is
// internal to that module; this is the bench module's small equivalent,
// made for TestMain (see Main).
//
// The binary is "redis-server" from PATH, or the path in the environment
// variable REDIS_SERVER. A missing binary is an error naming `make test`
// and apt-get, never a silent skip.
package redisproc

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startTimeout bounds how long a server may take to answer PING. It is a
// hang guard, not a speed goal.
const startTimeout = 30 * time.Second

// ErrNoBinary is returned by Binary and Start when no redis-server binary
// can be found.
var ErrNoBinary = errors.New("redisproc: redis-server not found in PATH " +
	"(run `make test` in the repository root, which installs it with apt-get when run as root, " +
	"or `apt-get install redis-server`, or set REDIS_SERVER to its path)")

// Server is one redis-server child process. Its methods are safe for
// concurrent use.
type Server struct {
	// Addr is the server's "127.0.0.1:port" address.
	Addr string

	cmd    *exec.Cmd
	dir    string
	exited chan struct{} // closed when the process has exited
}

// Binary returns the redis-server binary Start runs: $REDIS_SERVER, or
// redis-server from PATH. It returns an error wrapping ErrNoBinary when
// there is none.
func Binary() (string, error) {
	if p := os.Getenv("REDIS_SERVER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: REDIS_SERVER=%s: %v", ErrNoBinary, p, err)
		}
		return p, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoBinary, err)
	}
	return p, nil
}

// Start starts one redis-server on a free loopback port and returns once it
// answers PING. The caller must call Stop. A port taken between choosing
// it and the server binding it is retried on another port.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 5 {
		s, err := start(bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func start(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("redisproc: no free port: %w", err)
	}
	dir, err := os.MkdirTemp("", "redisproc-")
	if err != nil {
		return nil, fmt.Errorf("redisproc: %w", err)
	}
	s := &Server{
		Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		dir:    dir,
		exited: make(chan struct{}),
	}
	var out strings.Builder
	s.cmd = exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "no",
		"--loglevel", "warning",
	)
	s.cmd.Dir = dir
	s.cmd.Stdout = &out
	s.cmd.Stderr = &out
	setDeathSignal(s.cmd)
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("redisproc: start %s: %w", bin, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-s.exited:
			os.RemoveAll(dir)
			return nil, fmt.Errorf("redisproc: redis-server on port %d exited at start: %s", port, out.String())
		default:
		}
		if ping(s.Addr) == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("redisproc: redis-server on port %d did not answer PING within %v", port, startTimeout)
		}
		time.Sleep(10 * time.Millisecond) // redis-server offers no readiness signal but PING
	}
}

// Stop kills the server, waits for it to exit and removes its directory.
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	os.RemoveAll(s.dir)
}

// Main is the body of a TestMain for a package whose benchmarks need Redis:
// it starts a server, stores its address in *addr, runs the package's tests
// and benchmarks, stops the server and returns the exit code for os.Exit.
// When the server cannot start it prints why on stderr and returns 1.
//
//	var addr string
//	func TestMain(m *testing.M) { os.Exit(redisproc.Main(m, &addr)) }
func Main(m *testing.M, addr *string) int {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Stop()
	*addr = s.Addr
	return m.Run()
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// freePort returns a loopback port that is free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
