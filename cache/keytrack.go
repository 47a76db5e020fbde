package cache

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Key-level tracking (CoherenceTrackingKeys).
//
// Each server's invalidation stream is a connection subscribed to
// __redis__:invalidate that tracks nothing itself; the Store reads what it
// may keep through a pool of its own (a generation: a client cloned from
// the Store's), whose every connection runs CLIENT TRACKING ON REDIRECT
// <the stream of its server> when it connects. Redis then remembers the
// keys each of them read (scripts' reads included) and sends their
// invalidations to the stream, once per read.
//
// What makes it as safe as broadcast:
//   - A generation is made whenever a stream comes up or the topology
//     settles (setDown going up), before the flush that comes with it, and
//     the reads that may be kept pick the generation after taking their
//     token: a kept read ran on connections that redirect to streams alive
//     at the flush. A stream's loss marks the Store down (nothing kept) and
//     flushes, as in broadcast; the old generation's connections redirect
//     to a connection that is gone, and are retired.
//   - A connection that closes, by either side, takes Redis' memory of its
//     reads with it: each connection's socket is read by a goroutine of its
//     own (watchedConn), which sees the end at once, busy or idle, and
//     flushes the local tier (a retired generation's do not).
//   - Redis matches a connection to its server's stream by run id, so a
//     proxy or an address seen two ways does not mix servers up.
//   - A Whole's fetch reads through ReadClient; a copy whose fetch did
//     not is not kept.
//   - Own writes: a key this Store wrote may be tracked by no connection,
//     so no echo would come, nor any later foreign write's invalidation. The
//     written value is stashed hidden and checked at once by a read through
//     the generation (see ownWrites.written), which tracks the key.
//   - Redis' tracking table overflowing (tracking-table-max-keys) sends
//     invalidations of the keys it drops: they are handled as any.

// keyTracking is the state of key-level tracking.
type keyTracking struct {
	c       *coherence
	mu      sync.Mutex
	ids     map[string]int64 // server run id -> the client id of its stream
	retired map[*trackedGen]bool
	stopped bool // the Store closed: no more generations
	cur     atomic.Pointer[trackedGen]
}

// trackedGen is one generation of tracked read connections.
type trackedGen struct {
	rdb     redis.UniversalClient
	retired atomic.Bool
	// uncovered: a connection reached a server that had no stream when
	// the generation was made (one restarted, say, whose stream has not
	// noticed yet). It reads untracked, and nothing read through the
	// generation is kept: the stream's return makes a new one.
	uncovered atomic.Bool
}

// retireAfter is how long a retired generation stays open for the reads
// in flight on it (their replies are not kept: they started before the
// flush that came with the new generation).
const retireAfter = 30 * time.Second

// streamSetup is the setup of a stream connection: it records its client id
// under its server's run id, and tracks nothing itself.
func (kt *keyTracking) streamSetup(ctx context.Context, cn *redis.Conn) error {
	var id *redis.IntCmd
	var info *redis.StringCmd
	if _, err := cn.Pipelined(ctx, func(p redis.Pipeliner) error {
		id = p.ClientID(ctx)
		info = p.Info(ctx, "server")
		return nil
	}); err != nil {
		return err
	}
	run := runID(info.Val())
	if run == "" {
		return errors.New("tiercache/cache: INFO server gave no run_id")
	}
	kt.mu.Lock()
	kt.ids[run] = id.Val()
	kt.mu.Unlock()
	return nil
}

// runID returns the run_id field of an INFO server reply.
func runID(info string) string {
	_, rest, ok := strings.Cut(info, "run_id:")
	if !ok {
		return ""
	}
	run, _, _ := strings.Cut(rest, "\r\n")
	return strings.TrimSpace(run)
}

