package memo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/memo"
)

// TestOwnResultsStayLocal: after N distinct calls, the Store keeps the N
// results it wrote (Info().Size is N), in tracking and pub/sub modes, on
// a server and on the cluster, and calling again is N local hits: the
// echo of a Store's own write does not evict what it wrote. Another
// Store's write of one of the keys still evicts it.
func TestOwnResultsStayLocal(t *testing.T) {
	for _, b := range backends(t) {
		for _, mode := range []cache.Coherence{cache.CoherenceTracking, cache.CoherencePubSub} {
			t.Run(b.name+"/"+mode.String(), func(t *testing.T) {
				const n = 200
				ctx := context.Background()
				coherent := func() *cache.Store {
					s := newStoreWith(t, b.newClient(t), cache.StoreOptions{Coherence: mode})
					wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					defer cancel()
					require.NoError(t, s.WaitCoherent(wctx))
					return s
				}
				name := fmt.Sprintf("own-%s-%s-%d", b.name, mode, nameSeq.Add(1))
				square := func(_ context.Context, x int) (int, error) { return x * x, nil }
				f, err := memo.New(coherent(), name, square, memo.Options[int]{})
				require.NoError(t, err)
				for i := range n {
					got, err := f.Call(ctx, i)
					require.NoError(t, err)
					require.Equal(t, i*i, got)
				}
				// The echoes of the n writes have arrived once a write made
				// after them by another Store has been heard of.
				other, err := memo.New(coherent(), name, func(_ context.Context, x int) (int, error) { return x + 1000, nil }, memo.Options[int]{})
				require.NoError(t, err)
				_, err = other.Bypass(ctx, 0)
				require.NoError(t, err)
				require.Eventually(t, func() bool { return f.Info().Size == n-1 }, 10*time.Second, time.Millisecond,
					"want Size n-1 (the own results kept, other's write of key 0 evicting one), got %d", f.Info().Size)

				before := f.Info()
				for i := 1; i < n; i++ {
					got, err := f.Call(ctx, i)
					require.NoError(t, err)
					require.Equal(t, i*i, got)
				}
				after := f.Info()
				require.Equal(t, uint64(n-1), after.LocalHits-before.LocalHits, "own results were not kept locally")
				require.Equal(t, before.Loads, after.Loads)
				got, err := f.Call(ctx, 0)
				require.NoError(t, err)
				require.Equal(t, 1000, got, "other's result for 0")
				require.Equal(t, n, f.Info().Size)
			})
		}
	}
}
