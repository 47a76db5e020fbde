package cache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
)

// The Ring tests run on standalone servers that they read directly, to
// check that every entry and fence is on the shard the Ring maps the entry
// to. Their Stores have no coherence (see newStore): on a Ring the data
// path is under test here, not the invalidation streams. All of them fail
// before the Store accepted a Ring.

// ringKeys is how many keys the Ring tests write: enough that every shard
// holds some.
const ringKeys = 200

// ringServers are standalone servers that Rings are made over.
type ringServers struct {
	srvs   []*redistest.Server
	direct []*redis.Client // a plain client of each server, to look behind the Ring
}

func startRingServers(t *testing.T, n int) *ringServers {
	r := &ringServers{srvs: redistest.StartMasters(t, n)}
	for _, s := range r.srvs {
		r.direct = append(r.direct, s.Client(t))
	}
	return r
}

// ringShardName names the shard of server i: "a", "b", ...
func ringShardName(i int) string { return string(rune('a' + i)) }

// shardAddrs maps the shard names of servers at to their addresses.
func (r *ringServers) shardAddrs(at ...int) map[string]string {
	addrs := map[string]string{}
	for _, i := range at {
		addrs[ringShardName(i)] = r.srvs[i].Addr
	}
	return addrs
}

// ring returns a Ring over the servers at (see newTestRing).
func (r *ringServers) ring(t *testing.T, hook redis.Hook, at ...int) *redis.Ring {
	return newTestRing(t, r.shardAddrs(at...), hook)
}

// newTestRing returns a Ring over addrs (shard name to address), closed in
// t.Cleanup, whose shards' clients get hook unless it is nil. Its heartbeat
// is all but off: its PINGs would count as round trips, and no test here
// marks a shard down.
func newTestRing(t *testing.T, addrs map[string]string, hook redis.Hook) *redis.Ring {
	ring := redis.NewRing(&redis.RingOptions{
		Addrs:              addrs,
		HeartbeatFrequency: time.Hour,
		NewClient: func(o *redis.Options) *redis.Client {
			c := redis.NewClient(o)
			if hook != nil {
				c.AddHook(hook)
			}
			return c
		},
	})
	t.Cleanup(func() { _ = ring.Close() })
	return ring
}

// holders returns the addresses of the servers that have key.
func (r *ringServers) holders(t *testing.T, key string) []string {
	t.Helper()
	var on []string
	for i, c := range r.direct {
		n, err := c.Exists(context.Background(), key).Result()
		require.NoError(t, err)
		if n == 1 {
			on = append(on, r.srvs[i].Addr)
		}
	}
	return on
}

// serverAt returns the direct client of the server at addr.
func (r *ringServers) serverAt(t *testing.T, addr string) *redis.Client {
	t.Helper()
	for i, s := range r.srvs {
		if s.Addr == addr {
			return r.direct[i]
		}
	}
	t.Fatalf("no server at %s", addr)
	return nil
}

// shardOf returns the address of the shard ring maps key to now.
func shardOf(t *testing.T, ring *redis.Ring, key string) string {
	t.Helper()
	c, err := ring.GetShardClientForKey(key)
	require.NoError(t, err)
	return c.Options().Addr
}

// requireOnShard checks that rkey is on exactly the shard ring maps it to,
// holding want, and returns that shard's address.
func requireOnShard[V any](t *testing.T, r *ringServers, ring *redis.Ring, rkey string, want V) string {
	t.Helper()
	addr := shardOf(t, ring, rkey)
	require.Equal(t, []string{addr}, r.holders(t, rkey), "the servers holding %s", rkey)
	require.Equal(t, want, valueOn[V](t, r.serverAt(t, addr), rkey), "the bytes of %s", rkey)
	return addr
}

// valueOn decodes the entry rkey on the server of c.
func valueOn[V any](t *testing.T, c *redis.Client, rkey string) V {
	t.Helper()
	raw, err := c.Get(context.Background(), rkey).Bytes()
	require.NoError(t, err)
	_, v, err := codec.DecodeValue(raw, codec.JSON[V](), 0)
	require.NoError(t, err)
	return v
}

// requireAllShards checks that the keys were spread over every shard.
func requireAllShards(t *testing.T, used map[string]int, shards int) {
	t.Helper()
	require.Len(t, used, shards, "keys per shard: %v", used)
}

func ringItems(prefix string, add int) (map[string]int, []string) {
	items := make(map[string]int, ringKeys)
	ks := make([]string, ringKeys)
	for i := range ringKeys {
		ks[i] = fmt.Sprint(prefix, i)
		items[ks[i]] = i + add
	}
	return items, ks
}

