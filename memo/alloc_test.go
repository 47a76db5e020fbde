package memo_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/memo"
)

// TestCallLocalHitAllocs checks the hot path: a Call that finds its result
// in the local tier allocates nothing when the argument implements Keyer.
func TestCallLocalHitAllocs(t *testing.T) {
	ctx := context.Background()
	f, err := memo.New(newStore(t, redistest.Start(t).Client(t)), uniqueName(),
		func(_ context.Context, u userKey) (int64, error) { return u.ID, nil }, memo.Options[int64]{})
	require.NoError(t, err)
	arg := newUserKey(12)
	warmLocal(t, func() uint64 {
		_, err := f.Call(ctx, arg)
		require.NoError(t, err)
		return f.Info().LocalHits
	})
	before := f.Info()
	allocs := testing.AllocsPerRun(1000, func() {
		if v, err := f.Call(ctx, arg); err != nil || v != 12 {
			t.Fatalf("got %d, %v", v, err)
		}
	})
	// AllocsPerRun is the integer average over the runs. Under the race
	// detector sync.Pool drops a quarter of what is put back, on purpose,
	// which costs a fraction of an allocation per run; without it the
	// count is exactly 0.
	require.Zero(t, allocs, "allocations per local hit with MemoKey")
	require.Equal(t, before.LocalHits+1001, f.Info().LocalHits, "every call was a local hit")
}

// warmLocal calls until the result is served by the local tier: with
// CLIENT TRACKING the Store's own write is followed by its invalidation,
// and the next read from Redis is kept.
func warmLocal(t testing.TB, call func() (localHits uint64)) {
	for i := 0; ; i++ {
		if call() > 0 {
			return
		}
		if i > 10_000 {
			t.Fatal("the result never reached the local tier")
		}
	}
}
