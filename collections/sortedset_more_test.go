package collections_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
)

func TestSortedSetMore(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("score or set", func(t *testing.T) { testSortedSetScoreOrSet(t, be) })
		t.Run("ranges", func(t *testing.T) { testSortedSetRanges(t, be) })
		t.Run("scan", func(t *testing.T) { testSortedSetScan(t, be) })
		t.Run("errors", func(t *testing.T) { testSortedSetMoreErrors(t, be) })
	})
}

func testSortedSetScoreOrSet(t *testing.T, be dsBackend) {
	ctx := context.Background()
	z, err := collections.NewSortedSet(be.rdb, dsName(t), collections.SortedSetOptions[string]{})
	require.NoError(t, err)

	s, added, err := z.ScoreOrSet(ctx, "ann", 5)
	require.NoError(t, err)
	require.True(t, added, "an absent member is added")
	require.Equal(t, 5.0, s)
	s, added, err = z.ScoreOrSet(ctx, "ann", 7)
	require.NoError(t, err)
	require.False(t, added, "a present member keeps its score")
	require.Equal(t, 5.0, s)
	require.Equal(t, 5.0, dsMust[float64](t)(z.Score(ctx, "ann")))

	for _, inf := range []float64{math.Inf(1), math.Inf(-1)} {
		m := fmt.Sprint(inf)
		s, added, err = z.ScoreOrSet(ctx, m, inf)
		require.NoError(t, err)
		require.True(t, added)
		require.Equal(t, inf, s)
		s, _, err = z.ScoreOrSet(ctx, m, 0)
		require.NoError(t, err)
		require.Equal(t, inf, s)
	}
	require.Equal(t, int64(3), dsMust[int64](t)(z.Len(ctx)))

	_, _, err = z.ScoreOrSet(ctx, "nan", math.NaN())
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	_, err = z.Score(ctx, "nan")
	require.ErrorIs(t, err, collections.ErrNotFound, "nothing written for a NaN")

	// Concurrent ScoreOrSets of one absent member, on two clients: one adds
	// it, all return its score.
	other, err := collections.NewSortedSet(be.client(t), dsName(t), collections.SortedSetOptions[string]{})
	require.NoError(t, err)
	var mu sync.Mutex
	var adds int
	scores := make(map[float64]int)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			zz := z
			if i%2 == 1 {
				zz = other
			}
			s, added, err := zz.ScoreOrSet(ctx, "race", float64(i))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			scores[s]++
			if added {
				adds++
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, adds)
	require.Len(t, scores, 1)
	for s := range scores {
		require.Equal(t, s, dsMust[float64](t)(z.Score(ctx, "race")))
	}
}