// TestRingSetGetDelete: Set, Get and Delete of single keys, and Delete of
// many, on a Ring of three shards: each entry is on its shard alone, and a
// Store on another Ring client of the same shards reads it.
func TestRingSetGetDelete(t *testing.T) {
	ctx := context.Background()
	r := startRingServers(t, 3)
	ring := r.ring(t, nil, 0, 1, 2)
	c := newCache(t, newStore(t, ring, StoreOptions{}), Options[int]{})
	other, err := New(newStore(t, r.ring(t, nil, 0, 1, 2), StoreOptions{}), c.Namespace(), Options[int]{})
	require.NoError(t, err)

	items, ks := ringItems("k", 0)
	for _, k := range ks {
		require.NoError(t, c.Set(ctx, k, items[k]))
	}
	used := map[string]int{}
	for _, k := range ks {
		v, err := other.Get(ctx, k)
		require.NoError(t, err, k)
		require.Equal(t, items[k], v)
		used[requireOnShard(t, r, ring, c.RedisKey(k), items[k])]++
	}
	requireAllShards(t, used, 3)
	require.Equal(t, uint64(ringKeys), other.Stats().RemoteHits)

	// Delete one by one, then the rest at once: gone from every shard,
	// fences too.
	for _, k := range ks[:20] {
		require.NoError(t, c.Delete(ctx, k))
	}
	require.NoError(t, c.Delete(ctx, ks[20:]...))
	for _, k := range ks {
		require.Empty(t, r.holders(t, c.RedisKey(k)), k)
		require.Empty(t, r.holders(t, c.s.fenceKey(c.RedisKey(k))), k)
		_, err := c.Get(ctx, k)
		require.ErrorIs(t, err, ErrNotFound, k)
	}
}

// TestRingBatch: SetMany and GetMany take one round trip per shard, and
// each entry lands on its own shard.
func TestRingBatch(t *testing.T) {
	ctx := context.Background()
	r := startRingServers(t, 3)
	rt := &roundTrips{}
	ring := r.ring(t, rt, 0, 1, 2)
	c := newCache(t, newStore(t, ring, StoreOptions{}), Options[int]{})
	items, ks := ringItems("key-", 0)
	require.NoError(t, c.SetMany(ctx, items)) // loads the script on every shard
	require.Equal(t, int64(3), rt.during(func() { require.NoError(t, c.SetMany(ctx, items)) }), "SetMany round trips")
	used := map[string]int{}
	for _, k := range ks {
		used[requireOnShard(t, r, ring, c.RedisKey(k), items[k])]++
	}
	requireAllShards(t, used, 3)

	// Another Store on the same Ring client has nothing locally: one MGET per shard.
	c2, err := New(newStore(t, ring, StoreOptions{}), c.Namespace(), Options[int]{})
	require.NoError(t, err)
	var got map[string]int
	require.Equal(t, int64(3), rt.during(func() {
		got, err = c2.GetMany(ctx, append(ks, "absent", "key-0"))
		require.NoError(t, err)
	}), "GetMany round trips")
	require.Equal(t, items, got)
	require.Equal(t, uint64(ringKeys), c2.Stats().RemoteHits)
	require.Equal(t, uint64(1), c2.Stats().Misses)
}

