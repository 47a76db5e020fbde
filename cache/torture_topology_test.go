package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/keys"
	"github.com/tiercache/tiercache/internal/redistest"
)

// topoTorture is a topology for runTopologyTorture.
type topoTorture struct {
	stores []*Store
	// foreign writes as a non-tiercache client would, and reads what Redis
	// holds: on the masters.
	foreign redis.UniversalClient
	// chaos runs the topology's faults, in order, while the writers and
	// readers run; the run ends when it returns. c is a Cache of the keys
	// the run uses, "key0" to "key39"; writes(n) returns once the writers
	// have made n more writes that succeeded.
	chaos func(t *testing.T, c *Cache[string], writes func(n int64))
	// settle ends the faults chaos left on (replication still lags when
	// the writers stop) and returns once every replica has applied every
	// write made before the call.
	settle func(t *testing.T)
	// lags tells that replicas lag as the writers stop: reads then must
	// see overwritten values.
	lags bool
	// markers returns keys of c, one on each server that takes writes.
	markers func(t *testing.T, c *Cache[string]) []string
}

// runTopologyTorture: tiercache writers in two Stores and a foreign writer
// race readers in every Store while the topology changes under them; once
// the writers stop, the replicas catch up and every invalidation stream
// has delivered, every Store answers every key as Redis does.
func runTopologyTorture(t *testing.T, tt topoTorture) {
	ctx := context.Background()
	ns := uniqueNS(t)
	var caches []*Cache[string]
	for _, s := range tt.stores {
		c, err := New(s, ns, Options[string]{Codec: codec.String(), LocalTTL: time.Hour, Lease: -1})
		require.NoError(t, err)
		caches = append(caches, c)
	}
	// Which servers' streams delivered invalidations, per Store.
	heard := make([]sync.Map, len(tt.stores)) // addr -> *atomic.Int64
	markersHeard := make([]sync.Map, len(tt.stores))
	for i, s := range tt.stores {
		h := func(addr string, m *redis.Message) {
			n, _ := heard[i].LoadOrStore(addr, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			for _, k := range append([]string{m.Payload}, m.PayloadSlice...) {
				if strings.Contains(k, ":marker-") {
					markersHeard[i].Store(addr+" "+k, true)
				}
			}
		}
		s.coh.heard.Store(&h)
	}
	const nkeys = 40
	key := func() string { return fmt.Sprint("key", rand.IntN(nkeys)) }
	// The writers stop first; the readers go on while the replicas catch
	// up (settle): a reply from a replica that lags must not outlive its
	// invalidation by the replica.
	stopWriters, stop := make(chan struct{}), make(chan struct{})
	var wg, writers sync.WaitGroup
	var stopW, stopR sync.Once
	endWriters := func() { stopW.Do(func() { close(stopWriters) }); writers.Wait() }
	endReaders := func() { stopR.Do(func() { close(stop) }); wg.Wait() }
	// A check that fails ends the test here: the goroutines must not spin
	// on through the package's other tests.
	defer endReaders()
	defer endWriters()
	var ops, written atomic.Int64
	write := func(f func() error, counts bool) {
		writers.Go(func() {
			for {
				select {
				case <-stopWriters:
					return
				default:
					if f() == nil && counts {
						written.Add(1)
					}
					ops.Add(1)
				}
			}
		})
	}
	run := func(f func()) {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					f()
					ops.Add(1)
				}
			}
		})
	}
	for i := range 2 { // tiercache writers
		c := caches[i]
		write(func() error { return c.Set(ctx, key(), fmt.Sprint("tc-", rand.Int())) }, true)
	}
	write(func() error { // a foreign writer
		k := caches[0].RedisKey(key())
		if rand.IntN(5) == 0 {
			return tt.foreign.Del(ctx, k).Err()
		}
		return tt.foreign.Set(ctx, k, envelope(t, fmt.Sprint("foreign-", rand.Int())), time.Hour).Err()
	}, true)
	for _, c := range caches { // readers, two per Store
		run(func() { _, _ = c.Get(ctx, key()) })
		write(func() error { // a load writes too: it stops with the writers
			_, err := c.GetOrLoad(ctx, key(), func(context.Context) (string, error) { return fmt.Sprint("load-", rand.Int()), nil })
			return err
		}, false)
	}
	tt.chaos(t, caches[0], func(n int64) {
		target := written.Load() + n
		eventually(t, func() bool { return written.Load() >= target }, "the writers stopped writing")
	})
	endWriters()
	// The readers read on while the faults last: a lagging replica answers
	// with what the masters have overwritten. Probe reads count such
	// answers (races hit), until there are some or the probes give up.
	truth := make([]string, nkeys) // nothing writes any more
	cmds := make([]*redis.StringCmd, nkeys)
	_, _ = tt.foreign.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i := range cmds {
			cmds[i] = p.Get(ctx, caches[0].RedisKey(fmt.Sprint("key", i)))
		}
		return nil
	})
	for i, cmd := range cmds {
		if raw, err := cmd.Bytes(); err == nil {
			_, truth[i], _ = codec.DecodeValue(raw, codec.String(), 0)
		}
	}
	racesHit, probeErrs := 0, map[string]int{} // errors by message
	for i := 0; i < 5000 && racesHit < 20; i++ {
		c := caches[i%len(caches)]
		got, err := c.Get(ctx, fmt.Sprint("key", i%nkeys))
		switch {
		case errors.Is(err, ErrNotFound): // truth "": Redis has nothing
		case err != nil:
			probeErrs[err.Error()]++
			continue
		}
		if got != truth[i%nkeys] {
			racesHit++
		}
	}
	if len(probeErrs) > 0 {
		t.Logf("probe errors: %v", probeErrs)
	}
	tt.settle(t)
	endReaders()
	require.Greater(t, ops.Load(), int64(500), "the run did too little to mean anything")

	// Drain: a marker written to each server once the replicas have
	// applied everything; every stream of every Store has delivered all it
	// carried once it delivered the marker written to its server (or to
	// its master: a replica's stream follows the replication stream).
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a hang guard
	defer cancel()
	for _, s := range tt.stores {
		require.NoError(t, s.WaitCoherent(wctx))
	}
	// Under key-level tracking a stream delivers only the keys its Store
	// read on its server, so a marker proves nothing of a stream whose
	// server the Store did not read it from: the check below waits instead
	// for every Store to answer as Redis does, which an invalidation in
	// flight soon makes true and a lost one never does (LocalTTL is an hour).
	keyLevel := tt.stores[0].coh.kt != nil
	for _, k := range tt.markers(t, caches[0]) {
		require.NoError(t, tt.foreign.Set(ctx, caches[0].RedisKey(k), envelope(t, "marker"), time.Hour).Err())
	}
	tt.settle(t)
	for i, s := range tt.stores {
		if keyLevel {
			break
		}
		eventually(t, func() bool {
			for _, addr := range s.coh.topo.sources() {
				found := false
				markersHeard[i].Range(func(k, _ any) bool {
					found = strings.HasPrefix(k.(string), addr+" ")
					return !found
				})
				if !found {
					return false
				}
			}
			return true
		}, "store %d: a stream never delivered its marker (sources %v)", i, s.coh.topo.sources())
	}

	if keyLevel {
		eventually(t, func() bool { return staleKeys(t, tt, caches, nkeys, false) == 0 }, "a Store keeps serving a value Redis has overwritten")
	}
	require.Zero(t, staleKeys(t, tt, caches, nkeys, true), "stale keys")
	tt.report(t, caches, heard, racesHit, ops.Load())
}

