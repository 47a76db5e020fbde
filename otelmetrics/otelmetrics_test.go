package otelmetrics_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/memo"
	"github.com/tiercache/tiercache/otelmetrics"
)

// TestReadsLoadsAndCoherence drives every read, load and coherence metric
// of a coherent Store on a real redis-server and checks that each one moves.
func TestReadsLoadsAndCoherence(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s := newStore(t, srv.Client(t), cache.StoreOptions{})
	waitCoherent(t, s)
	r := attach(t, s, "a")

	users, err := cache.New(s, "users", cache.Options[string]{Codec: codec.String(), NegativeTTL: time.Minute, LocalTTL: time.Hour})
	require.NoError(t, err)
	remote, err := cache.New(s, "remote", cache.Options[string]{Codec: codec.String(), LocalTTL: -1})
	require.NoError(t, err)

	require.Equal(t, int64(1), r.get("tiercache.coherent", otelmetrics.CoherenceKey.String("tracking")))
	require.Equal(t, int64(1), r.get("tiercache.breaker.state", otelmetrics.BreakerKey.String("closed")))
	require.Equal(t, int64(0), r.get("tiercache.breaker.state", otelmetrics.BreakerKey.String("open")))

	r.moves("tiercache.misses", 1, func() {
		_, err := users.Get(ctx, "absent")
		require.ErrorIs(t, err, cache.ErrNotFound)
	}, ns("users"))

	// A load: counted, timed, and the Store's Redis calls timed.
	calls := r.moves("db.client.operation.duration", 2, func() {
		r.moves("tiercache.load.duration", 1, func() {
			r.moves("tiercache.loads", 1, func() {
				v, err := users.GetOrLoad(ctx, "42", func(context.Context) (string, error) { return "Ada", nil })
				require.NoError(t, err)
				require.Equal(t, "Ada", v)
			}, ns("users"))
		}, ns("users"))
	}, otelmetrics.DBSystemKey.String("redis"))
	t.Logf("GetOrLoad of a missing key: %d Redis calls", calls)

	// The write's own invalidation comes back: one invalidation, one lag.
	r.eventually("tiercache.invalidation.lag", 1)
	r.eventually("tiercache.invalidations", 1)

	// Read until the local tier serves it (a read that began before the
	// write's invalidation arrived is not kept).
	r.moves("tiercache.hits", 1, func() {
		for i := 0; i < 1000 && users.Stats().LocalHits == 0; i++ {
			_, err := users.Get(ctx, "42")
			require.NoError(t, err)
		}
	}, ns("users"), tier("local"))
	require.Positive(t, r.get("tiercache.local.entries"))
	require.Positive(t, r.get("tiercache.local.usage"))

	r.moves("tiercache.hits", 1, func() {
		require.NoError(t, remote.Set(ctx, "k", "v"))
		v, err := remote.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "v", v)
	}, ns("remote"), tier("remote"))

	// A loader's "not found", then the negative entry answering.
	r.moves("tiercache.load.duration", 1, func() {
		_, err := users.GetOrLoad(ctx, "nobody", func(context.Context) (string, error) { return "", cache.ErrNotFound })
		require.ErrorIs(t, err, cache.ErrNotFound)
	}, ns("users"), otelmetrics.ErrorTypeKey.String("not_found"))
	r.moves("tiercache.negative_hits", 1, func() {
		_, err := users.GetOrLoad(ctx, "nobody", func(context.Context) (string, error) { return "", cache.ErrNotFound })
		require.ErrorIs(t, err, cache.ErrNotFound)
	}, ns("users"))

	// A failing loader.
	boom := errors.New("boom")
	r.moves("tiercache.load.errors", 1, func() {
		r.moves("tiercache.load.duration", 1, func() {
			_, err := users.GetOrLoad(ctx, "bad", func(context.Context) (string, error) { return "", boom })
			require.ErrorIs(t, err, boom)
		}, ns("users"), otelmetrics.ErrorTypeKey.String("_OTHER"))
	}, ns("users"))

	// Bytes that are no envelope.
	r.moves("tiercache.decode_errors", 1, func() {
		require.NoError(t, srv.Client(t).Set(ctx, users.RedisKey("garbage"), "not an envelope", time.Minute).Err())
		_, err := users.Get(ctx, "garbage")
		require.ErrorIs(t, err, cache.ErrNotFound)
	}, ns("users"))

	// A reply error (WRONGTYPE) is timed with error.type=redis_error.
	r.moves("db.client.operation.duration", 1, func() {
		require.NoError(t, srv.Client(t).HSet(ctx, users.RedisKey("hash"), "f", "v").Err())
		_, err := users.Get(ctx, "hash")
		require.ErrorIs(t, err, cache.ErrWrongType)
	}, otelmetrics.ErrorTypeKey.String("redis_error"))

	// A memoized function is a namespace like any other.
	double, err := memo.New(s, "double", func(_ context.Context, n int) (int, error) { return 2 * n, nil }, memo.Options[int]{})
	require.NoError(t, err)
	var memoNS string
	for name := range s.NamespaceStats() {
		if name != "users" && name != "remote" {
			memoNS = name
		}
	}
	require.NotEmpty(t, memoNS)
	r.moves("tiercache.loads", 1, func() {
		v, err := double.Call(ctx, 21)
		require.NoError(t, err)
		require.Equal(t, 42, v)
	}, ns(memoNS))

	// Losing the invalidation connection: a resync, coherence down (the
	// gauge reads 0 until it is back), then up again.
	resyncs := r.get("tiercache.resyncs")
	require.NoError(t, srv.Client(t).Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err())
	r.eventually("tiercache.resyncs", resyncs+1)
	waitCoherent(t, s)
	require.Equal(t, int64(1), r.get("tiercache.coherent"))
}

