package orderedcache_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/orderedcache"
)

// localCache returns a namespace on a local-only Store (no Redis): enough
// for the behaviour that does not depend on Redis.
func localCache[V any](t *testing.T) *cache.Cache[V] {
	return newCache[V](t, newStore(t, nil), uniqueNS(), cache.Options[V]{})
}

type docID int64
type slug string
type small uint8

func TestDefaultKeys(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, c *cache.Cache[string], key string) {
		t.Helper()
		v, err := c.Get(ctx, key)
		require.NoError(t, err, "entry under key %q", key)
		require.Equal(t, "v", v)
	}
	t.Run("int", func(t *testing.T) {
		c := localCache[string](t)
		d, err := orderedcache.New(ctx, c, []int{-7}, orderedcache.Options[int]{})
		require.NoError(t, err)
		require.NoError(t, d.Set(ctx, -7, "v"))
		check(t, c, "-7")
	})
	t.Run("named int64", func(t *testing.T) {
		c := localCache[string](t)
		d, err := orderedcache.New(ctx, c, []docID{42}, orderedcache.Options[docID]{})
		require.NoError(t, err)
		require.NoError(t, d.Set(ctx, 42, "v"))
		check(t, c, "42")
	})
	t.Run("uint64", func(t *testing.T) {
		c := localCache[string](t)
		d, err := orderedcache.New(ctx, c, []uint64{1 << 63}, orderedcache.Options[uint64]{})
		require.NoError(t, err)
		require.NoError(t, d.Set(ctx, 1<<63, "v"))
		check(t, c, "9223372036854775808")
	})
	t.Run("named uint8", func(t *testing.T) {
		c := localCache[string](t)
		d, err := orderedcache.New(ctx, c, []small{255}, orderedcache.Options[small]{})
		require.NoError(t, err)
		require.NoError(t, d.Set(ctx, 255, "v"))
		check(t, c, "255")
	})
	t.Run("named string", func(t *testing.T) {
		c := localCache[string](t)
		d, err := orderedcache.New(ctx, c, []slug{"a-b"}, orderedcache.Options[slug]{})
		require.NoError(t, err)
		require.NoError(t, d.Set(ctx, "a-b", "v"))
		check(t, c, "a-b")
	})
	t.Run("Key overrides the default", func(t *testing.T) {
		c := localCache[string](t)
		d, err := orderedcache.New(ctx, c, []int{1}, orderedcache.Options[int]{
			Key: func(id int) string { return fmt.Sprintf("doc:%04d", id) },
		})
		require.NoError(t, err)
		require.NoError(t, d.Set(ctx, 1, "v"))
		check(t, c, "doc:0001")
	})
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	c := localCache[doc](t)
	type pair struct{ a, b int }
	src := &source{}

	_, err := orderedcache.New(ctx, c, []pair{{1, 2}}, orderedcache.Options[pair]{})
	require.ErrorIs(t, err, orderedcache.ErrNoKey)
	require.Contains(t, err.Error(), "pair")
	_, err = orderedcache.New(ctx, localCache[float64](t), []float64{1.5}, orderedcache.Options[float64]{})
	require.ErrorIs(t, err, orderedcache.ErrNoKey)
	_, _, err = orderedcache.Hydrate(ctx, c, []pair{{1, 2}}, func(context.Context, []pair) (map[pair]doc, error) { return nil, nil })
	require.ErrorIs(t, err, orderedcache.ErrNoKey)

	_, err = orderedcache.New[int, doc](ctx, nil, []int{1}, orderedcache.Options[int]{})
	require.ErrorIs(t, err, orderedcache.ErrNilCache)
	_, _, err = orderedcache.Hydrate[int, doc](ctx, nil, []int{1}, src.load)
	require.ErrorIs(t, err, orderedcache.ErrNilCache)

	d, err := orderedcache.New(ctx, c, []int{1}, orderedcache.Options[int]{})
	require.NoError(t, err)
	require.ErrorIs(t, d.Fill(ctx, nil), orderedcache.ErrNilLoader)
	_, _, err = orderedcache.Hydrate[int, doc](ctx, c, []int{1}, nil)
	require.ErrorIs(t, err, orderedcache.ErrNilLoader)

	_, err = orderedcache.New(ctx, c, []string{"a", ""}, orderedcache.Options[string]{})
	require.ErrorIs(t, err, cache.ErrEmptyKey)
	require.Contains(t, err.Error(), "position 1")
	_, _, err = orderedcache.Hydrate(ctx, c, []string{""}, func(context.Context, []string) (map[string]doc, error) { return nil, nil })
	require.ErrorIs(t, err, cache.ErrEmptyKey)
	empty := orderedcache.Options[int]{Key: func(id int) string {
		if id == 2 {
			return ""
		}
		return fmt.Sprint(id)
	}}
	d, err = orderedcache.New(ctx, c, []int{1}, empty)
	require.NoError(t, err)
	require.ErrorIs(t, d.Set(ctx, 2, docFor(2)), cache.ErrEmptyKey)
	require.Equal(t, 1, len(d.Misses()), "a refused Set changes nothing")
	require.Zero(t, d.Len())
}

