package cache

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestCloseIsFinal: once Close returns, nothing is served or kept locally,
// nothing starts, the Store is not coherent and calls return ErrClosed.
func TestCloseIsFinal(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	var hold atomic.Pointer[chan struct{}]
	reached := make(chan struct{}, 1)
	rdb.AddHook(afterHook(func(cmd redis.Cmder) {
		if ch := hold.Load(); ch != nil && cmd.Name() == "evalsha" || ch != nil && cmd.Name() == "eval" {
			reached <- struct{}{}
			<-*ch
		}
	}))
	s, err := NewStore(rdb, StoreOptions{})
	require.NoError(t, err)
	require.NoError(t, s.WaitCoherent(ctx))
	c := newCache(t, s, Options[string]{TTL: 50 * time.Millisecond, StaleWhileRevalidate: time.Hour})
	n, err := NewNear[string](s, time.Minute)
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "k", "v"))
	eventually(t, func() bool { _, err := c.Get(ctx, "k"); return errors.Is(err, ErrNotFound) }, "the value never went stale")
	rkey := s.opts.Prefix + "h"
	n.Keep(rkey, "f", "x", 1, n.Token())

	// A GetOrLoad whose read is in flight during Close.
	var loads atomic.Int32
	release := make(chan struct{})
	hold.Store(&release)
	got := make(chan error, 1)
	go func() {
		_, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { loads.Add(1); return "new", nil })
		got <- err
	}()
	<-reached
	hold.Store(nil)
	require.NoError(t, s.Close())
	close(release)
	<-got
	require.Zero(t, loads.Load(), "a refresh started after Close")
	require.False(t, c.Stats().Coherent)
	_, ok := c.GetLocal("k")
	require.False(t, ok)
	_, ok = n.Get(rkey, "f")
	require.False(t, ok, "a Near served after Close")
	_, err = c.Get(ctx, "k")
	require.ErrorIs(t, err, ErrClosed)
	_, err = c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "", nil })
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, c.Set(ctx, "k", "v"), ErrClosed)
	require.ErrorIs(t, c.Delete(ctx, "k"), ErrClosed)
	_, err = c.GetMany(ctx, []string{"k"})
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, s.WaitCoherent(ctx), ErrClosed)
	require.Zero(t, c.LocalLen())
}

// TestBreakerOpensWhileRedisHangs: with redis-server stopped (SIGSTOP),
// calls end at the caller's deadline or the Store's timeout, those count as
// failures whatever the deadline, and after BreakerFailures of them the
// breaker opens and calls fail fast, counted apart from Redis errors; on
// clients with and without ContextTimeoutEnabled.
func TestBreakerOpensWhileRedisHangs(t *testing.T) {
	for _, ctxTimeouts := range []bool{false, true} {
		for _, deadline := range []time.Duration{100 * time.Millisecond, time.Second, 0} {
			t.Run(strings.Join([]string{map[bool]string{false: "plain", true: "ctx-timeouts"}[ctxTimeouts], deadline.String()}, "/"), func(t *testing.T) {
				srv := redistest.Start(t)
				rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: ctxTimeouts})
				t.Cleanup(func() { _ = rdb.Close() })
				s := newStore(t, rdb, StoreOptions{BreakerFailures: 3, BreakerCoolDown: time.Hour})
				c := newCache(t, s, Options[string]{Timeout: 200 * time.Millisecond})
				_, err := c.Get(context.Background(), "warm") // a connection in the pool
				require.ErrorIs(t, err, ErrNotFound)
				srv.Pause()
				get := func() error {
					ctx := context.Background()
					if deadline > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, deadline)
						defer cancel()
					}
					_, err := c.Get(ctx, "cold")
					return err
				}
				for range 3 {
					require.ErrorIs(t, get(), ErrUnavailable)
				}
				require.Equal(t, BreakerOpen, s.Breaker(), "timed-out calls did not open the breaker")
				errs := c.Stats().RedisErrors
				for range 5 {
					err := get()
					require.ErrorIs(t, err, ErrUnavailable)
					require.ErrorIs(t, err, errSkipped)
				}
				require.Equal(t, errs, c.Stats().RedisErrors, "skipped calls counted as Redis errors")
				require.Equal(t, uint64(5), c.Stats().BreakerSkips)
			})
		}
	}
}

