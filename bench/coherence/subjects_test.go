package coherencebench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	rediscache "github.com/go-redis/cache/v9"
	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

// Implementation names, as they appear in benchmark names and tables.
const (
	implLimit      = "limit"         // RWMutex map: the least a local hit can cost
	implRedisGet   = "redis-get"     // no local tier: a GET per read (the stale-read control)
	implTiercache  = "tiercache"     // cache.Cache[string], tracking coherence
	implTCWriter   = "tiercache-tc"  // tiercache, the writer being another tiercache Store
	implGoRedisCSC = "goredis-csc"   // go-redis v9.23, RESP3, ClientSideCacheConfig
	implGoRedisGRC = "goredis-cache" // go-redis/cache v9 with a TinyLFU local cache
)

// localCapacity is the local tiers' entry budget: room for every key of
// every benchmark, so that nothing is evicted by size.
const localCapacity = 4096

// peerLocalTTL is how long go-redis/cache's TinyLFU keeps a local copy: the
// same minute tiercache uses by default (Options.LocalTTL, and
// StoreOptions.MaxStaleness as the backstop).
const peerLocalTTL = time.Minute

// subject is one implementation under measurement: how a reader reads a
// key through it, how a client that is not that reader writes the key (in
// the implementation's own format), and what can be observed of its local
// tier. The functions are safe for concurrent use.
type subject struct {
	impl string
	// coherent is set for implementations that promise to drop a local
	// copy when Redis is written (or that have no local copy): after the
	// writes stop, their reads must converge to Redis's values.
	coherent bool
	get      func(ctx context.Context, key string) (string, error)
	put      func(ctx context.Context, key, val string) error
	// remote returns how many reads went to Redis so far; nil when every
	// read does.
	remote func() uint64
	// cached returns how many entries the local tier holds; nil when that
	// cannot be observed.
	cached func() int
	// stats describes what the implementation reports about itself.
	stats func() string
}

// newSubject returns impl on fresh clients, closed when tb ends.
func newSubject(tb testing.TB, impl string) *subject {
	tb.Helper()
	run := runs.Add(1)
	switch impl {
	case implLimit:
		return newLimit()
	case implRedisGet:
		return newRedisGet(tb, run)
	case implTiercache, implTCWriter:
		return newTiercache(tb, run, impl == implTCWriter)
	case implGoRedisCSC:
		return newGoRedisCSC(tb, run)
	case implGoRedisGRC:
		return newGoRedisCache(tb, run)
	}
	tb.Fatalf("unknown implementation %q", impl)
	return nil
}

// newLimit is an RWMutex-guarded map. Nobody but put writes it, so it
// only makes sense for the hit benchmarks.
func newLimit() *subject {
	var mu sync.RWMutex
	m := make(map[string]string)
	return &subject{
		impl:     implLimit,
		coherent: true,
		get: func(_ context.Context, key string) (string, error) {
			mu.RLock()
			v, ok := m[key]
			mu.RUnlock()
			if !ok {
				return "", fmt.Errorf("limit: no key %q", key)
			}
			return v, nil
		},
		put: func(_ context.Context, key, val string) error {
			mu.Lock()
			m[key] = val
			mu.Unlock()
			return nil
		},
		remote: func() uint64 { return 0 },
		cached: func() int {
			mu.RLock()
			defer mu.RUnlock()
			return len(m)
		},
		stats: func() string { return "" },
	}
}

// newRedisGet reads with a plain GET: never stale, by construction, which
// makes it the control of the stale-read study.
func newRedisGet(tb testing.TB, run int64) *subject {
	rdb, foreign := newClient(tb), newClient(tb)
	prefix := fmt.Sprintf("get%d:", run)
	return &subject{
		impl:     implRedisGet,
		coherent: true,
		get: func(ctx context.Context, key string) (string, error) {
			return rdb.Get(ctx, prefix+key).Result()
		},
		put: func(ctx context.Context, key, val string) error {
			return foreign.Set(ctx, prefix+key, val, time.Hour).Err()
		},
		stats: func() string { return "" },
	}
}

// newTiercache is a cache.Cache[string] (raw string codec) on its own Store
// in tracking mode. The foreign writer is a plain go-redis client that
// writes tiercache's envelope to Cache.RedisKey; with viaTiercache, it is
// instead a second Store's Cache.Set on the same namespace, so that the
// writer's Stats measure the invalidation lag.
func newTiercache(tb testing.TB, run int64, viaTiercache bool) *subject {
	tb.Helper()
	ns := fmt.Sprintf("coh%d", run)
	opts := cache.Options[string]{Codec: codec.String(), TTL: time.Hour, LocalTTL: time.Hour}
	c, _ := newTiercacheNS(tb, ns, opts)
	s := &subject{
		impl:     implTiercache,
		coherent: true,
		get:      c.Get,
		remote: func() uint64 {
			st := c.Stats()
			return st.RemoteHits + st.Misses
		},
		cached: c.LocalLen,
	}
	s.stats = func() string { return tiercacheStats("", c.Stats()) }
	if !viaTiercache {
		foreign := newClient(tb)
		s.put = func(ctx context.Context, key, val string) error {
			exp := time.Now().Add(time.Hour).UnixMilli()
			env, err := codec.EncodeValue(nil, codec.Header{SoftExpiry: exp, HardExpiry: exp}, codec.String(), val, 0)
			if err != nil {
				return err
			}
			return foreign.Set(ctx, c.RedisKey(key), env, time.Hour).Err()
		}
		return s
	}
	w, _ := newTiercacheNS(tb, ns, opts)
	s.impl = implTCWriter
	s.put = w.Set
	s.stats = func() string {
		return tiercacheStats("reader: ", c.Stats()) + "; " + tiercacheStats("writer: ", w.Stats())
	}
	return s
}

