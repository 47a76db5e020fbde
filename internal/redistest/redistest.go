// Package redistest starts real redis-server processes for tests: one server,
// several independent masters, a 3-master Redis Cluster, or a master with
// replicas watched by a Sentinel (sentinel.go). Every server runs
// on a free loopback port in its own temporary directory, without
// persistence, and is stopped in t.Cleanup. Servers can be killed and
// restarted on the same port to test failures.
//
// The binary is "redis-server" from PATH, or the path in the environment
// variable REDIS_SERVER. When it is missing the test fails (it never skips):
// `make test` installs it.
package redistest

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a server may take to accept connections, and a
// cluster to reach cluster_state:ok. It is a hang guard, not a speed goal.
const startTimeout = 30 * time.Second

// Server is one redis-server process. Its methods are safe for concurrent use.
type Server struct {
	// Addr is the server's "127.0.0.1:port" address.
	Addr string
	// Port is the server's TCP port; the cluster bus, if any, is Port+10000.
	Port int

	t    testing.TB
	dir  string
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	waitCh chan error // receives cmd.Wait's result
}

// Binary returns the redis-server binary the package runs, or an error that
// says how to get one.
func Binary() (string, error) {
	if p := os.Getenv("REDIS_SERVER"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redistest: redis-server not found in PATH (set REDIS_SERVER or run `make test`, which installs it): %w", err)
	}
	return p, nil
}

// Start starts one standalone redis-server and returns once it answers PING.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, false)
}

// StartMasters starts n independent standalone servers.
func StartMasters(t testing.TB, n int) []*Server {
	t.Helper()
	servers := make([]*Server, n)
	for i := range servers {
		servers[i] = start(t, false)
	}
	return servers
}

func start(t testing.TB, cluster bool) *Server {
	t.Helper()
	s, err := newServer(t.TempDir(), cluster)
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	t.Cleanup(s.Kill)
	if err := s.launch(); err != nil {
		t.Fatal(err)
	}
	return s
}

// Launch starts one standalone redis-server outside a test: for a TestMain
// or for Examples, which get no testing.TB. Stop it with Close.
func Launch() (*Server, error) {
	dir, err := os.MkdirTemp("", "redistest-")
	if err != nil {
		return nil, fmt.Errorf("redistest: %w", err)
	}
	s, err := newServer(dir, false)
	if err == nil {
		err = s.launch()
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

// Close kills a server started by Launch and removes its directory.
func (s *Server) Close() {
	s.Kill()
	if s.t == nil {
		os.RemoveAll(s.dir)
	}
}

// newServer prepares a server on a free port in dir, not started.
func newServer(dir string, cluster bool) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := freePort(cluster)
	if err != nil {
		return nil, fmt.Errorf("redistest: no free port: %w", err)
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Port: port,
		dir:  dir,
	}
	s.args = []string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--protected-mode", "no",
		"--logfile", "",
		"--loglevel", "warning",
	}
	if cluster {
		s.args = append(s.args,
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000",
		)
	}
	s.args = append([]string{bin}, s.args...)
	return s, nil
}

// launch starts the process and waits until it answers PING.
func (s *Server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Dir = s.dir
	stderr, err := os.Create(s.dir + "/redis.log")
	if err != nil {
		return fmt.Errorf("redistest: %w", err)
	}
	defer stderr.Close()
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redistest: start %s: %w", s.args[0], err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s.cmd = cmd
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			s.cmd = nil
			log, _ := os.ReadFile(s.dir + "/redis.log")
			return fmt.Errorf("redistest: redis-server on port %d exited: %v\n%s", s.Port, err, log)
		default:
		}
		if ping(s.Addr) == nil {
			// The waiter goroutine owns cmd.Wait; Kill waits on this channel.
			s.waitCh = exited
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			s.cmd = nil
			return fmt.Errorf("redistest: redis-server on port %d did not answer PING within %v", s.Port, startTimeout)
		}
		time.Sleep(10 * time.Millisecond) // polling a process that offers no readiness signal
	}
}

// Kill stops the server at once (SIGKILL) and waits for it to exit. Killing a
// stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.waitCh
	s.cmd = nil
}

// Restart starts a killed server again on the same port and directory (a
// cluster node keeps its node id and slots). It fails the test (panics for
// a Launch server) if the server does not come back.
func (s *Server) Restart() {
	err := s.launch()
	switch {
	case err == nil:
	case s.t != nil:
		s.t.Helper()
		s.t.Fatal(err)
	default:
		panic(err) // a Launch server: no test to fail
	}
}

// Running reports whether the process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Client returns a go-redis client for the server, closed in t.Cleanup.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// URL returns the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

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

// Ports are picked below the kernel's ephemeral range, so that no outgoing
// connection of any process (a go-redis client's local port) takes a port
// between the check that it is free and redis-server binding it; the kernel
// hands out ports for listen(":0") from that same range. A port once
// picked is never picked again by this process: a killed server restarts on
// its own port.
var (
	portMu     sync.Mutex
	portsTaken = map[int]bool{}
)

// lowPorts is the range freePort picks from: [10000, ephemeral start). A
// cluster node's bus port, port+10000, must be in it too.
func lowPorts() (lo, hi int) {
	lo, hi = 10000, 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				hi = n
			}
		}
	}
	return lo, hi
}

// freePort returns a loopback port that is free now; for a cluster node its
// bus port (port+10000) is free too. It falls back to a port the kernel
// picks when the range below the ephemeral ports is too small.
func freePort(cluster bool) (int, error) {
	lo, hi := lowPorts()
	if cluster {
		hi -= 10000
	}
	portMu.Lock()
	defer portMu.Unlock()
	for range 200 {
		port := 0
		if hi-lo >= 1000 {
			port = lo + rand.IntN(hi-lo)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		port = l.Addr().(*net.TCPAddr).Port
		ok := !portsTaken[port] && (!cluster || !portsTaken[port+10000])
		if ok && cluster {
			if port+10000 > 65535 {
				ok = false
			} else if bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000)); err != nil {
				ok = false
			} else {
				bus.Close()
			}
		}
		l.Close()
		if !ok {
			continue
		}
		portsTaken[port] = true
		if cluster {
			portsTaken[port+10000] = true
		}
		return port, nil
	}
	return 0, fmt.Errorf("no free port found")
}

// Shared is a redis-server started on first use by Client, for Examples,
// which get no testing.TB; the package's TestMain stops it with Close. The
// zero value is ready to use, and it is safe for concurrent use.
type Shared struct {
	once   sync.Once
	srv    *Server
	client *redis.Client
}

// Client returns a client of the shared server, starting it if needed. It
// panics if redis-server cannot start: examples fail, never skip.
func (s *Shared) Client() *redis.Client {
	s.once.Do(func() {
		srv, err := Launch()
		if err != nil {
			panic(err)
		}
		s.srv = srv
		s.client = redis.NewClient(&redis.Options{Addr: srv.Addr})
	})
	return s.client
}

// Close stops the server if Client started it.
func (s *Shared) Close() {
	if s.srv == nil {
		return
	}
	_ = s.client.Close()
	s.srv.Close()
}