// staleKeys counts the answers of caches that differ from what Redis holds,
// reporting each as a test error with report.
func staleKeys(t *testing.T, tt topoTorture, caches []*Cache[string], nkeys int, report bool) int {
	ctx := context.Background()
	stale := 0
	for i := range nkeys {
		k := fmt.Sprint("key", i)
		want, err := tt.foreign.Get(ctx, caches[0].RedisKey(k)).Bytes()
		var wantV string
		if err == nil {
			_, wantV, err = codec.DecodeValue(want, codec.String(), 0)
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, redis.Nil)
		}
		for j, c := range caches {
			var got string
			// A breaker opened by the faults is not a stale answer: wait
			// for it to let reads through again.
			eventually(t, func() bool { got, err = c.Get(ctx, k); return !errors.Is(err, ErrUnavailable) }, "store %d stays unavailable", j)
			if wantV == "" {
				if !errors.Is(err, ErrNotFound) {
					stale++
					if report {
						t.Errorf("store %d key %s: got %q, %v; Redis has nothing", j, k, got, err)
					}
				}
				continue
			}
			if err != nil || got != wantV {
				stale++
				if report {
					t.Errorf("store %d key %s: got %q, %v; Redis has %q", j, k, got, err, wantV)
				}
			}
		}
	}
	return stale
}

