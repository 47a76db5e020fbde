package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
)

type user struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// TestSuite runs the cache's behaviour on a single server, on a 3-master
// cluster and on a Ring of three servers.
func TestSuite(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Run("GetSetDelete", func(t *testing.T) { testGetSetDelete(t, b) })
			t.Run("SubSecondTTL", func(t *testing.T) { testSubSecondTTL(t, b) })
			t.Run("Batch", func(t *testing.T) { testBatch(t, b) })
			t.Run("GetOrLoadOnce", func(t *testing.T) { testGetOrLoadOnce(t, b) })
			t.Run("GetOrLoadPanic", func(t *testing.T) { testGetOrLoadPanic(t, b) })
			t.Run("GetOrLoadCancelledWaiter", func(t *testing.T) { testCancelledWaiter(t, b) })
			t.Run("LoaderErrors", func(t *testing.T) { testLoaderErrors(t, b) })
			t.Run("NegativeEntries", func(t *testing.T) { testNegative(t, b) })
			t.Run("StaleWhileRevalidate", func(t *testing.T) { testSWR(t, b) })
			t.Run("StaleIfError", func(t *testing.T) { testSIE(t, b) })
			t.Run("GetManyOrLoad", func(t *testing.T) { testGetManyOrLoad(t, b) })
			t.Run("BadInput", func(t *testing.T) { testBadInput(t, b) })
			t.Run("Clear", func(t *testing.T) { testClear(t, b) })
			t.Run("SharedAcrossStores", func(t *testing.T) { testShared(t, b) })
		})
	}
}

func testGetSetDelete(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[user]{})

	_, err := c.Get(ctx, "u1")
	require.ErrorIs(t, err, ErrNotFound)

	want := user{1, "Ada"}
	require.NoError(t, c.Set(ctx, "u1", want))
	got, err := c.Get(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, want, got)
	st := c.Stats()
	require.Equal(t, uint64(1), st.LocalHits, "a Get after Set is a local hit")
	require.Equal(t, uint64(1), st.Misses)

	// The entry is in Redis under the documented key, with a TTL.
	ttl, err := rdb.PTTL(ctx, c.RedisKey("u1")).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 59*time.Minute)

	// A second Store (another process) reads it from Redis.
	c2, err := New(newStore(t, rdb, StoreOptions{}), c.Namespace(), Options[user]{})
	require.NoError(t, err)
	got, err = c2.Get(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, uint64(1), c2.Stats().RemoteHits)
	got, err = c2.Get(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.Equal(t, uint64(1), c2.Stats().LocalHits, "the remote hit was kept locally")

	require.NoError(t, c.Delete(ctx, "u1"))
	_, err = c.Get(ctx, "u1")
	require.ErrorIs(t, err, ErrNotFound)
	n, err := rdb.Exists(ctx, c.RedisKey("u1")).Result()
	require.NoError(t, err)
	require.Zero(t, n)
}

func testSubSecondTTL(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	// A local TTL far longer than the Redis TTL: the local copy must still
	// expire with the Redis entry.
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{TTL: 150 * time.Millisecond, LocalTTL: time.Hour})
	require.NoError(t, c.Set(ctx, "k", "v"))
	ttl, err := rdb.PTTL(ctx, c.RedisKey("k")).Result()
	require.NoError(t, err)
	require.LessOrEqual(t, ttl, 150*time.Millisecond)
	require.Positive(t, ttl)
	eventually(t, func() bool {
		_, err := c.Get(ctx, "k")
		return errors.Is(err, ErrNotFound)
	}, "the value outlived its 150ms TTL")
	eventually(t, func() bool { return rdb.Exists(ctx, c.RedisKey("k")).Val() == 0 }, "Redis kept the entry")
	require.Zero(t, c.Stats().StaleServed)
}

