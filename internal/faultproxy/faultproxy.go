// Package faultproxy is a loopback TCP proxy that tests place between a client
// and a real server (usually a redis-server from internal/redistest) to inject
// network faults: latency, cut connections, a blackhole that swallows traffic,
// refused connections, and lost replies (DropReplies: Redis runs a command
// and its reply never reaches the client).
//
// Point the client at the proxy's Addr instead of the server's:
//
//	srv := redistest.Start(t)
//	px := faultproxy.Start(t, srv.Addr)
//	rdb := redis.NewClient(&redis.Options{Addr: px.Addr})
//
//	px.SetLatency(100 * time.Millisecond) // every chunk waits 100ms each way
//	px.Cut()                              // open connections drop; reconnects work
//	px.Blackhole()                        // traffic vanishes; clients time out
//	px.DropReplies(5)                     // new conns: 5th reply lost, conn cut
//	px.Heal()                             // back to normal
//
// A proxied connection is a pair (client side, server side). When either side
// closes, both are closed once the data already read has been forwarded; the
// proxy does not forward half-closes.
package faultproxy

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// chunkSize is the largest chunk read from one side before forwarding it.
const chunkSize = 32 << 10

// queueLen bounds how many chunks a direction holds while they wait out the
// latency; a full queue stops reading, which pushes back on the sender.
const queueLen = 64

// Proxy forwards TCP connections from Addr to a target and injects faults.
// Its methods are safe for concurrent use.
type Proxy struct {
	// Addr is the "127.0.0.1:port" address the proxy listens on.
	Addr string

	target    string
	ln        net.Listener
	ctx       context.Context // cancelled by Close; aborts dials to the target
	cancel    context.CancelFunc
	latency   atomic.Int64 // time.Duration
	accepted  atomic.Int64
	dropEvery atomic.Int64   // DropReplies' n for connections accepted now; 0: off
	dropped   atomic.Int64   // replies dropped by DropReplies
	wg        sync.WaitGroup // the accept loop and every connection goroutine

	mu        sync.Mutex
	closed    bool
	blackhole bool
	refuse    bool
	cuts      uint64 // incremented by Cut; a connection accepted before a Cut does not survive it
	links     map[*link]struct{}
}

// New starts a proxy listening on a free loopback port that forwards to
// target ("host:port"). The caller must call Close. Tests should use Start.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	// The context only ties dials to the proxy's lifetime; Close cancels it.
	ctx, cancel := context.WithCancel(context.Background())
	p := &Proxy{
		Addr:   ln.Addr().String(),
		target: target,
		ln:     ln,
		ctx:    ctx,
		cancel: cancel,
		links:  make(map[*link]struct{}),
	}
	p.wg.Add(1)
	go p.acceptLoop()
	return p, nil
}

// Start is New for tests: it fails t if the proxy cannot listen and closes
// the proxy in t.Cleanup.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatalf("faultproxy: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// Close stops accepting, closes every proxied connection and returns only
// after the accept loop and all forwarding goroutines have finished. Calling
// Close again does nothing and returns nil.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	links := p.snapshot(func(*link) bool { return true })
	p.mu.Unlock()

	err := p.ln.Close()
	p.cancel()
	for _, l := range links {
		l.close()
	}
	p.wg.Wait()
	return err
}

// SetLatency delays every chunk forwarded, in each direction, by d (0: no
// delay). It applies at once to open connections and to new ones. Chunks keep
// their order within a direction.
func (p *Proxy) SetLatency(d time.Duration) {
	p.latency.Store(int64(max(d, 0)))
}

// Cut closes every open proxied connection now, both sides. New connections
// are still accepted and forwarded.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.cuts++
	links := p.snapshot(func(*link) bool { return true })
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}

// Blackhole makes the proxy forward nothing, either way, on open connections
// and on connections accepted from now on, without ever closing them: clients
// see timeouts, not errors. Bytes that arrive are read and dropped. Heal ends
// it and cuts the connections it held.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = true
	for l := range p.links {
		l.blackholed.Store(true)
	}
}

// Refuse makes the proxy close new connections immediately after accepting
// them (with a reset), so clients fail to connect. Open connections are not
// affected.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refuse = true
}

// Heal restores normal forwarding: no latency, no blackhole, no refusing,
// no lost replies.
// Connections that were blackholed are cut, so clients reconnect cleanly
// instead of receiving a stale stream.
func (p *Proxy) Heal() {
	p.SetLatency(0)
	p.DropReplies(0)
	p.mu.Lock()
	p.blackhole = false
	p.refuse = false
	links := p.snapshot(func(l *link) bool { return l.blackholed.Load() })
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}

// Conns returns the number of proxied connections open now.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Accepted returns the number of connections accepted so far, including
// refused ones.
func (p *Proxy) Accepted() int64 {
	return p.accepted.Load()
}

