package cache

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// backend is a Redis deployment the suite runs on.
type backend struct {
	name string
	// client returns a new client, closed in t.Cleanup, that counts the
	// round trips it makes (one per command or pipeline sent to a node).
	client func(t *testing.T) (redis.UniversalClient, *roundTrips)
}

// backends starts a single server, a 3-master cluster and three servers
// for a Ring (whose Stores have no coherence: see newStore).
func backends(t *testing.T) []backend {
	single := redistest.Start(t)
	cluster := redistest.StartCluster(t)
	shards := map[string]string{}
	for i, s := range redistest.StartMasters(t, 3) {
		shards[ringShardName(i)] = s.Addr
	}
	return []backend{
		{"single", func(t *testing.T) (redis.UniversalClient, *roundTrips) {
			rt := &roundTrips{}
			c := single.Client(t)
			c.AddHook(rt)
			return c, rt
		}},
		{"cluster", func(t *testing.T) (redis.UniversalClient, *roundTrips) {
			rt := &roundTrips{}
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
			c.OnNewNode(func(n *redis.Client) { n.AddHook(rt) })
			t.Cleanup(func() { _ = c.Close() })
			return c, rt
		}},
		{"ring", func(t *testing.T) (redis.UniversalClient, *roundTrips) {
			rt := &roundTrips{}
			return newTestRing(t, shards, rt), rt
		}},
	}
}

// roundTrips is a go-redis hook counting round trips to nodes; with
// callerOnly, only those made under a context marked with callerKey (a
// caller's, not the Store's background work).
type roundTrips struct {
	n          atomic.Int64
	callerOnly bool
}

// callerKey marks a caller's context for roundTrips.callerOnly.
type callerKey struct{}

func (r *roundTrips) count(ctx context.Context) {
	if !r.callerOnly || ctx.Value(callerKey{}) != nil {
		r.n.Add(1)
	}
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.count(ctx); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.count(ctx); return next(ctx, cmds) }
}

// during returns how many round trips fn made.
func (r *roundTrips) during(fn func()) int64 {
	before := r.n.Load()
	fn()
	return r.n.Load() - before
}

// newStore returns a Store closed in t.Cleanup. Unless opts say otherwise
// it has no coherence, so that the mechanics of the two tiers can be
// counted exactly (with coherence, a Store's own writes come back as
// invalidations at a time of the server's choosing); coherence has tests of
// its own.
func newStore(t testing.TB, rdb redis.UniversalClient, opts StoreOptions) *Store {
	if opts.Coherence == CoherenceAuto {
		opts.Coherence = CoherenceNone
	}
	s, err := NewStore(rdb, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// coherentStore returns a Store with the given coherence (Auto: tracking on
// these servers), subscribed before it is returned.
func coherentStore(t testing.TB, rdb redis.UniversalClient, mode Coherence) *Store {
	s, err := NewStore(rdb, StoreOptions{Coherence: mode})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(ctx))
	return s
}

func newCache[V any](t testing.TB, s *Store, opts Options[V]) *Cache[V] {
	c, err := New(s, uniqueNS(t), opts)
	require.NoError(t, err)
	return c
}

var nsSeq atomic.Int64

// uniqueNS names a namespace no other test uses.
func uniqueNS(t testing.TB) string {
	return fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e9, nsSeq.Add(1))
}

// eventually polls cond until it holds or a generous deadline passes (a
// hang guard, not a speed goal).
func eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond, append([]any{msg}, args...)...)
}