// TestRingLoadMany: GetManyOrLoad loads every miss in one call and writes
// each value to its shard; LookupMany takes each ticket on the fence on its
// entry's shard, and Fill writes under them.
func TestRingLoadMany(t *testing.T) {
	ctx := context.Background()
	r := startRingServers(t, 3)
	ring := r.ring(t, nil, 0, 1, 2)
	c := newCache(t, newStore(t, ring, StoreOptions{}), Options[int]{})
	items, ks := ringItems("m", 100)
	var calls [][]string
	load := func(_ context.Context, missing []string) (map[string]int, error) {
		calls = append(calls, missing)
		out := map[string]int{}
		for _, k := range missing {
			out[k] = items[k]
		}
		return out, nil
	}
	got, err := c.GetManyOrLoad(ctx, ks, load)
	require.NoError(t, err)
	require.Equal(t, items, got)
	require.Len(t, calls, 1, "one load with every miss")
	require.Len(t, calls[0], ringKeys)
	require.Zero(t, c.Stats().FillsRefused)
	used := map[string]int{}
	for _, k := range ks {
		used[requireOnShard(t, r, ring, c.RedisKey(k), items[k])]++
		require.Empty(t, r.holders(t, c.s.fenceKey(c.RedisKey(k))), "the fill ended the fence of %s", k)
	}
	requireAllShards(t, used, 3)

	// A fresh Store finds them all in Redis: no load.
	c2, err := New(newStore(t, r.ring(t, nil, 0, 1, 2), StoreOptions{}), c.Namespace(), Options[int]{})
	require.NoError(t, err)
	got, err = c2.GetManyOrLoad(ctx, ks, load)
	require.NoError(t, err)
	require.Equal(t, items, got)
	require.Len(t, calls, 1)

	// LookupMany then Fill: the tickets are on the entries' shards.
	fills, fks := ringItems("f", 7)
	l, err := c.LookupMany(ctx, fks)
	require.NoError(t, err)
	require.Empty(t, l.Found)
	require.ElementsMatch(t, fks, l.Missing)
	for _, k := range fks {
		rk := c.RedisKey(k)
		require.Equal(t, []string{shardOf(t, ring, rk)}, r.holders(t, c.s.fenceKey(rk)), "the ticket of %s", k)
	}
	require.NoError(t, c.Fill(ctx, fills, nil))
	require.Zero(t, c.Stats().FillsRefused)
	for _, k := range fks {
		requireOnShard(t, r, ring, c.RedisKey(k), fills[k])
		require.Empty(t, r.holders(t, c.s.fenceKey(c.RedisKey(k))))
	}
	got, err = c2.GetMany(ctx, fks)
	require.NoError(t, err)
	require.Equal(t, fills, got)
}