// snapshot returns the open links for which keep is true. p.mu must be held.
func (p *Proxy) snapshot(keep func(*link) bool) []*link {
	var out []*link
	for l := range p.links {
		if keep(l) {
			out = append(out, l)
		}
	}
	return out
}

func (p *Proxy) acceptLoop() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error (such as too many open files): keep serving.
			// The pause stops a persistent one from spinning the loop.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		p.accepted.Add(1)
		p.wg.Add(1)
		go p.handle(c)
	}
}

// handle connects an accepted client to the target and starts forwarding.
func (p *Proxy) handle(client net.Conn) {
	defer p.wg.Done()
	p.mu.Lock()
	closed, refuse, blackhole, cuts := p.closed, p.refuse, p.blackhole, p.cuts
	p.mu.Unlock()
	if closed || refuse {
		if tc, ok := client.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // reset, so the client fails fast
		}
		_ = client.Close()
		return
	}

	// A connection accepted into a blackhole never reaches the target.
	var server net.Conn
	if !blackhole {
		var d net.Dialer
		s, err := d.DialContext(p.ctx, "tcp", p.target)
		if err != nil {
			_ = client.Close()
			return
		}
		server = s
	}

	l := &link{p: p, client: client, server: server, done: make(chan struct{})}
	if server != nil && p.dropEvery.Load() > 0 {
		l.replies = &replyParser{p: p}
	}
	p.mu.Lock()
	// Close, a Cut, or a Heal that ended the blackhole this link was
	// accepted into happened while it was being set up: it does not survive.
	if p.closed || p.cuts != cuts || (server == nil && !p.blackhole) {
		p.mu.Unlock()
		l.closeConns()
		return
	}
	if p.blackhole || server == nil {
		l.blackholed.Store(true)
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()

	if server == nil {
		p.wg.Add(1)
		go p.read(l, client, nil)
		return
	}
	p.pipe(l, client, server, false)
	p.pipe(l, server, client, true)
}

// pipe forwards src to dst with a reader and a writer goroutine joined by a
// FIFO queue, so latency delays chunks without reordering them. toClient
// marks the server-to-client direction, whose end does not close a
// blackholed link.
func (p *Proxy) pipe(l *link, src, dst net.Conn, toClient bool) {
	q := make(chan chunk, queueLen)
	p.wg.Add(2)
	go p.read(l, src, q)
	go p.write(l, dst, q, toClient)
}

// chunk is data read from one side and the time it arrived.
type chunk struct {
	at   time.Time
	data []byte
	cut  bool // close the link once data is written (DropReplies)
}

// read reads src until it fails, queueing what it reads on q unless l is
// blackholed. With a nil q it only drains src, and closes l when src ends.
func (p *Proxy) read(l *link, src net.Conn, q chan<- chunk) {
	defer p.wg.Done()
	if q == nil {
		defer l.close()
	} else {
		defer close(q)
	}
	buf := make([]byte, chunkSize)
	for {
		n, err := src.Read(buf)
		if n > 0 && q != nil && !l.blackholed.Load() && l.replies != nil && src == l.server {
			if !p.forwardReplies(l, buf, n, q) {
				return
			}
		} else if n > 0 && q != nil && !l.blackholed.Load() {
			select {
			case q <- chunk{at: time.Now(), data: bytes.Clone(buf[:n])}:
			case <-l.done:
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// write writes the chunks from q to dst, each no earlier than its arrival
// plus the latency then in force. When q ends (the source side closed) it
// closes l, unless toClient and l is blackholed: a blackhole never closes the
// client's connection.
func (p *Proxy) write(l *link, dst net.Conn, q <-chan chunk, toClient bool) {
	defer p.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		var c chunk
		var ok bool
		select {
		case c, ok = <-q:
		case <-l.done:
			return
		}
		if !ok {
			if !toClient || !l.blackholed.Load() {
				l.close()
			}
			return
		}
		if d := time.Until(c.at.Add(time.Duration(p.latency.Load()))); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-l.done:
				return
			}
		}
		if l.blackholed.Load() {
			continue
		}
		if _, err := dst.Write(c.data); err != nil || c.cut {
			l.close()
			return
		}
	}
}

// link is one proxied connection: the accepted client side and the dialed
// server side (nil when it was accepted into a blackhole).
type link struct {
	p          *Proxy
	client     net.Conn
	server     net.Conn
	blackholed atomic.Bool  // sticky: set by Blackhole, cleared only by closing
	replies    *replyParser // set in DropReplies mode; used by the server side's reader only
	done       chan struct{}
	once       sync.Once
}

// close closes both sides, wakes the link's goroutines and forgets the link.
// It may be called any number of times, from any goroutine.
func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		l.closeConns()
		l.p.mu.Lock()
		delete(l.p.links, l)
		l.p.mu.Unlock()
	})
}

func (l *link) closeConns() {
	_ = l.client.Close()
	if l.server != nil {
		_ = l.server.Close()
	}
}
