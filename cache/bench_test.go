package cache

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
)

type benchValue struct {
	ID   int      `json:"id"`
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// BenchmarkGetLocalHit: a Get answered by the local tier, with tracking
// coherence on. It must not allocate.
func BenchmarkGetLocalHit(b *testing.B) {
	ctx := context.Background()
	c, keys := localHitCache(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := c.Get(ctx, keys[i&1023]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetLocalHitParallel is BenchmarkGetLocalHit from GOMAXPROCS
// goroutines at once (b.RunParallel), each starting at its own key: the
// goroutines share the local tier's shards and the namespace's counters.
func BenchmarkGetLocalHitParallel(b *testing.B) {
	ctx := context.Background()
	c, keys := localHitCache(b)
	var seq atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(seq.Add(1) * 9973)
		for pb.Next() {
			if _, err := c.Get(ctx, keys[i&1023]); err != nil {
				b.Error(err) // not Fatal: this is not the benchmark's goroutine
				return
			}
			i++
		}
	})
}

// localHitCache returns a namespace whose 1024 keys are all in the local
// tier, and the keys. When the benchmark ends it checks that the loop ran on
// the local tier.
func localHitCache(b *testing.B) (*Cache[benchValue], []string) {
	b.Helper()
	ctx := context.Background()
	// The Store's one INFO line per start would break the benchmark's lines.
	s, err := NewStore(redistest.Start(b).Client(b), StoreOptions{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	b.Cleanup(func() { _ = s.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(b, s.WaitCoherent(wctx))
	c, err := New(s, "bench", Options[benchValue]{LocalTTL: time.Hour})
	require.NoError(b, err)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
		require.NoError(b, c.Set(ctx, keys[i], benchValue{i, "name", []string{"a", "b"}}))
	}
	for _, k := range keys { // after its own invalidations, a read keeps each key locally
		require.Eventually(b, func() bool { _, err := c.Get(ctx, k); return err == nil && local(c, k) }, 10*time.Second, time.Millisecond)
	}
	b.Cleanup(func() {
		if st := c.Stats(); st.RemoteHits > 1024 {
			b.Errorf("%d remote hits: the loop did not run on the local tier", st.RemoteHits)
		}
	})
	return c, keys
}

// TestLocalHitAllocatesNothing holds the benchmark's promise in the test
// suite: a local hit allocates nothing.
func TestLocalHitAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	c := newCache(t, newStore(t, nil, StoreOptions{}), Options[benchValue]{})
	require.NoError(t, c.Set(ctx, "k", benchValue{1, "n", nil}))
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := c.Get(ctx, "k"); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}

// BenchmarkGetRemoteHit: a Get answered by Redis (local tier off).
func BenchmarkGetRemoteHit(b *testing.B) {
	ctx := context.Background()
	s := newStore(b, redistest.Start(b).Client(b), StoreOptions{})
	c, err := New(s, "bench", Options[string]{LocalTTL: -1, Codec: codec.String()})
	require.NoError(b, err)
	require.NoError(b, c.Set(ctx, "k", "a value of some 32 bytes or so.."))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInvalidationLag measures, for writes by a client that is not
// tiercache, the time from the write's start until a Store has evicted its
// local copy; it reports the median and the 99th percentile.
func BenchmarkInvalidationLag(b *testing.B) {
	ctx := context.Background()
	srv := redistest.Start(b)
	s := coherentStore(b, srv.Client(b), CoherenceAuto)
	c, err := New(s, "lag", Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	require.NoError(b, err)
	foreign := srv.Client(b)
	rk := c.RedisKey("k")
	var lags []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		require.NoError(b, foreign.Set(ctx, rk, envelope(b, fmt.Sprint(i)), time.Hour).Err())
		for !local(c, "k") { // cache the new value (its own invalidation may evict the first read)
			_, _ = c.Get(ctx, "k")
		}
		b.StartTimer()
		start := time.Now()
		require.NoError(b, foreign.Set(ctx, rk, envelope(b, "x"), time.Hour).Err())
		for local(c, "k") {
		}
		lags = append(lags, time.Since(start))
	}
	slices.Sort(lags)
	b.ReportMetric(float64(lags[len(lags)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkLocalHitShapes reads local hits from GOMAXPROCS goroutines in
// three shapes, tiercache beside an RWMutex map holding the same values:
// one hot key, 1,024 keys drawn from a Zipf distribution (s = 1.1), and
// 100,000 keys read uniformly. Run it with -cpu 1,2 to see what a second
// core adds: a read path that writes nothing shared doubles.
func BenchmarkLocalHitShapes(b *testing.B) {
	ctx := context.Background()
	for _, shape := range []struct {
		name string
		keys int
		zipf bool
	}{{"hot", 1, false}, {"zipf1024", 1024, true}, {"uniform100k", 100_000, false}} {
		s, err := NewStore(nil, StoreOptions{MaxEntries: 2 * shape.keys, MaxBytes: 1 << 30})
		require.NoError(b, err)
		c, err := New(s, "bench", Options[benchValue]{})
		require.NoError(b, err)
		keys := make([]string, shape.keys)
		m := make(map[string]benchValue, shape.keys)
		for i := range keys {
			keys[i] = fmt.Sprint("key-", i)
			v := benchValue{i, "name", []string{"a", "b"}}
			require.NoError(b, c.Set(ctx, keys[i], v))
			m[keys[i]] = v
		}
		// The sequence of keys read, drawn once so that no generator runs in
		// the timed loop.
		seq := make([]string, 1<<16)
		rng := rand.New(rand.NewPCG(1, 2))
		z := rand.NewZipf(rng, 1.1, 1, uint64(shape.keys-1))
		for i := range seq {
			switch {
			case shape.keys == 1:
				seq[i] = keys[0]
			case shape.zipf:
				seq[i] = keys[z.Uint64()]
			default:
				seq[i] = keys[rng.IntN(shape.keys)]
			}
		}
		var mu sync.RWMutex
		impls := []struct {
			name string
			get  func(string) int
		}{
			{"tiercache", func(k string) int {
				v, err := c.Get(ctx, k)
				if err != nil {
					panic(err)
				}
				return v.ID
			}},
			{"rwmap", func(k string) int {
				mu.RLock()
				v := m[k]
				mu.RUnlock()
				return v.ID
			}},
		}
		for _, impl := range impls {
			b.Run(shape.name+"/"+impl.name, func(b *testing.B) {
				var start atomic.Int64
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					i := int(start.Add(1) * 7919)
					for pb.Next() {
						impl.get(seq[i&(len(seq)-1)])
						i++
					}
				})
			})
		}
		if st := c.Stats(); st.Misses != 0 {
			b.Fatalf("%s: %d misses: the loop did not run on the local tier", shape.name, st.Misses)
		}
		require.NoError(b, s.Close())
	}
}

// BenchmarkEntryMemory reports the heap bytes and objects that each of
// 100,000 local entries (10-byte key, 100-byte string value) costs, beside
// a map[string]string holding the same: the entry's share of the tier's
// tables included, the key and value themselves too.
func BenchmarkEntryMemory(b *testing.B) {
	const n = 100_000
	keys := make([]string, n)
	vals := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%09d", i)
		vals[i] = fmt.Sprintf("%0100d", i)
	}
	measure := func(b *testing.B, fill func() any) {
		var bytes, objs float64
		for b.Loop() {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			held := fill()
			runtime.GC()
			runtime.ReadMemStats(&after)
			runtime.KeepAlive(held)
			bytes = float64(after.HeapAlloc-before.HeapAlloc) / n
			objs = float64(after.HeapObjects-before.HeapObjects) / n
		}
		b.ReportMetric(bytes, "heap-B/entry")
		b.ReportMetric(objs, "heap-objs/entry")
	}
	// Each fill copies the key and the value, as a cache filled from the
	// network holds its own.
	b.Run("map", func(b *testing.B) {
		measure(b, func() any {
			m := make(map[string]string)
			for i, k := range keys {
				m[strings.Clone(k)] = strings.Clone(vals[i])
			}
			return m
		})
	})
	b.Run("tiercache", func(b *testing.B) {
		ctx := context.Background()
		measure(b, func() any {
			s, err := NewStore(nil, StoreOptions{MaxEntries: 2 * n, MaxBytes: 1 << 30})
			require.NoError(b, err)
			c, err := New(s, "m", Options[string]{Codec: codec.String()})
			require.NoError(b, err)
			for i, k := range keys {
				require.NoError(b, c.Set(ctx, strings.Clone(k), strings.Clone(vals[i])))
			}
			if got := s.local.Len(); got != n {
				b.Fatalf("%d entries in the local tier, want %d", got, n)
			}
			return c
		})
	})
}

// BenchmarkRemoteGetAllocs is a remote hit beside the raw go-redis GET of
// the same key on the same client: what tiercache adds to the command.
func BenchmarkRemoteGetAllocs(b *testing.B) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(b).Addr, ContextTimeoutEnabled: true})
	b.Cleanup(func() { _ = rdb.Close() })
	s := newStore(b, rdb, StoreOptions{})
	c, err := New(s, "bench", Options[string]{LocalTTL: -1, Codec: codec.String()})
	require.NoError(b, err)
	require.NoError(b, c.Set(ctx, "k", "a value of some 32 bytes or so.."))
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Get(ctx, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rdb.Get(ctx, s.opts.Prefix+"bench:k").Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRemoteGetManyAllocs is a GetMany of 100 keys from Redis beside
// the raw go-redis MGET of the same keys on the same client.
func BenchmarkRemoteGetManyAllocs(b *testing.B) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(b).Addr, ContextTimeoutEnabled: true})
	b.Cleanup(func() { _ = rdb.Close() })
	s := newStore(b, rdb, StoreOptions{})
	c, err := New(s, "bench", Options[string]{LocalTTL: -1, Codec: codec.String()})
	require.NoError(b, err)
	keys := make([]string, 100)
	rkeys := make([]string, len(keys))
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
		rkeys[i] = s.opts.Prefix + "bench:" + keys[i]
		require.NoError(b, c.Set(ctx, keys[i], "a value of some 32 bytes or so.."))
	}
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if m, err := c.GetMany(ctx, keys); err != nil || len(m) != len(keys) {
				b.Fatal(len(m), err)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rdb.MGet(ctx, rkeys...).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestRemoteGetAllocs holds what a remote hit allocates beyond the raw GET
// of the same key on the same client: the Redis key (prefix and key), and
// the context that bounds the call by Options.Timeout and its timer, unless
// the caller's deadline comes first, which bounds it already.
func TestRemoteGetAllocs(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Start(t).Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	s := newStore(t, rdb, StoreOptions{})
	c, err := New(s, "allocs", Options[string]{LocalTTL: -1, Codec: codec.String()})
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "k", "value"))
	rkey := c.RedisKey("k")
	allocs := func(ctx context.Context, get func(context.Context) error) float64 {
		return testing.AllocsPerRun(200, func() { require.NoError(t, get(ctx)) })
	}
	tc := func(ctx context.Context) error { _, err := c.Get(ctx, "k"); return err }
	raw := func(ctx context.Context) error { return rdb.Get(ctx, rkey).Err() }
	soon, cancel := context.WithTimeout(ctx, time.Hour/4) // sooner than no deadline, later than Timeout
	defer cancel()
	sooner, cancel2 := context.WithTimeout(ctx, c.opts.Timeout/2)
	defer cancel2()
	// The Store's context is 5: the context, its timer (3 in
	// context.WithTimeout) and the done channel go-redis asks it for.
	assert.LessOrEqual(t, allocs(ctx, tc)-allocs(ctx, raw), 6.0, "no deadline: the key and the Store's context")
	assert.LessOrEqual(t, allocs(soon, tc)-allocs(soon, raw), 6.0, "a later deadline: the key and the Store's context")
	assert.LessOrEqual(t, allocs(sooner, tc)-allocs(sooner, raw), 1.0, "a sooner deadline: the key alone")
}
