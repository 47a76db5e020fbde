package cache

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/keys"
	"github.com/tiercache/tiercache/internal/redistest"
)

// replicatedCluster is a 3-master cluster with a replica each, whose
// replication streams run through proxies (proxies[i] in front of
// Servers[i]), so that a test can make the replicas lag.
func replicatedCluster(t *testing.T) (*redistest.Cluster, []*faultproxy.Proxy) {
	t.Helper()
	var proxies []*faultproxy.Proxy
	cl := redistest.StartClusterWith(t, redistest.ClusterConfig{Replicas: 1, AnnouncePort: func(m *redistest.Server) int {
		p := faultproxy.Start(t, m.Addr)
		proxies = append(proxies, p)
		return portOf(t, p.Addr)
	}})
	return cl, proxies
}

func portOf(t testing.TB, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

// lagged is the replication delay the replica-read tests impose: long
// enough that a read sent after the master's invalidation surely reaches a
// replica that has not applied the write.
const lagged = 1500 * time.Millisecond

// staleReplicaRead runs the replica-read reproduction on c: "k" holds
// "v1" everywhere; the replicas are made to lag (lag), a foreign client
// overwrites "k" on the master, and once the master's invalidation has
// dropped the local copy, a read answered by a lagging replica returns
// "v1" again. The Store must not keep serving it: once the replica applies
// the write, its own invalidation drops the copy.
func staleReplicaRead(t *testing.T, c *Cache[string], foreign redis.UniversalClient, synced, lag, heal func()) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v1"), time.Hour).Err())
	synced()
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v1" && local(c, "k") }, "never cached from a replica")
	lag()
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v2"), time.Hour).Err())
	eventually(t, func() bool { return !local(c, "k") }, "the master's invalidation never arrived")
	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v1", v, "the read did not reach a lagging replica: the test did not exercise what it is about")
	heal()
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v2" },
		"the Store kept the lagging replica's answer after the replica applied the write")
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v2" && local(c, "k") }, "never cached again")
	require.True(t, c.Stats().Coherent)
}

// TestCoherenceReplicaReads: with reads routed to replicas, a reply from a
// replica that has not yet applied a write is dropped when it applies it.
func TestCoherenceReplicaReads(t *testing.T) {
	t.Run("Cluster", func(t *testing.T) {
		cl, proxies := replicatedCluster(t)
		for _, route := range []string{"ReadOnly", "RouteRandomly"} {
			t.Run(route, func(t *testing.T) {
				o := cl.Options()
				o.ReadOnly = route == "ReadOnly"
				o.RouteRandomly = route == "RouteRandomly"
				rdb := redis.NewClusterClient(o)
				t.Cleanup(func() { _ = rdb.Close() })
				s := coherentStore(t, rdb, CoherenceTracking)
				c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
				synced := func() { replicated(t, cl) }
				setLag := func(d time.Duration) func() {
					return func() {
						for _, p := range proxies {
							p.SetLatency(d)
						}
					}
				}
				if route == "RouteRandomly" {
					// Half the reads go to the master: the stale one is the
					// first that reaches the replica.
					staleReplicaReadRandom(t, c, cl.Client(t), synced, setLag(lagged), setLag(0))
					return
				}
				staleReplicaRead(t, c, cl.Client(t), synced, setLag(lagged), setLag(0))
			})
		}
		t.Run("PubSub", func(t *testing.T) { pubSubReplicaReads(t, cl) })
	})
	t.Run("Sentinel", func(t *testing.T) {
		master := redistest.Start(t)
		replica := redistest.StartReplica(t, master)
		sentinel := redistest.StartSentinel(t, master, replica)
		rc := replica.Client(t)
		mc := master.Client(t)
		synced := func() { requireWait(t, mc, "sync") }
		// The replica stops applying its master's stream, and still
		// answers reads.
		pause := func() {
			require.NoError(t, rc.Do(context.Background(), "CLIENT", "PAUSE", lagged.Milliseconds(), "WRITE").Err())
		}
		unpause := func() { require.NoError(t, rc.Do(context.Background(), "CLIENT", "UNPAUSE").Err()) }
		fo := &redis.FailoverOptions{MasterName: sentinel.MasterName, SentinelAddrs: []string{sentinel.Addr}}
		t.Run("ReplicaOnly", func(t *testing.T) {
			o := *fo
			o.ReplicaOnly = true
			rdb := redis.NewFailoverClient(&o)
			t.Cleanup(func() { _ = rdb.Close() })
			c := newCache(t, coherentStore(t, rdb, CoherenceTracking), Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
			staleReplicaRead(t, c, mc, synced, pause, unpause)
		})
		t.Run("RouteRandomly", func(t *testing.T) { // a ClusterClient over a Sentinel group
			o := *fo
			o.RouteRandomly = true
			rdb := redis.NewFailoverClusterClient(&o)
			t.Cleanup(func() { _ = rdb.Close() })
			c := newCache(t, coherentStore(t, rdb, CoherenceTracking), Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
			staleReplicaReadRandom(t, c, mc, synced, pause, unpause)
		})
	})
}

// replicated returns once every replica of cl has applied every write
// made before the call.
func replicated(t *testing.T, cl *redistest.Cluster) {
	t.Helper()
	for i, m := range cl.Servers {
		requireWait(t, m.Client(t), "{"+keys.SlotTag(i*keys.SlotCount/len(cl.Servers))+"}sync")
	}
}

// requireWait writes key on master and waits for its replica to
// acknowledge the write: WAIT counts the writes of its own connection, and
// this one is the latest on the master.
func requireWait(t *testing.T, master *redis.Client, key string) {
	t.Helper()
	ctx := context.Background()
	var n *redis.Cmd
	_, err := master.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, key, "x", time.Minute)
		n = p.Do(ctx, "WAIT", 1, 10_000)
		return nil
	})
	require.NoError(t, err)
	require.EqualValues(t, 1, n.Val(), "the replica of %s never acknowledged", master.Options().Addr)
}