func testBatch(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, rt := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[int]{})
	items := make(map[string]int)
	var ks []string
	for i := range 100 {
		k := fmt.Sprint("key-", i)
		items[k] = i
		ks = append(ks, k)
	}
	require.NoError(t, c.SetMany(ctx, items)) // loads the script on every node and the cluster's slot map
	nodes := int64(1)
	if b.name != "single" {
		nodes = 3
	}
	require.Equal(t, nodes, rt.during(func() { require.NoError(t, c.SetMany(ctx, items)) }), "SetMany round trips")

	// A second Store on the same client has nothing locally: one read per node.
	c2, err := New(newStore(t, rdb, StoreOptions{}), c.Namespace(), Options[int]{})
	require.NoError(t, err)
	var got map[string]int
	require.Equal(t, nodes, rt.during(func() {
		got, err = c2.GetMany(ctx, append(ks, "absent", "key-0"))
		require.NoError(t, err)
	}), "GetMany round trips")
	require.Equal(t, items, got)
	require.Equal(t, uint64(100), c2.Stats().RemoteHits)
	require.Equal(t, uint64(1), c2.Stats().Misses)

	// Now every key is local: no round trip at all.
	require.Zero(t, rt.during(func() {
		got, err = c2.GetMany(ctx, ks)
		require.NoError(t, err)
	}))
	require.Equal(t, items, got)

	require.Equal(t, nodes, rt.during(func() { require.NoError(t, c2.Delete(ctx, ks...)) }), "Delete round trips")
	got, err = c2.GetMany(ctx, ks)
	require.NoError(t, err)
	require.Empty(t, got)
}

func testGetOrLoadOnce(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{})
	const n = 1000
	var loads atomic.Int64
	release := make(chan struct{})
	load := func(context.Context) (string, error) {
		loads.Add(1)
		<-release
		return "value", nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			v, err := c.GetOrLoad(ctx, "cold", load)
			if err == nil && v != "value" {
				err = fmt.Errorf("got %q, want %q", v, "value")
			}
			errs <- err
		})
	}
	eventually(t, func() bool { return c.waiting.Load() == n }, "every caller waits on the load")
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), loads.Load(), "loads")
	st := c.Stats()
	require.Equal(t, uint64(1), st.Loads)
	require.Equal(t, uint64(n-1), st.SharedLoads)
}

func testGetOrLoadPanic(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{})
	const n = 50
	release := make(chan struct{})
	var loads atomic.Int64
	boom := func(context.Context) (string, error) {
		loads.Add(1)
		<-release
		panic("boom")
	}
	var wg sync.WaitGroup
	panics := make(chan any, n)
	for range n {
		wg.Go(func() {
			defer func() { panics <- recover() }()
			_, _ = c.GetOrLoad(ctx, "k", boom)
		})
	}
	eventually(t, func() bool { return c.waiting.Load() == n }, "every caller waits on the load")
	close(release)
	wg.Wait()
	close(panics)
	for p := range panics {
		require.NotNil(t, p, "a waiter returned instead of panicking")
		require.Contains(t, fmt.Sprint(p), "boom")
	}
	require.Equal(t, int64(1), loads.Load())

	// The key is not poisoned.
	v, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "ok", nil })
	require.NoError(t, err)
	require.Equal(t, "ok", v)
}

func testCancelledWaiter(t *testing.T, b backend) {
	rdb, _ := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{})
	release := make(chan struct{})
	var loaderCtxErr atomic.Value
	load := func(ctx context.Context) (string, error) {
		<-release
		loaderCtxErr.Store(fmt.Sprint(ctx.Err()))
		return "value", nil
	}
	// The first caller starts the load and then gives up.
	first, cancelFirst := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() { _, err := c.GetOrLoad(first, "k", load); firstDone <- err }()
	eventually(t, func() bool { return c.waiting.Load() == 1 }, "the first caller is loading")
	other := make(chan string, 1)
	go func() { v, _ := c.GetOrLoad(context.Background(), "k", load); other <- v }()
	eventually(t, func() bool { return c.waiting.Load() == 2 }, "the second caller waits")

	cancelFirst()
	// It returns while the load is still held: it did not wait for it.
	require.ErrorIs(t, <-firstDone, context.Canceled)
	close(release)
	require.Equal(t, "value", <-other, "the other caller gets the result")
	require.Equal(t, "<nil>", loaderCtxErr.Load(), "the load's context was not cancelled")
}

