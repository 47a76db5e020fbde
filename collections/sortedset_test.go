package collections_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

func TestSortedSet(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		t.Run("basics", func(t *testing.T) {
			z, err := collections.NewSortedSet(be.rdb, dsName(t), collections.SortedSetOptions[string]{})
			require.NoError(t, err)
			type S = collections.Scored[string]
			scored := dsMust[[]S](t)
			require.NoError(t, z.SetScores(ctx, S{"bob", 3}, S{"alice", 1}, S{"carol", 2}))
			require.NoError(t, z.SetScore(ctx, "dave", 10))
			require.Equal(t, 4.5, dsMust[float64](t)(z.IncrScore(ctx, "bob", 1.5)))
			require.Equal(t, 1.0, dsMust[float64](t)(z.IncrScore(ctx, "erin", 1)))
			require.Equal(t, 2.0, dsMust[float64](t)(z.Score(ctx, "carol")))
			_, err = z.Score(ctx, "nobody")
			require.ErrorIs(t, err, collections.ErrNotFound)
			require.Equal(t, int64(0), dsMust[int64](t)(z.Rank(ctx, "alice")))
			require.Equal(t, int64(0), dsMust[int64](t)(z.RevRank(ctx, "dave")))
			_, err = z.Rank(ctx, "nobody")
			require.ErrorIs(t, err, collections.ErrNotFound)

			require.Equal(t, []S{{"alice", 1}, {"erin", 1}, {"carol", 2}, {"bob", 4.5}, {"dave", 10}}, scored(z.RangeByRank(ctx, 0, -1)))
			require.Equal(t, []S{{"dave", 10}, {"bob", 4.5}}, scored(z.RevRangeByRank(ctx, 0, 1)))
			require.Equal(t, []S{{"carol", 2}, {"bob", 4.5}}, scored(z.RangeByScore(ctx, 2, 4.5)))
			require.Equal(t, []S{{"bob", 4.5}, {"dave", 10}}, scored(z.RangeByScore(ctx, 3, math.Inf(1))))
			require.Equal(t, int64(3), dsMust[int64](t)(z.CountBetween(ctx, math.Inf(-1), 2)))

			require.Equal(t, S{"alice", 1}, dsMust[S](t)(z.PopMin(ctx)))
			require.Equal(t, S{"dave", 10}, dsMust[S](t)(z.PopMax(ctx)))
			require.Equal(t, int64(1), dsMust[int64](t)(z.RemoveByScore(ctx, 4, 5)))
			require.Equal(t, int64(1), dsMust[int64](t)(z.RemoveByRank(ctx, -1, -1)))
			require.Equal(t, int64(1), dsMust[int64](t)(z.Remove(ctx, "erin", "nobody")))
			require.Zero(t, dsMust[int64](t)(z.Len(ctx)))
			_, err = z.PopMin(ctx)
			require.ErrorIs(t, err, collections.ErrEmpty)
			require.ErrorIs(t, z.SetScore(ctx, "x", math.NaN()), collections.ErrInvalidArgument)
			require.False(t, dsMust[bool](t)(z.Expire(ctx, time.Minute)))
		})
		t.Run("errors", func(t *testing.T) {
			z, err := collections.NewSortedSet(be.rdb, dsName(t), collections.SortedSetOptions[int]{})
			require.NoError(t, err)
			dsOccupy(t, be.rdb, z.Key())
			for name, op := range map[string]func() error{
				"SetScore":    func() error { return z.SetScore(ctx, 1, 1) },
				"RangeByRank": func() error { _, err := z.RangeByRank(ctx, 0, -1); return err },
				"PopMin":      func() error { _, err := z.PopMin(ctx); return err },
				"Clear":       func() error { return z.Clear(ctx) },
			} {
				err := op()
				require.ErrorIs(t, err, collections.ErrWrongType, name)
				require.ErrorContains(t, err, z.Key(), name)
			}
			dsUntouched(t, be.rdb, z.Key())

			bad, err := collections.NewSortedSet(be.rdb, dsName(t)+"bad", collections.SortedSetOptions[int]{})
			require.NoError(t, err)
			require.NoError(t, be.rdb.ZAdd(ctx, bad.Key(), redisZ(1, "x")).Err())
			_, err = bad.RangeByScore(ctx, 0, 2)
			require.ErrorIs(t, err, collections.ErrDecode)
			require.ErrorContains(t, err, bad.Key())
			_, err = bad.Len(dsCanceled())
			require.ErrorIs(t, err, context.Canceled)
		})
	})
}
