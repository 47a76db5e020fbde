package orderedcache_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/orderedcache"
)

// TestOnRedis runs the round-trip, order and value tests on a single server
// and on a 3-master cluster (started once for all subtests).
func TestOnRedis(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Run("NewIsOneReadPerNode", func(t *testing.T) { testNewRoundTrips(t, b) })
			t.Run("FillIsOneLoadAndOneWritePerNode", func(t *testing.T) { testFillRoundTrips(t, b) })
			t.Run("OrderAcrossHitsMissesDuplicates", func(t *testing.T) { testOrder(t, b) })
			t.Run("Hydrate", func(t *testing.T) { testHydrate(t, b) })
			t.Run("NegativeEntries", func(t *testing.T) { testNegative(t, b) })
			t.Run("EmptyAndCancelled", func(t *testing.T) { testEmptyAndCancelled(t, b) })
		})
	}
}

// hitsAndMisses splits 1..1000 as the round-trip tests do: every tenth id
// has no cached value.
func hitsAndMisses() (ids, hits, misses []int) {
	ids = seq(1, 1000)
	for _, id := range ids {
		if id%10 == 0 {
			misses = append(misses, id)
		} else {
			hits = append(hits, id)
		}
	}
	return ids, hits, misses
}

// requireOnePerNode checks that rt holds exactly one round trip on each of
// nodes nodes, each made of the command cmd only.
func requireOnePerNode(t *testing.T, rt map[string][]string, nodes int, cmds ...string) {
	t.Helper()
	require.Len(t, rt, nodes, "nodes reached, got %v", rt)
	for addr, got := range rt {
		require.Equal(t, cmds, got, "round trips to %s", addr)
	}
}

func nodesOf(b backend) int {
	if b.name == "cluster" {
		return 3
	}
	return 1
}

func testNewRoundTrips(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, tr := b.client(t)
	ns := uniqueNS()
	ids, hits, misses := hitsAndMisses()
	seed(t, rdb, ns, hits)
	c := newCache[doc](t, newStore(t, rdb), ns, cache.Options[doc]{})
	warmUp(t, c)

	var d *orderedcache.Dict[int, doc]
	rt := tr.during(func() {
		var err error
		d, err = orderedcache.New(ctx, c, ids, orderedcache.Options[int]{})
		require.NoError(t, err)
	})
	// 1000 keys over 3 masters: every node holds some, so each gets exactly
	// one pipelined round trip of MGETs (one per slot), then one of script
	// calls taking the tickets that fence the misses' fill.
	requireOnePerNode(t, rt, nodesOf(b), "mget", "script")
	require.Equal(t, 900, d.Len())
	require.Equal(t, hits, d.Keys())
	require.Equal(t, docs(hits), d.Values())
	require.Equal(t, misses, d.Misses())
	require.Empty(t, d.NotFound())

	// The hits are in the local tier now: only the misses go to Redis.
	rt = tr.during(func() {
		d, err := orderedcache.New(ctx, c, ids, orderedcache.Options[int]{})
		require.NoError(t, err)
		require.Equal(t, misses, d.Misses())
	})
	// The misses' tickets from the first lookup are still valid: none taken.
	requireOnePerNode(t, rt, nodesOf(b), "mget")

	// All local: no round trip at all.
	rt = tr.during(func() {
		d, err := orderedcache.New(ctx, c, hits, orderedcache.Options[int]{})
		require.NoError(t, err)
		require.Equal(t, 900, d.Len())
	})
	require.Empty(t, rt)
}

