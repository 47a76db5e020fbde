package cachebench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	rediscache "github.com/go-redis/cache/v9"
	"github.com/redis/rueidis"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/tiercache/tiercache/cache"
)

// lockedMap is the local limit: the least a concurrent in-process cache can
// do for a hit is a read lock and a map lookup.
type lockedMap[V any] struct {
	mu sync.RWMutex
	m  map[string]V
}

func (l *lockedMap[V]) Get(key string) (V, bool) {
	l.mu.RLock()
	v, ok := l.m[key]
	l.mu.RUnlock()
	return v, ok
}

// localHitters returns, for each implementation of the LocalHit groups, a
// function that reads keys[i] and returns an error on anything but a hit of
// the right value, with every key already in its local tier.
func localHitters(b *testing.B) map[string]op {
	ctx := context.Background()
	rdb := newClient(b)

	limit := &lockedMap[Item]{m: make(map[string]Item, numKeys)}
	tc := newTiercache(b, rdb, cache.Options[Item]{})
	peer := newRedisCache(rdb, true)
	for i, k := range keys {
		it := itemFor(i)
		limit.m[k] = it
		if err := tc.Set(ctx, k, it); err != nil {
			b.Fatal(err)
		}
		if err := peer.Set(&rediscache.Item{Ctx: ctx, Key: peerKeys[i], Value: it}); err != nil {
			b.Fatal(err)
		}
	}
	warmLocal(b, tc)
	tcBefore := tc.Stats()
	peers := localPeers(b)
	b.Cleanup(func() {
		// Every read must have been a local hit, or the numbers measure
		// something else.
		st := tc.Stats()
		if remote, misses := st.RemoteHits-tcBefore.RemoteHits, st.Misses-tcBefore.Misses; remote+misses != 0 {
			b.Errorf("tiercache: %d remote hits and %d misses, want only local hits", remote, misses)
		}
		if st := peer.Stats(); st.Hits+st.Misses != 0 {
			b.Errorf("go-redis/cache: %d Redis hits and %d misses, want only local hits", st.Hits, st.Misses)
		}
	})

	impls := map[string]op{
		"limit": func(i int) error {
			v, ok := limit.Get(keys[i])
			if !ok {
				return errMiss
			}
			return checkID(v.ID, i)
		},
		"tiercache": func(i int) error {
			v, err := tc.Get(ctx, keys[i])
			if err != nil {
				return err
			}
			return checkID(v.ID, i)
		},
		"gorediscache": func(i int) error {
			var v Item
			if err := peer.Get(ctx, peerKeys[i], &v); err != nil {
				return err
			}
			return checkID(v.ID, i)
		},
	}
	for name, f := range peers {
		impls[name] = f
	}
	return impls
}

// localPeers returns the LocalHit implementations of tiercache's other
// peers, each filled with every key and checked as localHitters' are: an
// error on anything but a hit of the right value served from the
// process's memory.
func localPeers(b *testing.B) map[string]op {
	ctx := context.Background()
	otr := newOtter[Item](b, 4*numKeys, false)
	otrCoarse := newOtter[Item](b, 4*numKeys, true)
	lru := newGolangLRU[Item](4 * numKeys)
	rst := newRistretto[Item](b, 4*numKeys)
	for i, k := range keys {
		otr.Set(k, itemFor(i))
		otrCoarse.Set(k, itemFor(i))
		lru.Add(k, itemFor(i))
	}
	fillRistretto(b, rst, keys, itemFor)

	// rueidis: the JSON string under rueKeys (returned raw), the msgpack
	// struct under rueMsgpackKeys (decoded on every hit, as go-redis/cache
	// does), both read with DoCache into its client-side cache.
	rue := newRueidis(b, true)
	for i := range keys {
		mp, err := msgpack.Marshal(itemFor(i))
		if err != nil {
			b.Fatal(err)
		}
		for _, cmd := range []rueidis.Completed{
			rue.B().Set().Key(rueKeys[i]).Value(jsonValues[i]).Build(),
			rue.B().Set().Key(rueMsgpackKeys[i]).Value(rueidis.BinaryString(mp)).Build(),
		} {
			if err := rue.Do(ctx, cmd).Error(); err != nil {
				b.Fatal(err)
			}
		}
	}
	warmRueidis(b, rue, rueKeys)
	warmRueidis(b, rue, rueMsgpackKeys)

	return map[string]op{
		"otter": func(i int) error {
			v, ok := otr.GetIfPresent(keys[i])
			return hitOf(v, ok, i)
		},
		"otter-coarseclock": func(i int) error {
			v, ok := otrCoarse.GetIfPresent(keys[i])
			return hitOf(v, ok, i)
		},
		"golanglru-expirable": func(i int) error {
			v, ok := lru.Get(keys[i])
			return hitOf(v, ok, i)
		},
		"ristretto": func(i int) error {
			v, ok := rst.Get(keys[i])
			return hitOf(v, ok, i)
		},
		"rueidis": func(i int) error {
			resp := rue.DoCache(ctx, rue.B().Get().Key(rueKeys[i]).Cache(), rueidisTTL)
			s, err := resp.ToString()
			if err != nil {
				return err
			}
			if !resp.IsCacheHit() {
				return errNotLocal
			}
			if s != jsonValues[i] {
				return fmt.Errorf("key %d: got %q, want %q", i, s, jsonValues[i])
			}
			return nil
		},
		"rueidis-msgpack": func(i int) error {
			resp := rue.DoCache(ctx, rue.B().Get().Key(rueMsgpackKeys[i]).Cache(), rueidisTTL)
			p, err := resp.AsBytes()
			if err != nil {
				return err
			}
			if !resp.IsCacheHit() {
				return errNotLocal
			}
			var v Item
			if err := msgpack.Unmarshal(p, &v); err != nil {
				return err
			}
			return checkID(v.ID, i)
		},
	}
}

// BenchmarkLocalHit reads a struct value that each implementation holds in
// process: tiercache's Cache.Get (stored decoded), go-redis/cache's Get with
// its TinyLFU local cache (stored as msgpack, decoded on every hit), the
// in-process caches otter (precise and coarse clock), golang-lru/v2
// expirable and ristretto (each with a TTL, as tiercache's local tier has),
// rueidis' client-side cache (DoCache: the raw string, and msgpack decoded
// into the struct) and the RWMutex map (limit).
func BenchmarkLocalHit(b *testing.B) {
	runGroup(b, localHitters(b), numKeys)
}

// BenchmarkLocalHitParallel is BenchmarkLocalHit from GOMAXPROCS goroutines
// at once (b.RunParallel), each starting at its own key.
func BenchmarkLocalHitParallel(b *testing.B) {
	runGroupParallel(b, localHitters(b), numKeys)
}

// warmLocal reads every key until one whole pass over keys is answered by
// tiercache's local tier. A Set keeps a local copy, but with coherence on,
// the invalidation Redis sends for that very write may drop it a moment
// later; the reads after it fill the local tier again.
func warmLocal[V any](b *testing.B, tc *cache.Cache[V]) {
	b.Helper()
	warmLocalKeys(b, tc, keys)
}

// warmLocalKeys is warmLocal over keys ks.
func warmLocalKeys[V any](b *testing.B, tc *cache.Cache[V], ks []string) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		before := tc.Stats().LocalHits
		for _, k := range ks {
			if _, err := tc.Get(ctx, k); err != nil {
				b.Fatalf("tiercache: warming %s: %v", k, err)
			}
		}
		if tc.Stats().LocalHits-before == uint64(len(ks)) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("tiercache: a pass over the keys still reads Redis after %v", 30*time.Second)
		}
	}
}
