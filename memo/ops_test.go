package memo_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/memo"
)

// opsHarness is a memoized function whose next result (or error) a test
// case sets.
type opsHarness struct {
	t    *testing.T
	ctx  context.Context
	rdb  redis.UniversalClient
	b    backend
	name string
	opts memo.Options[result]
	f    *memo.Func[query, result]

	runs atomic.Int64
	next atomic.Int64          // N of the next result
	fail atomic.Pointer[error] // error of the next runs, when set
}

func (h *opsHarness) fn(_ context.Context, q query) (result, error) {
	h.runs.Add(1)
	if err := h.fail.Load(); err != nil {
		return result{}, *err
	}
	return result{Text: q.Lang, N: int(h.next.Load())}, nil
}

// newFunc memoizes h.fn under h.name in another Store. The Stores run
// without coherence, so that whether a Call is a local or a remote hit does
// not depend on when a Store hears of its own writes (see calls): the table
// checks memo's accounting exactly.
func (h *opsHarness) newFunc(opts memo.Options[result]) *memo.Func[query, result] {
	s := newStoreWith(h.t, h.b.newClient(h.t), cache.StoreOptions{Coherence: cache.CoherenceNone})
	f, err := memo.New(s, h.name, h.fn, opts)
	require.NoError(h.t, err)
	return f
}

// call calls h.f and checks the result's N (-1: want cache.ErrNotFound).
func (h *opsHarness) call(q query, wantN int) {
	h.t.Helper()
	got, err := h.f.Call(h.ctx, q)
	if wantN < 0 {
		require.ErrorIs(h.t, err, cache.ErrNotFound)
		return
	}
	require.NoError(h.t, err)
	require.Equal(h.t, result{Text: q.Lang, N: wantN}, got)
}

func (h *opsHarness) failWith(err error) {
	if err == nil {
		h.fail.Store(nil)
		return
	}
	h.fail.Store(&err)
}

// inRedis reports whether q's result is in Redis.
func (h *opsHarness) inRedis(q query) bool {
	k, err := h.f.Key(q)
	require.NoError(h.t, err)
	n, err := h.rdb.Exists(h.ctx, cache.DefaultPrefix+h.f.Namespace()+":"+k).Result()
	require.NoError(h.t, err)
	return n == 1
}

