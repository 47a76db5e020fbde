package collections_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

func newCounter(t testing.TB, rdb redis.UniversalClient, name string) *collections.Counter[string] {
	t.Helper()
	c, err := collections.NewCounter(rdb, name, collections.CounterOptions[string]{Codec: codec.String()})
	require.NoError(t, err)
	return c
}

func TestCounter(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("basics", func(t *testing.T) { testCounterBasics(t, be.rdb) })
		t.Run("no lost updates", func(t *testing.T) { testCounterConcurrent(t, be) })
		t.Run("update is all or none", func(t *testing.T) { testCounterUpdateAtomic(t, be.rdb) })
		t.Run("errors", func(t *testing.T) { testCounterErrors(t, be.rdb) })
	})
}

func testCounterBasics(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	c := newCounter(t, rdb, dsName(t))
	require.Zero(t, dsMust[int64](t)(c.Get(ctx, "bacon")), "a missing key counts 0")

	for _, r := range "abracadabra" {
		require.NoError(t, c.Add(ctx, string(r)))
	}
	require.Equal(t, []collections.Count[string]{{"a", 5}, {"b", 2}, {"r", 2}},
		dsMust[[]collections.Count[string]](t)(c.MostCommon(ctx, 3)))
	require.Equal(t, int64(11), dsMust[int64](t)(c.Total(ctx)))
	require.Equal(t, int64(5), dsMust[int64](t)(c.Len(ctx)))

	require.NoError(t, c.Clear(ctx))
	require.NoError(t, c.Update(ctx, map[string]int64{"a": 4, "b": 2, "c": 0, "d": -2}))
	elems, errf := c.Elements(ctx)
	got := slices.Sorted(elems)
	require.NoError(t, errf())
	require.Equal(t, []string{"a", "a", "a", "a", "b", "b"}, got)

	require.NoError(t, c.Subtract(ctx, map[string]int64{"a": 1, "b": 2, "c": 3, "d": 4}))
	require.Equal(t, map[string]int64{"a": 3, "b": 0, "c": -3, "d": -6}, dsMust[map[string]int64](t)(c.ToMap(ctx)))

	require.Equal(t, int64(13), dsMust[int64](t)(c.IncrBy(ctx, "a", 10)))
	require.Equal(t, int64(14), dsMust[int64](t)(c.Incr(ctx, "a")))
	require.Equal(t, int64(1), dsMust[int64](t)(c.Delete(ctx, "a", "zzz")))
	require.Zero(t, dsMust[int64](t)(c.Get(ctx, "a")))
	all := dsMust[[]collections.Count[string]](t)(c.MostCommon(ctx, 0))
	require.Equal(t, []collections.Count[string]{{"b", 0}, {"c", -3}, {"d", -6}}, all)
	require.True(t, dsMust[bool](t)(c.Expire(ctx, time.Minute)))
}

// 8 goroutines on 2 clients increment one key 1000 times each: the count is
// exactly 8000 (pottery's RedisCounter lost two thirds of such updates).
func testCounterConcurrent(t *testing.T, be dsBackend) {
	ctx := context.Background()
	name := dsName(t)
	counters := []*collections.Counter[string]{newCounter(t, be.client(t), name), newCounter(t, be.client(t), name)}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			c := counters[g%2]
			for range 1000 {
				if _, err := c.Incr(ctx, "hits"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(8000), dsMust[int64](t)(counters[0].Get(ctx, "hits")))
}

// An Update that fails halfway (a field holds a non-integer, or would
// overflow) changes nothing.
func testCounterUpdateAtomic(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	c := newCounter(t, rdb, dsName(t))
	require.NoError(t, c.Update(ctx, map[string]int64{"a": 1, "big": 1 << 62}))
	require.NoError(t, rdb.HSet(ctx, c.Key(), "text", "not a number").Err())

	err := c.Add(ctx, "a", "new", "text")
	require.ErrorIs(t, err, collections.ErrWrongType)
	require.ErrorContains(t, err, c.Key())
	err = c.Update(ctx, map[string]int64{"a": 1, "new": 5, "big": 1 << 62})
	require.Error(t, err, "overflow")

	raw, err := rdb.HGetAll(ctx, c.Key()).Result()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "1", "big": "4611686018427387904", "text": "not a number"}, raw)

	_, err = c.ToMap(ctx)
	require.ErrorIs(t, err, collections.ErrWrongType)
	_, err = c.Get(ctx, "text")
	require.ErrorIs(t, err, collections.ErrWrongType)
	_, err = c.Incr(ctx, "text")
	require.ErrorIs(t, err, collections.ErrWrongType)
}

func testCounterErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	c := newCounter(t, rdb, dsName(t))
	dsOccupy(t, rdb, c.Key())
	for name, op := range map[string]func() error{
		"Incr":       func() error { _, err := c.Incr(ctx, "a"); return err },
		"Get":        func() error { _, err := c.Get(ctx, "a"); return err },
		"Update":     func() error { return c.Update(ctx, map[string]int64{"a": 1}) },
		"MostCommon": func() error { _, err := c.MostCommon(ctx, 1); return err },
		"Clear":      func() error { return c.Clear(ctx) },
	} {
		require.ErrorIs(t, op(), collections.ErrWrongType, name)
	}
	dsUntouched(t, rdb, c.Key())

	// Undecodable keys (the default JSON codec) name the hash.
	j, err := collections.NewCounter(rdb, dsName(t)+"j", collections.CounterOptions[string]{})
	require.NoError(t, err)
	require.NoError(t, rdb.HSet(ctx, j.Key(), "not json", 1).Err())
	_, err = j.MostCommon(ctx, 0)
	require.ErrorIs(t, err, collections.ErrDecode)
	require.ErrorContains(t, err, j.Key())

	_, err = c.Incr(dsCanceled(), "a")
	require.ErrorIs(t, err, context.Canceled)
	_, err = collections.NewCounter(rdb, "", collections.CounterOptions[string]{})
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
}
