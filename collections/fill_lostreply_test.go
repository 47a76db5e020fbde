package collections_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
)

// createEach runs Create of every type (MultiMapTTL's on two map keys) on fresh names "<prefix>-<i>" for
// i < n through rdb, requiring each to return nil: a Create whose reply is
// lost and that is sent again must find its own record, not ErrExists for
// its own write. It then checks, through direct, that each was applied.
func createEach(t *testing.T, rdb, direct redis.UniversalClient, prefix string, n int) {
	t.Helper()
	ctx := t.Context()
	for i := range n {
		name := prefix + "-" + strconv.Itoa(i)
		d, err := collections.NewDict(rdb, name, collections.DictOptions[string, int]{})
		require.NoError(t, err)
		require.NoError(t, d.Create(ctx, map[string]int{"a": i}), "dict %d", i)
		s, err := collections.NewSet(rdb, name, collections.SetOptions[int]{})
		require.NoError(t, err)
		require.NoError(t, s.Create(ctx, i, i+1), "set %d", i)
		l, err := collections.NewDeque(rdb, name, collections.DequeOptions[int]{})
		require.NoError(t, err)
		require.NoError(t, l.Create(ctx, i, i+1), "deque %d", i)
		h, err := collections.NewHyperLogLog(rdb, name, collections.HyperLogLogOptions[int]{})
		require.NoError(t, err)
		require.NoError(t, h.Create(ctx, []int{i}), "hyperloglog %d", i)
		bf, err := collections.NewBloomFilter(rdb, name, 100, 0.01, collections.BloomOptions[int]{})
		require.NoError(t, err)
		require.NoError(t, bf.Create(ctx, []int{i}), "bloom filter %d", i)
		mm, err := collections.NewMultiMapTTL(rdb, name, collections.MultiMapTTLOptions[int]{})
		require.NoError(t, err)
		require.NoError(t, mm.Create(ctx, time.Hour, map[string][]int{"a": {i}, "b": {i + 1}}), "multimap %d", i)
	}
	for i := range n {
		name := prefix + "-" + strconv.Itoa(i)
		d, err := collections.NewDict(direct, name, collections.DictOptions[string, int]{})
		require.NoError(t, err)
		require.Equal(t, map[string]int{"a": i}, dsMust[map[string]int](t)(d.ToMap(ctx)))
		l, err := collections.NewDeque(direct, name, collections.DequeOptions[int]{})
		require.NoError(t, err)
		require.Equal(t, []int{i, i + 1}, dsMust[[]int](t)(l.Range(ctx, 0, -1)))
		bf, err := collections.NewBloomFilter(direct, name, 100, 0.01, collections.BloomOptions[int]{})
		require.NoError(t, err)
		require.True(t, dsMust[bool](t)(bf.Contains(ctx, i)))
		mm, err := collections.NewMultiMapTTL(direct, name, collections.MultiMapTTLOptions[int]{})
		require.NoError(t, err)
		require.Equal(t, map[string][]int{"a": {i}, "b": {i + 1}}, dsMust[map[string][]int](t)(mm.GetMany(ctx, "a", "b")))
	}
}

// TestLostRepliesCreate: with go-redis' resends (default options), every
// Create on an absent key returns nil although replies are lost: a resend
// returns the first run's answer (the request's record), not ErrExists.
func TestLostRepliesCreate(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		createEach(t, lb.rdb, lb.direct, dsName(t), 60)
		t.Logf("%d replies lost", lb.dropped())
		require.Positive(t, lb.dropped(), "no reply was lost: the test tested nothing")
		t.Run("multimap only", func(t *testing.T) { testLostRepliesMultiMapCreate(t, lb) })
	})
}

// TestLostRepliesCreateSentAgain: with go-redis' resends off, a Create
// that loses its reply is sent once more by the collection (as every write
// with a request id is): it returns nil, not ErrUncertain nor ErrExists.
func TestLostRepliesCreateSentAgain(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	px.DropReplies(dropEvery)
	noResend := redis.NewClient(&redis.Options{Addr: px.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = noResend.Close() })
	createEach(t, noResend, srv.Client(t), "again", 60)
	t.Logf("%d replies lost, each Create sent again", px.Dropped())
	require.Greater(t, px.Dropped(), int64(20), "the proxy lost too few replies: the test tested nothing")
}

// Replace is sent with go-redis' resends: a resend writes the same
// contents again, so a lost reply changes nothing.
func TestLostRepliesReplace(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		ctx := context.Background()
		l, err := collections.NewList(lb.rdb, dsName(t), collections.ListOptions[int]{})
		require.NoError(t, err)
		direct, err := collections.NewList(lb.direct, dsName(t), collections.ListOptions[int]{})
		require.NoError(t, err)
		for i := range 100 {
			require.NoError(t, l.Replace(ctx, i, i, i), "replace %d", i)
			require.Equal(t, []int{i, i, i}, dsMust[[]int](t)(direct.Range(ctx, 0, -1)))
		}
		require.Positive(t, lb.dropped())
	})
}

// testLostRepliesMultiMapCreate (under TestLostRepliesCreate): only
// MultiMapTTL Creates through the lossy proxies, so the lost replies are
// theirs: each returns nil (a
// resend finds its record, not ErrExists for its own write), its values
// written once; a second Create of the same map keys is ErrExists.
func testLostRepliesMultiMapCreate(t *testing.T, lb lossyBackend) {
	{
		ctx := t.Context()
		const n = 100
		m, err := collections.NewMultiMapTTL(lb.rdb, dsName(t), collections.MultiMapTTLOptions[int]{})
		require.NoError(t, err)
		direct, err := collections.NewMultiMapTTL(lb.direct, dsName(t), collections.MultiMapTTLOptions[int]{})
		require.NoError(t, err)
		before := lb.dropped()
		for i := range n {
			a, b := "a"+strconv.Itoa(i), "b"+strconv.Itoa(i)
			require.NoError(t, m.Create(ctx, time.Hour, map[string][]int{a: {i}, b: {i + 1}}), "create %d", i)
			require.Equal(t, map[string][]int{a: {i}, b: {i + 1}}, dsMust[map[string][]int](t)(direct.GetMany(ctx, a, b)))
		}
		t.Logf("%d replies lost", lb.dropped()-before)
		require.Greater(t, lb.dropped()-before, int64(n/dropEvery/2), "too few replies lost: the test tested nothing")
		lb.heal()
		require.ErrorIs(t, m.Create(ctx, time.Hour, map[string][]int{"a0": {7}}), collections.ErrExists)
	}
}
