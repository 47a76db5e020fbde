package memo_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/memo"
)

// backend is a Redis deployment the suite runs on: newClient returns a new
// client (another connection pool, as another process would have), closed
// in t.Cleanup.
type backend struct {
	name      string
	newClient func(t *testing.T) redis.UniversalClient
}

// backends starts a single server and a 3-master cluster.
func backends(t *testing.T) []backend {
	single := redistest.Start(t)
	cluster := redistest.StartCluster(t)
	return []backend{
		{"single", func(t *testing.T) redis.UniversalClient { return single.Client(t) }},
		{"cluster", func(t *testing.T) redis.UniversalClient {
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
			t.Cleanup(func() { _ = c.Close() })
			return c
		}},
	}
}

// newStore returns a Store on rdb with the default coherence, once its
// invalidation connections are subscribed (until then it keeps nothing
// locally).
func newStore(t testing.TB, rdb redis.UniversalClient) *cache.Store {
	s := newStoreWith(t, rdb, cache.StoreOptions{})
	if rdb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		require.NoError(t, s.WaitCoherent(ctx))
	}
	return s
}

// newStoreWith returns a Store closed when the test ends. The Stores of a
// test are closed concurrently: closing one waits for its invalidation
// connections to notice.
func newStoreWith(t testing.TB, rdb redis.UniversalClient, opts cache.StoreOptions) *cache.Store {
	s, err := cache.NewStore(rdb, opts)
	require.NoError(t, err)
	v, loaded := closers.LoadOrStore(t, &storeSet{})
	set := v.(*storeSet)
	if !loaded {
		t.Cleanup(func() {
			closers.Delete(t)
			set.mu.Lock()
			defer set.mu.Unlock()
			var wg sync.WaitGroup
			for _, s := range set.stores {
				wg.Go(func() { _ = s.Close() })
			}
			wg.Wait()
		})
	}
	set.mu.Lock()
	set.stores = append(set.stores, s)
	set.mu.Unlock()
	return s
}

type storeSet struct {
	mu     sync.Mutex
	stores []*cache.Store
}

var closers sync.Map // testing.TB -> *storeSet

// calls returns i without the figures that depend on when a Store's
// invalidations arrive: another Store's write drops the local copy when
// its invalidation arrives, so whether a later Call is a local or a remote
// hit, and how many entries the local tier holds, are timing. Hits (their
// sum) is kept.
func calls(i memo.Info) memo.Info {
	i.LocalHits, i.RemoteHits, i.Size = 0, 0, 0
	return i
}

var nameSeq atomic.Int64

// uniqueName names a memoized function no other test uses.
func uniqueName() string {
	return fmt.Sprintf("f%d-%d", time.Now().UnixNano()%1e9, nameSeq.Add(1))
}

// eventually polls cond until it holds or a generous deadline passes (a
// hang guard, not a speed goal).
func eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, 2*time.Millisecond, append([]any{msg}, args...)...)
}

// inFlight counts the goroutines inside a shared load: the callers of
// GetOrLoad waiting on (or having started) one. memo has no hook of its
// own into the cache's waiters, so the tests read the goroutine stacks.
func inFlight() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte(").loadShared("))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// redisKeys returns the keys of a memoized function's namespace in Redis,
// scanning every master of a cluster.
func redisKeys(t *testing.T, rdb redis.UniversalClient, namespace string) []string {
	t.Helper()
	ctx := context.Background()
	var (
		mu  sync.Mutex
		out []string
	)
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, cache.DefaultPrefix+namespace+":*", 100).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) }))
		return out
	}
	require.NoError(t, scan(ctx, rdb))
	return out
}
