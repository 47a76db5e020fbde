package collections_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

func newHLL(t testing.TB, rdb redis.UniversalClient, name string) *collections.HyperLogLog[int] {
	t.Helper()
	h, err := collections.NewHyperLogLog[int](rdb, name, collections.HyperLogLogOptions[int]{})
	require.NoError(t, err)
	return h
}

func TestNewHyperLogLogValidates(t *testing.T) {
	_, err := collections.NewHyperLogLog[int](nil, "h", collections.HyperLogLogOptions[int]{})
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed
	defer c.Close()
	_, err = collections.NewHyperLogLog[int](c, "", collections.HyperLogLogOptions[int]{})
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
}

// TestHyperLogLogAccuracy: Len within 2% on 100k distinct elements, and
// Contains true for every one of them.
func TestHyperLogLogAccuracy(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, rdb redis.UniversalClient) {
		const n, batch = 100_000, 10_000
		ctx := context.Background()
		h, err := collections.NewHyperLogLog[int](rdb, "accuracy", collections.HyperLogLogOptions[int]{
			Options: collections.Options{Timeout: time.Minute}, // batches of 10k: a hang guard only
		})
		require.NoError(t, err)
		added := intsFrom(0, n)
		eachBatch(added, batch, func(b []int) {
			_, err := h.AddMany(ctx, b)
			require.NoError(t, err)
		})
		got, err := h.Len(ctx)
		require.NoError(t, err)
		t.Logf("Len %d for %d elements", got, n)
		assert.InEpsilon(t, n, got, 0.02)

		eachBatch(added, batch, func(b []int) {
			hits, err := h.ContainsMany(ctx, b)
			require.NoError(t, err)
			for i, ok := range hits {
				require.True(t, ok, "Contains(%d) is false for an added element", b[i])
			}
		})
	})
}

func TestHyperLogLogBasics(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		h := newHLL(t, rdb, "basics")
		ok, err := h.Contains(ctx, 1)
		require.NoError(t, err)
		assert.False(t, ok, "empty")
		n, err := h.Len(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)

		changed, err := h.Add(ctx, 1)
		require.NoError(t, err)
		assert.True(t, changed)
		changed, err = h.Add(ctx, 1)
		require.NoError(t, err)
		assert.False(t, changed)
		_, err = h.AddMany(ctx, intsFrom(2, 99))
		require.NoError(t, err)
		n, err = h.Len(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(100), n, "small counts are exact in practice")

		// Elements never added: most must be reported absent, and checking
		// them must not change the count.
		hits, err := h.ContainsMany(ctx, intsFrom(1000, 1000))
		require.NoError(t, err)
		var present int
		for _, ok := range hits {
			if ok {
				present++
			}
		}
		assert.Less(t, present, 100, "too many false positives for 100 elements")
		n, err = h.Len(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(100), n, "Contains changed the HyperLogLog")

		require.NoError(t, h.Clear(ctx))
		n, err = h.Len(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

func TestHyperLogLogMergeAndUnion(t *testing.T) {
	check := func(t *testing.T, a, b, c *collections.HyperLogLog[int]) {
		ctx := context.Background()
		_, err := a.AddMany(ctx, intsFrom(0, 1000))
		require.NoError(t, err)
		_, err = b.AddMany(ctx, intsFrom(500, 1000))
		require.NoError(t, err)
		_, err = c.AddMany(ctx, intsFrom(1400, 200))
		require.NoError(t, err)

		u, err := a.Union(ctx, b, c)
		require.NoError(t, err)
		assert.InEpsilon(t, 1600, u, 0.02)
		n, err := a.Len(ctx)
		require.NoError(t, err)
		assert.InEpsilon(t, 1000, n, 0.02, "Union changed the receiver")

		require.NoError(t, a.Merge(ctx, b, c))
		n, err = a.Len(ctx)
		require.NoError(t, err)
		assert.Equal(t, u, n, "Merge stores what Union counts")
		n, err = b.Len(ctx)
		require.NoError(t, err)
		assert.InEpsilon(t, 1000, n, 0.02, "Merge changed an argument")
		ok, err := a.Contains(ctx, 1599)
		require.NoError(t, err)
		assert.True(t, ok)
	}
	t.Run("one server", func(t *testing.T) {
		t.Parallel()
		rdb := redistest.Start(t).Client(t)
		check(t, newHLL(t, rdb, "a"), newHLL(t, rdb, "b"), newHLL(t, rdb, "c"))
		assertNoScratchKeys(t, rdb)
	})
	t.Run("cluster, other slots", func(t *testing.T) {
		t.Parallel()
		rdb := redistest.StartCluster(t).Client(t)
		check(t, newHLL(t, rdb, "a"), newHLL(t, rdb, "b"), newHLL(t, rdb, "c"))
	})
	t.Run("other servers", func(t *testing.T) {
		t.Parallel()
		servers := redistest.StartMasters(t, 3)
		check(t, newHLL(t, servers[0].Client(t), "a"), newHLL(t, servers[1].Client(t), "b"), newHLL(t, servers[2].Client(t), "c"))
	})
}

func assertNoScratchKeys(t *testing.T, rdb redis.UniversalClient) {
	t.Helper()
	keys, err := rdb.Keys(context.Background(), "*:hll:*").Result()
	require.NoError(t, err)
	assert.Empty(t, keys, "scratch keys left behind")
}

func TestHyperLogLogWrongType(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	require.NoError(t, rdb.Set(ctx, "tc:{plain}:hll", "not a hyperloglog", 0).Err())
	bad := newHLL(t, rdb, "plain")
	good := newHLL(t, rdb, "good")
	_, err := good.AddMany(ctx, intsFrom(0, 10))
	require.NoError(t, err)

	_, err = bad.Add(ctx, 1)
	require.ErrorIs(t, err, collections.ErrWrongType)
	assert.Contains(t, err.Error(), "tc:{plain}:hll")
	_, err = bad.Len(ctx)
	require.ErrorIs(t, err, collections.ErrWrongType)
	_, err = bad.Contains(ctx, 1)
	require.ErrorIs(t, err, collections.ErrWrongType)
	require.ErrorIs(t, bad.Merge(ctx, good), collections.ErrWrongType)
	require.ErrorIs(t, good.Merge(ctx, bad), collections.ErrWrongType)
	_, err = good.Union(ctx, bad)
	require.ErrorIs(t, err, collections.ErrWrongType)

	n, err := good.Len(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(10), n, "a failed Merge leaves the receiver unchanged")
	got, err := rdb.Get(ctx, "tc:{plain}:hll").Result()
	require.NoError(t, err)
	assert.Equal(t, "not a hyperloglog", got)
	assertNoScratchKeys(t, rdb)

	// The same across servers: the bad registers are read, then refused.
	other := newHLL(t, redistest.Start(t).Client(t), "good")
	require.ErrorIs(t, other.Merge(ctx, bad), collections.ErrWrongType)
	require.ErrorIs(t, other.Merge(ctx, nil), collections.ErrInvalidArgument)
}
