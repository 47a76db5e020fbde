package cachebench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/tiercache/tiercache/cache"
)

// zipfS is the exponent of the key popularity of BenchmarkLocalHitZipfParallel:
// with 1024 keys, the hottest key takes about a seventh of the reads and
// the 10 hottest about half.
const zipfS = 1.1

// zipfOrder is the sequence of key indices the Zipf benchmark reads, drawn
// once (with a fixed seed) so that drawing costs nothing in the timed loop.
var zipfOrder = func() []int {
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), zipfS, 1, numKeys-1)
	seq := make([]int, 1<<16)
	for i := range seq {
		seq[i] = int(z.Uint64())
	}
	return seq
}()

// BenchmarkLocalHitZipfParallel reads the struct values of LocalHit from
// GOMAXPROCS goroutines at once, choosing keys by a Zipf law (s 1.1, 1024
// keys: a few hot keys take most reads, as in production, and their shard
// or bucket is contended): tiercache's Cache.Get from its local tier,
// otter's GetIfPresent and the RWMutex map (limit); each also at
// GOMAXPROCS 1 (<impl>-1proc), which shows what the second CPU buys.
func BenchmarkLocalHitZipfParallel(b *testing.B) {
	ctx := context.Background()
	rdb := newClient(b)
	tc := newTiercache(b, rdb, cache.Options[Item]{})
	otr := newOtter[Item](b, 4*numKeys, false)
	limit := &lockedMap[Item]{m: make(map[string]Item, numKeys)}
	for i, k := range keys {
		if err := tc.Set(ctx, k, itemFor(i)); err != nil {
			b.Fatal(err)
		}
		otr.Set(k, itemFor(i))
		limit.m[k] = itemFor(i)
	}
	warmLocal(b, tc)
	checkOnlyLocal(b, tc)
	runGroupParallelProcs(b, map[string]op{
		"limit": func(j int) error {
			i := zipfOrder[j]
			v, ok := limit.Get(keys[i])
			return hitOf(v, ok, i)
		},
		"tiercache": func(j int) error {
			i := zipfOrder[j]
			v, err := tc.Get(ctx, keys[i])
			if err != nil {
				return err
			}
			return checkID(v.ID, i)
		},
		"otter": func(j int) error {
			i := zipfOrder[j]
			v, ok := otr.GetIfPresent(keys[i])
			return hitOf(v, ok, i)
		},
	}, len(zipfOrder), true)
}

// largeKeys is the size of BenchmarkLocalHitLarge's key set.
const largeKeys = 100_000

// BenchmarkLocalHitLarge is BenchmarkLocalHit over 100,000 keys, read in
// turn (sequentially), so that the working set outgrows the CPU caches:
// tiercache's Cache.Get from its local tier (MaxEntries 200,000), otter's
// GetIfPresent and the RWMutex map (limit).
func BenchmarkLocalHitLarge(b *testing.B) {
	ctx := context.Background()
	ks := make([]string, largeKeys)
	for i := range ks {
		ks[i] = fmt.Sprintf("large:%06d", i)
	}
	rdb := newClient(b)
	store, err := cache.NewStore(rdb, cache.StoreOptions{MaxEntries: 2 * largeKeys, MaxBytes: 1 << 30, Logger: discardLogger})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	tc, err := cache.New(store, "bench", cache.Options[Item]{})
	if err != nil {
		b.Fatal(err)
	}
	otr := newOtter[Item](b, 2*largeKeys, false)
	limit := &lockedMap[Item]{m: make(map[string]Item, largeKeys)}
	const chunk = 1000
	for start := 0; start < largeKeys; start += chunk {
		items := make(map[string]Item, chunk)
		for i := start; i < start+chunk; i++ {
			items[ks[i]] = itemFor(i)
			otr.Set(ks[i], itemFor(i))
			limit.m[ks[i]] = itemFor(i)
		}
		if err := tc.SetMany(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
	warmLocalKeys(b, tc, ks)
	checkOnlyLocal(b, tc)
	runGroup(b, map[string]op{
		"limit": func(i int) error {
			v, ok := limit.Get(ks[i])
			return hitOf(v, ok, i)
		},
		"tiercache": func(i int) error {
			v, err := tc.Get(ctx, ks[i])
			if err != nil {
				return err
			}
			return checkID(v.ID, i)
		},
		"otter": func(i int) error {
			v, ok := otr.GetIfPresent(ks[i])
			return hitOf(v, ok, i)
		},
	}, largeKeys)
}

// hitOf returns an error unless an in-process lookup found keys[i]'s value.
func hitOf(v Item, ok bool, i int) error {
	if !ok {
		return errMiss
	}
	return checkID(v.ID, i)
}

// checkOnlyLocal makes the benchmark fail, when it ends, if tiercache
// answered any read from now on from Redis or missed.
func checkOnlyLocal[V any](b *testing.B, tc *cache.Cache[V]) {
	before := tc.Stats()
	b.Cleanup(func() {
		st := tc.Stats()
		if remote, misses := st.RemoteHits-before.RemoteHits, st.Misses-before.Misses; remote+misses != 0 {
			b.Errorf("tiercache: %d remote hits and %d misses, want only local hits", remote, misses)
		}
	})
}