func testSortedSetRanges(t *testing.T, be dsBackend) {
	ctx := context.Background()
	type S = collections.Scored[string]
	scored := dsMust[[]S](t)
	z, err := collections.NewSortedSet(be.rdb, dsName(t), collections.SortedSetOptions[string]{Codec: codec.String()})
	require.NoError(t, err)

	// Empty: every range is empty, not an error.
	require.Empty(t, scored(z.RevRangeByScore(ctx, math.Inf(1), math.Inf(-1))))
	require.Empty(t, scored(z.RangeByScoreLimit(ctx, math.Inf(-1), math.Inf(1), 0, -1, collections.RangeOptions{})))

	require.NoError(t, z.SetScores(ctx, S{"a", 1}, S{"b", 2}, S{"c", 2}, S{"d", 3}, S{"e", 4},
		S{"lo", math.Inf(-1)}, S{"hi", math.Inf(1)}))

	require.Equal(t, []S{{"d", 3}, {"c", 2}, {"b", 2}}, scored(z.RevRangeByScore(ctx, 3, 2)))
	require.Equal(t, []S{{"hi", math.Inf(1)}, {"e", 4}}, scored(z.RevRangeByScore(ctx, math.Inf(1), 4)))
	require.Empty(t, scored(z.RevRangeByScore(ctx, 2, 3)), "max below min")

	all := collections.RangeOptions{}
	inf := math.Inf(1)
	require.Equal(t, []S{{"a", 1}, {"b", 2}, {"c", 2}, {"d", 3}, {"e", 4}}, scored(z.RangeByScoreLimit(ctx, 1, 4, 0, -1, all)))
	require.Equal(t, []S{{"b", 2}, {"c", 2}}, scored(z.RangeByScoreLimit(ctx, 1, 4, 1, 2, all)), "a page")
	require.Equal(t, []S{{"d", 3}, {"e", 4}}, scored(z.RangeByScoreLimit(ctx, 1, 4, 3, 100, all)), "the last page is short")
	require.Empty(t, scored(z.RangeByScoreLimit(ctx, 1, 4, 5, 10, all)), "offset past the range")
	require.Empty(t, scored(z.RangeByScoreLimit(ctx, 1, 4, 0, 0, all)), "count 0")
	require.Empty(t, scored(z.RangeByScoreLimit(ctx, 4, 1, 0, -1, all)), "min above max")
	require.Equal(t, []S{{"c", 2}, {"d", 3}}, scored(z.RangeByScoreLimit(ctx, 1, 4, 2, 2, all)))

	excl := collections.RangeOptions{ExclusiveMin: true, ExclusiveMax: true}
	require.Equal(t, []S{{"b", 2}, {"c", 2}, {"d", 3}}, scored(z.RangeByScoreLimit(ctx, 1, 4, 0, -1, excl)))
	require.Equal(t, []S{{"e", 4}}, scored(z.RangeByScoreLimit(ctx, 3, inf, 0, -1, excl)), "(+inf leaves +inf out")
	require.Equal(t, []S{{"lo", math.Inf(-1)}, {"a", 1}}, scored(z.RangeByScoreLimit(ctx, math.Inf(-1), 2, 0, -1,
		collections.RangeOptions{ExclusiveMax: true})))
	require.Empty(t, scored(z.RangeByScoreLimit(ctx, 2, 2, 0, -1, collections.RangeOptions{ExclusiveMin: true})))

	rev := collections.RangeOptions{Rev: true}
	require.Equal(t, []S{{"hi", inf}, {"e", 4}, {"d", 3}}, scored(z.RangeByScoreLimit(ctx, math.Inf(-1), inf, 0, 3, rev)), "the top three")
	require.Equal(t, []S{{"c", 2}, {"b", 2}}, scored(z.RangeByScoreLimit(ctx, 1, 4, 2, 2, rev)), "offset from the top")
	require.Equal(t, []S{{"d", 3}, {"c", 2}, {"b", 2}}, scored(z.RangeByScoreLimit(ctx, 1, 4, 0, -1,
		collections.RangeOptions{Rev: true, ExclusiveMin: true, ExclusiveMax: true})))
	require.Empty(t, scored(z.RangeByScoreLimit(ctx, 4, 1, 0, -1, rev)), "min above max, reversed")

	_, err = z.RangeByScoreLimit(ctx, 0, 1, -1, 1, all)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	_, err = z.RangeByScoreLimit(ctx, math.NaN(), 1, 0, 1, all)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	_, err = z.RangeByScoreLimit(ctx, 0, math.NaN(), 0, 1, all)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
}

func testSortedSetScan(t *testing.T, be dsBackend) {
	ctx := context.Background()
	z, err := collections.NewSortedSet(be.rdb, dsName(t), collections.SortedSetOptions[int]{})
	require.NoError(t, err)

	seq, errf := z.Scan(ctx)
	for range seq {
		t.Fatal("an empty set yielded")
	}
	require.NoError(t, errf())

	const n = 1000 // a skiplist, not a listpack: scanned in many chunks
	want := make(map[int]float64, n)
	members := make([]collections.Scored[int], 0, n)
	for i := range n {
		want[i] = float64(i) / 4
		members = append(members, collections.Scored[int]{Value: i, Score: float64(i) / 4})
	}
	require.NoError(t, z.SetScores(ctx, members...))
	seq, errf = z.Scan(ctx)
	got := make(map[int]float64, n)
	for m := range seq {
		_, dup := got[m.Value]
		require.False(t, dup, "member %d yielded twice", m.Value)
		got[m.Value] = m.Score
	}
	require.NoError(t, errf())
	require.Equal(t, want, got)

	// Stopping early is no error.
	seq, errf = z.Scan(ctx)
	k := 0
	for range seq {
		if k++; k == 10 {
			break
		}
	}
	require.NoError(t, errf())
	require.Equal(t, 10, k)

	// Infinite scores come back as such.
	require.NoError(t, z.SetScores(ctx, collections.Scored[int]{Value: -1, Score: math.Inf(-1)}))
	seq, errf = z.Scan(ctx)
	found := false
	for m := range seq {
		if m.Value == -1 {
			found = true
			require.Equal(t, math.Inf(-1), m.Score)
		}
	}
	require.NoError(t, errf())
	require.True(t, found)
}

