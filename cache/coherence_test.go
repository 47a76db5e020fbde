package cache

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/keys"
	"github.com/tiercache/tiercache/internal/redistest"
)

// TestCoherence runs the coherence guarantees on a single server and on a
// 3-master cluster.
func TestCoherence(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			t.Run("ForeignWrites", func(t *testing.T) { testForeignWrites(t, d) })
			t.Run("Torture", func(t *testing.T) { testTorture(t, d) })
			t.Run("ConnectionKilled", func(t *testing.T) { testConnectionKilled(t, d) })
			t.Run("ConnectionHeldDown", func(t *testing.T) { testConnectionHeldDown(t, d) })
			t.Run("ServerRestarted", func(t *testing.T) { testServerRestarted(t, d) })
			t.Run("PubSub", func(t *testing.T) { testPubSub(t, d) })
			t.Run("FleetLease", func(t *testing.T) { testFleetLease(t, d) })
			t.Run("LeaseHolderKilled", func(t *testing.T) { testLeaseHolderKilled(t, d) })
		})
	}
}

// testForeignWrites: writes by a plain go-redis client and by redis-cli (a
// separate process) reach a Store's next reads without waiting for a TTL.
func testForeignWrites(t *testing.T, d deployment) {
	ctx := context.Background()
	s := coherentStore(t, d.client(t), d.mode)
	require.Equal(t, d.trackingMode(), s.Coherence())
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	foreign := d.client(t)
	cached := func(k, want string) {
		t.Helper()
		eventually(t, func() bool {
			v, err := c.Get(ctx, k)
			return err == nil && v == want && local(c, k)
		}, "%s=%s never cached locally", k, want)
	}
	for i := range 10 {
		k := fmt.Sprint("k", i)
		require.NoError(t, c.Set(ctx, k, "v1"))
		cached(k, "v1")

		require.NoError(t, foreign.Set(ctx, c.RedisKey(k), envelope(t, "v2"), time.Hour).Err())
		eventually(t, func() bool { v, _ := c.Get(ctx, k); return v == "v2" }, "go-redis write not seen")
		cached(k, "v2")

		d.cli(t, c.RedisKey(k), envelope(t, "v3"), "-x", "SET", c.RedisKey(k))
		eventually(t, func() bool { v, _ := c.Get(ctx, k); return v == "v3" }, "redis-cli SET not seen")
		cached(k, "v3")

		require.Equal(t, "1", d.cli(t, c.RedisKey(k), nil, "DEL", c.RedisKey(k)))
		eventually(t, func() bool { _, err := c.Get(ctx, k); return errors.Is(err, ErrNotFound) }, "redis-cli DEL not seen")
	}
	st := c.Stats()
	require.Positive(t, st.Invalidations)
	require.True(t, st.Coherent)
}

// testTorture: writers through tiercache and foreign writers race readers
// in three Stores; once the writers stop and the streams are drained, every
// Store answers every key as Redis does (see runTopologyTorture).
func testTorture(t *testing.T, d deployment) {
	var stores []*Store
	for range 3 {
		stores = append(stores, coherentStore(t, d.client(t), d.mode))
	}
	runTopologyTorture(t, topoTorture{
		stores:  stores,
		foreign: d.client(t),
		chaos:   func(t *testing.T, _ *Cache[string], writes func(int64)) { writes(5000) },
		settle:  func(*testing.T) {},
		markers: func(t *testing.T, c *Cache[string]) []string { return d.markers(c) },
	})
}

// testConnectionKilled: the invalidation connections are killed (CLIENT
// KILL) while a foreign client writes; after reconnecting no Store serves
// the overwritten value (see killAndRecover).
func testConnectionKilled(t *testing.T, d deployment) {
	killAndRecover(t, d, func(t *testing.T, _ string) {
		for _, srv := range d.servers {
			require.NoError(t, srv.Client(t).ClientKillByFilter(context.Background(), "TYPE", "pubsub").Err())
		}
	})
}