func (tt topoTorture) report(t *testing.T, caches []*Cache[string], heard []sync.Map, racesHit int, ops int64) {
	var local, inval, resyncs uint64
	for _, c := range caches {
		st := c.Stats()
		local += st.LocalHits
		inval += st.Invalidations
		resyncs += st.Resyncs
	}
	require.Positive(t, local, "no local hit: nothing was kept, the test proves nothing")
	var streams []string
	for i := range tt.stores {
		heard[i].Range(func(k, v any) bool {
			streams = append(streams, fmt.Sprintf("%d:%s=%d", i, k, v.(*atomic.Int64).Load()))
			return true
		})
	}
	if tt.lags {
		require.Positive(t, racesHit, "no read answered with an overwritten value: the lag was not exercised")
	}
	t.Logf("%d stale answers while lagging; %d operations; %d local hits, %d invalidations, %d resyncs; messages per stream %v", racesHit, ops, local, inval, resyncs, streams)
}

// sources returns the addresses of the servers the follower covers.
func (t *topology) sources() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for a, ok := range t.covered {
		if ok {
			out = append(out, a)
		}
	}
	return out
}

// clusterSettle returns once every replica of every master of cc has
// applied what its master had when called.
func clusterSettle(t *testing.T, cc *redis.ClusterClient, dial func(addr string) *redis.Client) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		settleMaster(t, m, dial)
		return nil
	}))
}

// settleMaster returns once every replica of master m has applied what m
// had when called.
func settleMaster(t *testing.T, m *redis.Client, dial func(addr string) *redis.Client) {
	ctx := context.Background()
	info, err := m.Info(ctx, "replication").Result()
	require.NoError(t, err)
	offset := infoInt(info, "master_repl_offset")
	role, err := m.Do(ctx, "ROLE").Result()
	require.NoError(t, err)
	_, replicas, err := parseRole(role)
	require.NoError(t, err)
	for _, r := range replicas {
		rc := dial(r)
		eventually(t, func() bool {
			info, err := rc.Info(ctx, "replication").Result()
			return err == nil && infoInt(info, "slave_repl_offset") >= offset
		}, "replica %s of %s never caught up", r, m.Options().Addr)
	}
}

func infoInt(info, field string) int64 {
	_, rest, _ := strings.Cut(info, field+":")
	v, _, _ := strings.Cut(rest, "\r\n")
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// pauseReplicas sends CLIENT with args to every replica of cc: PAUSE ms
// WRITE makes a replica stop applying its master's stream while it still
// answers reads; UNPAUSE ends that.
func pauseReplicas(t *testing.T, cc *redis.ClusterClient, dial func(addr string) *redis.Client, args ...any) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		role, err := m.Do(ctx, "ROLE").Result()
		if err != nil {
			return err
		}
		_, replicas, err := parseRole(role)
		if err != nil {
			return err
		}
		for _, r := range replicas {
			if err := dial(r).Do(ctx, append([]any{"CLIENT"}, args...)...).Err(); err != nil {
				return err
			}
		}
		return nil
	}))
}

// clusterMarkers returns keys of c, one on each master of cc.
func clusterMarkers(t *testing.T, cc *redis.ClusterClient, c *Cache[string]) []string {
	t.Helper()
	ctx := context.Background()
	var masters atomic.Int32
	require.NoError(t, cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { masters.Add(1); return nil }))
	seen := map[string]bool{}
	var out []string
	for i := 0; len(seen) < int(masters.Load()); i++ {
		k := "marker-" + strconv.Itoa(i)
		m, err := cc.MasterForKey(ctx, c.RedisKey(k))
		require.NoError(t, err)
		if a := m.Options().Addr; !seen[a] {
			seen[a] = true
			out = append(out, k)
		}
		require.Less(t, i, 100_000, "no key for some master")
	}
	return out
}