// TestAbandonedWaitersCostNoGoroutine: callers that give up on a hung load
// return in time and leave nothing behind but the load itself.
func TestAbandonedWaitersCostNoGoroutine(t *testing.T) {
	srv := redistest.Start(t)
	c := newCache(t, newStore(t, srv.Client(t), StoreOptions{}), Options[string]{Lease: -1})
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	var once sync.Once
	load := func(context.Context) (string, error) {
		once.Do(func() { close(started) })
		<-release
		return "v", nil
	}
	ctx0, cancel0 := context.WithCancel(context.Background())
	go func() { _, _ = c.GetOrLoad(ctx0, "k", load) }()
	<-started
	cancel0()
	eventually(t, func() bool { return c.waiting.Load() == 0 }, "the first caller did not return")
	base := runtime.NumGoroutine()
	var wg sync.WaitGroup
	for range 800 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, err := c.GetOrLoad(ctx, "k", load)
			require.ErrorIs(t, err, context.DeadlineExceeded)
		})
	}
	wg.Wait()
	eventually(t, func() bool { return runtime.NumGoroutine() <= base+2 }, "abandoned waiters left %d goroutines", runtime.NumGoroutine()-base)
}

// TestByteBudgetCountsDecoded: compressed values are charged their decoded
// length, so the local tier stays within MaxBytes.
func TestByteBudgetCountsDecoded(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	writer := newCache(t, newStore(t, srv.Client(t), StoreOptions{}), Options[[]byte]{CompressAbove: 1024})
	const budget = 8 << 20
	reader, err := New(newStore(t, srv.Client(t), StoreOptions{MaxBytes: budget}), writer.Namespace(), Options[[]byte]{CompressAbove: 1024})
	require.NoError(t, err)
	big := bytes.Repeat([]byte("a"), 512<<10)
	for i := range 10 {
		k := string(rune('a' + i))
		require.NoError(t, writer.Set(ctx, k, big))
		_, err := reader.Get(ctx, k)
		require.NoError(t, err)
	}
	st := reader.Stats()
	require.Positive(t, st.LocalEntries)
	require.LessOrEqual(t, st.LocalBytes, int64(budget))
	require.GreaterOrEqual(t, st.LocalBytes, int64(st.LocalEntries)*512<<10, "512 KiB values were charged their compressed size")
}

// TestDoneContext: a done context returns its error before any work.
func TestDoneContext(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var loads atomic.Int32
	require.Zero(t, rt.during(func() {
		for range 50 {
			_, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { loads.Add(1); return "v", nil })
			require.ErrorIs(t, err, context.Canceled)
		}
		_, err := c.Get(ctx, "k")
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, c.Set(ctx, "k", "v"), context.Canceled)
		require.ErrorIs(t, c.Delete(ctx, "k"), context.Canceled)
		_, err = c.GetMany(ctx, []string{"k"})
		require.ErrorIs(t, err, context.Canceled)
		_, err = c.GetManyOrLoad(ctx, []string{"k"}, func(context.Context, []string) (map[string]string, error) { loads.Add(1); return nil, nil })
		require.ErrorIs(t, err, context.Canceled)
	}))
	require.Zero(t, loads.Load())
	// Nothing was left running either: a live call loads itself.
	v, err := c.GetOrLoad(context.Background(), "k", func(context.Context) (string, error) { return "live", nil })
	require.NoError(t, err)
	require.Equal(t, "live", v, "a load started by a cancelled call served the live one")
	require.Zero(t, loads.Load())
}