// TestLeaseWaits: a second process's load waits on the first's lease, and
// the wait is counted and timed.
func TestLeaseWaits(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	s1 := newStore(t, srv.Client(t), cache.StoreOptions{})
	s2 := newStore(t, srv.Client(t), cache.StoreOptions{})
	waitCoherent(t, s1)
	waitCoherent(t, s2)
	r := attach(t, s2, "b")
	opts := cache.Options[string]{Codec: codec.String()}
	c1, err := cache.New(s1, "orders", opts)
	require.NoError(t, err)
	c2, err := cache.New(s2, "orders", opts)
	require.NoError(t, err)

	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := c1.GetOrLoad(ctx, "7", func(context.Context) (string, error) {
			close(started)
			<-release
			return "seven", nil
		})
		first <- err
	}()
	<-started // s1 holds the lease
	second := make(chan string, 1)
	go func() {
		v, err := c2.GetOrLoad(ctx, "7", func(context.Context) (string, error) { return "", errors.New("s2 must not load") })
		if err != nil {
			v = err.Error()
		}
		second <- v
	}()
	r.eventually("tiercache.lease.waits", 1, ns("orders"))
	close(release)
	require.NoError(t, <-first)
	require.Equal(t, "seven", <-second)
	require.Equal(t, int64(1), r.get("tiercache.lease.wait.duration", ns("orders")))
	require.Zero(t, r.get("tiercache.loads", ns("orders")))
}

// TestNotCoherent: a Store whose Redis user may not subscribe never gets
// an invalidation stream. It says so (gauge, Ready, the readiness handler),
// and every value it reads is a refused fill: kept out of the local tier.
func TestNotCoherent(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	admin := srv.Client(t)
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "nosub", "on", ">pw", "~*", "&*", "+@all", "-subscribe", "-ssubscribe", "-client").Err())
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "nosub", Password: "pw"})
	t.Cleanup(func() { _ = rdb.Close() })
	s := newStore(t, rdb, cache.StoreOptions{})
	r := attach(t, s, "c")
	c, err := cache.New(s, "users", cache.Options[string]{Codec: codec.String()})
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "1", "one"))

	for range 2 {
		v, err := c.Get(ctx, "1")
		require.NoError(t, err)
		require.Equal(t, "one", v)
	}
	require.Equal(t, int64(2), r.get("tiercache.hits", ns("users"), tier("remote")))
	require.Zero(t, r.get("tiercache.hits", ns("users"), tier("local")))
	require.Zero(t, r.get("tiercache.coherent"))
	require.ErrorIs(t, s.Ready(), cache.ErrNotCoherent)

	rec := httptest.NewRecorder()
	otelmetrics.ReadyHandler(s).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)

	ok := newStore(t, admin, cache.StoreOptions{})
	waitCoherent(t, ok)
	require.NoError(t, ok.Ready())
	rec = httptest.NewRecorder()
	otelmetrics.ReadyHandler(ok).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.NoError(t, ok.Close())
	require.ErrorIs(t, ok.Ready(), cache.ErrClosed)
}

