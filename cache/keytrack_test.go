package cache

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
)

// TestCoherenceModes runs the tracking guarantees of TestCoherence (foreign
// writes, the torture, a killed and a held-down stream) in the per-namespace
// broadcast and key-level modes, on a single server and on a 3-master
// cluster, and what only key-level tracking must show.
func TestCoherenceModes(t *testing.T) {
	for _, d := range deployments(t) {
		for _, mode := range []Coherence{CoherenceTrackingNamespaces, CoherenceTrackingKeys} {
			d := d
			d.mode = mode
			t.Run(d.name+"/"+mode.String(), func(t *testing.T) {
				t.Run("ForeignWrites", func(t *testing.T) { testForeignWrites(t, d) })
				t.Run("Torture", func(t *testing.T) { testTorture(t, d) })
				t.Run("ConnectionKilled", func(t *testing.T) { testConnectionKilled(t, d) })
				t.Run("ConnectionHeldDown", func(t *testing.T) { testConnectionHeldDown(t, d) })
				t.Run("HearsOnlyItsOwn", func(t *testing.T) { testHearsOnlyItsOwn(t, d) })
				t.Run("ServerRestarted", func(t *testing.T) { testServerRestarted(t, d) })
				if mode == CoherenceTrackingNamespaces {
					t.Run("LateNamespace", func(t *testing.T) { testLateNamespace(t, d) })
				}
				if mode == CoherenceTrackingKeys {
					t.Run("DataConnectionKilled", func(t *testing.T) { testDataConnectionKilled(t, d) })
					t.Run("TrackingTableFull", func(t *testing.T) { testTrackingTableFull(t, d) })
					if !d.cluster { // a Cluster's follower sees a master restart, whatever its stream
						t.Run("RestartUnseenByStream", func(t *testing.T) { testRestartUnseenByStream(t, d) })
					}
					t.Run("OwnWrites", func(t *testing.T) { ownWritesTorture(t, d, mode) })
					t.Run("CloseLeavesNoConnection", func(t *testing.T) { testCloseLeavesNoConnection(t, d) })
				}
			})
		}
	}
}

// hearing records the keys of every invalidation message a Store's streams
// receive.
type hearing struct {
	mu   sync.Mutex
	keys map[string]int
}

func hear(s *Store) *hearing {
	h := &hearing{keys: map[string]int{}}
	fn := func(_ string, m *redis.Message) {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, k := range m.PayloadSlice {
			h.keys[k]++
		}
		if m.Payload != "" {
			h.keys[m.Payload]++
		}
	}
	s.coh.heard.Store(&fn)
	return h
}

func (h *hearing) count(k string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.keys[k]
}

// testHearsOnlyItsOwn: a Store is told of writes to what it may hold, not
// of the others: under per-namespace broadcast, the keys of its namespaces;
// under key-level tracking, the keys it read. The write it must not hear
// goes first, on the same server, and the one it must hear after: once the
// second has arrived, the first would have.
func testHearsOnlyItsOwn(t *testing.T, d deployment) {
	ctx := context.Background()
	s := coherentStore(t, d.client(t), d.mode)
	h := hear(s)
	mine := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	other := newCache(t, coherentStore(t, d.client(t), CoherenceNone), Options[string]{Codec: codec.String()})
	foreign := d.client(t)
	set := func(rkey, v string) {
		t.Helper()
		require.NoError(t, foreign.Set(ctx, rkey, envelope(t, v), time.Hour).Err())
	}
	// One hash slot for all: one server, one ordered stream.
	read, unread, otherNS := mine.RedisKey("{t}read"), mine.RedisKey("{t}unread"), other.RedisKey("{t}x")
	for _, k := range []string{read, unread, otherNS} {
		set(k, "v1")
	}
	// A namespace opened after the streams were up restarts them (under
	// per-namespace broadcast): the Store is coherent again once they are.
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(wctx))
	v, err := mine.Get(ctx, "{t}read")
	require.NoError(t, err)
	require.Equal(t, "v1", v)
	require.True(t, local(mine, "{t}read"))

	set(otherNS, "v2")
	if d.mode == CoherenceTrackingKeys {
		set(unread, "v2")
	}
	set(read, "v2")
	eventually(t, func() bool { return h.count(read) > 0 }, "the write of a key read was not heard")
	require.Zero(t, h.count(otherNS), "heard a write to another namespace")
	if d.mode == CoherenceTrackingKeys {
		require.Zero(t, h.count(unread), "heard a write to a key never read")
	}
	eventually(t, func() bool { v, _ := mine.Get(ctx, "{t}read"); return v == "v2" }, "the write was not seen")
}

