package httpcache

import (
	"context"
	"sync"
	"sync/atomic"
)

// Request coalescing: while one request for a key is being forwarded (the
// leader), others for the same key wait for its outcome instead of
// forwarding too. The leader hands them the response it stores; when it
// learns its response will not be stored (at its status line, or when the
// body outgrows MaxBodySize), it releases them at once to forward on their
// own, so a response that is not cacheable (a stream, server-sent events)
// never holds anyone back.

// flight is one forwarded request others may wait on.
type flight struct {
	done chan struct{} // closed once e is set
	e    *entry        // the stored response; nil: waiters forward on their own
	once sync.Once

	waiters    atomic.Int32 // requests waiting, for tests and Stats
	leaderGone atomic.Bool  // the client of the request that fetches it left (the fill goes on)
}

// clientGone reports whether the leader's client left.
func (f *flight) clientGone() bool { return f.leaderGone.Load() }

// finish publishes the outcome; only the first call counts.
func (f *flight) finish(e *entry) {
	f.once.Do(func() {
		f.e = e
		close(f.done)
	})
}

// wait returns the outcome, or nil when ctx ends first.
func (f *flight) wait(ctx context.Context) *entry {
	f.waiters.Add(1)
	defer f.waiters.Add(-1)
	select {
	case <-f.done:
		return f.e
	case <-ctx.Done():
		return nil
	}
}

// flightGroup tracks the flights in progress by key. The zero value is
// ready to use.
type flightGroup struct {
	mu sync.Mutex
	m  map[string]*flight
}

// join returns the flight for key and whether the caller leads it (and
// must finish and leave it).
func (g *flightGroup) join(key string) (*flight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f, false
	}
	if g.m == nil {
		g.m = make(map[string]*flight)
	}
	f := &flight{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// waiting returns how many requests wait on the flight of key.
func (g *flightGroup) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.m[key]; f != nil {
		return int(f.waiters.Load())
	}
	return 0
}

// leave removes the flight of key if it is still f.
func (g *flightGroup) leave(key string, f *flight) {
	g.mu.Lock()
	if g.m[key] == f {
		delete(g.m, key)
	}
	g.mu.Unlock()
}