func testSortedSetMoreErrors(t *testing.T, be dsBackend) {
	ctx := context.Background()
	z, err := collections.NewSortedSet(be.rdb, dsName(t), collections.SortedSetOptions[int]{})
	require.NoError(t, err)
	dsOccupy(t, be.rdb, z.Key())
	for name, op := range map[string]func() error{
		"ScoreOrSet":      func() error { _, _, err := z.ScoreOrSet(ctx, 1, 1); return err },
		"RevRangeByScore": func() error { _, err := z.RevRangeByScore(ctx, 1, 0); return err },
		"RangeByScoreLimit": func() error {
			_, err := z.RangeByScoreLimit(ctx, 0, 1, 0, 0, collections.RangeOptions{Rev: true})
			return err
		},
		"Scan": func() error {
			seq, errf := z.Scan(ctx)
			for range seq {
				t.Fatal("a wrong-type scan yielded")
			}
			return errf()
		},
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorContains(t, err, z.Key(), name)
	}
	dsUntouched(t, be.rdb, z.Key())

	// Undecodable members are ErrDecode naming the key.
	bad, err := collections.NewSortedSet(be.rdb, dsName(t)+"bad", collections.SortedSetOptions[int]{})
	require.NoError(t, err)
	require.NoError(t, be.rdb.ZAdd(ctx, bad.Key(), redisZ(1, "x")).Err())
	for name, op := range map[string]func() error{
		"RevRangeByScore":   func() error { _, err := bad.RevRangeByScore(ctx, 2, 0); return err },
		"RangeByScoreLimit": func() error { _, err := bad.RangeByScoreLimit(ctx, 0, 2, 0, 1, collections.RangeOptions{}); return err },
		"Scan": func() error {
			seq, errf := bad.Scan(ctx)
			for range seq {
				t.Fatal("an undecodable member was yielded")
			}
			return errf()
		},
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrDecode, name)
		require.ErrorIs(t, err, codec.ErrDecode, name)
		require.ErrorContains(t, err, bad.Key(), name)
	}
	// ScoreOrSet reads a score, never a member: an undecodable neighbour
	// does not matter.
	s, added, err := bad.ScoreOrSet(ctx, 7, 2)
	require.NoError(t, err)
	require.True(t, added)
	require.Equal(t, 2.0, s)

	// A done context fails before reaching Redis.
	_, _, err = bad.ScoreOrSet(dsCanceled(), 8, 1)
	require.ErrorIs(t, err, context.Canceled)
	seq, errf := bad.Scan(dsCanceled())
	for range seq {
		t.Fatal("a cancelled scan yielded")
	}
	require.ErrorIs(t, errf(), context.Canceled)
	_, err = bad.Score(ctx, 8)
	require.ErrorIs(t, err, collections.ErrNotFound)
}

// TestLostRepliesScoreOrSet: with go-redis' resends off, a ScoreOrSet
// whose reply is lost is sent once more, and its record answers: every
// call that adds a member says so, exactly once.
func TestLostRepliesScoreOrSet(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	px.DropReplies(dropEvery)
	noResend := redis.NewClient(&redis.Options{Addr: px.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = noResend.Close() })
	ctx := t.Context()
	const n = 300
	z, err := collections.NewSortedSet(noResend, "again", collections.SortedSetOptions[int]{})
	require.NoError(t, err)
	for i := range n {
		s, added, err := z.ScoreOrSet(ctx, i, float64(i))
		require.NoError(t, err, "add %d", i)
		require.True(t, added, "add %d", i)
		require.Equal(t, float64(i), s)
	}
	for i := range n {
		s, added, err := z.ScoreOrSet(ctx, i, -1)
		require.NoError(t, err, "get %d", i)
		require.False(t, added, "get %d", i)
		require.Equal(t, float64(i), s)
	}
	direct, err := collections.NewSortedSet(srv.Client(t), "again", collections.SortedSetOptions[int]{})
	require.NoError(t, err)
	require.Equal(t, int64(n), dsMust[int64](t)(direct.Len(ctx)))
	t.Logf("%d replies lost", px.Dropped())
	require.Greater(t, px.Dropped(), int64(n/dropEvery), "the proxy lost too few replies: the test tested nothing")
}
