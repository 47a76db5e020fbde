package cache

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestOwnWritesStayLocal: in tracking and pub/sub modes a Store keeps what
// it wrote past the echo of its own write: Set then Get is a local hit,
// right away and once every echo has come; a later write by another Store
// still evicts it.
func TestOwnWritesStayLocal(t *testing.T) {
	for _, d := range deployments(t) {
		for _, mode := range []Coherence{CoherenceTracking, CoherencePubSub} {
			t.Run(d.name+"/"+mode.String(), func(t *testing.T) {
				ctx := context.Background()
				rdb := d.client(t)
				rt := &roundTrips{}
				addHook(rdb, rt)
				s := coherentStore(t, rdb, mode)
				c := newCache(t, s, Options[string]{})
				const n = 200
				for i := range n {
					k := fmt.Sprint("k", i)
					require.NoError(t, c.Set(ctx, k, "v"+k))
					hits := c.Stats().LocalHits
					v, err := c.Get(ctx, k)
					require.NoError(t, err)
					require.Equal(t, "v"+k, v)
					require.Equal(t, hits+1, c.Stats().LocalHits, "Set then Get of %s was not a local hit", k)
				}
				// Every echo has come and been checked.
				eventually(t, func() bool { return s.own.n.Load() == 0 }, "own writes still awaiting their echo")
				require.Equal(t, n, c.LocalLen(), "own writes evicted by their own echo")
				require.Zero(t, rt.during(func() {
					for i := range n {
						_, err := c.Get(ctx, fmt.Sprint("k", i))
						require.NoError(t, err)
					}
				}), "reads of own writes went to Redis")
				require.Positive(t, c.Stats().Invalidations, "no echo came: the test proves nothing")

				// A foreign write after them still evicts.
				other, err := New(coherentStore(t, d.client(t), mode), c.Namespace(), Options[string]{})
				require.NoError(t, err)
				require.NoError(t, other.Set(ctx, "k7", "foreign"))
				eventually(t, func() bool { v, _ := c.Get(ctx, "k7"); return v == "foreign" }, "a foreign write was swallowed")
			})
		}
	}
}

// addHook adds h to every node of rdb.
func addHook(rdb redis.UniversalClient, h redis.Hook) {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		cc.OnNewNode(func(n *redis.Client) { n.AddHook(h) })
		return
	}
	rdb.AddHook(h)
}

// TestOwnWriteFencesReads: a read whose GET ran before this Store's own Set
// or Delete, and whose reply is handled after it, must not keep the old
// value, in every mode (under None no echo would ever evict it).
func TestOwnWriteFencesReads(t *testing.T) {
	for _, mode := range []Coherence{CoherenceNone, CoherenceTracking} {
		for _, op := range []string{"set", "delete"} {
			t.Run(mode.String()+"/"+op, func(t *testing.T) {
				ctx := context.Background()
				srv := redistest.Start(t)
				rdb := srv.Client(t)
				var hold atomic.Pointer[chan struct{}]
				reached := make(chan struct{}, 1)
				rdb.AddHook(afterHook(func(cmd redis.Cmder) {
					if ch := hold.Load(); ch != nil && cmd.Name() == "get" {
						reached <- struct{}{}
						<-*ch
					}
				}))
				s := coherentStore(t, rdb, mode)
				c := newCache(t, s, Options[string]{})
				require.NoError(t, c.Set(ctx, "k", "old"))
				w, err := New(newStore(t, srv.Client(t), StoreOptions{}), c.Namespace(), Options[string]{})
				require.NoError(t, err)
				require.NoError(t, w.Delete(ctx, "k")) // c's copy goes (tracking) ...
				require.NoError(t, w.Set(ctx, "k", "old"))
				c.s.local.Purge() // ... and under None: start from an empty tier

				release := make(chan struct{})
				hold.Store(&release)
				got := make(chan string, 1)
				go func() { v, _ := c.Get(ctx, "k"); got <- v }()
				<-reached // the GET has read "old"; its reply is not handled yet
				hold.Store(nil)
				if op == "set" {
					require.NoError(t, c.Set(ctx, "k", "new"))
				} else {
					require.NoError(t, c.Delete(ctx, "k"))
				}
				close(release)
				require.Equal(t, "old", <-got)
				v, err := c.Get(ctx, "k")
				if op == "set" {
					require.NoError(t, err)
					require.Equal(t, "new", v, "the read in flight kept the old value over the own write")
				} else {
					require.ErrorIs(t, err, ErrNotFound, "the read in flight kept %q over the own delete", v)
				}
			})
		}
	}
}

