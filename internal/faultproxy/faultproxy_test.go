package faultproxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitFor bounds how long Eventually waits for an asynchronous effect (a
// closed connection noticed, a goroutine exited). It is a hang guard.
const waitFor = 5 * time.Second

// startEcho starts a TCP server on loopback that echoes every byte back, and
// stops it (and every connection) in t.Cleanup.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// dial connects to addr and closes the connection in t.Cleanup.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// echo writes msg on c and reads it back within timeout.
func echo(c net.Conn, msg string, timeout time.Duration) error {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if got := string(buf); got != msg {
		return fmt.Errorf("got %q, want %q", got, msg)
	}
	return nil
}

// requireClosed asserts that the proxy closed c: a read fails, and not with a
// timeout.
func requireClosed(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(waitFor)))
	_, err := c.Read(make([]byte, 1))
	require.Error(t, err)
	require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "got a timeout, want the connection closed")
}

func TestForwards(t *testing.T) {
	p := Start(t, startEcho(t))
	c := dial(t, p.Addr)
	require.NoError(t, echo(c, "hello", waitFor))
	require.Equal(t, 1, p.Conns())
	require.Equal(t, int64(1), p.Accepted())

	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { return p.Conns() == 0 }, waitFor, time.Millisecond,
		"a connection the client closed is still counted")
}

func TestLatencyKeepsOrder(t *testing.T) {
	const latency = 50 * time.Millisecond
	p := Start(t, startEcho(t))
	c := dial(t, p.Addr)
	require.NoError(t, echo(c, "warm", waitFor)) // the latency applies to open connections
	p.SetLatency(latency)

	start := time.Now()
	var want strings.Builder
	for i := range 200 {
		line := fmt.Sprintf("line %d\n", i)
		want.WriteString(line)
		_, err := io.WriteString(c, line) // separate writes, likely separate chunks
		require.NoError(t, err)
	}
	require.NoError(t, c.SetReadDeadline(time.Now().Add(waitFor)))
	got := make([]byte, want.Len())
	_, err := io.ReadFull(c, got)
	require.NoError(t, err)
	require.Equal(t, want.String(), string(got))
	// Every byte crossed the proxy twice, each time at least latency late.
	require.GreaterOrEqual(t, time.Since(start), 2*latency)

	p.SetLatency(0)
	require.NoError(t, echo(c, "fast again", waitFor))
}

func TestCut(t *testing.T) {
	p := Start(t, startEcho(t))
	c1, c2 := dial(t, p.Addr), dial(t, p.Addr)
	require.NoError(t, echo(c1, "a", waitFor))
	require.NoError(t, echo(c2, "b", waitFor))

	p.Cut()
	requireClosed(t, c1)
	requireClosed(t, c2)
	require.Equal(t, 0, p.Conns())

	c3 := dial(t, p.Addr)
	require.NoError(t, echo(c3, "still accepting", waitFor))
	require.Equal(t, int64(3), p.Accepted())
}

func TestBlackholeAndHeal(t *testing.T) {
	p := Start(t, startEcho(t))
	before := dial(t, p.Addr)
	require.NoError(t, echo(before, "a", waitFor))

	p.Blackhole()
	during := dial(t, p.Addr) // accepted, never forwarded
	for _, c := range []net.Conn{before, during} {
		err := echo(c, "swallowed", 100*time.Millisecond)
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "want a timeout, not an error or a reply")
	}
	require.Eventually(t, func() bool { return p.Conns() == 2 }, waitFor, time.Millisecond,
		"blackholed connections must stay open")

	p.Heal()
	requireClosed(t, before)
	requireClosed(t, during)
	after := dial(t, p.Addr)
	require.NoError(t, echo(after, "healed", waitFor))
}

// A blackhole keeps the client's connection open even when the server closes
// its side: the client must see a timeout, not an end of stream.
func TestBlackholeHidesServerClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	p := Start(t, ln.Addr().String())
	c := dial(t, p.Addr)
	srv, err := ln.Accept()
	require.NoError(t, err)

	p.Blackhole()
	require.NoError(t, srv.Close())
	require.NoError(t, c.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	require.Equal(t, 1, p.Conns())
}

func TestRefuseAndHeal(t *testing.T) {
	p := Start(t, startEcho(t))
	open := dial(t, p.Addr)
	require.NoError(t, echo(open, "a", waitFor))

	p.Refuse()
	// The kernel completes the handshake before the proxy accepts, so the
	// reset may reach the client during its dial or on its first read.
	refused, err := net.Dial("tcp", p.Addr)
	if err == nil {
		defer refused.Close()
		err = echo(refused, "b", waitFor)
	}
	require.Error(t, err)
	require.NotErrorIs(t, err, os.ErrDeadlineExceeded, "a refused connection must fail, not time out")
	require.Eventually(t, func() bool { return p.Accepted() == 2 }, waitFor, time.Millisecond)
	require.NoError(t, echo(open, "open connections are unaffected", waitFor))

	p.Heal()
	require.NoError(t, echo(dial(t, p.Addr), "healed", waitFor))
}

func TestTargetDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	target := ln.Addr().String()
	require.NoError(t, ln.Close())

	p := Start(t, target)
	requireClosed(t, dial(t, p.Addr))
	require.Equal(t, 0, p.Conns())
}

// proxyGoroutines returns the stacks of goroutines running the proxy's code.
func proxyGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "faultproxy.(*Proxy)") || strings.Contains(g, "faultproxy.(*link)") {
			out = append(out, g)
		}
	}
	return out
}

func TestCloseStopsEverything(t *testing.T) {
	p, err := New(startEcho(t))
	require.NoError(t, err)
	// Connections in every state: forwarding with a delayed chunk in flight,
	// blackholed before and after accept.
	delayed, idle := dial(t, p.Addr), dial(t, p.Addr)
	require.NoError(t, echo(delayed, "a", waitFor))
	require.NoError(t, echo(idle, "b", waitFor))
	p.SetLatency(time.Hour)
	_, err = io.WriteString(delayed, "held for an hour")
	require.NoError(t, err)
	p.Blackhole()
	dial(t, p.Addr)
	require.Eventually(t, func() bool { return p.Conns() == 3 }, waitFor, time.Millisecond)
	require.NotEmpty(t, proxyGoroutines())

	require.NoError(t, p.Close())
	// Close waited for every goroutine; allow the last ones to finish exiting
	// after their deferred WaitGroup.Done.
	assert.Eventually(t, func() bool { return len(proxyGoroutines()) == 0 }, waitFor, time.Millisecond,
		"goroutines left after Close:\n%s", strings.Join(proxyGoroutines(), "\n\n"))
	require.Equal(t, 0, p.Conns())
	requireClosed(t, delayed)
	require.NoError(t, p.Close(), "a second Close")

	_, err = net.DialTimeout("tcp", p.Addr, time.Second)
	var opErr *net.OpError
	require.True(t, errors.As(err, &opErr), "dial after Close: got %v, want a dial error", err)
}
