package syncable_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/syncable"
)

// TestCluster: on a Redis Cluster, a collection's key, its version key and
// the copy a chunked Load reads share the hash tag {<name>}, so Sync and
// Load work as on one server; collections reads what was synced.
func TestCluster(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.StartCluster(t).Client(t)
	for _, name := range []string{"alpha", "beta", "gamma"} { // likely on different masters
		d, err := syncable.NewDict[int, string](rdb, name, syncable.DictOptions[int, string]{LoadChunk: 50})
		require.NoError(t, err)
		for i := range 500 {
			d.Set(i, fmt.Sprint(i))
		}
		require.NoError(t, d.Sync(ctx))
		d.Delete(7)
		d.Set(8, "eight")
		require.NoError(t, d.Sync(ctx))
		back, err := syncable.NewDict[int, string](rdb, name, syncable.DictOptions[int, string]{LoadChunk: 50})
		require.NoError(t, err)
		require.NoError(t, back.Load(ctx))
		require.Equal(t, 499, back.Len())
		v, _ := back.Get(8)
		require.Equal(t, "eight", v)
		c, err := collections.NewDict[int, string](rdb, name, collections.DictOptions[int, string]{})
		require.NoError(t, err)
		n, err := c.Len(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(499), n)

		l, err := syncable.NewList[int](rdb, name, syncable.ListOptions[int]{LoadChunk: 50})
		require.NoError(t, err)
		for i := range 300 {
			l.Append(i)
		}
		require.NoError(t, l.Sync(ctx))
		require.NoError(t, l.Load(ctx))
		require.Equal(t, 300, l.Len())
		l.Clear()
		require.NoError(t, l.Sync(ctx))
	}
}
