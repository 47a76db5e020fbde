package collections_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/collections"
)

// countedClient returns a client of be whose commands cmds counts.
func countedClient(t *testing.T, be dsBackend, cmds *dsCommands) redis.UniversalClient {
	rdb := be.client(t)
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		cc.OnNewNode(func(n *redis.Client) { n.AddHook(cmds) })
	} else {
		rdb.(*redis.Client).AddHook(cmds)
	}
	return rdb
}

// localStore returns a tracking Store on be, subscribed.
func localStore(t *testing.T, be dsBackend, opts cache.StoreOptions) *cache.Store {
	store, err := cache.NewStore(be.client(t), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, store.WaitCoherent(ctx))
	return store
}

// TestLocalSet: with Options.Local every read of a Set (Contains,
// ContainsMany, Len, Members, ToSet) is answered by one local copy of the
// whole set, without a round trip; a foreign write is seen once its
// invalidation arrives, an own write at once; a set over the local tier's
// budget is read from Redis, counted.
func TestLocalSet(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		cmds := &dsCommands{}
		rdb := countedClient(t, be, cmds)
		store := localStore(t, be, cache.StoreOptions{})
		set, err := collections.NewSet(rdb, dsName(t), collections.SetOptions[string]{Options: collections.Options{Local: store}})
		require.NoError(t, err)
		foreign, err := collections.NewSet(be.client(t), set.Name(), collections.SetOptions[string]{})
		require.NoError(t, err)
		_, err = foreign.Add(ctx, "a", "b")
		require.NoError(t, err)

		type view struct {
			in, out bool
			many    []bool
			n       int64
			members []string
			m       map[string]struct{}
		}
		readAll := func() (view, bool) {
			before := cmds.n.Load()
			var v view
			var err error
			v.in, err = set.Contains(ctx, "a")
			require.NoError(t, err)
			v.out, err = set.Contains(ctx, "zz")
			require.NoError(t, err)
			v.many, err = set.ContainsMany(ctx, "a", "b", "zz")
			require.NoError(t, err)
			v.n, err = set.Len(ctx)
			require.NoError(t, err)
			seq, errf := set.Members(ctx)
			v.members = slices.Sorted(seq)
			require.NoError(t, errf())
			v.m, err = set.ToSet(ctx)
			require.NoError(t, err)
			return v, cmds.n.Load() == before
		}
		want := view{in: true, many: []bool{true, true, false}, n: 2, members: []string{"a", "b"},
			m: map[string]struct{}{"a": {}, "b": {}}}
		require.Eventually(t, func() bool { v, local := readAll(); return local && fmt.Sprint(v) == fmt.Sprint(want) },
			10*time.Second, time.Millisecond, "never served locally")

		// ToSet hands out a map of the caller's own.
		m, err := set.ToSet(ctx)
		require.NoError(t, err)
		m["x"] = struct{}{}
		n, err := set.Len(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(2), n)

		// A foreign write: seen once its invalidation arrives.
		_, err = foreign.Add(ctx, "zz")
		require.NoError(t, err)
		require.Eventually(t, func() bool { in, err := set.Contains(ctx, "zz"); return err == nil && in },
			10*time.Second, time.Millisecond, "the foreign write was never seen")
		// An own write: seen at once.
		require.NoError(t, set.Remove(ctx, "zz"))
		in, err := set.Contains(ctx, "zz")
		require.NoError(t, err)
		require.False(t, in, "an own write was not seen at once")
		require.Positive(t, set.Local().Kept)
	})
}

