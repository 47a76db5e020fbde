package cache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
)

// TestStoreStatsSumNamespaces: Store.Stats sums every Cache's counters and
// NamespaceStats sums the Caches of each name.
func TestStoreStatsSumNamespaces(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, redistest.Start(t).Client(t), StoreOptions{})
	opts := Options[string]{Codec: codec.String()}
	a1, a2, b := newCache(t, s, opts), newCache(t, s, opts), newCache(t, s, opts)
	a2b, err := New(s, a1.Namespace(), opts) // a second Cache of a1's namespace
	require.NoError(t, err)
	for _, c := range []*Cache[string]{a1, a2b, b} {
		_, err := c.Get(ctx, "absent")
		require.ErrorIs(t, err, ErrNotFound)
	}
	require.NoError(t, b.Set(ctx, "k", "v"))
	_, err = b.Get(ctx, "k")
	require.NoError(t, err)

	st := s.Stats()
	require.Equal(t, uint64(3), st.Misses)
	require.Equal(t, uint64(1), st.LocalHits+st.RemoteHits)
	byNS := s.NamespaceStats()
	require.Equal(t, uint64(2), byNS[a1.Namespace()].Misses)
	require.Equal(t, uint64(1), byNS[b.Namespace()].Misses)
	require.Equal(t, uint64(0), byNS[a2.Namespace()].Misses)
	require.Equal(t, st.LocalEntries, byNS[b.Namespace()].LocalEntries) // store-wide fields in each
	require.Equal(t, a1.Stats().Misses+a2b.Stats().Misses, byNS[a1.Namespace()].Misses)
}

// TestHooksReportEvents: each hook receives its event, and none runs on a
// local hit.
func TestHooksReportEvents(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, redistest.Start(t).Client(t), StoreOptions{})
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	var loads, calls, callErrs int
	var loadErr error
	s.SetHooks(&Hooks{
		Load: func(ns string, d time.Duration, err error) {
			require.Equal(t, c.Namespace(), ns)
			loads++
			loadErr = err
		},
		RedisCall: func(d time.Duration, err error) {
			calls++
			if err != nil {
				callErrs++
			}
		},
	})
	boom := errors.New("boom")
	_, err := c.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "", boom })
	require.ErrorIs(t, err, boom)
	require.Equal(t, 1, loads)
	require.ErrorIs(t, loadErr, boom)
	require.Positive(t, calls)
	require.Zero(t, callErrs, "a missing key is no error")

	require.NoError(t, c.Set(ctx, "k", "v"))
	_, err = c.Get(ctx, "k") // CoherenceNone: kept locally by the Set
	require.NoError(t, err)
	require.True(t, local(c, "k"))
	before := calls
	for range 10 {
		_, err := c.Get(ctx, "k")
		require.NoError(t, err)
	}
	require.Equal(t, before, calls, "a local hit calls no hook")

	s.SetHooks(nil)
	_, _ = c.GetOrLoad(ctx, "k2", func(context.Context) (string, error) { return "v", nil })
	require.Equal(t, 1, loads)
}

// TestReady: a Store without coherence is ready; a closed one is not.
func TestReady(t *testing.T) {
	s := newStore(t, redistest.Start(t).Client(t), StoreOptions{})
	require.NoError(t, s.Ready())
	require.NoError(t, s.Close())
	require.ErrorIs(t, s.Ready(), ErrClosed)
}