// TestRedisDown: with Redis cut off, calls fail (timed with an error.type,
// counted per namespace) and the breaker opens.
func TestRedisDown(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	proxy := faultproxy.Start(t, srv.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: proxy.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	s := newStore(t, rdb, cache.StoreOptions{Coherence: cache.CoherenceNone, BreakerFailures: 2, BreakerCoolDown: time.Hour})
	r := attach(t, s, "d")
	c, err := cache.New(s, "users", cache.Options[string]{Codec: codec.String(), Timeout: 200 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "1", "one"))

	proxy.Refuse()
	proxy.Cut()
	r.moves("tiercache.redis.errors", 2, func() {
		for range 3 { // two failures open the breaker; the third is skipped
			_, err := c.Get(ctx, "absent")
			require.ErrorIs(t, err, cache.ErrUnavailable)
		}
	}, ns("users"))
	require.Equal(t, int64(2), r.get("db.client.operation.duration", attribute.String("error.type", "_OTHER"))+
		r.get("db.client.operation.duration", otelmetrics.ErrorTypeKey.String("timeout")))
	require.Equal(t, int64(1), r.get("tiercache.breaker.state", otelmetrics.BreakerKey.String("open")))
	require.Equal(t, int64(0), r.get("tiercache.breaker.state", otelmetrics.BreakerKey.String("closed")))

	// Loaded values are returned unstored while Redis is out.
	r.moves("tiercache.degraded", 1, func() {
		v, err := c.GetOrLoad(ctx, "2", func(context.Context) (string, error) { return "two", nil })
		require.NoError(t, err)
		require.Equal(t, "two", v)
	}, ns("users"))
}

// TestCloseDetaches: after Close no event reaches the instruments and the
// callback is gone.
func TestCloseDetaches(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, redistest.Start(t).Client(t), cache.StoreOptions{Coherence: cache.CoherenceNone})
	r := attach(t, s, "e")
	c, err := cache.New(s, "users", cache.Options[string]{Codec: codec.String()})
	require.NoError(t, err)
	_, _ = c.GetOrLoad(ctx, "1", func(context.Context) (string, error) { return "one", nil })
	require.Equal(t, int64(1), r.get("tiercache.load.duration", ns("users")))
	s.SetHooks(nil)
	_, _ = c.GetOrLoad(ctx, "2", func(context.Context) (string, error) { return "two", nil })
	require.Equal(t, int64(1), r.get("tiercache.load.duration", ns("users")))
	require.Equal(t, int64(2), r.get("tiercache.loads", ns("users")))

	// A second Attach takes the events over; closing the first leaves them
	// with the second.
	first, second := attach(t, s, "e1"), attach(t, s, "e2")
	require.NoError(t, first.m.Close())
	_, _ = c.GetOrLoad(ctx, "3", func(context.Context) (string, error) { return "three", nil })
	require.Equal(t, int64(1), second.get("tiercache.load.duration", ns("users")))
	_, ok := first.value("tiercache.load.duration")
	require.False(t, ok, "the first provider got the event")

	_, err = otelmetrics.Attach(nil, nil, otelmetrics.Options{})
	require.ErrorIs(t, err, otelmetrics.ErrNilStore)
}

// TestLocalTierAndStale: the local tier's evictions and expirations, and a
// stale value served when the loader fails.
func TestLocalTierAndStale(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, redistest.Start(t).Client(t), cache.StoreOptions{Coherence: cache.CoherenceNone, MaxEntries: 64})
	r := attach(t, s, "f")

	// More entries than the budget: evictions.
	small, err := cache.New(s, "small", cache.Options[string]{Codec: codec.String()})
	require.NoError(t, err)
	r.moves("tiercache.local.evictions", 1, func() {
		for i := range 500 {
			require.NoError(t, small.Set(ctx, strconv.Itoa(i), "v"))
		}
	})
	require.LessOrEqual(t, r.get("tiercache.local.entries"), int64(64))

	// A local copy that outlives its LocalTTL: an expiration, counted when
	// a read finds it.
	short, err := cache.New(s, "short", cache.Options[string]{Codec: codec.String(), LocalTTL: 20 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, short.Set(ctx, "k", "v"))
	r.moves("tiercache.local.expirations", 1, func() {
		until(t, func() bool {
			_, err := short.Get(ctx, "k")
			require.NoError(t, err)
			return short.Stats().RemoteHits > 0
		})
	})

	// A value past its TTL, and a failing loader: the stale value is served.
	stale, err := cache.New(s, "stale", cache.Options[string]{Codec: codec.String(), TTL: 30 * time.Millisecond, StaleIfError: time.Minute})
	require.NoError(t, err)
	_, err = stale.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "old", nil })
	require.NoError(t, err)
	until(t, func() bool { _, err := stale.Get(ctx, "k"); return errors.Is(err, cache.ErrNotFound) })
	r.moves("tiercache.stale_served", 1, func() {
		v, err := stale.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "", errors.New("down") })
		require.NoError(t, err)
		require.Equal(t, "old", v)
	}, ns("stale"))
}

// until calls cond every millisecond until it holds (time has to pass: a
// TTL ends), for at most 10s.
func until(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
	}
}