func testOperations(t *testing.T, b backend) {
	q1, q2, q3 := newQuery(1, "one"), newQuery(2, "two"), newQuery(3, "three")
	errDown := errors.New("backend down")
	cases := []struct {
		name string
		opts memo.Options[result]
		run  func(h *opsHarness)
		want memo.Info
		runs int64
	}{{
		name: "Call: a miss, then a local hit",
		run: func(h *opsHarness) {
			h.call(q1, 0)
			h.call(q1, 0)
		},
		want: memo.Info{Hits: 1, LocalHits: 1, Misses: 1, Loads: 1, Size: 1},
		runs: 1,
	}, {
		name: "Bypass replaces the result and counts neither hit nor miss",
		run: func(h *opsHarness) {
			h.call(q1, 0)
			h.next.Store(1)
			got, err := h.f.Bypass(h.ctx, q1)
			require.NoError(h.t, err)
			require.Equal(h.t, 1, got.N)
			h.call(q1, 1)
			other := h.newFunc(h.opts)
			got, err = other.Call(h.ctx, q1)
			require.NoError(h.t, err)
			require.Equal(h.t, 1, got.N, "other processes read the new result")
		},
		want: memo.Info{Hits: 1, LocalHits: 1, Misses: 1, Loads: 1, Bypasses: 1, Size: 1},
		runs: 2,
	}, {
		name: "Bypass of an argument never called",
		run: func(h *opsHarness) {
			_, err := h.f.Bypass(h.ctx, q2)
			require.NoError(h.t, err)
			require.True(h.t, h.inRedis(q2))
			h.call(q2, 0)
		},
		want: memo.Info{Hits: 1, LocalHits: 1, Bypasses: 1, Size: 1},
		runs: 1,
	}, {
		name: "Bypass that fails keeps the cached result",
		run: func(h *opsHarness) {
			h.call(q1, 0)
			h.failWith(errDown)
			_, err := h.f.Bypass(h.ctx, q1)
			require.ErrorIs(h.t, err, errDown)
			h.failWith(nil)
			h.next.Store(5)
			h.call(q1, 0)
		},
		want: memo.Info{Hits: 1, LocalHits: 1, Misses: 1, Loads: 1, Bypasses: 1, Size: 1},
		runs: 2,
	}, {
		name: "Bypass finding nothing removes the result",
		run: func(h *opsHarness) {
			h.call(q1, 0)
			h.failWith(cache.ErrNotFound)
			_, err := h.f.Bypass(h.ctx, q1)
			require.ErrorIs(h.t, err, cache.ErrNotFound)
			require.False(h.t, h.inRedis(q1))
			h.failWith(nil)
			h.next.Store(3)
			h.call(q1, 3)
		},
		want: memo.Info{Misses: 2, Loads: 2, Bypasses: 1, Size: 1},
		runs: 3,
	}, {
		name: "Bypass finding nothing, with NegativeTTL, remembers it",
		opts: memo.Options[result]{Cache: cache.Options[result]{NegativeTTL: time.Minute}},
		run: func(h *opsHarness) {
			h.call(q1, 0)
			h.failWith(cache.ErrNotFound)
			_, err := h.f.Bypass(h.ctx, q1)
			require.ErrorIs(h.t, err, cache.ErrNotFound)
			h.failWith(nil)
			h.call(q1, -1) // a negative hit: the function does not run
		},
		want: memo.Info{NegativeHits: 1, Misses: 1, Loads: 1, Bypasses: 1, Size: 1},
		runs: 2,
	}, {
		name: "Forget removes one result from both tiers",
		run: func(h *opsHarness) {
			h.call(q1, 0)
			h.call(q2, 0)
			require.NoError(h.t, h.f.Forget(h.ctx, q1))
			require.False(h.t, h.inRedis(q1))
			require.True(h.t, h.inRedis(q2))
			require.Equal(h.t, 1, h.f.Info().Size)
			h.next.Store(1)
			h.call(q1, 1)
			h.call(q2, 0)
		},
		want: memo.Info{Hits: 1, LocalHits: 1, Misses: 3, Loads: 3, Size: 2},
		runs: 3,
	}, {
		name: "Clear removes every result of this name and version only",
		run: func(h *opsHarness) {
			sibling := h.newFunc(memo.Options[result]{Version: 1})
			_, err := sibling.Call(h.ctx, q1)
			require.NoError(h.t, err)
			for _, q := range []query{q1, q2, q3} {
				h.call(q, 0)
			}
			require.Len(h.t, redisKeys(h.t, h.rdb, h.f.Namespace()), 3)
			require.NoError(h.t, h.f.Clear(h.ctx))
			require.Empty(h.t, redisKeys(h.t, h.rdb, h.f.Namespace()))
			require.Len(h.t, redisKeys(h.t, h.rdb, sibling.Namespace()), 1, "another version keeps its results")
			require.Zero(h.t, h.f.Info().Size)
			h.next.Store(9)
			h.call(q1, 9)
		},
		want: memo.Info{Misses: 4, Loads: 4, Size: 1},
		runs: 5,
	}, {
		name: "Version orphans the results of older versions",
		run: func(h *opsHarness) {
			h.call(q1, 0)
			h.next.Store(2)
			v2 := h.newFunc(memo.Options[result]{Version: 2})
			require.Equal(h.t, "memo."+h.name+".v2", v2.Namespace())
			got, err := v2.Call(h.ctx, q1)
			require.NoError(h.t, err)
			require.Equal(h.t, 2, got.N, "version 2 ran the function again")
			h.call(q1, 0)
		},
		want: memo.Info{Hits: 1, LocalHits: 1, Misses: 1, Loads: 1, Size: 1},
		runs: 2,
	}, {
		name: "Errors are counted and not cached",
		run: func(h *opsHarness) {
			h.failWith(errDown)
			_, err := h.f.Call(h.ctx, q1)
			require.ErrorIs(h.t, err, errDown)
			require.False(h.t, h.inRedis(q1))
		},
		want: memo.Info{Misses: 1, Loads: 1, Errors: 1},
		runs: 1,
	}, {
		name: "Size counts this process's local entries; remote hits fill it",
		run: func(h *opsHarness) {
			other := h.newFunc(h.opts)
			for _, q := range []query{q1, q2, q3} {
				_, err := other.Call(h.ctx, q)
				require.NoError(h.t, err)
			}
			require.Zero(h.t, h.f.Info().Size, "results only in Redis")
			h.call(q1, 0)
			h.call(q2, 0)
		},
		want: memo.Info{Hits: 2, RemoteHits: 2, Size: 2},
		runs: 3,
	}}
	rdb := b.newClient(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := &opsHarness{t: t, ctx: context.Background(), rdb: rdb, b: b, name: uniqueName(), opts: c.opts}
			h.f = h.newFunc(c.opts)
			c.run(h)
			require.Equal(t, c.want, h.f.Info())
			require.Equal(t, c.runs, h.runs.Load(), "runs of the function")
		})
	}
}