// staleReplicaReadRandom is staleReplicaRead for a client that sends each
// read to the master or a replica at random: it reads until a replica
// answers "v1".
func staleReplicaReadRandom(t *testing.T, c *Cache[string], foreign redis.UniversalClient, synced, lag, heal func()) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v1"), time.Hour).Err())
	synced()
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v1" && local(c, "k") }, "never cached")
	lag()
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v2"), time.Hour).Err())
	eventually(t, func() bool { return !local(c, "k") }, "the master's invalidation never arrived")
	stale := false
	for range 64 { // each read: one in two to a replica
		v, err := c.Get(ctx, "k")
		require.NoError(t, err)
		if v == "v1" {
			stale = true
			break
		}
		c.s.local.Delete(localKey{c.id, "k"}) // so that the next read goes to Redis
	}
	require.True(t, stale, "no read reached a lagging replica: the test did not exercise what it is about")
	heal()
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v2" },
		"the Store kept the lagging replica's answer after the replica applied the write")
}

// askingClient returns a client of srv whose every command is preceded by
// ASKING: a foreign writer that follows an ASK redirection by hand.
func askingClient(t *testing.T, srv *redistest.Server) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func askingSet(t *testing.T, c *redis.Client, key string, val []byte) {
	t.Helper()
	ctx := context.Background()
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "ASKING")
		p.Set(ctx, key, val, time.Hour)
		return nil
	})
	require.NoError(t, err)
}

// migration is a slot move in progress, from servers[from] to servers[to]
// of d, started with startMigration and ended with end.
type migration struct {
	d            *deployment
	slot         int
	from, to     int
	srcID, dstID string
}

