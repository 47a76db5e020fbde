package collections_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// dsCommands counts the commands a client sends.
type dsCommands struct{ n atomic.Int64 }

func (h *dsCommands) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *dsCommands) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *dsCommands) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// TestLocalReads: with Options.Local, repeated reads (Dict.Get,
// DefaultDict.Get, Counter.Get, Set.Contains) are answered by the local
// tier; writes by any client reach them; a collection reads its own writes.
func TestLocalReads(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		rdb := be.client(t)
		cmds := &dsCommands{}
		if cc, ok := rdb.(*redis.ClusterClient); ok {
			cc.OnNewNode(func(n *redis.Client) { n.AddHook(cmds) })
		} else {
			rdb.(*redis.Client).AddHook(cmds)
		}
		store, err := cache.NewStore(be.client(t), cache.StoreOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = store.Close() })
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		require.NoError(t, store.WaitCoherent(wctx))

		name := dsName(t)
		d, err := collections.NewDict(rdb, name, collections.DictOptions[string, int]{Options: collections.Options{Local: store}})
		require.NoError(t, err)
		require.NoError(t, d.Set(ctx, "a", 1))
		require.Eventually(t, func() bool { // the Set's own invalidation may land after a first read
			before := cmds.n.Load()
			v, err := d.Get(ctx, "a")
			return err == nil && v == 1 && cmds.n.Load() == before
		}, 10*time.Second, time.Millisecond, "a repeated Get never became a local hit")
		before := cmds.n.Load()
		for range 100 {
			v, err := d.Get(ctx, "a")
			require.NoError(t, err)
			require.Equal(t, 1, v)
		}
		require.Equal(t, before, cmds.n.Load(), "local hits reached Redis")

		// Read your own writes, at once.
		require.NoError(t, d.Set(ctx, "a", 2))
		v, err := d.Get(ctx, "a")
		require.NoError(t, err)
		require.Equal(t, 2, v)

		// A write by another client (another process) is seen without a TTL.
		other, err := collections.NewDict(be.client(t), name, collections.DictOptions[string, int]{})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			before := cmds.n.Load()
			v, err := d.Get(ctx, "a")
			return err == nil && v == 2 && cmds.n.Load() == before
		}, 10*time.Second, time.Millisecond, "a=2 never became a local hit")
		require.NoError(t, other.Set(ctx, "a", 3))
		require.Eventually(t, func() bool { v, _ := d.Get(ctx, "a"); return v == 3 }, 10*time.Second, time.Millisecond, "the foreign write was not seen")

		// DefaultDict reads through the same tier.
		dd, err := collections.NewDefaultDict(rdb, dsName(t), collections.DefaultDictOptions[string, int]{
			DictOptions: collections.DictOptions[string, int]{Options: collections.Options{Local: store}},
			Default:     func() int { return 7 },
		})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			before := cmds.n.Load()
			v, err := dd.Get(ctx, "x")
			return err == nil && v == 7 && cmds.n.Load() == before
		}, 10*time.Second, time.Millisecond, "DefaultDict never served locally")

		// Counter.Get and Set.Contains read through the same tier.
		local := collections.Options{Local: store}
		cnt, err := collections.NewCounter(rdb, dsName(t), collections.CounterOptions[string]{Options: local})
		require.NoError(t, err)
		foreignCnt, err := collections.NewCounter(be.client(t), cnt.Name(), collections.CounterOptions[string]{})
		require.NoError(t, err)
		set, err := collections.NewSet(rdb, dsName(t), collections.SetOptions[string]{Options: local})
		require.NoError(t, err)
		foreignSet, err := collections.NewSet(be.client(t), set.Name(), collections.SetOptions[string]{})
		require.NoError(t, err)
		_, err = cnt.Incr(ctx, "k")
		require.NoError(t, err)
		_, err = set.Add(ctx, "m")
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			before := cmds.n.Load()
			n, err1 := cnt.Get(ctx, "k")
			in, err2 := set.Contains(ctx, "m")
			out, err3 := set.Contains(ctx, "absent")
			return err1 == nil && err2 == nil && err3 == nil && n == 1 && in && !out && cmds.n.Load() == before
		}, 10*time.Second, time.Millisecond, "Counter.Get and Set.Contains never served locally")
		_, err = cnt.Incr(ctx, "k") // own writes: seen at once
		require.NoError(t, err)
		n, err := cnt.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, int64(2), n)
		_, err = set.Add(ctx, "absent")
		require.NoError(t, err)
		in, err := set.Contains(ctx, "absent")
		require.NoError(t, err)
		require.True(t, in)
		_, err = foreignCnt.Incr(ctx, "k") // another process's writes: seen without a TTL
		require.NoError(t, err)
		require.NoError(t, foreignSet.Remove(ctx, "m"))
		require.Eventually(t, func() bool {
			n, _ := cnt.Get(ctx, "k")
			in, _ := set.Contains(ctx, "m")
			return n == 3 && !in
		}, 10*time.Second, time.Millisecond, "foreign writes to the counter and the set were not seen")
	})
}