// renew makes a new generation from the streams' ids as they are now,
// and retires the current one.
func (kt *keyTracking) renew() {
	kt.mu.Lock()
	defer kt.mu.Unlock()
	if kt.stopped {
		return
	}
	ids := make(map[string]int64, len(kt.ids))
	for k, v := range kt.ids {
		ids[k] = v
	}
	g := &trackedGen{}
	g.rdb = kt.clone(g, ids)
	if old := kt.cur.Swap(g); old != nil {
		kt.retire(old)
	}
}

// retire stops g flushing when its connections close, and closes it
// once the reads in flight are done (under kt.mu).
func (kt *keyTracking) retire(g *trackedGen) {
	g.retired.Store(true)
	if kt.retired == nil {
		kt.retired = map[*trackedGen]bool{}
	}
	kt.retired[g] = true
	time.AfterFunc(retireAfter, func() {
		kt.mu.Lock()
		defer kt.mu.Unlock()
		if kt.retired[g] {
			delete(kt.retired, g)
			_ = g.rdb.Close()
		}
	})
}

// stop closes every generation, the current one and those retired; it is
// called once the streams have stopped.
func (kt *keyTracking) stop() {
	kt.mu.Lock()
	defer kt.mu.Unlock()
	kt.stopped = true
	if g := kt.cur.Swap(nil); g != nil {
		g.retired.Store(true)
		_ = g.rdb.Close()
	}
	for g := range kt.retired {
		_ = g.rdb.Close()
	}
	clear(kt.retired)
}

// keepable reports whether reads through the current generation may be
// kept (see trackedGen.uncovered); true without key-level tracking.
func (kt *keyTracking) keepable() bool {
	if kt == nil {
		return true
	}
	g := kt.cur.Load()
	return g != nil && !g.uncovered.Load()
}

// reader returns the current generation's client, or nil.
func (kt *keyTracking) reader() redis.UniversalClient {
	if kt == nil {
		return nil
	}
	if g := kt.cur.Load(); g != nil {
		return g.rdb
	}
	return nil
}

// clone returns a client like the Store's whose connections redirect their
// tracking to the stream of their server (by run id, from ids), are never
// closed for idleness or age, and report their end to g.
func (kt *keyTracking) clone(g *trackedGen, ids map[string]int64) redis.UniversalClient {
	setup := func(user func(context.Context, *redis.Conn) error) func(context.Context, *redis.Conn) error {
		return func(ctx context.Context, cn *redis.Conn) error {
			if user != nil {
				if err := user(ctx, cn); err != nil {
					return err
				}
			}
			info, err := cn.Info(ctx, "server").Result()
			if err != nil {
				return err
			}
			id, ok := ids[runID(info)]
			if !ok {
				g.uncovered.Store(true)
				return nil
			}
			return cn.Do(ctx, "CLIENT", "TRACKING", "ON", "REDIRECT", id).Err()
		}
	}
	onEnd := func() {
		if !g.retired.Load() {
			kt.c.flush()
			kt.c.resyncs.Add(1)
		}
	}
	switch rdb := kt.c.s.rdb.(type) {
	case *redis.ClusterClient:
		o := *rdb.Options()
		o.OnConnect = setup(o.OnConnect)
		o.Dialer = watchDialer(o.Dialer, o.DialTimeout, o.TLSConfig, onEnd)
		o.Protocol = 2
		o.ConnMaxIdleTime, o.ConnMaxLifetime, o.MaxIdleConns = -1, 0, 0
		o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		return redis.NewClusterClient(&o)
	case *redis.Client:
		o := *rdb.Options()
		o.OnConnect = setup(o.OnConnect)
		o.Dialer = watchDialer(o.Dialer, o.DialTimeout, o.TLSConfig, onEnd)
		o.Protocol = 2
		o.ConnMaxIdleTime, o.ConnMaxLifetime, o.MaxIdleConns = -1, 0, 0
		o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
		return redis.NewClient(&o)
	}
	return kt.c.s.rdb // not reached: a Ring runs broadcast tracking
}