func testLoaderErrors(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{})
	errDown := errors.New("backend down")
	_, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "", errDown })
	require.ErrorIs(t, err, errDown)
	v, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "fine", nil })
	require.NoError(t, err, "the error was not cached")
	require.Equal(t, "fine", v)
	st := c.Stats()
	require.Equal(t, uint64(2), st.Loads)
	require.Equal(t, uint64(1), st.LoadErrors)
}

func testNegative(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{NegativeTTL: 200 * time.Millisecond})
	var loads atomic.Int64
	notFound := func(context.Context) (string, error) {
		loads.Add(1)
		return "", fmt.Errorf("row 7: %w", ErrNotFound)
	}
	for range 3 {
		_, err := c.GetOrLoad(ctx, "missing", notFound)
		require.ErrorIs(t, err, ErrNotFound)
	}
	require.Equal(t, int64(1), loads.Load(), "the negative entry answered the later calls")
	_, err := c.Get(ctx, "missing")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, uint64(3), c.Stats().NegativeHits)

	// Another Store sees the negative entry in Redis.
	c2, err := New(newStore(t, rdb, StoreOptions{}), c.Namespace(), Options[string]{NegativeTTL: time.Second})
	require.NoError(t, err)
	_, err = c2.GetOrLoad(ctx, "missing", notFound)
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, int64(1), loads.Load())

	// It expires with its own TTL.
	eventually(t, func() bool {
		_, err := c.GetOrLoad(ctx, "missing", notFound)
		return errors.Is(err, ErrNotFound) && loads.Load() == 2
	}, "the negative entry did not expire")

	// Without NegativeTTL nothing is cached.
	c3 := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{})
	for range 2 {
		_, err := c3.GetOrLoad(ctx, "missing", notFound)
		require.ErrorIs(t, err, ErrNotFound)
	}
	require.Equal(t, int64(4), loads.Load())
}

func testSWR(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[int]{TTL: 100 * time.Millisecond, StaleWhileRevalidate: time.Minute})
	var loads atomic.Int64
	release := make(chan struct{})
	load := func(context.Context) (int, error) {
		n := loads.Add(1)
		if n > 1 {
			<-release // hold the background refresh
		}
		return int(n), nil
	}
	v, err := c.GetOrLoad(ctx, "k", load)
	require.NoError(t, err)
	require.Equal(t, 1, v)
	eventually(t, func() bool {
		f, ok := c.localGet("k")
		return ok && f.state == stale
	}, "the value never went stale")
	// Stale: every call gets the old value at once; one refresh runs.
	for range 10 {
		v, err := c.GetOrLoad(ctx, "k", load)
		require.NoError(t, err)
		require.Equal(t, 1, v)
	}
	eventually(t, func() bool { return loads.Load() == 2 }, "the refresh did not start")
	close(release)
	eventually(t, func() bool {
		v, err := c.GetOrLoad(ctx, "k", load)
		return err == nil && v == 2
	}, "the refreshed value never arrived")
	require.Equal(t, int64(2), loads.Load(), "exactly one background refresh")
	require.GreaterOrEqual(t, c.Stats().StaleServed, uint64(10))
}

func testSIE(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{TTL: 50 * time.Millisecond, StaleIfError: time.Minute})
	_, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "old", nil })
	require.NoError(t, err)
	errDown := errors.New("down")
	eventually(t, func() bool {
		_, err := c.Get(ctx, "k")
		return errors.Is(err, ErrNotFound)
	}, "the value never went stale")
	v, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "", errDown })
	require.NoError(t, err)
	require.Equal(t, "old", v)
	require.Equal(t, uint64(1), c.Stats().StaleServed)
	require.Equal(t, uint64(1), c.Stats().LoadErrors)

	// A working loader replaces the stale value.
	v, err = c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "new", nil })
	require.NoError(t, err)
	require.Equal(t, "new", v)
}