func TestKeyCollision(t *testing.T) {
	ctx := context.Background()
	c := localCache[doc](t)
	lower := orderedcache.Options[string]{Key: strings.ToLower}
	d, err := orderedcache.New(ctx, c, []string{"a", "B", "b"}, lower)
	require.NoError(t, err)
	called := false
	err = d.Fill(ctx, func(context.Context, []string) (map[string]doc, error) {
		called = true
		return nil, nil
	})
	require.ErrorIs(t, err, orderedcache.ErrKeyCollision)
	require.Contains(t, err.Error(), `"b"`)
	require.False(t, called, "the loader is not called")
	require.Equal(t, []string{"a", "B", "b"}, d.Misses())
}

func TestLoaderError(t *testing.T) {
	ctx := context.Background()
	c := localCache[doc](t)
	d, err := orderedcache.New(ctx, c, []int{1, 2}, orderedcache.Options[int]{})
	require.NoError(t, err)
	boom := errors.New("database down")
	err = d.Fill(ctx, func(_ context.Context, missing []int) (map[int]doc, error) {
		return map[int]doc{1: docFor(1)}, boom // values with an error are not used
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, []int{1, 2}, d.Misses(), "the Dict is unchanged")
	require.Zero(t, d.Len())
	_, err = c.Get(ctx, "1")
	require.ErrorIs(t, err, cache.ErrNotFound, "nothing is cached")

	_, _, err = orderedcache.Hydrate(ctx, c, []int{1, 2}, func(context.Context, []int) (map[int]doc, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
}

// The loader may return ids it was not asked for (ignored) and may reorder
// or overwrite the slice it gets.
func TestLoaderLiberties(t *testing.T) {
	ctx := context.Background()
	c := localCache[doc](t)
	require.NoError(t, c.Set(ctx, "2", docFor(2)))
	ids := []int{5, 2, 3, 1}
	load := func(_ context.Context, missing []int) (map[int]doc, error) {
		out := map[int]doc{99: docFor(99)}
		for _, id := range missing {
			out[id] = docFor(id)
		}
		slices.Sort(missing)
		missing[0] = 1000
		return out, nil
	}
	d, err := orderedcache.New(ctx, c, ids, orderedcache.Options[int]{})
	require.NoError(t, err)
	require.NoError(t, d.Fill(ctx, load))
	require.Equal(t, ids, d.Keys())
	require.Equal(t, docs(ids), d.Values())
	_, ok := d.Get(99)
	require.False(t, ok)
	_, err = c.Get(ctx, "99")
	require.ErrorIs(t, err, cache.ErrNotFound, "an id not asked for is not cached")

	c2 := localCache[doc](t)
	require.NoError(t, c2.Set(ctx, "2", docFor(2)))
	values, unsupplied, err := orderedcache.Hydrate(ctx, c2, ids, load)
	require.NoError(t, err)
	require.Equal(t, docs(ids), values)
	require.Empty(t, unsupplied)
}
