package cachebench

import (
	"context"
	"sync"
	"testing"
	"time"

	rediscache "github.com/go-redis/cache/v9"

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

	return map[string]op{
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
}

// BenchmarkLocalHit reads a struct value that each implementation holds in
// process: tiercache's Cache.Get (stored decoded), go-redis/cache's Get with
// its TinyLFU local cache (stored as msgpack, decoded on every hit), and the
// RWMutex map (limit).
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
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		before := tc.Stats().LocalHits
		for _, k := range keys {
			if _, err := tc.Get(ctx, k); err != nil {
				b.Fatalf("tiercache: warming %s: %v", k, err)
			}
		}
		if tc.Stats().LocalHits-before == numKeys {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("tiercache: a pass over the keys still reads Redis after %v", 30*time.Second)
		}
	}
}