func testGetManyOrLoad(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, rt := b.client(t)
	c := newCache(t, newStore(t, rdb, StoreOptions{}), Options[string]{NegativeTTL: time.Minute})
	require.NoError(t, c.Set(ctx, "a", "A"))
	var asked [][]string
	load := func(_ context.Context, missing []string) (map[string]string, error) {
		asked = append(asked, missing)
		out := map[string]string{"extra": "ignored"}
		for _, k := range missing {
			if k != "nope" {
				out[k] = strings.ToUpper(k)
			}
		}
		return out, nil
	}
	got, err := c.GetManyOrLoad(ctx, []string{"a", "b", "c", "nope", "b"}, load)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "A", "b": "B", "c": "C"}, got)
	require.Equal(t, [][]string{{"b", "c", "nope"}}, asked, "one load with every miss, once each")

	// A fresh Store: everything (the negative entry too) comes from Redis in one read per node.
	c2, err := New(newStore(t, rdb, StoreOptions{}), c.Namespace(), Options[string]{NegativeTTL: time.Minute})
	require.NoError(t, err)
	nodes := int64(1)
	if b.name != "single" {
		nodes = 3
	}
	require.LessOrEqual(t, rt.during(func() {
		got, err = c2.GetManyOrLoad(ctx, []string{"a", "b", "c", "nope"}, load)
	}), nodes)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"a": "A", "b": "B", "c": "C"}, got)
	require.Len(t, asked, 1, "no load: the miss was cached as a negative entry")
	n, err := rdb.Exists(ctx, c.RedisKey("extra")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "keys the loader returned unasked are not stored")
}

func testBadInput(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	s := newStore(t, rdb, StoreOptions{})

	for _, ns := range []string{"", "a:b", "sp ace", "star*"} {
		_, err := New(s, ns, Options[string]{})
		require.ErrorIs(t, err, ErrInvalidNamespace, "namespace %q", ns)
	}
	for _, o := range []Options[string]{{TTL: -time.Second}, {TTL: NoExpiry, StaleIfError: time.Second}, {TTL: time.Microsecond}, {Jitter: 1}, {MaxValueSize: -1}} {
		_, err := New(s, "ok", o)
		require.ErrorIs(t, err, ErrInvalidOptions, "%+v", o)
	}
	_, err := NewStore(rdb, StoreOptions{MaxBytes: -1})
	require.ErrorIs(t, err, ErrInvalidOptions)
	_, err = New[string](nil, "ok", Options[string]{})
	require.ErrorIs(t, err, ErrInvalidOptions)

	c := newCache(t, s, Options[string]{MaxValueSize: 64})
	_, err = c.Get(ctx, "")
	require.ErrorIs(t, err, ErrEmptyKey)
	require.ErrorIs(t, c.Set(ctx, "", "v"), ErrEmptyKey)
	_, err = c.GetOrLoad(ctx, "", func(context.Context) (string, error) { return "", nil })
	require.ErrorIs(t, err, ErrEmptyKey)
	_, err = c.GetOrLoad(ctx, "k", nil)
	require.ErrorIs(t, err, ErrNilLoader)
	_, err = c.GetManyOrLoad(ctx, []string{"k"}, nil)
	require.ErrorIs(t, err, ErrNilLoader)

	// Too large: an error, and nothing written (not even the small value in the same batch).
	big := strings.Repeat("x", 100)
	require.ErrorIs(t, c.Set(ctx, "big", big), ErrTooLarge)
	require.ErrorIs(t, c.SetMany(ctx, map[string]string{"small": "s", "big": big}), ErrTooLarge)
	for _, k := range []string{"big", "small"} {
		n, err := rdb.Exists(ctx, c.RedisKey(k)).Result()
		require.NoError(t, err)
		require.Zero(t, n, k)
	}
	v, err := c.GetOrLoad(ctx, "big", func(context.Context) (string, error) { return big, nil })
	require.ErrorIs(t, err, ErrTooLarge)
	require.Equal(t, big, v, "the loaded value comes back with ErrTooLarge")

	// Undecodable bytes: a miss counted as a decode error, overwritten by the next load.
	require.NoError(t, rdb.Set(ctx, c.RedisKey("junk"), "\x07garbage", 0).Err())
	_, err = c.Get(ctx, "junk")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, uint64(1), c.Stats().DecodeErrors)
	v, err = c.GetOrLoad(ctx, "junk", func(context.Context) (string, error) { return "repaired", nil })
	require.NoError(t, err)
	require.Equal(t, "repaired", v)
	raw, err := rdb.Get(ctx, c.RedisKey("junk")).Bytes()
	require.NoError(t, err)
	_, got, err := codec.DecodeValue(raw, codec.JSON[string](), 0)
	require.NoError(t, err)
	require.Equal(t, "repaired", got)

	// Another Redis type: a clear error, and the key is never overwritten.
	hk := c.RedisKey("hash")
	require.NoError(t, rdb.HSet(ctx, hk, "field", "value").Err())
	_, err = c.Get(ctx, "hash")
	require.ErrorIs(t, err, ErrWrongType)
	require.ErrorContains(t, err, hk)
	require.ErrorIs(t, c.Set(ctx, "hash", "v"), ErrWrongType)
	require.ErrorIs(t, c.SetMany(ctx, map[string]string{"hash": "v", "other": "o"}), ErrWrongType)
	called := false
	_, err = c.GetOrLoad(ctx, "hash", func(context.Context) (string, error) { called = true; return "v", nil })
	require.ErrorIs(t, err, ErrWrongType)
	require.False(t, called, "the loader runs only when its result can be stored")
	typ, err := rdb.Type(ctx, hk).Result()
	require.NoError(t, err)
	require.Equal(t, "hash", typ)
	f, err := rdb.HGet(ctx, hk, "field").Result()
	require.NoError(t, err)
	require.Equal(t, "value", f)
	if b.name == "single" {
		_, err = c.Get(ctx, "other")
		require.ErrorIs(t, err, ErrNotFound, "nothing of a refused batch is written")
	} // On Cluster a batch is atomic per hash slot, and "other" has a slot of its own; on a Ring, per shard.

	// Cancelled context: the context's error, nothing written.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, c.Set(cctx, "cancelled", "v"), context.Canceled)
	_, err = c.Get(cctx, "cancelled")
	require.ErrorIs(t, err, context.Canceled)
	n, err := rdb.Exists(ctx, c.RedisKey("cancelled")).Result()
	require.NoError(t, err)
	require.Zero(t, n)
}

