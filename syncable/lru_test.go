package syncable_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/syncable"
)

// TestLRUDictTenThousand: with maxSize 100, 10 000 inserts keep at most 100
// items in memory, lose none (every one reads back, from memory or Redis),
// and Len counts them all once; after Sync, collections.Dict reads them all
// from the hash.
func TestLRUDictTenThousand(t *testing.T) {
	ctx := context.Background()
	rdb, rt := counted(t, start(t))
	const n, size = 10_000, 100
	d, err := syncable.NewLRUDict[int, string](rdb, "lru", size, syncable.DictOptions[int, string]{})
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, d.Set(ctx, i, fmt.Sprint("v", i)))
		require.LessOrEqual(t, d.MemLen(), size)
	}
	require.Equal(t, size, d.MemLen())
	l, err := d.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, n, l)

	for i := range n {
		v, ok, err := d.Get(ctx, i)
		require.NoError(t, err)
		require.True(t, ok, "item %d", i)
		require.Equal(t, fmt.Sprint("v", i), v)
		require.LessOrEqual(t, d.MemLen(), size)
	}
	// The last 100 read are in memory now: reading them again is free.
	require.Zero(t, rt.count(func() {
		for i := n - size; i < n; i++ {
			_, ok, err := d.Get(ctx, i)
			require.NoError(t, err)
			require.True(t, ok)
		}
	}))
	l, err = d.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, n, l)

	require.NoError(t, d.Sync(ctx))
	c, err := collections.NewDict[int, string](rdb, "lru", collections.DictOptions[int, string]{})
	require.NoError(t, err)
	all, err := c.ToMap(ctx)
	require.NoError(t, err)
	require.Len(t, all, n)
	require.Equal(t, "v1234", all[1234])
}

func TestLRUDictRoundTrips(t *testing.T) {
	ctx := context.Background()
	rdb, rt := counted(t, start(t))
	d, err := syncable.NewLRUDict[string, int](rdb, "rt", 2, syncable.DictOptions[string, int]{})
	require.NoError(t, err)
	set := func(k string, v int) int64 {
		return rt.count(func() { require.NoError(t, d.Set(ctx, k, v)) })
	}
	require.Zero(t, set("a", 1), "room in memory")
	require.Zero(t, set("b", 2))
	require.Zero(t, set("a", 10), "a key in memory")
	require.Equal(t, int64(1), set("c", 3), "evicts b, which Redis does not have")
	require.Equal(t, int64(1), rt.count(func() {
		v, ok, err := d.Get(ctx, "b") // from Redis; evicts a (written in the same round trip)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, 2, v)
	}))
	require.Equal(t, int64(1), rt.count(func() {
		_, ok, err := d.Get(ctx, "missing")
		require.NoError(t, err)
		require.False(t, ok)
	}))
	// Memory holds c and b; a is in Redis. b is clean: evicting it is free.
	require.Equal(t, int64(1), rt.count(func() {
		v, ok, err := d.Get(ctx, "a") // evicts c (dirty: written) for a
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, 10, v)
	}))
	require.Zero(t, set("d", 4), "evicts b, clean: nothing to write")
	require.Equal(t, int64(1), rt.count(func() { require.NoError(t, d.Sync(ctx)) }), "Sync writes d")
	require.Zero(t, rt.count(func() { require.NoError(t, d.Sync(ctx)) }), "nothing changed: no round trip")

	ok, err := d.Delete(ctx, "b") // in Redis only
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = d.Delete(ctx, "b")
	require.NoError(t, err)
	require.False(t, ok)
	n, err := d.Len(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n, "a, c, d")
}

// TestLRUDictEvictionFailure: when the write of an evicted item fails,
// Set fails and changes nothing: the item is still in memory.
func TestLRUDictEvictionFailure(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	d, err := syncable.NewLRUDict[string, int](rdb, "fail", 1, syncable.DictOptions[string, int]{})
	require.NoError(t, err)
	require.NoError(t, d.Set(ctx, "a", 1))
	srv.Kill()
	require.Error(t, d.Set(ctx, "b", 2))
	require.Equal(t, 1, d.MemLen())
	srv.Restart()
	v, ok, err := d.Get(ctx, "a")
	require.NoError(t, err)
	require.True(t, ok, "a was not dropped")
	require.Equal(t, 1, v)
	_, ok, err = d.Get(ctx, "b")
	require.NoError(t, err)
	require.False(t, ok, "b was not set")
}

// TestLRUDictBumpsTheVersion: a syncable Dict that loaded the hash before
// an LRUDict wrote to it gets ErrConflict instead of undoing the write.
func TestLRUDictBumpsTheVersion(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	sd, err := syncable.NewDict[string, int](rdb, "v", syncable.DictOptions[string, int]{})
	require.NoError(t, err)
	sd.Set("x", 1)
	require.NoError(t, sd.Sync(ctx))

	lru, err := syncable.NewLRUDict[string, int](rdb, "v", 10, syncable.DictOptions[string, int]{})
	require.NoError(t, err)
	require.NoError(t, lru.Set(ctx, "x", 2))
	require.NoError(t, lru.Sync(ctx))
	sd.Set("y", 3)
	require.ErrorIs(t, sd.Sync(ctx), syncable.ErrConflict)

	// Load forgets the clean items, so that the next Get reads Redis.
	require.NoError(t, sd.Load(ctx))
	sd.Set("x", 4)
	require.NoError(t, sd.Sync(ctx))
	v, _, err := lru.Get(ctx, "x")
	require.NoError(t, err)
	require.Equal(t, 2, v, "the LRUDict serves its in-memory copy")
	require.NoError(t, syncable.With(ctx, lru, func() error { return nil }))
	v, _, err = lru.Get(ctx, "x")
	require.NoError(t, err)
	require.Equal(t, 4, v, "after Load, the value in Redis")
}
