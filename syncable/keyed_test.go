package syncable_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/syncable"
)

// TestDictRandomEdits runs random writes, deletes, clears and loads on a
// Dict whose types let it track the keys written (int values) and on one
// whose types do not ([]int values, also changed in place), syncing every
// few, and checks after every Sync that Redis holds exactly the dict.
func TestDictRandomEdits(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	for seed := range uint64(10) {
		r := rand.New(rand.NewPCG(seed, 3))
		tracked, err := syncable.NewDict[string, int](rdb, fmt.Sprint("t", seed), syncable.DictOptions[string, int]{LoadChunk: 16})
		require.NoError(t, err)
		scanned, err := syncable.NewDict[string, []int](rdb, fmt.Sprint("s", seed), syncable.DictOptions[string, []int]{LoadChunk: 16})
		require.NoError(t, err)
		for step := range 400 {
			k := strconv.Itoa(r.IntN(60))
			switch op := r.IntN(20); {
			case op < 10:
				tracked.Set(k, step)
				scanned.Set(k, []int{step})
			case op < 13:
				tracked.Delete(k)
				scanned.Delete(k)
			case op < 16:
				if v, ok := scanned.Get(k); ok {
					v[0] = -step // in place: no Set
				}
			case op < 17:
				if r.IntN(8) == 0 {
					tracked.Clear()
					scanned.Clear()
				}
			case op < 18:
				require.NoError(t, tracked.Load(ctx))
				require.NoError(t, scanned.Load(ctx))
			}
			if r.IntN(6) == 0 || step == 399 {
				require.NoError(t, tracked.Sync(ctx), "seed %d step %d", seed, step)
				require.NoError(t, scanned.Sync(ctx), "seed %d step %d", seed, step)
				want := map[string]string{}
				for k, v := range tracked.All() {
					want[strconv.Quote(k)] = strconv.Itoa(v)
				}
				require.Equal(t, want, rawHash(t, rdb, tracked.Key()), "tracked, seed %d step %d", seed, step)
				want = map[string]string{}
				for k, v := range scanned.All() {
					b, _ := json.Marshal(v)
					want[strconv.Quote(k)] = string(b)
				}
				require.Equal(t, want, rawHash(t, rdb, scanned.Key()), "scanned, seed %d step %d", seed, step)
			}
		}
	}
}

// TestCounterAndSetRandomEdits is TestDictRandomEdits for a Counter and a
// Set.
func TestCounterAndSetRandomEdits(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	for seed := range uint64(10) {
		r := rand.New(rand.NewPCG(seed, 4))
		c, err := syncable.NewCounter[int](rdb, fmt.Sprint(seed), syncable.CounterOptions[int]{})
		require.NoError(t, err)
		s, err := syncable.NewSet[int](rdb, fmt.Sprint(seed), syncable.SetOptions[int]{})
		require.NoError(t, err)
		for step := range 400 {
			k := r.IntN(50)
			switch op := r.IntN(10); {
			case op < 4:
				c.IncrBy(k, int64(r.IntN(5)-2))
				s.Add(k)
			case op < 6:
				c.Delete(k)
				s.Discard(k)
			case op < 7:
				c.Add(k, k+1)
				s.Add(k, k+1)
			case op < 8:
				if r.IntN(6) == 0 {
					c.Clear()
					s.Clear()
				}
			case op < 9:
				require.NoError(t, c.Load(ctx))
				require.NoError(t, s.Load(ctx))
			}
			if r.IntN(5) == 0 || step == 399 {
				require.NoError(t, c.Sync(ctx))
				require.NoError(t, s.Sync(ctx))
				cc, err := collections.NewCounter[int](rdb, fmt.Sprint(seed), collections.CounterOptions[int]{})
				require.NoError(t, err)
				got, err := cc.ToMap(ctx)
				require.NoError(t, err)
				want := map[int]int64{}
				for k, n := range c.All() {
					want[k] = n
				}
				require.Equal(t, want, got, "counter, seed %d step %d", seed, step)
				cs, err := collections.NewSet[int](rdb, fmt.Sprint(seed), collections.SetOptions[int]{})
				require.NoError(t, err)
				members, err := cs.ToSet(ctx)
				require.NoError(t, err)
				wantSet := map[int]struct{}{}
				for m := range s.All() {
					wantSet[m] = struct{}{}
				}
				require.Equal(t, wantSet, members, "set, seed %d step %d", seed, step)
			}
		}
	}
}
