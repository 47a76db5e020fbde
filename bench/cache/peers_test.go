package cachebench

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/ristretto/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"
	"github.com/maypok86/otter/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
)

// localPeerTTL is the time-to-live every in-process peer is given, so that
// each pays for expiry as tiercache's local tier (LocalTTL) does; no
// benchmark runs long enough for it to matter otherwise.
const localPeerTTL = time.Hour

// newOtter returns an otter cache of up to size entries that expire
// localPeerTTL after their write; with coarse, it reads a coarse clock of
// tiercache's resolution (1ms) instead of the precise time.
func newOtter[V any](b *testing.B, size int, coarse bool) *otter.Cache[string, V] {
	b.Helper()
	opts := &otter.Options[string, V]{
		MaximumSize:      size,
		InitialCapacity:  size,
		ExpiryCalculator: otter.ExpiryWriting[string, V](localPeerTTL),
	}
	if coarse {
		clock := otter.NewCoarseClock(time.Millisecond)
		b.Cleanup(clock.Stop)
		opts.Clock = clock
	}
	c, err := otter.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.StopAllGoroutines() })
	return c
}

// newRistretto returns a ristretto cache big enough for size entries of
// cost 1 each, with its internal cost ignored so that the budget counts
// entries alone.
func newRistretto[V any](b *testing.B, size int) *ristretto.Cache[string, V] {
	b.Helper()
	c, err := ristretto.NewCache(&ristretto.Config[string, V]{
		NumCounters:        int64(10 * size),
		MaxCost:            int64(2 * size),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

// fillRistretto sets value(i) for every keys[i] with localPeerTTL, and sets
// again the ones ristretto dropped (its Set is asynchronous and may drop an
// item when its buffers are full) until every key reads back after Wait.
func fillRistretto[V any](b *testing.B, c *ristretto.Cache[string, V], keys []string, value func(i int) V) {
	b.Helper()
	missing := make([]int, len(keys))
	for i := range missing {
		missing[i] = i
	}
	for try := 0; len(missing) > 0; try++ {
		if try == 100 {
			b.Fatalf("ristretto: %d keys still missing after %d fills", len(missing), try)
		}
		for _, i := range missing {
			c.SetWithTTL(keys[i], value(i), 1, localPeerTTL)
		}
		c.Wait()
		var still []int
		for _, i := range missing {
			if _, ok := c.Get(keys[i]); !ok {
				still = append(still, i)
			}
		}
		missing = still
	}
}

// newGolangLRU returns a golang-lru/v2 expirable LRU of size entries with
// localPeerTTL.
func newGolangLRU[V any](size int) *expirable.LRU[string, V] {
	return expirable.NewLRU[string, V](size, nil, localPeerTTL)
}

// rueidisTTL is the client-side cache TTL of the rueidis benchmarks' DoCache
// calls.
const rueidisTTL = time.Hour

// newRueidis returns a rueidis client for the benchmark server: with
// cache, client-side caching on (server-assisted tracking, RESP3); without,
// DisableCache (plain commands). It does not flush the database (newClient
// does): make it after the benchmark's go-redis client.
func newRueidis(b *testing.B, cache bool) rueidis.Client {
	b.Helper()
	c, err := rueidis.NewClient(rueidisOptions(cache))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

func rueidisOptions(cache bool) rueidis.ClientOption {
	return rueidis.ClientOption{InitAddress: []string{redisAddr}, DisableCache: !cache}
}

// warmRueidis reads every key with DoCache until one whole pass is served
// by rueidis' client-side cache.
func warmRueidis(b *testing.B, c rueidis.Client, ks []string) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		hits := 0
		for _, k := range ks {
			resp := c.DoCache(ctx, c.B().Get().Key(k).Cache(), rueidisTTL)
			if err := resp.Error(); err != nil {
				b.Fatalf("rueidis: warming %s: %v", k, err)
			}
			if resp.IsCacheHit() {
				hits++
			}
		}
		if hits == len(ks) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("rueidis: a pass over the keys still reads Redis after %v", 30*time.Second)
		}
	}
}

// errNotLocal is what a local-hit benchmark's read returns when the value
// came from Redis rather than from the client's memory.
var errNotLocal = errors.New("served by Redis, not locally")

// callerKey marks the contexts of a benchmark's own calls, so that the
// round-trip counters count those and not a client's background work
// (tiercache's invalidation stream, rueidisaside's keep-alive).
type callerKey struct{}

// callerCtx is a context marked with callerKey.
var callerCtx = context.WithValue(context.Background(), callerKey{}, true)

func isCaller(ctx context.Context) bool { return ctx.Value(callerKey{}) != nil }

// redisRoundTrips is a go-redis hook counting the commands and pipelines
// sent under a callerCtx: each is one round trip for its caller.
type redisRoundTrips struct{ n atomic.Int64 }

func (r *redisRoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *redisRoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if isCaller(ctx) {
			r.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (r *redisRoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if isCaller(ctx) {
			r.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// rueidisRoundTrips wraps a rueidis.Client and counts the calls made under
// a callerCtx that reach Redis: a Do or DoMulti (one round trip, however
// many commands it pipelines), and a DoCache or DoMultiCache the
// client-side cache did not answer whole.
type rueidisRoundTrips struct {
	rueidis.Client
	n atomic.Int64
}

func (r *rueidisRoundTrips) count(ctx context.Context) {
	if isCaller(ctx) {
		r.n.Add(1)
	}
}

func (r *rueidisRoundTrips) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	r.count(ctx)
	return r.Client.Do(ctx, cmd)
}

func (r *rueidisRoundTrips) DoMulti(ctx context.Context, multi ...rueidis.Completed) []rueidis.RedisResult {
	r.count(ctx)
	return r.Client.DoMulti(ctx, multi...)
}

func (r *rueidisRoundTrips) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	resp := r.Client.DoCache(ctx, cmd, ttl)
	if !resp.IsCacheHit() {
		r.count(ctx)
	}
	return resp
}

func (r *rueidisRoundTrips) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	resps := r.Client.DoMultiCache(ctx, multi...)
	for _, resp := range resps {
		if !resp.IsCacheHit() {
			r.count(ctx)
			break
		}
	}
	return resps
}