// killAndRecover caches a key, kills connections with kill, and has a
// foreign client overwrite the key: the Store notices the loss (a resync)
// and flushes; once coherent again it reads the new value, keeps it, and
// sees a later write. Three keys in turn.
func killAndRecover(t *testing.T, d deployment, kill func(t *testing.T, rkey string)) {
	ctx := context.Background()
	s := coherentStore(t, d.client(t), d.mode)
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	foreign := d.client(t)
	for i := range 3 {
		k := fmt.Sprint("k", i)
		require.NoError(t, foreign.Set(ctx, c.RedisKey(k), envelope(t, "old"), time.Hour).Err())
		eventually(t, func() bool { v, _ := c.Get(ctx, k); return v == "old" && local(c, k) }, "never cached")
		resyncs := c.Stats().Resyncs
		kill(t, c.RedisKey(k))
		require.NoError(t, foreign.Set(ctx, c.RedisKey(k), envelope(t, "new"), time.Hour).Err())
		eventually(t, func() bool { return c.Stats().Resyncs > resyncs && !local(c, k) }, "the lost connection went unnoticed")
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		require.NoError(t, s.WaitCoherent(wctx), "never reconnected")
		cancel()
		v, err := c.Get(ctx, k)
		require.NoError(t, err)
		require.Equal(t, "new", v, "served the overwritten value after reconnecting")
		// What is read after the reconnect is kept, and invalidated.
		eventually(t, func() bool { v, _ := c.Get(ctx, k); return v == "new" && local(c, k) }, "never cached again")
		require.NoError(t, foreign.Set(ctx, c.RedisKey(k), envelope(t, "newer"), time.Hour).Err())
		eventually(t, func() bool { v, _ := c.Get(ctx, k); return v == "newer" }, "a write after the reconnect was not seen")
	}
}

// testConnectionHeldDown: while the invalidation connections cannot
// reconnect, nothing is kept locally and every read goes to Redis.
func testConnectionHeldDown(t *testing.T, d deployment) {
	ctx := context.Background()
	s, proxies := proxiedStore(t, d)
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	foreign := d.client(t)
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "old"), time.Hour).Err())
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "old" && local(c, "k") }, "never cached")

	for _, p := range proxies {
		p.Refuse()
		p.Cut()
	}
	eventually(t, func() bool { return !c.Stats().Coherent }, "the cut went unnoticed")
	require.False(t, local(c, "k"), "the local tier was not flushed")
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "new"), time.Hour).Err())
	before := c.Stats()
	for range 5 {
		v, err := c.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "new", v)
	}
	after := c.Stats()
	require.Equal(t, before.LocalHits, after.LocalHits, "the local tier served while the stream was down")
	require.Equal(t, before.RemoteHits+5, after.RemoteHits)

	for _, p := range proxies {
		p.Heal()
	}
	require.NoError(t, s.WaitCoherent(wctx))
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "new" && local(c, "k") }, "the local tier is not used again")
}

// testPubSub: in pub/sub mode, writes through tiercache in one Store reach
// another Store's local copies.
func testPubSub(t *testing.T, d deployment) {
	ctx := context.Background()
	s1, c1, _, c2 := pubSubPair(t, d)
	require.Equal(t, CoherencePubSub, s1.Coherence())
	require.NoError(t, c1.Set(ctx, "k", "v2"))
	eventually(t, func() bool { v, _ := c2.Get(ctx, "k"); return v == "v2" }, "Set not seen")
	eventually(t, func() bool { v, _ := c2.Get(ctx, "k"); return v == "v2" && local(c2, "k") }, "never cached")
	require.NoError(t, c1.Delete(ctx, "k"))
	eventually(t, func() bool { _, err := c2.Get(ctx, "k"); return errors.Is(err, ErrNotFound) }, "Delete not seen")
	require.NoError(t, c1.Set(ctx, "k", "v3"))
	eventually(t, func() bool { v, _ := c2.Get(ctx, "k"); return v == "v3" && local(c2, "k") }, "never cached")
	require.NoError(t, c1.Clear(ctx))
	eventually(t, func() bool { return !local(c2, "k") }, "Clear not seen")
	assert.Positive(t, c2.Stats().Invalidations)
	if d.cluster {
		requireSharded(t, d, s1)
	}
}

