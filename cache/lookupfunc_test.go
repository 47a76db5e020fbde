package cache

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// report is one call of LookupFunc's each.
type report struct {
	v            int
	ok, negative bool
}

// lookupFunc calls c.LookupFunc and collects its reports by position,
// failing the test if a position is reported twice.
func lookupFunc(t *testing.T, c *Cache[int], ks []string) (map[int]report, error) {
	t.Helper()
	got := make(map[int]report)
	err := c.LookupFunc(context.Background(), ks, func(i int, v int, ok, negative bool) {
		_, dup := got[i]
		require.False(t, dup, "position %d reported twice", i)
		got[i] = report{v, ok, negative}
	})
	return got, err
}

// TestLookupFunc: LookupFunc reports what LookupMany does, by position:
// each key once at its first position, local tier first, the same stats.
func TestLookupFunc(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	opts := Options[int]{NegativeTTL: time.Minute}
	writer := newCache(t, newStore(t, rdb, StoreOptions{}), opts)
	require.NoError(t, writer.SetMany(ctx, map[string]int{"a": 1, "b": 2}))
	require.NoError(t, writer.SetNotFound(ctx, "gone"))

	// A fresh Store: "a" in its local tier, the rest in Redis only.
	c, err := New(newStore(t, rdb, StoreOptions{}), writer.Namespace(), opts)
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "a", 1))
	ks := []string{"b", "none", "a", "gone", "b", "none", "a"}
	var got map[int]report
	require.Equal(t, int64(2), rt.during(func() {
		got, err = lookupFunc(t, c, ks)
		require.NoError(t, err)
	}), "one Redis read for the keys not in the local tier, one for the missing key's ticket")
	want := map[int]report{
		0: {v: 2, ok: true},
		1: {},
		2: {v: 1, ok: true},
		3: {negative: true},
	}
	require.Equal(t, want, got, "each key once, at its first position")
	st := c.Stats()
	require.Equal(t, uint64(1), st.LocalHits)
	require.Equal(t, uint64(1), st.RemoteHits)
	require.Equal(t, uint64(1), st.NegativeHits)
	require.Equal(t, uint64(1), st.Misses)

	// The same answers as LookupMany.
	l, err := c.LookupMany(ctx, ks)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"b": 2, "a": 1}, l.Found)
	require.Equal(t, []string{"gone"}, l.NotFound)
	require.Equal(t, []string{"none"}, l.Missing)

	// What Redis returned is local now: only the key with nothing cached is
	// read again.
	require.Equal(t, int64(1), rt.during(func() {
		got, err = lookupFunc(t, c, ks)
		require.NoError(t, err)
	}))
	require.Equal(t, want, got)
	require.Zero(t, rt.during(func() {
		got, err = lookupFunc(t, c, []string{"gone", "a", "b"})
		require.NoError(t, err)
	}), "all local: no round trip")
	require.Equal(t, map[int]report{0: {negative: true}, 1: {v: 1, ok: true}, 2: {v: 2, ok: true}}, got)

	// An empty key fails the call before anything is reported.
	got, err = lookupFunc(t, c, []string{"a", ""})
	require.ErrorIs(t, err, ErrEmptyKey)
	require.Empty(t, got)
}

// TestLookupFuncRedisDown: on a Redis failure LookupFunc reports the local
// hits, every other key as missing, and an error wrapping ErrUnavailable.
func TestLookupFuncRedisDown(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[int]{Timeout: 200 * time.Millisecond})
	require.NoError(t, c.Set(ctx, "local", 7))
	srv.Kill()

	got, err := lookupFunc(t, c, []string{"x", "local", "y", "x"})
	require.ErrorIs(t, err, ErrUnavailable)
	require.Equal(t, map[int]report{0: {}, 1: {v: 7, ok: true}, 2: {}}, got)
	require.Equal(t, uint64(1), c.Stats().RedisErrors)
	require.Equal(t, uint64(2), c.Stats().Misses)
}