func testFillRoundTrips(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, tr := b.client(t)
	ns := uniqueNS()
	ids, hits, misses := hitsAndMisses()
	seed(t, rdb, ns, hits)
	c := newCache[doc](t, newStore(t, rdb), ns, cache.Options[doc]{})
	warmUp(t, c)
	d, err := orderedcache.New(ctx, c, ids, orderedcache.Options[int]{})
	require.NoError(t, err)

	src := &source{}
	rt := tr.during(func() { require.NoError(t, d.Fill(ctx, src.load)) })
	require.Equal(t, [][]int{misses}, src.Calls(), "one loader call with every miss, in order")
	// 100 keys over 3 masters: one pipelined round trip of script calls
	// (one per slot) on each node.
	requireOnePerNode(t, rt, nodesOf(b), "script")
	require.Equal(t, ids, d.Keys())
	require.Equal(t, docs(ids), d.Values())
	require.Empty(t, d.Misses())

	// Another process (a fresh Store: empty local tier) finds every value
	// in Redis.
	other := newCache[doc](t, newStore(t, rdb), ns, cache.Options[doc]{})
	d2, err := orderedcache.New(ctx, other, ids, orderedcache.Options[int]{})
	require.NoError(t, err)
	require.Equal(t, docs(ids), d2.Values())
	require.Empty(t, d2.Misses())

	// Nothing left to load: no loader call, no round trip.
	rt = tr.during(func() { require.NoError(t, d.Fill(ctx, src.load)) })
	require.Empty(t, rt)
	require.Len(t, src.Calls(), 1)
}

func testOrder(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	ns := uniqueNS()
	seed(t, rdb, ns, []int{3, 1, 7, 40})
	c := newCache[doc](t, newStore(t, rdb), ns, cache.Options[doc]{})
	require.NoError(t, c.Set(ctx, "40", docFor(40))) // a local hit among Redis hits

	ids := []int{5, 3, 9, 3, 40, 1, 9, 7, 5, 2, 40}
	d, err := orderedcache.New(ctx, c, ids, orderedcache.Options[int]{})
	require.NoError(t, err)
	require.Equal(t, []int{3, 40, 1, 7}, d.Keys())
	require.Equal(t, docs([]int{3, 40, 1, 7}), d.Values())
	require.Equal(t, []int{5, 9, 2}, d.Misses(), "first positions of the duplicates")
	require.Equal(t, 4, d.Len())
	v, ok := d.Get(3)
	require.True(t, ok)
	require.Equal(t, docFor(3), v)
	_, ok = d.Get(5)
	require.False(t, ok)
	_, ok = d.Get(1000)
	require.False(t, ok)

	src := &source{has: func(id int) bool { return id != 5 }}
	require.NoError(t, d.Fill(ctx, src.load))
	require.Equal(t, [][]int{{5, 9, 2}}, src.Calls())
	require.Equal(t, []int{3, 9, 40, 1, 7, 2}, d.Keys())
	require.Equal(t, docs([]int{3, 9, 40, 1, 7, 2}), d.Values())
	require.Equal(t, []int{5}, d.Misses(), "the id the loader did not return stays a miss")

	var pairs []int
	for id, v := range d.All() {
		require.Equal(t, docFor(id), v)
		pairs = append(pairs, id)
	}
	require.Equal(t, d.Keys(), pairs)
	for id := range d.All() { // stopping early is allowed
		require.Equal(t, 3, id)
		break
	}

	// Set replaces in place, adds unknown ids at the end, and writes through.
	require.NoError(t, d.Set(ctx, 5, docFor(5)))
	require.NoError(t, d.Set(ctx, 11, docFor(11)))
	require.NoError(t, d.Set(ctx, 1, doc{ID: 1, Title: "new"}))
	require.Equal(t, []int{5, 3, 9, 40, 1, 7, 2, 11}, d.Keys())
	require.Empty(t, d.Misses())
	other := newCache[doc](t, newStore(t, rdb), ns, cache.Options[doc]{})
	d2, err := orderedcache.New(ctx, other, []int{11, 1, 5}, orderedcache.Options[int]{})
	require.NoError(t, err)
	require.Equal(t, []doc{docFor(11), {ID: 1, Title: "new"}, docFor(5)}, d2.Values())
}