// TestRingFleetLease: two Stores on two Ring clients of the same shards miss
// the same keys at once; each key is loaded once in all. While the first
// Store's loads are held open, each key's lease is in its fence on the
// entry's shard, even where the fence's own name would take the Ring to
// another shard.
func TestRingFleetLease(t *testing.T) {
	ctx := context.Background()
	r := startRingServers(t, 3)
	ring := r.ring(t, nil, 0, 1, 2)
	a := newCache(t, newStore(t, ring, StoreOptions{}), Options[string]{})
	bReads := &scriptKeys{}
	b, err := New(newStore(t, r.ring(t, bReads, 0, 1, 2), StoreOptions{}), a.Namespace(), Options[string]{})
	require.NoError(t, err)
	_, ks := ringItems("lease-", 0)

	release := make(chan struct{})
	var loads sync.Map // key -> *atomic.Int64
	loader := func(k string, wait bool) func(context.Context) (string, error) {
		return func(context.Context) (string, error) {
			n, _ := loads.LoadOrStore(k, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			if wait {
				<-release
			}
			return "v-" + k, nil
		}
	}
	var wg sync.WaitGroup
	results := make([][3]string, len(ks)) // two callers on a, one on b
	run := func(i, j int, c *Cache[string], wait bool) {
		wg.Go(func() {
			v, err := c.GetOrLoad(ctx, ks[i], loader(ks[i], wait))
			if err != nil {
				v = "error: " + err.Error()
			}
			results[i][j] = v
		})
	}
	for i := range ks {
		run(i, 0, a, true)
		run(i, 1, a, true)
	}
	eventually(t, func() bool { return a.Stats().Loads == ringKeys }, "a did not start its loads")

	// Every lease is on its entry's shard, and only there.
	elsewhere := 0
	for _, k := range ks {
		rk := a.RedisKey(k)
		fk := a.s.fenceKey(rk)
		entryShard := shardOf(t, ring, rk)
		require.Equal(t, []string{entryShard}, r.holders(t, fk), "the fence of %s", k)
		if shardOf(t, ring, fk) != entryShard {
			elsewhere++
		}
	}
	require.Positive(t, elsewhere, "no fence whose own name maps to another shard: the test proves nothing")

	for i := range ks {
		run(i, 2, b, false)
	}
	// Every key's fence was read by b (and found held by a: b waits).
	eventually(t, func() bool { return bReads.distinct() == ringKeys }, "b did not read every fence")
	close(release)
	wg.Wait()
	for i, k := range ks {
		want := "v-" + k
		require.Equal(t, [3]string{want, want, want}, results[i], k)
		n, _ := loads.Load(k)
		require.Equal(t, int64(1), n.(*atomic.Int64).Load(), "loads of %s", k)
		requireOnShard(t, r, ring, a.RedisKey(k), want)
		require.Empty(t, r.holders(t, a.s.fenceKey(a.RedisKey(k))), "the fill ended the fence of %s", k)
	}
	require.Zero(t, b.Stats().Loads)
	require.Zero(t, a.Stats().FillsRefused)
}

// TestRingReleaseFence: a load that fails gives its lease back at once, on
// the entry's shard, where the lease is (a release routed by the fence's
// own name would miss it, and the next load would wait for its expiry).
func TestRingReleaseFence(t *testing.T) {
	ctx := context.Background()
	r := startRingServers(t, 3)
	ring := r.ring(t, nil, 0, 1, 2)
	c := newCache(t, newStore(t, ring, StoreOptions{}), Options[string]{})
	_, ks := ringItems("fail-", 0)
	down := errors.New("database down")
	elsewhere := 0
	for _, k := range ks {
		_, err := c.GetOrLoad(ctx, k, func(context.Context) (string, error) { return "", down })
		require.ErrorIs(t, err, down)
		fk := c.s.fenceKey(c.RedisKey(k))
		require.Empty(t, r.holders(t, fk), "the lease of %s was not given back", k)
		if shardOf(t, ring, fk) != shardOf(t, ring, c.RedisKey(k)) {
			elsewhere++
		}
	}
	require.Positive(t, elsewhere, "no fence whose own name maps to another shard: the test proves nothing")
}

// TestRingClear: Clear empties the namespace on every shard, and no other.
func TestRingClear(t *testing.T) {
	ctx := context.Background()
	r := startRingServers(t, 3)
	ring := r.ring(t, nil, 0, 1, 2)
	s := newStore(t, ring, StoreOptions{})
	a := newCache(t, s, Options[int]{})
	other := newCache(t, s, Options[int]{})
	items := map[string]int{}
	for i := range 3 * ringKeys {
		items[fmt.Sprint("k*", i)] = i // a glob character in the key
	}
	require.NoError(t, a.SetMany(ctx, items))
	require.NoError(t, other.Set(ctx, "keep", 1))
	for i, c := range r.direct {
		n, err := c.Keys(ctx, a.RedisKey("*")).Result() // KEYS in a test only, to check
		require.NoError(t, err)
		require.NotEmpty(t, n, "shard %d holds none of the namespace: the test proves nothing", i)
	}
	require.NoError(t, a.Clear(ctx))
	for i, c := range r.direct {
		left, err := c.Keys(ctx, a.RedisKey("*")).Result()
		require.NoError(t, err)
		require.Empty(t, left, "shard %d", i)
	}
	got, err := a.GetMany(ctx, []string{"k*1", "k*2"})
	require.NoError(t, err)
	require.Empty(t, got)
	v, err := other.Get(ctx, "keep")
	require.NoError(t, err, "Clear is confined to its namespace")
	require.Equal(t, 1, v)
}

// TestRingReshard: after ring.SetAddrs adds a shard and removes another,
// the Store follows the Ring's new mapping at once: writes and reads go to
// the new shards (the new one, which never saw the scripts, gets them
// whole: one round trip), and the keys that moved are misses where they
// went.
func TestRingReshard(t *testing.T) {
	ctx := context.Background()
	r := startRingServers(t, 3)
	rt := &roundTrips{}
	ring := r.ring(t, rt, 0, 1)
	s := newStore(t, ring, StoreOptions{})
	c := newCache(t, s, Options[int]{LocalTTL: -1}) // every read goes to Redis
	old, ks := ringItems("r", 0)
	require.NoError(t, c.SetMany(ctx, old))
	before := map[string]string{}
	for _, k := range ks {
		before[k] = requireOnShard(t, r, ring, c.RedisKey(k), old[k])
	}

	ring.SetAddrs(r.shardAddrs(1, 2)) // "a" goes, "c" comes
	stayed := map[string]int{}
	for _, k := range ks {
		if shardOf(t, ring, c.RedisKey(k)) == before[k] {
			stayed[k] = old[k]
		}
	}
	require.NotEmpty(t, stayed)
	require.Less(t, len(stayed), ringKeys)
	got, err := c.GetMany(ctx, ks)
	require.NoError(t, err)
	require.Equal(t, stayed, got, "only the keys that stayed on their shard are found")

	items, _ := ringItems("r", 1000)
	require.Equal(t, int64(2), rt.during(func() { require.NoError(t, c.SetMany(ctx, items)) }),
		"SetMany round trips: one per shard, the script sent whole to the new one")
	// Each new value is on the key's new shard, and nowhere else: a server
	// it left keeps the old value (which the Ring no longer reads there).
	used := map[string]int{}
	for _, k := range ks {
		rk := c.RedisKey(k)
		addr := shardOf(t, ring, rk)
		require.Equal(t, items[k], valueOn[int](t, r.serverAt(t, addr), rk), k)
		for _, on := range r.holders(t, rk) {
			if on != addr {
				require.Equal(t, before[k], on, k)
				require.Equal(t, old[k], valueOn[int](t, r.serverAt(t, on), rk), k)
			}
		}
		used[addr]++
	}
	requireAllShards(t, used, 2)
	require.NotContains(t, used, r.srvs[0].Addr)
	require.Contains(t, used, r.srvs[2].Addr)
	got, err = c.GetMany(ctx, ks)
	require.NoError(t, err)
	require.Equal(t, items, got)

	// Single keys too, from this Store and from another on a Ring of the new shards.
	other, err := New(newStore(t, r.ring(t, nil, 1, 2), StoreOptions{}), c.Namespace(), Options[int]{})
	require.NoError(t, err)
	for i, k := range ks[:50] {
		require.NoError(t, c.Set(ctx, k, -i))
		require.Equal(t, -i, valueOn[int](t, r.serverAt(t, shardOf(t, ring, c.RedisKey(k))), c.RedisKey(k)))
		v, err := c.Get(ctx, k)
		require.NoError(t, err)
		require.Equal(t, -i, v)
		v, err = other.Get(ctx, k)
		require.NoError(t, err)
		require.Equal(t, -i, v)
	}
}

// TestRingWrongType: a key holding a list on one shard fails the calls that
// reach it with ErrWrongType. A batch is atomic per shard, as it is per
// hash slot on Cluster: nothing on the list's shard is written, the other
// shards' keys are, and nothing written before is lost.
func TestRingWrongType(t *testing.T) {
	ctx := context.Background()
	r := startRingServers(t, 3)
	ring := r.ring(t, nil, 0, 1, 2)
	c := newCache(t, newStore(t, ring, StoreOptions{}), Options[int]{LocalTTL: -1})
	old, ks := ringItems("w", 0)
	list, ks := ks[0], ks[1:]
	delete(old, list)
	require.NoError(t, c.SetMany(ctx, old))
	lk := c.RedisKey(list)
	listShard := shardOf(t, ring, lk)
	require.NoError(t, r.serverAt(t, listShard).RPush(ctx, lk, "x", "y").Err())

	_, err := c.Get(ctx, list)
	require.ErrorIs(t, err, ErrWrongType)
	require.ErrorContains(t, err, lk)
	require.ErrorIs(t, c.Set(ctx, list, 1), ErrWrongType)
	called := false
	_, err = c.GetOrLoad(ctx, list, func(context.Context) (int, error) { called = true; return 1, nil })
	require.ErrorIs(t, err, ErrWrongType)
	require.False(t, called, "the loader runs only when its result can be stored")

	items, _ := ringItems("w", 1000)
	require.ErrorIs(t, c.SetMany(ctx, items), ErrWrongType)
	sameShard := 0
	for _, k := range ks {
		want := items[k]
		if shardOf(t, ring, c.RedisKey(k)) == listShard {
			want = old[k] // its shard's call was refused whole
			sameShard++
		}
		requireOnShard(t, r, ring, c.RedisKey(k), want)
	}
	require.Positive(t, sameShard)
	require.Less(t, sameShard, len(ks))

	// A read of them all skips the list and loses nothing else.
	got, err := c.GetMany(ctx, append([]string{list}, ks...))
	require.NoError(t, err)
	require.Len(t, got, len(ks))
	require.NotContains(t, got, list)
	vals, err := r.serverAt(t, listShard).LRange(ctx, lk, 0, -1).Result()
	require.NoError(t, err)
	require.Equal(t, []string{"x", "y"}, vals, "the list is never overwritten")
}

// scriptKeys is a go-redis hook that records the first key of every script
// call (EVAL, EVALSHA) sent alone.
type scriptKeys struct{ keys sync.Map }

func (h *scriptKeys) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *scriptKeys) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if a := cmd.Args(); len(a) > 3 && (cmd.Name() == "eval" || cmd.Name() == "evalsha") {
			h.keys.Store(a[3], struct{}{})
		}
		return next(ctx, cmd)
	}
}
func (h *scriptKeys) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// distinct returns how many keys have been seen.
func (h *scriptKeys) distinct() int {
	n := 0
	h.keys.Range(func(any, any) bool { n++; return true })
	return n
}
