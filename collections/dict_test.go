package collections_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

func newDict[K comparable, V any](t testing.TB, rdb redis.UniversalClient, name string) *collections.Dict[K, V] {
	t.Helper()
	d, err := collections.NewDict(rdb, name, collections.DictOptions[K, V]{})
	require.NoError(t, err)
	return d
}

func TestDict(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("basics", func(t *testing.T) { testDictBasics(t, be.rdb) })
		t.Run("iteration", func(t *testing.T) { testDictIteration(t, be.rdb) })
		t.Run("errors", func(t *testing.T) { testDictErrors(t, be.rdb) })
		t.Run("default dict", func(t *testing.T) { testDefaultDict(t, be) })
	})
}

func testDictBasics(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDict[string, int](t, rdb, dsName(t))

	_, err := d.Get(ctx, "jack")
	require.ErrorIs(t, err, collections.ErrNotFound)
	require.ErrorIs(t, err, cache.ErrNotFound, "one not found for every package")
	require.NoError(t, d.Set(ctx, "jack", 4098))
	require.Equal(t, 4098, dsMust[int](t)(d.Get(ctx, "jack")))

	require.False(t, dsMust[bool](t)(d.SetNX(ctx, "jack", 1)), "SetNX on an existing key")
	require.True(t, dsMust[bool](t)(d.SetNX(ctx, "sape", 4139)))
	require.NoError(t, d.SetMany(ctx, map[string]int{"guido": 4127, "irv": 4127}))
	require.NoError(t, d.Update(ctx, maps.All(map[string]int{"irv": 4128})))
	require.Equal(t, int64(4), dsMust[int64](t)(d.Len(ctx)))
	require.True(t, dsMust[bool](t)(d.Has(ctx, "irv")))
	require.False(t, dsMust[bool](t)(d.Has(ctx, "nobody")))

	got := dsMust[map[string]int](t)(d.GetMany(ctx, "jack", "nobody", "irv"))
	require.Equal(t, map[string]int{"jack": 4098, "irv": 4128}, got)

	require.Equal(t, 4139, dsMust[int](t)(d.Pop(ctx, "sape")))
	_, err = d.Pop(ctx, "sape")
	require.ErrorIs(t, err, collections.ErrNotFound)

	require.Equal(t, int64(1), dsMust[int64](t)(d.Delete(ctx, "guido", "nobody")))
	require.Equal(t, map[string]int{"jack": 4098, "irv": 4128}, dsMust[map[string]int](t)(d.ToMap(ctx)))

	require.True(t, dsMust[bool](t)(d.Expire(ctx, time.Minute)))
	ttl, err := rdb.PTTL(ctx, d.Key()).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 50*time.Second)

	require.NoError(t, d.Clear(ctx))
	require.Zero(t, dsMust[int64](t)(d.Len(ctx)))
	require.False(t, dsMust[bool](t)(d.Expire(ctx, time.Minute)), "Expire on a missing dict")
}

func testDictIteration(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDict[int, int](t, rdb, dsName(t))
	want := make(map[int]int)
	for i := range 1000 { // large enough to be a real hash table, scanned in many chunks
		want[i] = i * i
	}
	require.NoError(t, d.SetMany(ctx, want))

	items, errf := d.Items(ctx)
	got := make(map[int]int)
	for k, v := range items {
		_, dup := got[k]
		require.False(t, dup, "key %d yielded twice", k)
		got[k] = v
	}
	require.NoError(t, errf())
	require.Equal(t, want, got)

	keys, errf := d.Keys(ctx)
	n := 0
	for range keys {
		n++
	}
	require.NoError(t, errf())
	require.Equal(t, 1000, n)

	values, errf := d.Values(ctx)
	sum := 0
	for v := range values {
		sum += v
		if sum > 1000 {
			break // stopping early is fine and reports no error
		}
	}
	require.NoError(t, errf())
}

func testDictErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()

	// A key holding another type: every call fails with ErrWrongType and the
	// key is left alone.
	d := newDict[string, int](t, rdb, dsName(t))
	dsOccupy(t, rdb, d.Key())
	for name, op := range map[string]func() error{
		"Get":     func() error { _, err := d.Get(ctx, "a"); return err },
		"GetMany": func() error { _, err := d.GetMany(ctx, "a"); return err },
		"Set":     func() error { return d.Set(ctx, "a", 1) },
		"SetNX":   func() error { _, err := d.SetNX(ctx, "a", 1); return err },
		"Pop":     func() error { _, err := d.Pop(ctx, "a"); return err },
		"Len":     func() error { _, err := d.Len(ctx); return err },
		"Clear":   func() error { return d.Clear(ctx) },
		"Expire":  func() error { _, err := d.Expire(ctx, time.Minute); return err },
		"ToMap":   func() error { _, err := d.ToMap(ctx); return err },
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorIs(t, err, cache.ErrWrongType, name)
		require.ErrorContains(t, err, d.Key(), name)
	}
	dsUntouched(t, rdb, d.Key())
	ttl, err := rdb.PTTL(ctx, d.Key()).Result()
	require.NoError(t, err)
	require.Equal(t, time.Duration(-1), ttl, "Expire must not touch a key of another type")

	// Undecodable data names the key.
	d2 := newDict[string, int](t, rdb, dsName(t)+"2")
	require.NoError(t, rdb.HSet(ctx, d2.Key(), `"a"`, "not json").Err())
	_, err = d2.Get(ctx, "a")
	require.ErrorIs(t, err, collections.ErrDecode)
	require.ErrorIs(t, err, codec.ErrDecode)
	require.ErrorContains(t, err, d2.Key())
	require.NoError(t, rdb.HSet(ctx, d2.Key(), "not json", "1").Err())
	_, err = d2.ToMap(ctx)
	require.ErrorIs(t, err, collections.ErrDecode)

	// A cancelled context fails before reaching Redis.
	_, err = d2.Get(dsCanceled(), "a")
	require.ErrorIs(t, err, context.Canceled)
	items, errf := d2.Items(dsCanceled())
	for range items {
		t.Fatal("a cancelled iteration yielded")
	}
	require.ErrorIs(t, errf(), context.Canceled)

	// Bad names.
	for _, name := range []string{"", "a}b"} {
		_, err := collections.NewDict(rdb, name, collections.DictOptions[string, int]{})
		require.ErrorIs(t, err, collections.ErrInvalidArgument)
	}
	_, err = collections.NewDict[string, int](nil, "x", collections.DictOptions[string, int]{})
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	_, err = d2.Expire(ctx, 0)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	require.False(t, errors.Is(err, collections.ErrWrongType))
}

func testDefaultDict(t *testing.T, be dsBackend) {
	ctx := context.Background()
	made := 0
	dd, err := collections.NewDefaultDict(be.rdb, dsName(t), collections.DefaultDictOptions[string, []string]{
		Default: func() []string { made++; return []string{} },
	})
	require.NoError(t, err)
	v, err := dd.Get(ctx, "a")
	require.NoError(t, err)
	require.Equal(t, []string{}, v)
	require.Equal(t, 1, made)
	require.True(t, dsMust[bool](t)(dd.Has(ctx, "a")), "Get stores the default")
	require.NoError(t, dd.Set(ctx, "b", []string{"x"}))
	require.Equal(t, []string{"x"}, dsMust[[]string](t)(dd.Get(ctx, "b")))
	require.Equal(t, 1, made, "a hit does not call the factory")

	// Concurrent Gets of a missing key from two clients agree on one value.
	counter, err := collections.NewDefaultDict(be.rdb, dsName(t)+"c", collections.DefaultDictOptions[string, int64]{
		Default: func() int64 { return time.Now().UnixNano() },
	})
	require.NoError(t, err)
	other, err := collections.NewDefaultDict(be.client(t), dsName(t)+"c", collections.DefaultDictOptions[string, int64]{
		Default: func() int64 { return -time.Now().UnixNano() },
	})
	require.NoError(t, err)
	results := make(chan int64, 16)
	for i := range 16 {
		go func() {
			dd := counter
			if i%2 == 1 {
				dd = other
			}
			v, err := dd.Get(ctx, "k")
			if err != nil {
				results <- 0
				return
			}
			results <- v
		}()
	}
	first := <-results
	require.NotZero(t, first)
	for range 15 {
		require.Equal(t, first, <-results)
	}
}