// pubSubPair returns two Stores in pub/sub mode with a Cache each on one
// namespace, the second holding "k" = "v1", written by the first, locally.
func pubSubPair(t *testing.T, d deployment) (*Store, *Cache[string], *Store, *Cache[string]) {
	t.Helper()
	ctx := context.Background()
	s1 := coherentStore(t, d.client(t), CoherencePubSub)
	s2 := coherentStore(t, d.client(t), CoherencePubSub)
	ns := uniqueNS(t)
	c1, err := New(s1, ns, Options[string]{LocalTTL: time.Hour})
	require.NoError(t, err)
	c2, err := New(s2, ns, Options[string]{LocalTTL: time.Hour})
	require.NoError(t, err)
	require.NoError(t, c1.Set(ctx, "k", "v1"))
	eventually(t, func() bool { v, _ := c2.Get(ctx, "k"); return v == "v1" && local(c2, "k") }, "never cached")
	return s1, c1, s2, c2
}

// requireSharded checks that pub/sub coherence on a Cluster runs on sharded
// channels: every slot's channel has a subscriber on the master serving the
// slot, and nobody listens on the broadcast channel.
func requireSharded(t *testing.T, d deployment, s *Store) {
	t.Helper()
	ctx := context.Background()
	require.True(t, s.coh.sharded.Load())
	total := 0
	for _, srv := range d.servers {
		cl := srv.Client(t)
		chans, err := cl.PubSubShardChannels(ctx, "*"+s.opts.Prefix+"invalidate").Result()
		require.NoError(t, err)
		total += len(chans)
		for _, ch := range chans {
			require.Equal(t, srv.Addr, d.addrs()[d.serverOf(ch)], "channel %s on the wrong master", ch)
		}
		n, err := cl.PubSubNumSub(ctx, s.opts.Prefix+"invalidate").Result()
		require.NoError(t, err)
		require.Zero(t, n[s.opts.Prefix+"invalidate"], "a broadcast subscriber on %s", srv.Addr)
	}
	require.Equal(t, keys.SlotCount, total, "sharded channels subscribed")
}

// TestCoherenceSlotMoved: when a hash slot moves to another master, both
// modes keep invalidating its keys: tracking sees the writes on the new
// master, and sharded pub/sub subscribes to the slot's channel there.
func TestCoherenceSlotMoved(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartCluster(t)
	d := &deployment{name: "cluster", servers: cl.Servers, cluster: true}
	t.Run("Tracking", func(t *testing.T) {
		s := coherentStore(t, d.client(t), CoherenceTracking)
		c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
		foreign := d.client(t)
		require.NoError(t, c.Set(ctx, "k", "v1"))
		eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "v1" && local(c, "k") }, "never cached")
		d.moveSlot(t, keys.Slot(c.RedisKey("k")))
		require.NoError(t, s.WaitCoherent(ctx))
		eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "v1" && local(c, "k") }, "never cached after the move")
		require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v2"), time.Hour).Err())
		eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "v2" }, "a write on the new master was not seen")
	})
	t.Run("PubSub", func(t *testing.T) {
		_, c1, s2, c2 := pubSubPair(t, *d)
		resyncs := c2.Stats().Resyncs
		d.moveSlot(t, keys.Slot(c1.RedisKey("k")))
		eventually(t, func() bool { return c2.Stats().Resyncs > resyncs }, "the move was not noticed")
		require.NoError(t, s2.WaitCoherent(ctx))
		requireSharded(t, *d, s2)
		eventually(t, func() bool { v, _ := c2.Get(ctx, "k"); return v == "v1" && local(c2, "k") }, "never cached after the move")
		require.NoError(t, c1.Set(ctx, "k", "v2"))
		eventually(t, func() bool { v, _ := c2.Get(ctx, "k"); return v == "v2" }, "a write after the move was not seen")
	})
}