func testHydrate(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, tr := b.client(t)
	ns := uniqueNS()
	ids, hits, misses := hitsAndMisses()
	seed(t, rdb, ns, hits)
	c := newCache[doc](t, newStore(t, rdb), ns, cache.Options[doc]{})
	warmUp(t, c)

	// Duplicates at the end keep their first positions; 500 cannot be loaded.
	asked := append(slices.Clone(ids), 10, 1, 500)
	src := &source{has: func(id int) bool { return id != 500 }}
	var values []doc
	var unsupplied []int
	rt := tr.during(func() {
		var err error
		values, unsupplied, err = orderedcache.Hydrate(ctx, c, asked, src.load)
		require.NoError(t, err)
	})
	want := slices.DeleteFunc(slices.Clone(ids), func(id int) bool { return id == 500 })
	require.Equal(t, docs(want), values)
	require.Equal(t, []int{500}, unsupplied)
	require.Equal(t, [][]int{misses}, src.Calls())
	// One read, one taking the tickets that fence the fill, and one write
	// per node.
	requireOnePerNode(t, rt, nodesOf(b), "mget", "script", "script")

	// Everything but 500 is cached now, and 500 is asked for again (no
	// NegativeTTL).
	values, unsupplied, err := orderedcache.Hydrate(ctx, c, asked, src.load)
	require.NoError(t, err)
	require.Equal(t, docs(want), values)
	require.Equal(t, []int{500}, unsupplied)
	require.Equal(t, []int{500}, src.Calls()[1])
}

func testNegative(t *testing.T, b backend) {
	ctx := context.Background()
	rdb, _ := b.client(t)
	ns := uniqueNS()
	opts := cache.Options[doc]{NegativeTTL: time.Minute}
	c := newCache(t, newStore(t, rdb), ns, opts)
	ids := []int{1, 2, 3, 4, 5, 6}
	d, err := orderedcache.New(ctx, c, ids, orderedcache.Options[int]{})
	require.NoError(t, err)
	odd := &source{has: func(id int) bool { return id%2 == 1 }}
	require.NoError(t, d.Fill(ctx, odd.load))
	require.Equal(t, []int{2, 4, 6}, d.Misses(), "not returned: still misses in this Dict")
	require.Empty(t, d.NotFound())

	// The next lookup, here and in another process, knows 2, 4 and 6 are
	// missing and does not load them.
	for _, c := range []*cache.Cache[doc]{c, newCache(t, newStore(t, rdb), ns, opts)} {
		d, err := orderedcache.New(ctx, c, ids, orderedcache.Options[int]{})
		require.NoError(t, err)
		require.Equal(t, []int{1, 3, 5}, d.Keys())
		require.Equal(t, []int{2, 4, 6}, d.NotFound())
		require.Empty(t, d.Misses())
		src := &source{}
		require.NoError(t, d.Fill(ctx, src.load))
		require.Empty(t, src.Calls(), "known-missing ids are not loaded")

		values, unsupplied, err := orderedcache.Hydrate(ctx, c, ids, src.load)
		require.NoError(t, err)
		require.Equal(t, docs([]int{1, 3, 5}), values)
		require.Equal(t, []int{2, 4, 6}, unsupplied)
		require.Empty(t, src.Calls())
	}

	// Without a NegativeTTL, what the loader did not return is a miss again.
	plain := newCache[doc](t, newStore(t, rdb), uniqueNS(), cache.Options[doc]{})
	d, err = orderedcache.New(ctx, plain, ids, orderedcache.Options[int]{})
	require.NoError(t, err)
	require.NoError(t, d.Fill(ctx, odd.load))
	d, err = orderedcache.New(ctx, plain, ids, orderedcache.Options[int]{})
	require.NoError(t, err)
	require.Equal(t, []int{2, 4, 6}, d.Misses())
	require.Empty(t, d.NotFound())
}