func testClear(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	s := newStore(t, rdb, StoreOptions{})
	a := newCache(t, s, Options[int]{})
	other := newCache(t, s, Options[int]{})
	items := map[string]int{}
	for i := range 1200 {
		items[fmt.Sprint("k*", i)] = i // a glob character in the key
	}
	require.NoError(t, a.SetMany(ctx, items))
	require.NoError(t, other.Set(ctx, "keep", 1))
	require.NoError(t, a.Clear(ctx))
	got, err := a.GetMany(ctx, []string{"k*1", "k*2"})
	require.NoError(t, err)
	require.Empty(t, got)
	var left atomic.Int64
	count := func(ctx context.Context, c *redis.Client) error {
		ks, err := c.Keys(ctx, a.RedisKey("*")).Result() // KEYS in a test only, to check
		left.Add(int64(len(ks)))
		return err
	}
	switch rdb := rdb.(type) {
	case *redis.ClusterClient:
		require.NoError(t, rdb.ForEachMaster(ctx, count))
	case *redis.Ring:
		require.NoError(t, rdb.ForEachShard(ctx, count))
	default:
		ks, err := rdb.Keys(ctx, a.RedisKey("*")).Result()
		require.NoError(t, err)
		left.Store(int64(len(ks)))
	}
	require.Zero(t, left.Load())
	v, err := other.Get(ctx, "keep")
	require.NoError(t, err, "Clear is confined to its namespace")
	require.Equal(t, 1, v)
}

func testShared(t *testing.T, b backend) {
	ctx := context.Background()
	rdb1, _ := b.client(t)
	rdb2, _ := b.client(t)
	ns := uniqueNS(t)
	c1, err := New(newStore(t, rdb1, StoreOptions{}), ns, Options[user]{})
	require.NoError(t, err)
	c2, err := New(newStore(t, rdb2, StoreOptions{}), ns, Options[user]{})
	require.NoError(t, err)
	var loads atomic.Int64
	load := func(context.Context) (user, error) { loads.Add(1); return user{7, "Grace"}, nil }
	v1, err := c1.GetOrLoad(ctx, "7", load)
	require.NoError(t, err)
	v2, err := c2.GetOrLoad(ctx, "7", load)
	require.NoError(t, err)
	assert.Equal(t, v1, v2)
	assert.Equal(t, int64(1), loads.Load())
	assert.Equal(t, uint64(1), c2.Stats().RemoteHits)
}