// trackedIDs returns the client ids of the connections on srv that track
// keys for another connection (the Store's tracked read connections).
func trackedIDs(t *testing.T, cl *redis.Client) []string {
	t.Helper()
	list, err := cl.ClientList(context.Background()).Result()
	require.NoError(t, err)
	var ids []string
	for _, line := range strings.Split(list, "\n") {
		f := map[string]string{}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			f[k] = v
		}
		if r, ok := f["redir"]; ok && r != "-1" && r != "0" {
			ids = append(ids, f["id"])
		}
	}
	return ids
}

// testDataConnectionKilled: Redis forgets what a connection read when it
// closes, and would send no invalidation for it. Killing the Store's
// tracked read connections (not its streams) flushes the local tier before
// a write made after the kill can be served stale (see killAndRecover).
func testDataConnectionKilled(t *testing.T, d deployment) {
	killAndRecover(t, d, func(t *testing.T, rkey string) {
		srv := d.servers[d.serverOf(rkey)].Client(t)
		ids := trackedIDs(t, srv)
		require.NotEmpty(t, ids, "no tracked read connection on the key's server")
		for _, id := range ids {
			require.NoError(t, srv.ClientKillByFilter(context.Background(), "ID", id).Err())
		}
	})
}

// testTrackingTableFull: with Redis' tracking table capped, Redis evicts
// keys from it and sends their invalidation; the Store drops them, and
// serves no key stale after writes to all of them.
func testTrackingTableFull(t *testing.T, d deployment) {
	ctx := context.Background()
	for _, srv := range d.servers {
		cl := srv.Client(t)
		require.NoError(t, cl.ConfigSet(ctx, "tracking-table-max-keys", "5").Err())
		t.Cleanup(func() { _ = cl.ConfigSet(context.Background(), "tracking-table-max-keys", "1000000").Err() })
	}
	s := coherentStore(t, d.client(t), d.mode)
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	foreign := d.client(t)
	const n = 60
	for i := range n {
		require.NoError(t, foreign.Set(ctx, c.RedisKey(fmt.Sprint("k", i)), envelope(t, "old"), time.Hour).Err())
	}
	for i := range n {
		v, err := c.Get(ctx, fmt.Sprint("k", i))
		require.NoError(t, err)
		require.Equal(t, "old", v)
	}
	eventually(t, func() bool { return c.Stats().Invalidations > 0 }, "no key was evicted from the tracking table")
	evicted := c.Stats().Invalidations
	for i := range n {
		require.NoError(t, foreign.Set(ctx, c.RedisKey(fmt.Sprint("k", i)), envelope(t, "new"), time.Hour).Err())
	}
	eventually(t, func() bool {
		for i := range n {
			if v, err := c.Get(ctx, fmt.Sprint("k", i)); err != nil || v != "new" {
				return false
			}
		}
		return true
	}, "a key evicted from the tracking table was served stale")
	t.Logf("%d keys evicted from the tracking table before the writes", evicted)
}

// testLateNamespace: a namespace opened once the streams are up is not
// covered by them; opening it counts the Store down at once (before New
// returns), so no read of it is kept until the streams have restarted with
// its prefix, and after that a foreign write to it is seen.
func testLateNamespace(t *testing.T, d deployment) {
	ctx := context.Background()
	s := coherentStore(t, d.client(t), d.mode)
	foreign := d.client(t)
	ns := uniqueNS(t)
	rkey := s.opts.Prefix + ns + ":k"
	require.NoError(t, foreign.Set(ctx, rkey, envelope(t, "old"), time.Hour).Err())
	resyncs := s.Stats().Resyncs
	c, err := New(s, ns, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	require.NoError(t, err)
	require.Error(t, s.Ready(), "a new namespace's stream restart was not counted at once")
	require.Greater(t, s.Stats().Resyncs, resyncs)
	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "old", v)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(wctx))
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "old" && local(c, "k") }, "never cached")
	require.NoError(t, foreign.Set(ctx, rkey, envelope(t, "new"), time.Hour).Err())
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "new" }, "a write to the late namespace was not seen")
	n := 0
	for _, p := range s.coh.prefixes() {
		if p == s.opts.Prefix+ns+":" {
			n++
		}
	}
	require.Equal(t, 1, n, "the streams do not track the namespace's prefix: %v", s.coh.prefixes())
}

