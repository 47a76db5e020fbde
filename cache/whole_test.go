package cache

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWhole: a whole hash kept through Whole is served until any client
// writes it, is not kept when a write overtook its read, and is dropped by a
// flush, an eviction and Close.
func TestWhole(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			s := coherentStore(t, d.client(t), CoherenceAuto)
			foreign := d.client(t)
			rkey := "tc:{" + uniqueNS(t) + "}:dict"
			w, err := NewWhole[map[string]string](s, rkey, time.Hour)
			require.NoError(t, err)
			require.NoError(t, foreign.HSet(ctx, rkey, "f", "v1").Err())

			fetch := func(ctx context.Context) (map[string]string, int, error) {
				m, err := foreign.HGetAll(ctx, rkey).Result()
				return m, 64, err
			}
			read := func() (string, bool) {
				if m, ok := w.Get(); ok {
					return m["f"], true
				}
				m, _, err := w.Load(ctx, fetch)
				require.NoError(t, err)
				return m["f"], false
			}
			// The HSET's own invalidation may land after a first load.
			eventually(t, func() bool { v, local := read(); return local && v == "v1" }, "never kept")

			// A foreign write is seen once its invalidation arrives.
			require.NoError(t, foreign.HSet(ctx, rkey, "f", "v2").Err())
			eventually(t, func() bool { _, ok := w.Get(); return !ok }, "the write was not seen")
			v, local := read()
			require.Equal(t, "v2", v)
			require.False(t, local)
			v, local = read()
			require.True(t, local && v == "v2", "the reload was not kept")

			// An own write is seen at once.
			w.Invalidate()
			_, ok := w.Get()
			require.False(t, ok)

			// A load whose read a write overtook is not kept.
			_, _, err = w.Load(ctx, func(ctx context.Context) (map[string]string, int, error) {
				m, _, err := fetch(ctx)
				tok := s.coh.token()
				require.NoError(t, foreign.HSet(ctx, rkey, "f", "v3").Err())
				eventually(t, func() bool { return !s.coh.keepable(rkey, tok) }, "the write was not seen")
				return m, 64, err
			})
			require.NoError(t, err)
			_, ok = w.Get()
			require.False(t, ok, "kept a value a write overtook")
			require.Equal(t, "v3", must(read()))

			// A flush drops it.
			require.Equal(t, "v3", must(read()))
			s.coh.flush()
			_, ok = w.Get()
			require.False(t, ok, "served after a flush")

			// Close drops it and keeps nothing more.
			read()
			w.Close()
			_, ok = w.Get()
			require.False(t, ok)
			read()
			_, ok = w.Get()
			require.False(t, ok, "kept after Close")
		})
	}
}

func must(v string, _ bool) string { return v }

// TestWholeBudget: a value over the byte budget is not kept, counted, and
// not read in full again until the key is written; an evicted copy is not
// served.
func TestWholeBudget(t *testing.T) {
	d := deployments(t)[0]
	ctx := context.Background()
	s, err := NewStore(d.client(t), StoreOptions{MaxBytes: 64 << 10})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(wctx))
	rkey := "tc:{" + uniqueNS(t) + "}:set"
	w, err := NewWhole[string](s, rkey, time.Hour)
	require.NoError(t, err)

	fetches := 0
	big := func(context.Context) (string, int, error) { fetches++; return "big", 1 << 20, nil }
	_, ok, err := w.Load(ctx, big)
	require.NoError(t, err)
	require.True(t, ok, "Load returns what it read")
	_, ok = w.Get()
	require.False(t, ok, "kept a copy over budget")
	require.Equal(t, WholeStats{Loads: 1, OverBudget: 1}, w.Stats())
	_, ok, err = w.Load(ctx, big)
	require.NoError(t, err)
	require.False(t, ok, "read a value known too big in full again")
	require.Equal(t, 1, fetches)
	w.Invalidate() // a write: it may fit now
	small := func(context.Context) (string, int, error) { fetches++; return "small", 10, nil }
	v, ok, err := w.Load(ctx, small)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "small", v)
	_, ok = w.Get()
	require.True(t, ok)

	// Entries of a Near fill the tier; the copy is evicted and not served.
	n, err := NewNear[string](s, time.Hour)
	require.NoError(t, err)
	for i := 0; i < 2000; i++ {
		k := strings.Repeat("x", 10) + string(rune('a'+i%26)) + string(rune(i))
		n.Keep("tc:{other}:h", k, k, 100, n.Token())
	}
	_, ok = w.Get()
	require.False(t, ok, "served a copy the tier evicted")
}

// TestWholeVersionsReleased: the Store forgets a key's version once no
// Whole of it is reachable.
func TestWholeVersionsReleased(t *testing.T) {
	s := coherentStore(t, deployments(t)[0].client(t), CoherenceAuto)
	rkey := "tc:{" + uniqueNS(t) + "}:x"
	w, err := NewWhole[int](s, rkey, time.Minute)
	require.NoError(t, err)
	w2, err := NewWhole[int](s, rkey, time.Minute)
	require.NoError(t, err)
	require.Same(t, w.ver, w2.ver)
	runtime.KeepAlive(w)
	runtime.KeepAlive(w2)
	w, w2 = nil, nil
	eventually(t, func() bool {
		runtime.GC()
		_, ok := s.wholes.Load(rkey)
		return !ok
	}, "the version outlived its Wholes")
}

// TestWholeStreamLost: when the invalidation connection is killed, the copy
// is not served, Load keeps nothing (and reads nothing in full) while the
// stream is down, and keeps again once it is back.
func TestWholeStreamLost(t *testing.T) {
	d := deployments(t)[0]
	ctx := context.Background()
	s := coherentStore(t, d.client(t), CoherenceAuto)
	foreign := d.client(t)
	rkey := "tc:{" + uniqueNS(t) + "}:set"
	require.NoError(t, foreign.SAdd(ctx, rkey, "a").Err())
	w, err := NewWhole[[]string](s, rkey, time.Hour)
	require.NoError(t, err)
	fetches := 0
	fetch := func(ctx context.Context) ([]string, int, error) {
		fetches++
		m, err := foreign.SMembers(ctx, rkey).Result()
		return m, 16, err
	}
	eventually(t, func() bool {
		if _, ok := w.Get(); ok {
			return true
		}
		_, _, err := w.Load(ctx, fetch)
		require.NoError(t, err)
		return false
	}, "never kept")

	require.NoError(t, foreign.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err())
	eventually(t, func() bool { _, ok := w.Get(); return !ok }, "served after the stream was lost")

	// While a stream is down (held down here, as an outage would), Load
	// neither keeps nor reads in full.
	s.coh.setDown(1)
	n := fetches
	_, ok, err := w.Load(ctx, fetch)
	require.NoError(t, err)
	require.False(t, ok)
	require.Equal(t, n, fetches, "read in full while nothing could be kept")
	s.coh.setDown(-1)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(wctx))
	eventually(t, func() bool {
		if _, ok := w.Get(); ok {
			return true
		}
		_, _, err := w.Load(ctx, fetch)
		require.NoError(t, err)
		return false
	}, "never kept again")
}
