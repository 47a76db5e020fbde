package collections_test

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/collections"
)

// TestLocalSortedSet: with Options.Local, SortedSet reads (Score, Rank,
// RevRank, the ranges by rank and by score, reversed and paged too,
// CountBetween, Len) are
// answered by one local copy of the whole set, with Redis' answers
// (ties ordered by encoding, out-of-range ranks, infinite bounds); writes
// by this process are seen at once and foreign ones once invalidated.
func TestLocalSortedSet(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		cmds := &dsCommands{}
		rdb := countedClient(t, be, cmds)
		store := localStore(t, be, cache.StoreOptions{})
		z, err := collections.NewSortedSet(rdb, dsName(t), collections.SortedSetOptions[string]{Options: collections.Options{Local: store}})
		require.NoError(t, err)
		remote, err := collections.NewSortedSet(be.client(t), z.Name(), collections.SortedSetOptions[string]{})
		require.NoError(t, err)
		var ms []collections.Scored[string]
		for i := range 9 {
			ms = append(ms, collections.Scored[string]{Value: "m" + strconv.Itoa(8-i), Score: float64(i / 3)})
		}
		ms = append(ms, collections.Scored[string]{Value: "inf", Score: math.Inf(1)})
		require.NoError(t, remote.SetScores(ctx, ms...))

		require.Eventually(t, func() bool {
			before := cmds.n.Load()
			_, err := z.Score(ctx, "m0")
			return err == nil && cmds.n.Load() == before
		}, 10*time.Second, time.Millisecond, "never served locally")
		before := cmds.n.Load()
		type answer struct {
			V   any
			Err bool
		}
		ask := func(f func(*collections.SortedSet[string]) (any, error)) (local, redis answer) {
			v, err := f(z)
			w, werr := f(remote)
			return answer{v, err != nil}, answer{w, werr != nil}
		}
		check := func(what string, f func(*collections.SortedSet[string]) (any, error)) {
			t.Helper()
			local, redis := ask(f)
			require.Equal(t, redis, local, what)
		}
		for _, m := range []string{"m0", "m4", "m8", "inf", "absent"} {
			check("Score "+m, func(z *collections.SortedSet[string]) (any, error) { return z.Score(ctx, m) })
			check("Rank "+m, func(z *collections.SortedSet[string]) (any, error) { return z.Rank(ctx, m) })
			check("RevRank "+m, func(z *collections.SortedSet[string]) (any, error) { return z.RevRank(ctx, m) })
		}
		for i := int64(-12); i <= 12; i += 3 {
			for j := int64(-12); j <= 12; j += 2 {
				check("RangeByRank", func(z *collections.SortedSet[string]) (any, error) { return z.RangeByRank(ctx, i, j) })
				check("RevRangeByRank", func(z *collections.SortedSet[string]) (any, error) { return z.RevRangeByRank(ctx, i, j) })
			}
		}
		bounds := []float64{math.Inf(-1), -1, 0, 0.5, 1, 2, 3, math.Inf(1)}
		for _, lo := range bounds {
			for _, hi := range bounds {
				check("RangeByScore", func(z *collections.SortedSet[string]) (any, error) { return z.RangeByScore(ctx, lo, hi) })
				check("CountBetween", func(z *collections.SortedSet[string]) (any, error) { return z.CountBetween(ctx, lo, hi) })
				check("RevRangeByScore", func(z *collections.SortedSet[string]) (any, error) { return z.RevRangeByScore(ctx, hi, lo) })
				for _, opts := range []collections.RangeOptions{{}, {ExclusiveMin: true}, {ExclusiveMax: true, Rev: true},
					{ExclusiveMin: true, ExclusiveMax: true}, {Rev: true}} {
					for _, page := range [][2]int64{{0, -1}, {0, 0}, {0, 2}, {1, 3}, {4, -1}, {20, 1}} {
						check("RangeByScoreLimit", func(z *collections.SortedSet[string]) (any, error) {
							return z.RangeByScoreLimit(ctx, lo, hi, page[0], page[1], opts)
						})
					}
				}
			}
		}
		check("Len", func(z *collections.SortedSet[string]) (any, error) { return z.Len(ctx) })
		// The local answers cost nothing; the comparisons' Redis reads
		// went through remote's own client.
		require.Equal(t, before, cmds.n.Load(), "a local read went to Redis")

		// Own write: at once. Foreign: once invalidated.
		_, err = z.IncrScore(ctx, "m0", 10)
		require.NoError(t, err)
		s, err := z.Score(ctx, "m0")
		require.NoError(t, err)
		require.Equal(t, float64(12), s)
		require.NoError(t, remote.SetScore(ctx, "m8", -5))
		require.Eventually(t, func() bool { r, err := z.Rank(ctx, "m8"); return err == nil && r == 0 },
			10*time.Second, time.Millisecond, "the foreign write was never seen")
		_, err = z.Score(ctx, "absent")
		require.ErrorIs(t, err, collections.ErrNotFound)
		require.Positive(t, z.Local().Kept)
	})
}
