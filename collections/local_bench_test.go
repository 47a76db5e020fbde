package collections_test

import (
	"context"
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
