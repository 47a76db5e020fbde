package collections_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/collections"
)

// countedClient returns a client of be whose commands cmds counts.
func countedClient(t *testing.T, be dsBackend, cmds *dsCommands) redis.UniversalClient {
	rdb := be.client(t)
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		cc.OnNewNode(func(n *redis.Client) { n.AddHook(cmds) })
	} else {
		rdb.(*redis.Client).AddHook(cmds)
	}
	return rdb
}

// localStore returns a tracking Store on be, subscribed.
func localStore(t *testing.T, be dsBackend, opts cache.StoreOptions) *cache.Store {
	store, err := cache.NewStore(be.client(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, store.WaitCoherent(ctx))
	return store
}

// TestLocalSet: with Options.Local every read of a Set (Contains,
// ContainsMany, Len, Members, ToSet) is answered by one local copy of the
// whole set, without a round trip; a foreign write is seen once its
// invalidation arrives, an own write at once; a set over the local tier's
// budget is read from Redis, counted.
func TestLocalSet(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		cmds := &dsCommands{}
		rdb := countedClient(t, be, cmds)
		store := localStore(t, be, cache.StoreOptions{})
		set, err := collections.NewSet(rdb, dsName(t), collections.SetOptions[string]{Options: collections.Options{Local: store}})
		require.NoError(t, err)
		foreign, err := collections.NewSet(be.client(t), set.Name(), collections.SetOptions[string]{})
		require.NoError(t, err)
		_, err = foreign.Add(ctx, "a", "b")
		require.NoError(t, err)

		type view struct {
			in, out bool
			many    []bool
			n       int64
			members []string
			m       map[string]struct{}
		}
		readAll := func() (view, bool) {
			before := cmds.n.Load()
			var v view
			var err error
			v.in, err = set.Contains(ctx, "a")
			require.NoError(t, err)
			v.out, err = set.Contains(ctx, "zz")
			require.NoError(t, err)
			v.many, err = set.ContainsMany(ctx, "a", "b", "zz")
			require.NoError(t, err)
			v.n, err = set.Len(ctx)
			require.NoError(t, err)
			seq, errf := set.Members(ctx)
			v.members = slices.Sorted(seq)
			require.NoError(t, errf())
			v.m, err = set.ToSet(ctx)
			require.NoError(t, err)
			return v, cmds.n.Load() == before
		}
		want := view{in: true, many: []bool{true, true, false}, n: 2, members: []string{"a", "b"},
			m: map[string]struct{}{"a": {}, "b": {}}}
		require.Eventually(t, func() bool { v, local := readAll(); return local && fmt.Sprint(v) == fmt.Sprint(want) },
			10*time.Second, time.Millisecond, "never served locally")

		// ToSet hands out a map of the caller's own.
		m, err := set.ToSet(ctx)
		require.NoError(t, err)
		m["x"] = struct{}{}
		n, err := set.Len(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(2), n)

		// A foreign write: seen once its invalidation arrives.
		_, err = foreign.Add(ctx, "zz")
		require.NoError(t, err)
		require.Eventually(t, func() bool { in, err := set.Contains(ctx, "zz"); return err == nil && in },
			10*time.Second, time.Millisecond, "the foreign write was never seen")
		// An own write: seen at once.
		require.NoError(t, set.Remove(ctx, "zz"))
		in, err := set.Contains(ctx, "zz")
		require.NoError(t, err)
		require.False(t, in, "an own write was not seen at once")
		require.Positive(t, set.Local().Kept)
	})
}