// afterHook calls fn after each command's reply arrives, before the
// caller sees it.
type afterHook func(redis.Cmder)

func (h afterHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h afterHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { err := next(ctx, cmd); h(cmd); return err }
}
func (h afterHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestNearRegistersNothing: a Near the program no longer references is
// garbage collected (nothing in the Store keeps it), so creating many
// short-lived collections neither grows the heap nor the cost of an
// invalidation; Near.Invalidate fences a read in flight.
func TestNearRegistersNothing(t *testing.T) {
	srv := redistest.Start(t)
	s := coherentStore(t, srv.Client(t), CoherenceAuto)
	collected := make(chan struct{})
	func() {
		n, err := NewNear[string](s, time.Minute)
		require.NoError(t, err)
		runtime.SetFinalizer(n, func(*Near[string]) { close(collected) })
	}()
	eventually(t, func() bool {
		runtime.GC()
		select {
		case <-collected:
			return true
		default:
			return false
		}
	}, "the Store keeps an unreferenced Near alive")

	n, err := NewNear[string](s, time.Minute)
	require.NoError(t, err)
	rkey := s.opts.Prefix + "h"
	tok := n.Token() // a read starts ...
	n.Invalidate(rkey)
	n.Keep(rkey, "f", "old", 3, tok) // ... and ends after the own write
	_, ok := n.Get(rkey, "f")
	require.False(t, ok, "a read in flight kept a value across Invalidate")
	n.Keep(rkey, "f", "new", 3, n.Token())
	v, ok := n.Get(rkey, "f")
	require.True(t, ok)
	require.Equal(t, "new", v)
	n.Close()
	_, ok = n.Get(rkey, "f")
	require.False(t, ok, "a closed Near served")
}

// TestOwnBatchWriteSharingABucket: two keys of one SetMany whose
// invalidation marks share a bucket. The writer cannot keep the second key
// at once (the first key's fence covers its bucket), so its copy waits,
// hidden, for its echo; the check must come after that echo, or the echo,
// arriving once the registration is gone, evicts what the check kept.
func TestOwnBatchWriteSharingABucket(t *testing.T) {
	srv := redistest.Start(t)
	for _, mode := range []Coherence{CoherenceTracking, CoherencePubSub} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := context.Background()
			s := coherentStore(t, srv.Client(t), mode)
			c := newCache(t, s, Options[string]{})
			first := "b0"
			second := ""
			for i := 1; second == ""; i++ {
				if k := fmt.Sprint("b", i); s.coh.bucket(c.prefix+k) == s.coh.bucket(c.prefix+first) {
					second = k
				}
			}
			require.NoError(t, c.SetMany(ctx, map[string]string{first: "1", second: "2"}))
			eventually(t, func() bool { return s.own.n.Load() == 0 }, "own writes still awaiting their echo")
			require.Equal(t, uint64(2), c.Stats().Invalidations, "both echoes came")
			require.Equal(t, 2, c.LocalLen(), "an own write evicted by its own echo")
			for k, want := range map[string]string{first: "1", second: "2"} {
				hits := c.Stats().LocalHits
				v, err := c.Get(ctx, k)
				require.NoError(t, err)
				require.Equal(t, want, v)
				require.Equal(t, hits+1, c.Stats().LocalHits, "%s was not a local hit", k)
			}
		})
	}
}