// TestTopologyTortureCluster runs the torture on a 3-master cluster with a
// replica each, Stores reading from replicas (ReadOnly, RouteRandomly) and
// from masters, while replication lags, slots holding hot keys migrate
// between masters and to a fourth master added meanwhile, one master fails
// over by CLUSTER FAILOVER and another is killed.
//
// It runs in broadcast and in key-level tracking.
func TestTopologyTortureCluster(t *testing.T) {
	for _, mode := range []Coherence{CoherenceTracking, CoherenceTrackingKeys} {
		t.Run(mode.String(), func(t *testing.T) { topologyTortureCluster(t, mode) })
	}
}

func topologyTortureCluster(t *testing.T, mode Coherence) {
	var proxies []*faultproxy.Proxy
	cl := redistest.StartClusterWith(t, redistest.ClusterConfig{Replicas: 1, AnnouncePort: func(m *redistest.Server) int {
		p := faultproxy.Start(t, m.Addr)
		proxies = append(proxies, p)
		return portOf(t, p.Addr)
	}})
	d := &deployment{name: "cluster", servers: cl.Servers, cluster: true, slotted: 3}
	var stores []*Store
	for _, route := range []string{"ReadOnly", "RouteRandomly", "masters"} {
		o := cl.Options()
		o.ReadOnly = route == "ReadOnly"
		o.RouteRandomly = route == "RouteRandomly"
		rdb := redis.NewClusterClient(o)
		t.Cleanup(func() { _ = rdb.Close() })
		stores = append(stores, coherentStore(t, rdb, mode))
	}
	foreign := cl.Client(t)
	dial := func(addr string) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr, Dialer: cl.Dialer})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	lag := func(d time.Duration) {
		for _, p := range proxies {
			p.SetLatency(d)
		}
	}
	runTopologyTorture(t, topoTorture{
		stores:  stores,
		foreign: foreign,
		lags:    true,
		chaos: func(t *testing.T, c *Cache[string], writes func(int64)) {
			// Each fault meets writes in flight: writes(n) after each.
			lag(200 * time.Millisecond)
			writes(500)
			// A hot key's slot moves between masters.
			m := startMigration(t, d, keys.Slot(c.RedisKey("key0")), (d.serverOf(c.RedisKey("key0"))+1)%3)
			writes(200)
			m.end(t)
			// A fourth master joins, and another hot key's slot moves to it.
			cl.AddMaster(t)
			d.servers = cl.Servers
			writes(200)
			m = startMigration(t, d, keys.Slot(c.RedisKey("key1")), 3)
			writes(200)
			m.end(t)
			lag(0)
			writes(500)
			// Master 0 fails over by agreement; master 1 is killed.
			cl.Failover(t, cl.Replicas[0][0])
			writes(500)
			lag(200 * time.Millisecond)
			cl.Servers[1].Kill()
			cl.WaitPromoted(t, cl.Replicas[1][0])
			// Once every Store follows the new topology (and flushed for
			// it), replication lags again as the writers go on and stop:
			// no flush is to come that would hide a stale copy kept.
			for _, s := range stores {
				eventually(t, func() bool {
					src := s.coh.topo.sources()
					return slices.Contains(src, cl.Replicas[1][0].Addr) && !slices.Contains(src, proxies[1].Addr) && s.coh.down.Load() == 0
				}, "a Store never followed the failover")
			}
			lag(300 * time.Millisecond)
			writes(1000)
			// And the replicas stop applying their stream as the writers
			// stop: every shard's last writes are still to replicate while
			// the readers read.
			pauseReplicas(t, foreign, dial, "PAUSE", "3000", "WRITE")
			writes(300)
		},
		settle: func(t *testing.T) {
			lag(0)
			pauseReplicas(t, foreign, dial, "UNPAUSE")
			clusterSettle(t, foreign, dial)
		},
		markers: func(t *testing.T, c *Cache[string]) []string { return clusterMarkers(t, foreign, c) },
	})
}

// TestTopologyTortureSentinel runs the torture on a master with two
// replicas under a Sentinel, Stores reading from replicas (ReplicaOnly)
// and from the master, while the replicas lag (paused) and the sentinel
// fails the master over.
// It runs in broadcast and in key-level tracking.
func TestTopologyTortureSentinel(t *testing.T) {
	for _, mode := range []Coherence{CoherenceTracking, CoherenceTrackingKeys} {
		t.Run(mode.String(), func(t *testing.T) { topologyTortureSentinel(t, mode) })
	}
}

