package collections_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// BenchmarkLocalSetContains reads members of a 1000-member set: Set.Contains
// served by the local copy (Options.Local), the same Contains from Redis
// (SISMEMBER, one round trip), and the limit, a lookup in a Go map under
// an RWMutex.
func BenchmarkLocalSetContains(b *testing.B) {
	ctx := context.Background()
	srv := redistest.Start(b)
	store, err := cache.NewStore(srv.Client(b), cache.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := store.WaitCoherent(wctx); err != nil {
		b.Fatal(err)
	}
	remote, err := collections.NewSet(srv.Client(b), "bench-set", collections.SetOptions[string]{})
	if err != nil {
		b.Fatal(err)
	}
	members := make([]string, 1000)
	limit := struct {
		sync.RWMutex
		m map[string]struct{}
	}{m: make(map[string]struct{}, len(members))}
	for i := range members {
		members[i] = benchKey(i)
		limit.m[members[i]] = struct{}{}
	}
	if _, err := remote.Add(ctx, members...); err != nil {
		b.Fatal(err)
	}
	local, err := collections.NewSet(srv.Client(b), "bench-set", collections.SetOptions[string]{
		Options: collections.Options{Local: store, LocalTTL: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := local.Contains(ctx, members[0]); err != nil { // loads the copy
		b.Fatal(err)
	}
	b.Run("local", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if in, err := local.Contains(ctx, members[i%1000]); err != nil || !in {
				b.Fatal(in, err)
			}
		}
		if st := local.Local(); st.Kept != 1 {
			b.Fatalf("the copy was kept %d times, want once: not all reads were local", st.Kept)
		}
	})
	b.Run("redis", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if in, err := remote.Contains(ctx, members[i%1000]); err != nil || !in {
				b.Fatal(in, err)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			limit.RLock()
			_, in := limit.m[members[i%1000]]
			limit.RUnlock()
			if !in {
				b.Fatal(in)
			}
		}
	})
}

// localBenchStore returns a server's client and a coherent Store on it.
func localBenchStore(b *testing.B) (*redistest.Server, *cache.Store) {
	srv := redistest.Start(b)
	store, err := cache.NewStore(srv.Client(b), cache.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := store.WaitCoherent(ctx); err != nil {
		b.Fatal(err)
	}
	return srv, store
}

// BenchmarkLocalReads: one read of each structure served by its local copy
// (Options.Local), the same read from Redis, and the limit, the same read
// on a Go value under an RWMutex, side by side: Dict.Get of a 1000-key
// dict, SortedSet.Score in a 1000-member set, List.Range of 100 elements.
func BenchmarkLocalReads(b *testing.B) {
	ctx := context.Background()
	srv, store := localBenchStore(b)
	local := collections.Options{Local: store, LocalTTL: time.Hour}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	var mu sync.RWMutex

	dictOf := func(o collections.Options) *collections.Dict[string, string] {
		d, err := collections.NewDict(srv.Client(b), "bench-dict", collections.DictOptions[string, string]{Options: o})
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	items := make(map[string]string, len(keys))
	for _, k := range keys {
		items[k] = "value of " + k
	}
	if err := dictOf(collections.Options{}).SetMany(ctx, items); err != nil {
		b.Fatal(err)
	}
	zsetOf := func(o collections.Options) *collections.SortedSet[string] {
		z, err := collections.NewSortedSet(srv.Client(b), "bench-zset", collections.SortedSetOptions[string]{Options: o})
		if err != nil {
			b.Fatal(err)
		}
		return z
	}
	scores := make(map[string]float64, len(keys))
	var zs []collections.Scored[string]
	for i, k := range keys {
		scores[k] = float64(i)
		zs = append(zs, collections.Scored[string]{Value: k, Score: float64(i)})
	}
	if err := zsetOf(collections.Options{}).SetScores(ctx, zs...); err != nil {
		b.Fatal(err)
	}
	listOf := func(o collections.Options) *collections.List[string] {
		l, err := collections.NewList(srv.Client(b), "bench-list", collections.ListOptions[string]{Options: o})
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	if _, err := listOf(collections.Options{}).Extend(ctx, keys...); err != nil {
		b.Fatal(err)
	}

	for _, d := range []struct {
		name string
		dict *collections.Dict[string, string]
	}{{"dict-get/local", dictOf(local)}, {"dict-get/redis", dictOf(collections.Options{})}} {
		b.Run(d.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := d.dict.Get(ctx, keys[i%1000]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("dict-get/limit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			mu.RLock()
			_, ok := items[keys[i%1000]]
			mu.RUnlock()
			if !ok {
				b.Fatal(ok)
			}
		}
	})
	for _, z := range []struct {
		name string
		zset *collections.SortedSet[string]
	}{{"zset-score/local", zsetOf(local)}, {"zset-score/redis", zsetOf(collections.Options{})}} {
		b.Run(z.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := z.zset.Score(ctx, keys[i%1000]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("zset-score/limit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			mu.RLock()
			_, ok := scores[keys[i%1000]]
			mu.RUnlock()
			if !ok {
				b.Fatal(ok)
			}
		}
	})
	for _, l := range []struct {
		name string
		list *collections.List[string]
	}{{"list-range100/local", listOf(local)}, {"list-range100/redis", listOf(collections.Options{})}} {
		b.Run(l.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				start := int64(i % 900)
				if vs, err := l.list.Range(ctx, start, start+99); err != nil || len(vs) != 100 {
					b.Fatal(len(vs), err)
				}
			}
		})
	}
	b.Run("list-range100/limit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			start := i % 900
			mu.RLock()
			vs := slices.Clone(keys[start : start+100])
			mu.RUnlock()
			if len(vs) != 100 {
				b.Fatal(len(vs))
			}
		}
	})
}
