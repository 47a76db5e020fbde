// Command demo shows tiercache's four uses, each in a few lines: a
// memoized function, the HTTP cache middleware, the hydration of ranked
// ids, and a Counter and a Lock. Two Stores on one Redis stand for two
// processes, A and B. Where each answer came from (the function, Redis, a
// local tier) is read from the Stores' counters around the call, never
// assumed, and the times are measured.
//
// It uses the Redis at REDIS_URL, or an embedded in-process Redis
// (miniredis) when REDIS_URL is unset, so that `make demo` needs nothing
// installed. When the Redis cannot be reached it says so in one line and
// exits with status 1.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/demoredis"
)

func main() {
	ctx := context.Background()
	conn, err := demoredis.Connect(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	defer conn.Close()
	if err := run(ctx, os.Stdout, conn); err != nil {
		conn.Close()
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run runs the four parts on conn, writing to w.
func run(ctx context.Context, w io.Writer, conn *demoredis.Conn) error {
	d, err := newDemo(ctx, w, conn)
	if err != nil {
		return err
	}
	defer d.close()
	fmt.Fprintf(w, "tiercache demo on %s; coherence: %v\n", conn.Where, d.a.Coherence())
	fmt.Fprintf(w, "Two Stores, A and B, stand for two processes. \"via\" is read from the Stores' counters.\n")
	for _, part := range []func(context.Context) error{d.memo, d.http, d.hydrate, d.collections} {
		if err := part(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	for _, s := range []struct {
		name  string
		store *cache.Store
	}{{"A", d.a}, {"B", d.b}} {
		st := s.store.Stats() // what otelmetrics exports
		fmt.Fprintf(w, "Store %s: %d local hits, %d remote hits, %d misses, %d loads, %d local entries (%d bytes), breaker %v\n",
			s.name, st.LocalHits, st.RemoteHits, st.Misses, st.Loads, st.LocalEntries, st.LocalBytes, st.Breaker)
	}
	return nil
}

// demo holds the two Stores and a run's unique prefix.
type demo struct {
	w    io.Writer
	conn *demoredis.Conn
	a, b *cache.Store
	id   string // unique to the run, so that runs on one Redis do not meet
}

func newDemo(ctx context.Context, w io.Writer, conn *demoredis.Conn) (*demo, error) {
	d := &demo{w: w, conn: conn, id: fmt.Sprint(time.Now().UnixNano())}
	var err error
	if d.a, err = cache.NewStore(conn.Client, cache.StoreOptions{}); err != nil {
		return nil, err
	}
	if d.b, err = cache.NewStore(conn.Client, cache.StoreOptions{}); err != nil {
		_ = d.a.Close()
		return nil, err
	}
	// Until its invalidation stream is subscribed a Store keeps nothing
	// locally: this is what a readiness probe waits for (Store.Ready).
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, s := range []*cache.Store{d.a, d.b} {
		if err := s.WaitCoherent(wctx); err != nil {
			d.close()
			return nil, fmt.Errorf("waiting for the invalidation stream: %w", err)
		}
	}
	return d, nil
}

func (d *demo) close() {
	_ = d.a.Close()
	_ = d.b.Close()
}

// measure runs fn on store s and returns how long it took and where its
// answer came from, from s's counters before and after.
func measure(s *cache.Store, fn func() error) (time.Duration, string, error) {
	before := s.Stats()
	start := time.Now()
	err := fn()
	took := time.Since(start)
	return took, via(before, s.Stats()), err
}

// via names what answered, from two snapshots of a Store's counters.
func via(before, after cache.Stats) string {
	var out string
	add := func(n uint64, what string) {
		if n == 0 {
			return
		}
		if out != "" {
			out += ", "
		}
		if n == 1 {
			out += what
		} else {
			out += fmt.Sprintf("%s x%d", what, n)
		}
	}
	add(after.Loads-before.Loads, "the loader")
	add(after.RemoteHits-before.RemoteHits, "Redis")
	add(after.LocalHits-before.LocalHits, "local tier")
	add(after.NegativeHits-before.NegativeHits, "cached not-found")
	if out == "" {
		return "no cache read"
	}
	return out
}

// settle waits until store s has heard the invalidations of the writes
// made so far: its count of invalidations has moved past since and then
// stayed still for 10ms (a load writes its lease, its value and the
// lease's release; Redis has sent all three when the load returns). A
// value read before its write's invalidation arrives is not kept locally,
// so without this B's second read could come from Redis again.
func (d *demo) settle(ctx context.Context, s *cache.Store, since uint64) {
	deadline := time.Now().Add(time.Second)
	last, still := since, time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n := s.Stats().Invalidations
		switch {
		case n != last:
			last, still = n, time.Now()
		case n != since && time.Since(still) >= 10*time.Millisecond:
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// line prints one measured step.
func (d *demo) line(who, what string, took time.Duration, via, result string) {
	fmt.Fprintf(d.w, "   %s %-28s %10v  via %-22s %s\n", who, what, took.Round(time.Microsecond), via, result)
}