// newTiercacheNS returns namespace ns on a new Store (its own go-redis
// client), once the Store's invalidation connection is subscribed.
func newTiercacheNS(tb testing.TB, ns string, opts cache.Options[string]) (*cache.Cache[string], *cache.Store) {
	tb.Helper()
	rdb := newClient(tb)
	store, err := cache.NewStore(rdb, cache.StoreOptions{
		Logger:     discard,
		MaxEntries: localCapacity,
		Coherence:  cache.CoherenceTracking,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	if err := store.WaitCoherent(setupCtx(tb)); err != nil {
		tb.Fatalf("tiercache: WaitCoherent: %v", err)
	}
	if got := store.Coherence(); got != cache.CoherenceTracking {
		tb.Fatalf("tiercache: coherence %v, want %v", got, cache.CoherenceTracking)
	}
	c, err := cache.New(store, ns, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return c, store
}

// tiercacheStats is the part of a Stats the tables show.
func tiercacheStats(label string, st cache.Stats) string {
	return fmt.Sprintf("%slocal %d, remote %d, invalidations %d, resyncs %d, lag p50 %s p99 %s (%d samples)",
		label, st.LocalHits, st.RemoteHits+st.Misses, st.Invalidations, st.Resyncs,
		us(st.InvalidationLagP50), us(st.InvalidationLagP99), st.LagSamples)
}

// newGoRedisCSC is go-redis v9.23's built-in client-side cache: a RESP3
// client with ClientSideCacheConfig, reading with GET. Its defaults are
// kept (5 ms drain interval, no MaxStaleness) but for the entry budget.
// The foreign writer is a plain go-redis client's SET.
func newGoRedisCSC(tb testing.TB, run int64) *subject {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  redisAddr,
		Protocol:              3,
		ClientSideCacheConfig: &redis.ClientSideCacheConfig{MaxEntries: localCapacity},
	})
	tb.Cleanup(func() { _ = rdb.Close() })
	foreign := newClient(tb)
	prefix := fmt.Sprintf("csc%d:", run)
	return &subject{
		impl:     implGoRedisCSC,
		coherent: true,
		get: func(ctx context.Context, key string) (string, error) {
			return rdb.Get(ctx, prefix+key).Result()
		},
		put: func(ctx context.Context, key, val string) error {
			return foreign.Set(ctx, prefix+key, val, time.Hour).Err()
		},
		remote: func() uint64 { return rdb.CSCStats().Misses },
		cached: func() int { return rdb.CSCStats().Entries },
		stats: func() string {
			st := rdb.CSCStats()
			return fmt.Sprintf("hits %d, misses %d", st.Hits, st.Misses)
		},
	}
}

// newGoRedisCache is go-redis/cache v9 with a TinyLFU local cache of
// peerLocalTTL. Its foreign writer is a second go-redis/cache on a plain
// client without a local cache: what another process running go-redis/cache
// writes, in go-redis/cache's own msgpack item format by construction.
func newGoRedisCache(tb testing.TB, run int64) *subject {
	reader := rediscache.New(&rediscache.Options{
		Redis:        newClient(tb),
		LocalCache:   rediscache.NewTinyLFU(localCapacity, peerLocalTTL),
		StatsEnabled: true,
	})
	writer := rediscache.New(&rediscache.Options{Redis: newClient(tb)})
	prefix := fmt.Sprintf("grc%d:", run)
	return &subject{
		impl: implGoRedisGRC,
		get: func(ctx context.Context, key string) (string, error) {
			var v string
			err := reader.Get(ctx, prefix+key, &v)
			return v, err
		},
		put: func(ctx context.Context, key, val string) error {
			return writer.Set(&rediscache.Item{Ctx: ctx, Key: prefix + key, Value: val, TTL: time.Hour})
		},
		remote: func() uint64 {
			st := reader.Stats()
			return st.Hits + st.Misses
		},
		stats: func() string {
			st := reader.Stats()
			return fmt.Sprintf("Redis reads %d", st.Hits+st.Misses)
		},
	}
}

// warm reads every key until one whole pass is answered by the local tier
// (for a subject with one), and fails tb after 30s. A write's own
// invalidation may drop the copy the first read kept; the next read keeps
// it again.
func warm(tb testing.TB, s *subject, keys []string) {
	tb.Helper()
	ctx := setupCtx(tb)
	var lastErr error
	ok := waitFor(30*time.Second, func() bool {
		var before uint64
		if s.remote != nil {
			before = s.remote()
		}
		for _, k := range keys {
			if _, err := s.get(ctx, k); err != nil {
				lastErr = err
				return false
			}
		}
		return s.remote == nil || s.remote() == before
	})
	if !ok {
		tb.Fatalf("%s: the local tier did not hold every key within 30s (last error: %v)", s.impl, lastErr)
	}
}