// watchDialer wraps dial (go-redis' own when nil) so that every connection
// it makes is a watchedConn reporting its end to onEnd.
func watchDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error),
	timeout time.Duration, tlsConfig *tls.Config, onEnd func()) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dial == nil {
		nd := &net.Dialer{Timeout: timeout, KeepAlive: 5 * time.Minute}
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if tlsConfig == nil {
				return nd.DialContext(ctx, network, addr)
			}
			td := &tls.Dialer{NetDialer: nd, Config: tlsConfig}
			return td.DialContext(ctx, network, addr)
		}
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		cn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newWatchedConn(cn, onEnd), nil
	}
}

// watchedConn is a connection whose socket a goroutine of its own reads
// into one of two buffers, so that its end is seen when it happens, not
// when go-redis next uses it. Reads honour the read deadline go-redis sets.
type watchedConn struct {
	net.Conn
	data  chan []byte // filled buffers, in order
	free  chan []byte // buffers read out
	ended chan struct{}
	err   error // why the socket ended; set before ended closes

	closed    chan struct{} // closed by Close
	closeOnce sync.Once

	cur, rest []byte
	dl        atomic.Int64 // read deadline, unix ns; 0: none
	timer     *time.Timer
}

const watchedBuf = 16 << 10

func newWatchedConn(cn net.Conn, onEnd func()) *watchedConn {
	w := &watchedConn{Conn: cn, data: make(chan []byte, 1), free: make(chan []byte, 2),
		ended: make(chan struct{}), closed: make(chan struct{})}
	w.free <- make([]byte, watchedBuf)
	w.free <- make([]byte, watchedBuf)
	go w.pump(onEnd)
	return w
}

// pump reads the socket until it ends or is closed, then reports the end.
func (w *watchedConn) pump(onEnd func()) {
	defer close(w.ended)
	defer onEnd() // before ended closes: no read sees the end before the flush
	for {
		var buf []byte
		select {
		case buf = <-w.free:
		case <-w.closed:
			w.err = net.ErrClosed
			return
		}
		n, err := w.Conn.Read(buf[:cap(buf)])
		if n > 0 {
			select {
			case w.data <- buf[:n]:
			case <-w.closed:
				w.err = net.ErrClosed
				return
			}
		} else {
			w.free <- buf
		}
		if err != nil {
			w.err = err
			return
		}
	}
}

func (w *watchedConn) Close() error {
	w.closeOnce.Do(func() { close(w.closed) })
	return w.Conn.Close()
}

func (w *watchedConn) Read(p []byte) (int, error) {
	if len(w.rest) == 0 {
		if w.cur != nil {
			w.free <- w.cur
			w.cur = nil
		}
		b, err := w.next()
		if err != nil {
			return 0, err
		}
		w.cur, w.rest = b, b
	}
	n := copy(p, w.rest)
	w.rest = w.rest[n:]
	return n, nil
}

// next waits for the next buffer, the end, or the read deadline.
func (w *watchedConn) next() ([]byte, error) {
	select {
	case b := <-w.data:
		return b, nil
	default:
	}
	var timeout <-chan time.Time
	if dl := w.dl.Load(); dl != 0 {
		d := time.Until(time.Unix(0, dl))
		if d <= 0 {
			return nil, os.ErrDeadlineExceeded
		}
		if w.timer == nil {
			w.timer = time.NewTimer(d)
		} else {
			w.timer.Reset(d)
		}
		timeout = w.timer.C
		defer w.timer.Stop()
	}
	select {
	case b := <-w.data:
		return b, nil
	case <-w.ended:
		select {
		case b := <-w.data:
			return b, nil
		default:
		}
		return nil, w.err
	case <-timeout:
		return nil, os.ErrDeadlineExceeded
	}
}

func (w *watchedConn) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		w.dl.Store(0)
	} else {
		w.dl.Store(t.UnixNano())
	}
	return nil
}

func (w *watchedConn) SetDeadline(t time.Time) error {
	_ = w.SetReadDeadline(t)
	return w.Conn.SetWriteDeadline(t)
}
