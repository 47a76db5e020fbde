package otelmetrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
)

type benchValue struct {
	ID   int      `json:"id"`
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// BenchmarkGetLocalHit is cache's BenchmarkGetLocalHit (a Get answered by
// the local tier, tracking coherence on) without and with a MeterProvider
// attached, side by side in one run: the metrics must cost the hit nothing
// and it must not allocate.
func BenchmarkGetLocalHit(b *testing.B) {
	for _, attached := range []bool{false, true} {
		b.Run(fmt.Sprintf("attached=%v", attached), func(b *testing.B) {
			ctx := context.Background()
			s := newStore(b, redistest.Start(b).Client(b), cache.StoreOptions{})
			waitCoherent(b, s)
			var r *reader
			if attached {
				r = attach(b, s, "bench")
			}
			c, keys := localHits(b, s)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				if _, err := c.Get(ctx, keys[i&1023]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if r != nil && r.get("tiercache.hits", ns("bench"), tier("local")) < int64(b.N) {
				b.Fatal("the attached provider did not see the hits")
			}
		})
	}
}

// TestLocalHitAllocatesNothingAttached holds the benchmark's promise in the
// test suite: with a provider attached and collecting, a local hit
// allocates nothing.
func TestLocalHitAllocatesNothingAttached(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, redistest.Start(t).Client(t), cache.StoreOptions{})
	waitCoherent(t, s)
	r := attach(t, s, "allocs")
	c, keys := localHits(t, s)
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := c.Get(ctx, keys[0]); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
	require.GreaterOrEqual(t, r.get("tiercache.hits", ns("bench"), tier("local")), int64(1000))
}

// localHits returns a namespace "bench" whose 1024 keys are all in the
// local tier, and the keys.
func localHits(tb testing.TB, s *cache.Store) (*cache.Cache[benchValue], []string) {
	tb.Helper()
	ctx := context.Background()
	c, err := cache.New(s, "bench", cache.Options[benchValue]{LocalTTL: time.Hour})
	require.NoError(tb, err)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
		require.NoError(tb, c.Set(ctx, keys[i], benchValue{i, "name", []string{"a", "b"}}))
	}
	for _, k := range keys { // after its own invalidation, a read keeps each key locally
		for st := c.Stats().LocalHits; c.Stats().LocalHits == st; {
			_, err := c.Get(ctx, k)
			require.NoError(tb, err)
		}
	}
	return c, keys
}