// TestFirstWriteOneRoundTrip: a server that has not seen the write script
// gets it whole on the first write: one round trip, not EVALSHA, NOSCRIPT,
// EVAL; and a server that forgot it (SCRIPT FLUSH) still gets the write.
func TestFirstWriteOneRoundTrip(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			rdb, rt := b.client(t)
			c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{})
			nodes := int64(1)
			if b.name != "single" {
				nodes = 3
			}
			ks := map[string]string{}
			for i := range 50 {
				ks[string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
			}
			_, err := c.GetMany(ctx, slices.Collect(maps.Keys(ks))) // the slot map and a connection to each node, no script
			require.NoError(t, err)
			c2 := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{})
			require.Equal(t, nodes, rt.during(func() { require.NoError(t, c2.SetMany(ctx, ks)) }), "first SetMany")
			require.Equal(t, nodes, rt.during(func() { require.NoError(t, c2.SetMany(ctx, ks)) }), "second SetMany")
		})
	}
}

// fakeReplyError is a reply error a hook can return, as a server without
// CLIENT TRACKING would.
type fakeReplyError string

func (e fakeReplyError) Error() string { return string(e) }
func (fakeReplyError) RedisError()     {}

// TestPubSubWriteBeforeModeDecided: a write made while the Store is still
// finding out that the server lacks tracking (so that pub/sub it will be)
// is announced all the same: another Store drops its copy.
func TestPubSubWriteBeforeModeDecided(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	b := newCache(t, coherentStore(t, srv.Client(t), CoherencePubSub), Options[string]{})
	require.NoError(t, b.Set(ctx, "k", "old"))
	eventually(t, func() bool { _, ok := b.GetLocal("k"); return ok }, "b does not hold its own write")

	rdb := srv.Client(t)
	probe := make(chan struct{})
	rdb.AddHook(probeHook(probe))
	s, err := NewStore(rdb, StoreOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	a, err := New(s, b.Namespace(), Options[string]{})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- a.Set(ctx, "k", "new") }()
	// The write is made (or waits for the decision) before the probe ends.
	eventually(t, func() bool { return len(done) == 1 || s.coh.modeWaiters.Load() == 1 }, "the write never started")
	close(probe) // the server answers the probe: no tracking
	require.NoError(t, <-done)
	require.Equal(t, CoherencePubSub, s.Coherence())
	eventually(t, func() bool { v, _ := b.Get(ctx, "k"); return v == "new" }, "the write before the decision was not announced")
}

// probeHook holds CLIENT TRACKING until release is closed, then answers it
// with an error, as a server without tracking does.
type probeHook chan struct{}

func (h probeHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h probeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if a := cmd.Args(); len(a) > 1 && cmd.Name() == "client" && strings.EqualFold(a[1].(string), "tracking") {
			<-h
			cmd.SetErr(fakeReplyError("ERR unknown subcommand 'TRACKING'"))
			return cmd.Err()
		}
		return next(ctx, cmd)
	}
}
func (h probeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestClientTypes: NewStore takes a *redis.Ring like a *redis.Client or a
// *redis.ClusterClient (without coherence, for now), and refuses a client
// of a type it does not know, saying what to use. Fails before the Store
// accepted a Ring.
func TestClientTypes(t *testing.T) {
	ctx := context.Background()
	a, b := redistest.Start(t), redistest.Start(t)
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": a.Addr, "b": b.Addr}})
	t.Cleanup(func() { _ = ring.Close() })
	s, err := NewStore(ring, StoreOptions{Coherence: CoherenceNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	c, err := New(s, uniqueNS(t), Options[string]{})
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "k", "v"))
	n, err := ring.Exists(ctx, c.RedisKey("k")).Result()
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "the entry is where the Ring looks for it")

	refused, err := NewStore(wrappedClient{a.Client(t)}, StoreOptions{Coherence: CoherenceNone})
	require.ErrorIs(t, err, ErrInvalidOptions)
	require.ErrorContains(t, err, "wrappedClient")
	require.ErrorContains(t, err, "*redis.Ring")
	require.Nil(t, refused)
}

// wrappedClient is a client type the Store does not know.
type wrappedClient struct{ *redis.Client }