func testEmptyAndCancelled(t *testing.T, b backend) {
	rdb, tr := b.client(t)
	c := newCache[doc](t, newStore(t, rdb), uniqueNS(), cache.Options[doc]{})
	warmUp(t, c)
	ctx := context.Background()
	never := func(context.Context, []int) (map[int]doc, error) {
		t.Error("loader called")
		return nil, nil
	}

	rt := tr.during(func() {
		d, err := orderedcache.New(ctx, c, nil, orderedcache.Options[int]{})
		require.NoError(t, err)
		require.Zero(t, d.Len())
		require.Empty(t, d.Keys())
		require.Empty(t, d.Misses())
		require.NoError(t, d.Fill(ctx, never))
		values, unsupplied, err := orderedcache.Hydrate(ctx, c, []int{}, never)
		require.NoError(t, err)
		require.Empty(t, values)
		require.Empty(t, unsupplied)
	})
	require.Empty(t, rt, "an empty id list costs no round trip")

	d, err := orderedcache.New(ctx, c, seq(1, 100), orderedcache.Options[int]{})
	require.NoError(t, err)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	rt = tr.during(func() {
		err := d.Fill(cancelled, never)
		require.ErrorIs(t, err, context.Canceled)
		_, _, err = orderedcache.Hydrate(cancelled, c, seq(1, 100), never)
		require.ErrorIs(t, err, context.Canceled)
		_, err = orderedcache.New(cancelled, c, seq(1, 100), orderedcache.Options[int]{})
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, d.Set(cancelled, 1, docFor(1)), context.Canceled)
	})
	require.Empty(t, rt, "a cancelled context reaches no server")
	require.Equal(t, seq(1, 100), d.Misses())

	// Cancelled while the loader runs: the loader sees it, the write is
	// not made, the error says so.
	ctx2, cancel2 := context.WithCancel(ctx)
	err = d.Fill(ctx2, func(ctx context.Context, missing []int) (map[int]doc, error) {
		cancel2()
		return nil, ctx.Err()
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, seq(1, 100), d.Misses())
}

// TestRedisDown: when Redis cannot be reached New still returns the local
// hits, Fill keeps what it loaded and reports the failed write, and Hydrate
// degrades to the loader.
func TestRedisDown(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	// Without coherence, so that the local copy outlives the server: a
	// Store that tracks invalidations flushes its local tier when the
	// invalidation connection drops, at a moment the test cannot know.
	s, err := cache.NewStore(rdb, cache.StoreOptions{Coherence: cache.CoherenceNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	c := newCache[doc](t, s, uniqueNS(), cache.Options[doc]{})
	require.NoError(t, c.Set(ctx, "2", docFor(2)))
	srv.Kill()

	d, err := orderedcache.New(ctx, c, []int{1, 2, 3}, orderedcache.Options[int]{})
	require.ErrorIs(t, err, cache.ErrUnavailable)
	require.NotNil(t, d)
	require.Equal(t, []int{2}, d.Keys())
	require.Equal(t, []int{1, 3}, d.Misses())

	src := &source{}
	err = d.Fill(ctx, src.load)
	require.ErrorIs(t, err, cache.ErrUnavailable)
	require.Equal(t, docs([]int{1, 2, 3}), d.Values(), "loaded values are kept")

	values, unsupplied, err := orderedcache.Hydrate(ctx, c, []int{4, 2, 5}, src.load)
	require.NoError(t, err)
	require.Equal(t, docs([]int{4, 2, 5}), values)
	require.Empty(t, unsupplied)
	require.Equal(t, [][]int{{1, 3}, {4, 5}}, src.Calls())
	require.NotZero(t, c.Stats().RedisErrors)
}

// TestConcurrentHydrate runs Hydrate from many goroutines on one cache
// (under -race: no shared state in the package).
func TestConcurrentHydrate(t *testing.T) {
	srv := redistest.Start(t)
	c := newCache[doc](t, newStore(t, srv.Client(t)), uniqueNS(), cache.Options[doc]{})
	src := &source{}
	ids := seq(1, 200)
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			mine := slices.Clone(ids)
			slices.Reverse(mine[g*10 : g*10+50])
			values, unsupplied, err := orderedcache.Hydrate(context.Background(), c, mine, src.load)
			if err == nil && (!slices.Equal(values, docs(mine)) || len(unsupplied) != 0) {
				err = errors.New("wrong values for ids " + strconv.Itoa(g))
			}
			errs <- err
		}()
	}
	for range 8 {
		assert.NoError(t, <-errs)
	}
}
