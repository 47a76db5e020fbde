package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// trackingModes are the modes the fault tests run in: the default and the
// two other tracking modes.
var trackingModes = []Coherence{CoherenceAuto, CoherenceTrackingNamespaces, CoherenceTrackingKeys}

// TestRedisKilledDuringLoads kills Redis while GetOrLoad calls run: every
// call still returns the loader's value, the breaker opens, and after a
// restart it closes and Redis is used again. In every tracking mode.
func TestRedisKilledDuringLoads(t *testing.T) {
	for _, mode := range trackingModes {
		t.Run(mode.String(), func(t *testing.T) { redisKilledDuringLoads(t, mode) })
	}
}

func redisKilledDuringLoads(t *testing.T, mode Coherence) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	logs := &syncBuffer{}
	s := newStore(t, rdb, StoreOptions{
		Coherence:       mode,
		BreakerFailures: 3,
		BreakerCoolDown: 50 * time.Millisecond,
		Logger:          slog.New(slog.NewTextHandler(logs, nil)),
	})
	c := newCache(t, s, Options[string]{Timeout: 200 * time.Millisecond})
	goroutines := runtime.NumGoroutine()

	load := func(i int) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return fmt.Sprint("value-", i), nil }
	}
	call := func(i int) {
		t.Helper()
		v, err := c.GetOrLoad(ctx, fmt.Sprint("k", i), load(i))
		require.NoError(t, err, "call %d", i)
		require.Equal(t, fmt.Sprint("value-", i), v, "call %d", i)
	}
	for i := range 20 {
		call(i)
	}
	require.Equal(t, BreakerClosed, s.Breaker())

	srv.Kill()
	for i := 20; i < 60; i++ {
		call(i)
	}
	require.Equal(t, BreakerOpen, s.Breaker(), "repeated failures open the breaker")
	st := c.Stats()
	require.Positive(t, st.Degraded, "values returned without Redis are counted")
	require.Positive(t, st.RedisErrors)
	// Plain reads say Redis is unavailable rather than pretending to miss.
	_, err := c.Get(ctx, "never-set")
	require.ErrorIs(t, err, ErrUnavailable)
	// Values loaded while Redis was down were not kept locally (Redis lacks them).
	_, err = c.Get(ctx, "k30")
	require.ErrorIs(t, err, ErrUnavailable)

	srv.Restart()
	eventually(t, func() bool {
		_, _ = c.GetOrLoad(ctx, "probe", load(0))
		return s.Breaker() == BreakerClosed
	}, "the breaker never closed after the restart")
	call(100)
	n, err := rdb.Exists(ctx, c.RedisKey("k100")).Result()
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "Redis is used again")

	// One log line per state change, not one per request.
	out := logs.String()
	require.Equal(t, 1, strings.Count(out, "to=open"), out)
	require.Equal(t, 1, strings.Count(out, "to=closed"), out)

	// No goroutine left behind by the failed calls.
	eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines+2 },
		"goroutines: %d before, %d after", goroutines, runtime.NumGoroutine())
}

// TestBlackholedRedis: with Redis accepting connections and never answering,
// calls return a timeout (Get) or the loader's value (GetOrLoad) instead of
// hanging. In every tracking mode.
func TestBlackholedRedis(t *testing.T) {
	for _, mode := range trackingModes {
		t.Run(mode.String(), func(t *testing.T) { blackholedRedis(t, mode) })
	}
}

func blackholedRedis(t *testing.T, mode Coherence) {
	ctx := context.Background()
	srv := redistest.Start(t)
	proxy := faultproxy.Start(t, srv.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	s := newStore(t, rdb, StoreOptions{Coherence: mode, BreakerFailures: 2, BreakerCoolDown: time.Hour})
	c := newCache(t, s, Options[string]{Timeout: 100 * time.Millisecond})
	require.NoError(t, c.Set(ctx, "warm", "v"))

	proxy.Blackhole()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := c.Get(ctx, "cold")
		assert.ErrorIs(t, err, ErrUnavailable)
		assert.True(t, errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout"), "%v", err)
		v, err := c.GetOrLoad(ctx, "cold", func(context.Context) (string, error) { return "loaded", nil })
		assert.NoError(t, err)
		assert.Equal(t, "loaded", v)
		// The breaker is open now: no more waiting on Redis at all.
		assert.Equal(t, BreakerOpen, s.Breaker())
		v, err = c.GetOrLoad(ctx, "cold2", func(context.Context) (string, error) { return "loaded2", nil })
		assert.NoError(t, err)
		assert.Equal(t, "loaded2", v)
		// A write fails with an error and leaves no local copy.
		assert.ErrorIs(t, c.Set(ctx, "warm", "new"), ErrUnavailable)
		_, err = c.Get(ctx, "warm")
		assert.ErrorIs(t, err, ErrUnavailable)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // hang guard only
		t.Fatal("calls hung on a blackholed Redis")
	}
}

// TestBreakerProbeCancelled: a half-open breaker's probe that its caller
// cancels proves nothing, so the breaker neither closes nor reopens, and
// the next call probes; a probe that reaches its caller's deadline is a
// failure (Redis did not answer) and reopens it; only an answer from Redis
// closes it.
func TestBreakerProbeCancelled(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	proxy := faultproxy.Start(t, srv.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr, MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	var onSend atomic.Pointer[context.CancelFunc]
	rdb.AddHook(sendHook(func() {
		if cancel := onSend.Load(); cancel != nil {
			(*cancel)()
		}
	}))
	s := newStore(t, rdb, StoreOptions{BreakerFailures: 2, BreakerCoolDown: 10 * time.Millisecond})
	c := newCache(t, s, Options[string]{Timeout: 100 * time.Millisecond})
	proxy.Blackhole()
	for s.Breaker() != BreakerOpen {
		_, err := c.Get(ctx, "cold") // each times out after Options.Timeout
		require.ErrorIs(t, err, ErrUnavailable)
	}
	cancelledGet := func() {
		t.Helper()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		onSend.Store(&cancel) // the caller gives up as the command goes out
		defer onSend.Store(nil)
		_, err := c.Get(cctx, "cold")
		require.Error(t, err)
		require.NotEqual(t, BreakerClosed, s.Breaker(), "a cancelled probe closed the breaker")
	}
	// Once the cool-down has passed, a call probes; its caller cancels it.
	eventually(t, func() bool { cancelledGet(); return s.Breaker() == BreakerHalfOpen }, "no probe after the cool-down")
	for range 3 {
		cancelledGet() // each is a probe again, not refused as a second one
		require.Equal(t, BreakerHalfOpen, s.Breaker())
	}
	// A probe that runs into its caller's deadline is a failure.
	dctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	_, err := c.Get(dctx, "cold")
	cancel()
	require.ErrorIs(t, err, ErrUnavailable)
	require.Equal(t, BreakerOpen, s.Breaker(), "a probe Redis did not answer left the breaker half-open")

	proxy.Heal()
	eventually(t, func() bool { _, err := c.Get(ctx, "cold"); return errors.Is(err, ErrNotFound) }, "Redis is not used again")
	require.Equal(t, BreakerClosed, s.Breaker())
}

// sendHook is a go-redis hook that calls fn as each command or pipeline
// is about to be sent.
type sendHook func()

func (h sendHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h sendHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h(); return next(ctx, cmd) }
}
func (h sendHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h(); return next(ctx, cmds) }
}
