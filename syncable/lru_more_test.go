package syncable_test

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/syncable"
)

// lruBoth runs fn on a single server and on a 3-master cluster.
func lruBoth(t *testing.T, fn func(t *testing.T, rdb redis.UniversalClient)) {
	t.Run("single", func(t *testing.T) { fn(t, start(t)) })
	t.Run("cluster", func(t *testing.T) { fn(t, redistest.StartCluster(t).Client(t)) })
}

// collect drains an Items sequence into a map, failing on a repeated key.
func collect[K comparable, V any](t *testing.T, d *syncable.LRUDict[K, V]) map[K]V {
	t.Helper()
	seq, errf := d.Items(context.Background())
	got := map[K]V{}
	for k, v := range seq {
		_, dup := got[k]
		require.False(t, dup, "key %v yielded twice", k)
		got[k] = v
	}
	require.NoError(t, errf())
	return got
}

// TestLRUDictItems: every item once, from memory and from Redis; the
// in-memory value wins for a key in both; iteration moves nothing.
func TestLRUDictItems(t *testing.T) {
	lruBoth(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		d, err := syncable.NewLRUDict[int, string](rdb, "items", 3, syncable.DictOptions[int, string]{LoadChunk: 4})
		require.NoError(t, err)
		require.Empty(t, collect(t, d), "empty dict")

		want := map[int]string{}
		for i := range 10 {
			require.NoError(t, d.Set(ctx, i, fmt.Sprint("v", i)))
			want[i] = fmt.Sprint("v", i)
		}
		require.NoError(t, d.Sync(ctx)) // 7, 8, 9 in memory and in Redis
		require.NoError(t, d.Set(ctx, 8, "new"))
		want[8] = "new"
		require.Equal(t, want, collect(t, d), "chunked: 7 in Redis, LoadChunk 4")
		require.Equal(t, 3, d.MemLen())

		// Stopping early ends without error.
		seq, errf := d.Items(ctx)
		n := 0
		for range seq {
			n++
			if n == 5 { // past memory, inside Redis' chunks
				break
			}
		}
		require.Equal(t, 5, n)
		require.NoError(t, errf())
		seq, errf = d.Items(ctx)
		for range seq {
			break
		}
		require.NoError(t, errf())
	})
}

// TestLRUDictItemsErrors: a wrong type and an undecodable value end the
// sequence with the error; the data is kept.
func TestLRUDictItemsErrors(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	d, err := syncable.NewLRUDict[string, int](rdb, "bad", 2, syncable.DictOptions[string, int]{})
	require.NoError(t, err)
	require.NoError(t, rdb.HSet(ctx, d.Key(), `"x"`, "not json").Err())
	seq, errf := d.Items(ctx)
	for range seq {
		t.Fatal("nothing to yield")
	}
	require.ErrorIs(t, errf(), syncable.ErrDecode)

	w, err := syncable.NewLRUDict[string, int](rdb, "wrong", 2, syncable.DictOptions[string, int]{})
	require.NoError(t, err)
	require.NoError(t, rdb.Set(ctx, w.Key(), "s", 0).Err())
	seq, errf = w.Items(ctx)
	for range seq {
	}
	require.ErrorIs(t, errf(), syncable.ErrWrongType)
	require.Equal(t, "s", rdb.Get(ctx, w.Key()).Val())
}

// TestLRUDictClear: Clear empties memory and Redis in one round trip and
// keeps everything on a wrong type.
func TestLRUDictClear(t *testing.T) {
	lruBoth(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		d, err := syncable.NewLRUDict[int, int](rdb, "clear", 2, syncable.DictOptions[int, int]{})
		require.NoError(t, err)
		require.NoError(t, d.Clear(ctx), "empty")
		for i := range 5 {
			require.NoError(t, d.Set(ctx, i, i))
		}
		require.NoError(t, d.Clear(ctx))
		require.Zero(t, d.MemLen())
		n, err := d.Len(ctx)
		require.NoError(t, err)
		require.Zero(t, n)
		require.Zero(t, rdb.Exists(ctx, d.Key(), d.Key()+":syncver").Val(), "hash and version key gone")
		_, ok, err := d.Get(ctx, 0)
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, d.Set(ctx, 9, 9), "usable after Clear")
		require.Equal(t, map[int]int{9: 9}, collect(t, d))
	})
}

func TestLRUDictClearWrongType(t *testing.T) {
	ctx := context.Background()
	rdb, rt := counted(t, start(t))
	d, err := syncable.NewLRUDict[int, int](rdb, "cw", 2, syncable.DictOptions[int, int]{})
	require.NoError(t, err)
	require.NoError(t, d.Set(ctx, 1, 1))
	require.NoError(t, rdb.Set(ctx, d.Key(), "keep", 0).Err())
	require.Equal(t, int64(1), rt.count(func() {
		require.ErrorIs(t, d.Clear(ctx), syncable.ErrWrongType)
	}))
	require.Equal(t, "keep", rdb.Get(ctx, d.Key()).Val())
	require.Equal(t, 1, d.MemLen(), "memory kept")
}

// TestLRUDictUnbounded: maxSize LRUUnbounded never spills; a negative
// maxSize is refused.
func TestLRUDictUnbounded(t *testing.T) {
	ctx := context.Background()
	rdb, rt := counted(t, start(t))
	_, err := syncable.NewLRUDict[int, int](rdb, "neg", -1, syncable.DictOptions[int, int]{})
	require.ErrorIs(t, err, syncable.ErrInvalidArgument)

	d, err := syncable.NewLRUDict[int, int](rdb, "unb", syncable.LRUUnbounded, syncable.DictOptions[int, int]{})
	require.NoError(t, err)
	require.Equal(t, syncable.LRUUnbounded, d.MaxSize())
	want := map[int]int{}
	require.Zero(t, rt.count(func() {
		for i := range 5000 {
			require.NoError(t, d.Set(ctx, i, i))
			want[i] = i
		}
	}), "nothing spilled")
	require.Equal(t, 5000, d.MemLen())
	require.Zero(t, rdb.Exists(ctx, d.Key()).Val())
	require.NoError(t, d.Sync(ctx))
	require.Equal(t, int64(5000), rdb.HLen(ctx, d.Key()).Val())

	// Items of Redis only are read and kept in memory too.
	other, err := syncable.NewLRUDict[int, int](rdb, "unb", 0, syncable.DictOptions[int, int]{})
	require.NoError(t, err)
	require.True(t, maps.Equal(want, collect(t, other)))
	for i := range 5000 {
		_, ok, err := other.Get(ctx, i)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.Equal(t, 5000, other.MemLen())
}