// startMigration marks slot importing on servers[to] and migrating on its
// owner, and moves its keys: from then on its keys are read and written
// on servers[to] through ASK.
func startMigration(t *testing.T, d *deployment, slot, to int) *migration {
	t.Helper()
	ctx := context.Background()
	m := &migration{d: d, slot: slot, from: d.serverOf("{" + keys.SlotTag(slot) + "}"), to: to}
	src, dst := d.servers[m.from].Client(t), d.servers[to].Client(t)
	var err error
	m.srcID, err = src.ClusterMyID(ctx).Result()
	require.NoError(t, err)
	m.dstID, err = dst.ClusterMyID(ctx).Result()
	require.NoError(t, err)
	require.NoError(t, dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", m.srcID).Err())
	require.NoError(t, src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", m.dstID).Err())
	for {
		ks, err := src.ClusterGetKeysInSlot(ctx, slot, 100).Result()
		require.NoError(t, err)
		if len(ks) == 0 {
			return m
		}
		args := []any{"MIGRATE", "127.0.0.1", d.servers[to].Port, "", 0, 5000, "KEYS"}
		for _, k := range ks {
			args = append(args, k)
		}
		require.NoError(t, src.Do(ctx, args...).Err())
	}
}

// end assigns the slot to its new owner on every master.
func (m *migration) end(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, srv := range m.d.servers {
		require.NoError(t, srv.Client(t).Do(ctx, "CLUSTER", "SETSLOT", m.slot, "NODE", m.dstID).Err())
	}
	if m.d.moved == nil {
		m.d.moved = map[int]int{}
	}
	m.d.moved[m.slot] = m.to
}

// TestCoherenceSlotlessMaster: a master added to the cluster serves no
// slot until one migrates to it; meanwhile its keys are read there through
// ASK. A foreign write there must reach the Store: it tracks that master
// too.
func TestCoherenceSlotlessMaster(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartCluster(t)
	fourth := cl.AddMaster(t)
	d := &deployment{name: "cluster", servers: cl.Servers, cluster: true, slotted: 3}
	s := coherentStore(t, d.client(t), CoherenceTracking)
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	require.NoError(t, c.Set(ctx, "k", "v1"))
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v1" && local(c, "k") }, "never cached")

	m := startMigration(t, d, keys.Slot(c.RedisKey("k")), len(d.servers)-1)
	// The key left its old master (an invalidation); read again, through
	// ASK, from the new one.
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v1" && local(c, "k") }, "never cached from the importing master")
	askingSet(t, askingClient(t, fourth), c.RedisKey("k"), envelope(t, "v2"))
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v2" }, "a write on the slot-less master was never seen")
	m.end(t)
	d.cli(t, c.RedisKey("k"), envelope(t, "v3"), "-x", "SET", c.RedisKey("k"))
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v3" }, "a write after the move was never seen")
}

// TestCoherenceShardedMigration: in sharded pub/sub, a write sent by ASK
// to the master importing its slot publishes there; the other Stores must
// hear it. (Redis runs a multi-key script there only when all its keys
// have moved: the entry and its fence, which exists while a load is in
// flight. Elsewhere the write fails with TRYAGAIN until the move ends.)
func TestCoherenceShardedMigration(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartCluster(t)
	d := &deployment{name: "cluster", servers: cl.Servers, cluster: true}
	s1, c1, s2, c2 := pubSubPair(t, *d)
	foreign := d.client(t)
	// A load's fence, as GetOrLoad leaves while its loader runs.
	require.NoError(t, foreign.Set(ctx, s1.fenceKey(c1.RedisKey("k")), "a load in flight", time.Hour).Err())
	slot := keys.Slot(c1.RedisKey("k"))
	from := d.serverOf(c1.RedisKey("k"))
	to := (from + 1) % 3
	// A subscriber on the slot's owner only: the write runs on the
	// importing master, and publishes there; the writer must announce it
	// on the owner too, for the Stores that have not seen the move yet.
	channel := shardChannel(s1.opts.Prefix, slot)
	owner := d.servers[from].Client(t).SSubscribe(ctx, channel)
	t.Cleanup(func() { _ = owner.Close() })
	_, err := owner.Receive(ctx)
	require.NoError(t, err)
	m := startMigration(t, d, slot, to)
	// Both Stores subscribe to the slot's channel on the importing master
	// too (and flush as they do: the move changed what they listen to).
	importing := d.servers[to].Client(t)
	eventually(t, func() bool {
		n, err := importing.PubSubShardNumSub(ctx, channel).Result()
		return err == nil && n[channel] == 2
	}, "the Stores never subscribed on the importing master")
	require.NoError(t, s2.WaitCoherent(ctx))
	eventually(t, func() bool { v, err := c2.Get(ctx, "k"); return err == nil && v == "v1" && local(c2, "k") }, "never cached during the move")
	resyncs := c2.Stats().Resyncs
	require.NoError(t, c1.Set(ctx, "k", "v2")) // by ASK, on the importing master
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	msg, err := owner.ReceiveMessage(rctx)
	require.NoError(t, err, "the write was not announced on the slot's owner")
	require.Equal(t, c1.RedisKey("k"), msg.Payload)
	eventually(t, func() bool { v, err := c2.Get(ctx, "k"); return err == nil && v == "v2" }, "a write on the importing master was never announced")
	require.Equal(t, resyncs, c2.Stats().Resyncs, "a flush, not the announcement, dropped the old value")
	eventually(t, func() bool { v, err := c2.Get(ctx, "k"); return err == nil && v == "v2" && local(c2, "k") }, "never cached")
	m.end(t)
	require.NoError(t, c1.Set(ctx, "k", "v3"))
	eventually(t, func() bool { v, err := c2.Get(ctx, "k"); return err == nil && v == "v3" }, "a write after the move was never announced")
}

// TestCoherenceClusterFailover: a master replaced by its replica, by
// CLUSTER FAILOVER (the old master stays, as a replica) or because it was
// killed: the Store flushes, follows the new master, and sees the writes
// made there.
func TestCoherenceClusterFailover(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartClusterWith(t, redistest.ClusterConfig{Replicas: 1})
	d := &deployment{name: "cluster", servers: cl.Servers, cluster: true}
	s := coherentStore(t, cl.Client(t), CoherenceTracking)
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	// key(i) is a key of master i.
	key := func(i int) string {
		for j := 0; ; j++ {
			if k := "k" + strconv.Itoa(j); d.serverOf(c.RedisKey(k)) == i {
				return k
			}
		}
	}
	want := map[string]string{} // what Redis holds
	cached := func(t *testing.T, k string) {
		t.Helper()
		eventually(t, func() bool { v, err := c.Get(ctx, k); return err == nil && v == want[k] && local(c, k) }, "%s=%s never cached", k, want[k])
	}
	for i := range d.servers {
		require.NoError(t, c.Set(ctx, key(i), "v1"))
		want[key(i)] = "v1"
		cached(t, key(i))
	}
	failedOver := func(t *testing.T, i int, resyncs uint64) {
		t.Helper()
		newMaster := cl.Replicas[i][0]
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a hang guard
		defer cancel()
		eventually(t, func() bool { return c.Stats().Resyncs > resyncs }, "the failover never flushed")
		require.NoError(t, s.WaitCoherent(wctx))
		foreign := newMaster.Client(t) // straight to the new master
		for _, v := range []string{"v2", "v3"} {
			require.NoError(t, foreign.Set(ctx, c.RedisKey(key(i)), envelope(t, v), time.Hour).Err())
			want[key(i)] = v
			cached(t, key(i)) // the write on the new master was seen
		}
		// The other masters' keys are read again and cached.
		for j := range d.servers {
			cached(t, key(j))
		}
	}
	t.Run("Manual", func(t *testing.T) {
		resyncs := c.Stats().Resyncs
		cl.Failover(t, cl.Replicas[0][0])
		failedOver(t, 0, resyncs)
	})
	t.Run("Kill", func(t *testing.T) {
		resyncs := c.Stats().Resyncs
		cl.Servers[1].Kill()
		eventually(t, func() bool { return !c.Stats().Coherent && !local(c, key(1)) }, "the loss of a master went unnoticed")
		cl.WaitPromoted(t, cl.Replicas[1][0])
		failedOver(t, 1, resyncs)
	})
}

// pubSubReplicaReads: pub/sub cannot cover reads from a Cluster's
// replicas (messages reach them over the bus, before the writes): the
// Store says it is not coherent and keeps nothing.
func pubSubReplicaReads(t *testing.T, cl *redistest.Cluster) {
	ctx := context.Background()
	o := cl.Options()
	o.ReadOnly = true
	rdb := redis.NewClusterClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := NewStore(rdb, StoreOptions{Coherence: CoherencePubSub})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	c := newCache(t, s, Options[string]{LocalTTL: time.Hour})
	eventually(t, func() bool { return s.Coherence() == CoherencePubSub }, "the mode was never decided")
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	require.ErrorIs(t, s.WaitCoherent(wctx), context.DeadlineExceeded)
	require.NoError(t, c.Set(ctx, "k", "v"))
	for range 3 {
		v, err := c.Get(ctx, "k")
		require.NoError(t, err)
		require.Equal(t, "v", v)
	}
	require.False(t, local(c, "k"), "kept a value read from a replica")
	require.False(t, c.Stats().Coherent)
}
