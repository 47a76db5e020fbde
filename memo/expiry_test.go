package memo_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/memo"
)

// TestNoExpiryAndSliding: a result memoized with cache.NoExpiry has no
// Redis TTL; with Sliding, one called every TTL/8 is computed once over
// five TTLs, while one not called is computed again after its TTL.
func TestNoExpiryAndSliding(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			rdb := b.newClient(t)
			s := newStore(t, rdb)
			var runs atomic.Int64
			double := func(_ context.Context, n int) (int, error) { runs.Add(1); return 2 * n, nil }

			forever, err := memo.New(s, uniqueName(), double, memo.Options[int]{Cache: cache.Options[int]{TTL: cache.NoExpiry}})
			require.NoError(t, err)
			got, err := forever.Call(ctx, 21)
			require.NoError(t, err)
			require.Equal(t, 42, got)
			ks := redisKeys(t, rdb, forever.Namespace())
			require.Len(t, ks, 1)
			require.Equal(t, time.Duration(-1), rdb.PTTL(ctx, ks[0]).Val(), "PTTL of a NoExpiry result")

			const ttl = time.Second // Redis expires in real time: a renewal has TTL/2 to land
			sliding, err := memo.New(s, uniqueName(), double, memo.Options[int]{Cache: cache.Options[int]{TTL: ttl, Sliding: true}})
			require.NoError(t, err)
			runs.Store(0)
			for _, n := range []int{1, 2} {
				_, err := sliding.Call(ctx, n)
				require.NoError(t, err)
			}
			start := time.Now()
			calls := 0
			for time.Since(start) < 3*ttl {
				time.Sleep(ttl / 8) // the interval between two calls
				got, err := sliding.Call(ctx, 1)
				require.NoError(t, err)
				require.Equal(t, 2, got)
				calls++
			}
			require.Equal(t, int64(2), runs.Load(), "the sliding result was computed again")
			require.GreaterOrEqual(t, sliding.Info().LocalHits, uint64(calls-2))
			got, err = sliding.Call(ctx, 2) // not called for 3 TTLs: expired
			require.NoError(t, err)
			require.Equal(t, 4, got)
			require.Equal(t, int64(3), runs.Load())
		})
	}
}
