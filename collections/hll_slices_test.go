package collections_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

func TestHyperLogLogWith(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		h := newHLL(t, be.rdb, dsName(t))
		count := dsMust[int64](t)
		require.Equal(t, int64(0), count(h.UnionWith(ctx)), "absent, no items")
		require.Equal(t, int64(0), count(h.MergeWith(ctx)))
		require.Zero(t, be.rdb.Exists(ctx, "tc:{"+h.Name()+"}:hll", "tc:{"+h.Name()+"}:hll:acc").Val(), "nothing created")
		require.Equal(t, int64(3), count(h.UnionWith(ctx, 1, 2, 3, 3)))
		require.Equal(t, int64(0), count(h.Len(ctx)), "UnionWith changes nothing")

		require.Equal(t, int64(3), count(h.MergeWith(ctx, 1, 2, 3)))
		require.Equal(t, int64(3), count(h.MergeWith(ctx, 1, 2, 3)), "idempotent")
		require.Equal(t, int64(3), count(h.MergeWith(ctx)), "no items only counts")
		require.Equal(t, int64(5), count(h.UnionWith(ctx, 3, 4, 5)))
		require.Equal(t, int64(3), count(h.Len(ctx)))

		// More than a chunk (1000) of elements, within the standard error.
		u := count(h.UnionWith(ctx, intsFrom(0, 20_000)...))
		require.InEpsilon(t, 20_000, float64(u), 0.03)
		require.Equal(t, int64(3), count(h.Len(ctx)))
		m := count(h.MergeWith(ctx, intsFrom(0, 20_000)...))
		require.Equal(t, u, m, "the same union, counted or stored")
		require.Equal(t, m, count(h.Len(ctx)))
		require.Zero(t, be.rdb.Exists(ctx, "tc:{"+h.Name()+"}:hll:acc").Val(), "scratch key gone")

		// Wrong type keeps the data; unencodable items send nothing.
		bad := newHLL(t, be.rdb, dsName(t)+"bad")
		key := "tc:{" + bad.Name() + "}:hll"
		require.NoError(t, be.rdb.Set(ctx, key, "not a collection", 0).Err())
		_, err := bad.MergeWith(ctx, 1, 2)
		require.ErrorIs(t, err, collections.ErrWrongType)
		require.ErrorContains(t, err, key)
		_, err = bad.UnionWith(ctx, 1)
		require.ErrorIs(t, err, collections.ErrWrongType)
		_, err = bad.MergeWith(ctx)
		require.ErrorIs(t, err, collections.ErrWrongType)
		dsUntouched(t, be.rdb, key)
		f, err := collections.NewHyperLogLog(be.rdb, dsName(t)+"f", collections.HyperLogLogOptions[float64]{})
		require.NoError(t, err)
		_, err = f.MergeWith(ctx, 1, math.NaN())
		require.Error(t, err)
		n, err := f.Len(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

func ExampleHyperLogLog_UnionWith() {
	ctx := context.Background()
	h, _ := collections.NewHyperLogLog(exampleClient(), "example-hll-with", collections.HyperLogLogOptions[string]{})
	defer h.Clear(ctx)
	n, _ := h.MergeWith(ctx, "alice", "bob")
	u, _ := h.UnionWith(ctx, "bob", "carol")
	fmt.Println(n, u)
	// Output: 2 3
}