// testServerRestarted: the server holding a key the Store keeps is killed
// and restarted (empty: no persistence) and the key written again. From the
// restart on the Store never serves the old value; once coherent again it
// keeps the new one and sees the next write.
func testServerRestarted(t *testing.T, d deployment) {
	ctx := context.Background()
	s := coherentStore(t, d.client(t), d.mode)
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	foreign := d.client(t)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(wctx))
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "old"), time.Hour).Err())
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "old" && local(c, "k") }, "never cached")

	srv := d.servers[d.serverOf(c.RedisKey("k"))]
	srv.Kill()
	srv.Restart()
	eventually(t, func() bool { return foreign.Set(ctx, c.RedisKey("k"), envelope(t, "new"), time.Hour).Err() == nil }, "the restarted server never took the write")
	check := func() bool {
		v, err := c.Get(ctx, "k")
		require.NotEqual(t, "old", v, "served the value the restarted server no longer holds (err %v)", err)
		return err == nil && v == "new"
	}
	eventually(t, func() bool { return check() && s.Ready() == nil && local(c, "k") }, "never coherent with the new value kept")
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "newer"), time.Hour).Err())
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "newer" }, "a write after the restart was not seen")
}

// testRestartUnseenByStream: the server is restarted while its stream,
// blackholed, has not noticed (it will at its next health ping, a second or
// more later). The read connections redial the new process at once; Redis
// tracks nothing for a stream it does not know, so nothing read through
// them may be kept until the stream is back: a write right after a read is
// seen by the next read.
func testRestartUnseenByStream(t *testing.T, d deployment) {
	ctx := context.Background()
	s, proxies := proxiedStore(t, d)
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	foreign := d.client(t)
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "old"), time.Hour).Err())
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "old" && local(c, "k") }, "never cached")

	srv := d.servers[d.serverOf(c.RedisKey("k"))]
	proxies[srv.Addr].Blackhole()
	srv.Kill()
	srv.Restart()
	eventually(t, func() bool { return foreign.Set(ctx, c.RedisKey("k"), envelope(t, "new"), time.Hour).Err() == nil }, "the restarted server never took the write")
	checked, uncovered := 0, false
	for i := range 20 {
		v, err := c.Get(ctx, "k")
		if err != nil {
			continue // the breaker, after the kill
		}
		require.NotEqual(t, "old", v)
		uncovered = uncovered || s.coh.kt.cur.Load().uncovered.Load()
		want := fmt.Sprint("v", i)
		require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, want), time.Hour).Err())
		if v, err := c.Get(ctx, "k"); err == nil {
			require.Equal(t, want, v, "kept a read the restarted server does not track")
			checked++
		}
	}
	require.Positive(t, checked, "no read answered: the test proves nothing")
	require.True(t, uncovered, "no read met the restarted server before its stream noticed: the test proves nothing")
	require.NoError(t, s.Ready(), "the stream noticed the restart before the reads: the test proves nothing")
	proxies[srv.Addr].Heal()
	require.NoError(t, s.WaitCoherent(wctx))
}

// testCloseLeavesNoConnection: Close closes the Store's tracked read
// connections, those of the generation in use and those of generations
// retired when a stream reconnected.
func testCloseLeavesNoConnection(t *testing.T, d deployment) {
	ctx := context.Background()
	s, err := NewStore(d.client(t), StoreOptions{Coherence: d.mode})
	require.NoError(t, err)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(wctx))
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	tracked := func() int {
		n := 0
		for _, srv := range d.servers {
			n += len(trackedIDs(t, srv.Client(t)))
		}
		return n
	}
	_, _ = c.Get(ctx, "a") // a connection of the first generation
	before := tracked()
	require.Positive(t, before)
	resyncs := s.Stats().Resyncs
	for _, srv := range d.servers {
		require.NoError(t, srv.Client(t).ClientKillByFilter(ctx, "TYPE", "pubsub").Err())
	}
	eventually(t, func() bool { return s.Stats().Resyncs > resyncs && s.Ready() == nil }, "never coherent again")
	_, _ = c.Get(ctx, "b") // and one of the next
	require.Greater(t, tracked(), before, "the retired generation's connections are gone already: the test proves nothing")
	require.NoError(t, s.Close())
	eventually(t, func() bool { return tracked() == 0 }, "tracked connections left open after Close")
}
