package orderedcache_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/orderedcache"
)

// TestSecondHydrateIsLocal: the documents a Hydrate loaded and wrote stay
// in the Store's local tier past the echo of its own write, in tracking
// and pub/sub modes, on a server and on the cluster: hydrating the same
// 100 ids again is 100 local hits. (A foreign write's eviction is in
// cache's torture tests.)
func TestSecondHydrateIsLocal(t *testing.T) {
	for _, b := range backends(t) {
		for _, mode := range []cache.Coherence{cache.CoherenceTracking, cache.CoherencePubSub} {
			t.Run(b.name+"/"+mode.String(), func(t *testing.T) {
				ctx := context.Background()
				ns := uniqueNS()
				cacheOn := func() *cache.Cache[doc] { // a Store of its own, coherent
					rdb, _ := b.client(t)
					s, err := cache.NewStore(rdb, cache.StoreOptions{Coherence: mode})
					require.NoError(t, err)
					t.Cleanup(func() { _ = s.Close() })
					wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					defer cancel()
					require.NoError(t, s.WaitCoherent(wctx))
					return newCache[doc](t, s, ns, cache.Options[doc]{})
				}
				c := cacheOn()
				ids := seq(1, 100)
				src := &source{has: func(int) bool { return true }}
				values, unsupplied, err := orderedcache.Hydrate(ctx, c, ids, src.load)
				require.NoError(t, err)
				require.Empty(t, unsupplied)
				require.Equal(t, docs(ids), values)
				require.Len(t, src.Calls(), 1)

				// The echoes of c's 100 fills (at least 100 messages: the
				// fences' changes are announced too) come before the second
				// Hydrate or during it; either way it is served locally (a
				// read of a key whose echo is being checked waits for the
				// check).
				require.Eventually(t, func() bool { return c.Stats().Invalidations >= 100 }, 10*time.Second, time.Millisecond,
					"the echoes did not arrive (%d)", c.Stats().Invalidations)

				before := c.Stats()
				values, _, err = orderedcache.Hydrate(ctx, c, ids, src.load)
				require.NoError(t, err)
				after := c.Stats()
				require.Equal(t, docs(ids), values)
				require.Equal(t, uint64(100), after.LocalHits-before.LocalHits, "own fills were not kept locally")
				require.Zero(t, after.RemoteHits-before.RemoteHits)
				require.Len(t, src.Calls(), 1, "nothing to load the second time")
			})
		}
	}
}