func topologyTortureSentinel(t *testing.T, mode Coherence) {
	ctx := context.Background()
	master := redistest.Start(t)
	r1, r2 := redistest.StartReplica(t, master), redistest.StartReplica(t, master)
	servers := []*redistest.Server{master, r1, r2}
	sentinel := redistest.StartSentinel(t, master, r1, r2)
	client := func(replicaOnly bool) *redis.Client {
		c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentinel.MasterName, SentinelAddrs: []string{sentinel.Addr}, ReplicaOnly: replicaOnly,
			// A replica promoted keeps the connections dialed to it as a
			// replica; short-lived ones are soon dialed to replicas again.
			ConnMaxLifetime: 100 * time.Millisecond})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	stores := []*Store{
		coherentStore(t, client(true), mode),
		coherentStore(t, client(false), mode),
		coherentStore(t, client(true), mode),
	}
	// role returns the master the sentinel names, and the servers that
	// replicate (an old master is neither until the sentinel demotes it,
	// seconds after a failover).
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
	t.Cleanup(func() { _ = sc.Close() })
	role := func() (m *redis.Client, replicas []*redis.Client) {
		addr, err := sc.GetMasterAddrByName(ctx, sentinel.MasterName).Result()
		require.NoError(t, err)
		for _, s := range servers {
			c := s.Client(t)
			r, err := c.Do(ctx, "ROLE").Slice()
			require.NoError(t, err)
			switch {
			case s.Addr == net.JoinHostPort(addr[0], addr[1]):
				m = c
			case r[0] == "slave":
				replicas = append(replicas, c)
			}
		}
		return m, replicas
	}
	pause := func(args ...any) {
		_, replicas := role()
		for _, r := range replicas {
			require.NoError(t, r.Do(ctx, append([]any{"CLIENT"}, args...)...).Err())
		}
	}
	dial := func(addr string) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	runTopologyTorture(t, topoTorture{
		stores:  stores,
		foreign: client(false),
		lags:    true,
		chaos: func(t *testing.T, c *Cache[string], writes func(int64)) {
			for range 3 {
				pause("PAUSE", "200", "WRITE")
				writes(300)
			}
			require.NoError(t, sc.Failover(ctx, sentinel.MasterName).Err())
			eventually(t, func() bool { m, _ := role(); return m != nil && m.Options().Addr != master.Addr }, "the sentinel never promoted a replica")
			writes(300)
			// The old master acts as one until the sentinel demotes it
			// (about 10 s later): until then the Stores are held down.
			m, _ := role()
			for _, s := range stores {
				require.Eventually(t, func() bool {
					return slices.Contains(s.coh.topo.sources(), m.Options().Addr) && s.coh.down.Load() == 0
				}, 30*time.Second, 5*time.Millisecond, "a Store never followed the failover")
			}
			pause("PAUSE", "3000", "WRITE")
			writes(300)
		},
		settle: func(t *testing.T) {
			pause("UNPAUSE")
			m, _ := role()
			settleMaster(t, m, dial)
		},
		markers: func(*testing.T, *Cache[string]) []string { return []string{"marker-0"} },
	})
}