// TestLocalSetOverBudget: a set too large for the local tier is read from
// Redis, and counted, with the same answers.
func TestLocalSetOverBudget(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		// Written before the Store subscribes, so that no invalidation of
		// this write reaches it.
		plain, err := collections.NewSet(be.client(t), dsName(t), collections.SetOptions[string]{})
		require.NoError(t, err)
		members := make([]string, 5000)
		for i := range members {
			members[i] = "member-" + strconv.Itoa(i)
		}
		_, err = plain.Add(ctx, members...)
		require.NoError(t, err)
		store := localStore(t, be, cache.StoreOptions{MaxBytes: 64 << 10})
		set, err := collections.NewSet(be.client(t), plain.Name(), collections.SetOptions[string]{Options: collections.Options{Local: store}})
		require.NoError(t, err)
		for range 3 {
			in, err := set.Contains(ctx, "member-42")
			require.NoError(t, err)
			require.True(t, in)
			n, err := set.Len(ctx)
			require.NoError(t, err)
			require.Equal(t, int64(5000), n)
		}
		st := set.Local()
		require.Equal(t, uint64(1), st.OverBudget, "stats %+v", st)
		require.Equal(t, uint64(0), st.Kept)
		require.Equal(t, uint64(1), st.Loads, "the set was read in full again while known too big")
	})
}

// TestLocalSetTorture: writers in this process and a foreign client write
// one set while readers read it through one Store's local copy. A reader
// never misses an own member whose add returned before its read started
// and whose removal had not started when the read ended, and never sees a foreign member disappear once seen
// (foreign members are only added). The test counts the reads that were
// checked and were served locally, so it fails if it never exercised the
// local path.
func TestLocalSetTorture(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		store := localStore(t, be, cache.StoreOptions{})
		cmds := &dsCommands{}
		rdb := countedClient(t, be, cmds)
		name := dsName(t)
		opts := collections.SetOptions[string]{Options: collections.Options{Local: store}}
		reader, err := collections.NewSet(rdb, name, opts)
		require.NoError(t, err)
		writer, err := collections.NewSet(be.client(t), name, opts) // same Store: own writes
		require.NoError(t, err)
		foreign, err := collections.NewSet(be.client(t), name, collections.SetOptions[string]{})
		require.NoError(t, err)

		const steps = 400
		var state atomic.Int64    // the last own member whose add returned
		var removing atomic.Int64 // the last own member whose removal started
		removing.Store(-1)
		var seenForeign atomic.Int64
		var checked, local atomic.Int64
		_, err = writer.Add(ctx, "own-0")
		require.NoError(t, err)
		var wg sync.WaitGroup
		wg.Go(func() { // own writes: own-k replaces own-(k-1)
			for k := int64(1); k <= steps; k++ {
				_, err := writer.Add(ctx, "own-"+strconv.FormatInt(k, 10))
				if err == nil {
					state.Store(k)
					removing.Store(k - 1)
					err = writer.Remove(ctx, "own-"+strconv.FormatInt(k-1, 10))
				}
				if err != nil {
					t.Error(err)
					state.Store(steps) // stops the readers
					return
				}
			}
		})
		wg.Go(func() { // foreign writes: added, never removed
			for j := range int64(steps) {
				if _, err := foreign.Add(ctx, "foreign-"+strconv.FormatInt(j, 10)); err != nil {
					t.Error(err)
					return
				}
			}
		})
		for range 2 {
			wg.Go(func() {
				for state.Load() < steps {
					k := state.Load()
					before := cmds.n.Load()
					in, err := reader.Contains(ctx, "own-"+strconv.FormatInt(k, 10))
					if err != nil {
						t.Error(err)
						return
					}
					if removing.Load() < k { // own-k's removal has not started
						if !in {
							t.Errorf("own-%d missed after its write returned", k)
							return
						}
						checked.Add(1)
						if cmds.n.Load() == before {
							local.Add(1)
						}
					}
					j := seenForeign.Load()
					in, err = reader.Contains(ctx, "foreign-"+strconv.FormatInt(j, 10))
					if err != nil {
						t.Error(err)
						return
					}
					if in {
						seenForeign.CompareAndSwap(j, j+1)
					} else if j > 0 {
						if in, err = reader.Contains(ctx, "foreign-"+strconv.FormatInt(j-1, 10)); err != nil || !in {
							t.Errorf("foreign-%d disappeared after it was seen (%v)", j-1, err)
							return
						}
					}
				}
			})
		}
		wg.Wait()
		t.Logf("checked %d reads, %d local; %d foreign members seen", checked.Load(), local.Load(), seenForeign.Load())
		require.Positive(t, local.Load(), "no checked read was served locally")
		require.Positive(t, seenForeign.Load())
	})
}