// hgetGate holds the reply of the first HGETALL (a local copy's read of
// the whole dict) after it is armed until released: a read of the old value stays in flight while a write lands.
type hgetGate struct {
	armed   atomic.Bool
	read    chan struct{} // closed when the held HGET has its reply
	release chan struct{}
}

func (g *hgetGate) DialHook(next redis.DialHook) redis.DialHook { return next }
func (g *hgetGate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == "hgetall" && g.armed.CompareAndSwap(true, false) {
			close(g.read)
			<-g.release
		}
		return err
	}
}
func (g *hgetGate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestLocalOneViewPerProcess: two values of one collection in one process
// (the same name opened twice) share the Store's local view, in every
// coherence mode: one's write is seen by the other's next read at once
// (with no invalidation stream to rely on under None and pub/sub), a read
// in flight during the write does not keep the old value, and nothing is
// served locally once the Store is closed.
func TestLocalOneViewPerProcess(t *testing.T) {
	s := redistest.Start(t)
	for _, mode := range []cache.Coherence{cache.CoherenceTracking, cache.CoherencePubSub, cache.CoherenceNone} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := context.Background()
			store, err := cache.NewStore(s.Client(t), cache.StoreOptions{Coherence: mode})
			require.NoError(t, err)
			t.Cleanup(func() { _ = store.Close() })
			wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			require.NoError(t, store.WaitCoherent(wctx))

			name := dsName(t)
			opts := collections.DictOptions[string, int]{Options: collections.Options{Local: store}}
			w, err := collections.NewDict(s.Client(t), name, opts)
			require.NoError(t, err)
			rc := s.Client(t)
			cmds, gate := &dsCommands{}, &hgetGate{read: make(chan struct{}), release: make(chan struct{})}
			rc.AddHook(cmds)
			rc.AddHook(gate)
			r, err := collections.NewDict(rc, name, opts)
			require.NoError(t, err)

			localHit := func(field string, want int) bool {
				before := cmds.n.Load()
				v, err := r.Get(ctx, field)
				require.NoError(t, err)
				require.Equal(t, want, v)
				return cmds.n.Load() == before
			}
			require.NoError(t, w.Set(ctx, "a", 1))
			require.Eventually(t, func() bool { return localHit("a", 1) }, 10*time.Second, time.Millisecond, "r never kept a=1")

			// w's write reaches r's next read at once.
			require.NoError(t, w.Set(ctx, "a", 2))
			v, err := r.Get(ctx, "a")
			require.NoError(t, err)
			require.Equal(t, 2, v, "r served its copy of a=1 after w wrote a=2")

			// A read of b=1 in flight while w writes b=2 keeps nothing.
			require.NoError(t, w.Set(ctx, "b", 1))
			gate.armed.Store(true)
			got := make(chan int)
			go func() { v, _ := r.Get(ctx, "b"); got <- v }()
			<-gate.read
			require.NoError(t, w.Set(ctx, "b", 2))
			close(gate.release)
			require.Equal(t, 1, <-got, "the held read returns what it read")
			v, err = r.Get(ctx, "b")
			require.NoError(t, err)
			require.Equal(t, 2, v, "the read that overlapped the write kept b=1")

			// Closed: every read goes to Redis.
			require.Eventually(t, func() bool { return localHit("a", 2) }, 10*time.Second, time.Millisecond, "r never kept a=2")
			require.NoError(t, store.Close())
			require.False(t, localHit("a", 2), "served locally after the Store was closed")
		})
	}
}
