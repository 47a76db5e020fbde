package cache

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
)

// failoverStore returns a Store in Auto mode on a Sentinel failover client
// of sentinel, and a Cache on it holding "k" = "v1" locally. The Set's own
// invalidation has arrived: the copy stays until something else drops it.
func failoverStore(t *testing.T, sentinel *redistest.Sentinel) (*Store, *Cache[string]) {
	t.Helper()
	ctx := context.Background()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentinel.MasterName, SentinelAddrs: []string{sentinel.Addr}})
	t.Cleanup(func() { _ = rdb.Close() })
	s := coherentStore(t, rdb, CoherenceAuto)
	require.Equal(t, CoherenceTracking, s.Coherence())
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	require.NoError(t, c.Set(ctx, "k", "v1"))
	eventually(t, func() bool { return c.Stats().Invalidations >= 1 }, "the Set's invalidation never arrived")
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v1" && local(c, "k") }, "never cached")
	return s, c
}

// TestCoherenceSentinel: a Store on a Sentinel failover client tracks the
// master the sentinel names, and sees a foreign write without a TTL.
func TestCoherenceSentinel(t *testing.T) {
	ctx := context.Background()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	_, c := failoverStore(t, sentinel)

	foreign := master.Client(t) // straight to the master, not through the sentinel
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v2"), time.Hour).Err())
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "v2" }, "the foreign write was not seen")
}

// TestCoherenceSentinelFailover: when the sentinel promotes a replica, the
// Store's invalidation connection follows the new master. From the loss of
// the old one until it is subscribed on the new one, the Store is not
// coherent and its local tier holds nothing; coherent again, it sees a
// foreign write made on the new master, its local tier is used again, and
// the new master's invalidations arrive.
func TestCoherenceSentinelFailover(t *testing.T) {
	ctx := context.Background()
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	sentinel := redistest.StartSentinel(t, master, replica)
	s, c := failoverStore(t, sentinel)
	before := c.Stats()
	require.True(t, before.Coherent)

	master.Kill()
	// The invalidation connection's socket closes with the process; the
	// sentinel cannot promote the replica before a second of silence, so
	// the Store stays down at least that long.
	eventually(t, func() bool {
		st := c.Stats()
		return !st.Coherent && st.Resyncs > before.Resyncs && !local(c, "k")
	}, "the Store never noticed the loss of its master, or kept its local copy")

	sentinel.WaitMaster(t, replica)
	foreign := replica.Client(t) // straight to the new master, not through the sentinel
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v2"), time.Hour).Err())

	wctx, cancel := context.WithTimeout(ctx, 20*time.Second) // a hang guard
	defer cancel()
	require.NoError(t, s.WaitCoherent(wctx), "the invalidation connection never subscribed on the new master")
	after := c.Stats()
	require.True(t, after.Coherent)
	require.Greater(t, after.Resyncs, before.Resyncs, "the loss flushed the local tier")

	// No Get ran since the loss: the first answer comes from the new master.
	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v2", v)
	require.Greater(t, c.Stats().RemoteHits, after.RemoteHits, "the first answer came from Redis")

	// From then on every answer is the new value, and the local tier
	// serves it again (the foreign write's invalidation may yet drop a
	// first copy).
	hits := c.Stats().LocalHits
	var wrong atomic.Pointer[string] // the first wrong answer
	eventually(t, func() bool {
		if v, err := c.Get(ctx, "k"); err != nil || v != "v2" {
			msg := fmt.Sprintf("got %q, %v, want \"v2\"", v, err)
			wrong.CompareAndSwap(nil, &msg)
		}
		return local(c, "k") && c.Stats().LocalHits > hits
	}, "the local tier is not used again")
	if w := wrong.Load(); w != nil {
		t.Fatal(*w)
	}

	// CLIENT TRACKING is on for the new master: a second foreign write
	// drops the local copy.
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v3"), time.Hour).Err())
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "v3" }, "a foreign write on the new master was not seen")
}

// TestCoherenceSentinelManualFailover: when the sentinel promotes the
// replica while the old master still answers (SENTINEL FAILOVER; Redis
// demotes the old master only seconds later), the Store's invalidation
// connection, still subscribed on the old master, moves to the new one
// and the Store sees writes made there; its local tier is off until the
// old master is demoted.
func TestCoherenceSentinelManualFailover(t *testing.T) {
	ctx := context.Background()
	master := redistest.Start(t)
	replica := redistest.StartReplica(t, master)
	sentinel := redistest.StartSentinel(t, master, replica)
	_, c := failoverStore(t, sentinel)
	before := c.Stats()

	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
	t.Cleanup(func() { _ = sc.Close() })
	require.NoError(t, sc.Failover(ctx, sentinel.MasterName).Err())
	sentinel.WaitMaster(t, replica)
	foreign := replica.Client(t) // straight to the new master
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v2"), time.Hour).Err())
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v2" }, "a write on the new master was not seen")
	role, err := master.Client(t).Do(ctx, "ROLE").Slice()
	require.NoError(t, err)
	require.Equal(t, "master", role[0], "the old master was demoted first: the test did not exercise the switch it is about")
	require.Greater(t, c.Stats().Resyncs, before.Resyncs, "moving flushes the local tier")

	// While the old master still acts as one, it may answer reads yet
	// hears none of the writes: the Store keeps nothing until the sentinel
	// has demoted it (some 10 s after the switch).
	require.Eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v2" && local(c, "k") },
		30*time.Second, 5*time.Millisecond, "the local tier is not used again")
	info, err := master.Client(t).Info(ctx, "replication").Result()
	require.NoError(t, err)
	require.Contains(t, info, "role:slave", "the local tier was used while the old master still acted as one")
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v3"), time.Hour).Err())
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "v3" }, "tracking is not on at the new master")
}