// TestCoherenceRing: on a Ring every shard has its own invalidation
// stream: a foreign write on any shard reaches the Store (tracking), a
// tiercache write reaches another Store (pub/sub), and a shard added or
// removed is followed.
func TestCoherenceRing(t *testing.T) {
	ctx := context.Background()
	r := startRingServers(t, 4)
	t.Run("Tracking", func(t *testing.T) {
		ring := r.ring(t, nil, 0, 1, 2)
		s := coherentStore(t, ring, CoherenceAuto)
		require.Equal(t, CoherenceTracking, s.Coherence())
		c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
		foreign := r.ring(t, nil, 0, 1, 2)
		check := func(n int) {
			t.Helper()
			shards := map[string]bool{}
			for i := 0; len(shards) < n; i++ {
				k := fmt.Sprint("k", i)
				shards[shardOf(t, ring, c.RedisKey(k))] = true
				require.NoError(t, c.Set(ctx, k, "v1"))
				eventually(t, func() bool { v, err := c.Get(ctx, k); return err == nil && v == "v1" && local(c, k) }, "never cached")
				require.NoError(t, foreign.Set(ctx, c.RedisKey(k), envelope(t, "v2"), time.Hour).Err())
				eventually(t, func() bool { v, err := c.Get(ctx, k); return err == nil && v == "v2" }, "a foreign write on shard %s was not seen", shardOf(t, ring, c.RedisKey(k)))
			}
		}
		check(3)
		require.ElementsMatch(t, r.addrs(0, 1, 2), s.coh.topo.sources())

		resyncs := c.Stats().Resyncs
		ring.SetAddrs(r.shardAddrs(0, 1, 2, 3))
		foreign.SetAddrs(r.shardAddrs(0, 1, 2, 3))
		eventually(t, func() bool { return c.Stats().Resyncs > resyncs }, "the shard added was not followed")
		require.NoError(t, s.WaitCoherent(ctx))
		require.ElementsMatch(t, r.addrs(0, 1, 2, 3), s.coh.topo.sources())
		check(4)

		resyncs = c.Stats().Resyncs
		ring.SetAddrs(r.shardAddrs(1, 2, 3))
		foreign.SetAddrs(r.shardAddrs(1, 2, 3))
		eventually(t, func() bool { return c.Stats().Resyncs > resyncs }, "the shard removed was not followed")
		require.NoError(t, s.WaitCoherent(ctx))
		require.ElementsMatch(t, r.addrs(1, 2, 3), s.coh.topo.sources())
		check(3)
	})
	t.Run("PubSub", func(t *testing.T) {
		s1 := coherentStore(t, r.ring(t, nil, 0, 1, 2), CoherencePubSub)
		s2 := coherentStore(t, r.ring(t, nil, 0, 1, 2), CoherencePubSub)
		c1 := newCache(t, s1, Options[string]{LocalTTL: time.Hour})
		c2, err := New(s2, c1.Namespace(), Options[string]{LocalTTL: time.Hour})
		require.NoError(t, err)
		for i := range 12 { // on every shard
			k := fmt.Sprint("k", i)
			require.NoError(t, c1.Set(ctx, k, "v1"))
			eventually(t, func() bool { v, err := c2.Get(ctx, k); return err == nil && v == "v1" && local(c2, k) }, "never cached")
			require.NoError(t, c1.Set(ctx, k, "v2"))
			eventually(t, func() bool { v, err := c2.Get(ctx, k); return err == nil && v == "v2" }, "a write was not announced")
		}
		require.NoError(t, c1.Clear(ctx))
		eventually(t, func() bool { return c2.LocalLen() == 0 }, "Clear was not announced")
	})
}

// addrs returns the addresses of the servers at.
func (r *ringServers) addrs(at ...int) []string {
	var out []string
	for _, i := range at {
		out = append(out, r.srvs[i].Addr)
	}
	return out
}

// TestTopologyTortureRing runs the torture on a 3-shard Ring while a
// fourth shard is added and one of the first removed, on every Ring
// client at once.
func TestTopologyTortureRing(t *testing.T) {
	r := startRingServers(t, 4)
	var rings []*redis.Ring
	var stores []*Store
	for range 3 {
		ring := r.ring(t, nil, 0, 1, 2)
		rings = append(rings, ring)
		stores = append(stores, coherentStore(t, ring, CoherenceTracking))
	}
	foreign := r.ring(t, nil, 0, 1, 2)
	rings = append(rings, foreign)
	reshard := func(at ...int) {
		for _, ring := range rings {
			ring.SetAddrs(r.shardAddrs(at...))
		}
	}
	runTopologyTorture(t, topoTorture{
		stores:  stores,
		foreign: foreign,
		chaos: func(t *testing.T, c *Cache[string], writes func(int64)) {
			writes(2000)
			reshard(0, 1, 2, 3)
			writes(2000)
			reshard(1, 2, 3)
			writes(2000)
		},
		settle: func(*testing.T) {},
		markers: func(t *testing.T, c *Cache[string]) []string {
			seen := map[string]bool{}
			var out []string
			for i := 0; len(seen) < 3; i++ {
				k := "marker-" + strconv.Itoa(i)
				if a := shardOf(t, foreign, c.RedisKey(k)); !seen[a] {
					seen[a] = true
					out = append(out, k)
				}
			}
			return out
		},
	})
}
