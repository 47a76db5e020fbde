package memo_test

import (
	"context"
	"testing"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/memo"
)

// smallArgs is a small argument struct, keyed by the canonical encoding.
type smallArgs struct {
	ID   int64
	Lang string
}

// BenchmarkCallLocalHit measures a Call answered by the local tier: the cost
// of making the key plus the local lookup.
func BenchmarkCallLocalHit(b *testing.B) {
	store := newStore(b, redistest.Start(b).Client(b))
	b.Run("struct-reflect", func(b *testing.B) {
		f, err := memo.New(store, uniqueName(), func(_ context.Context, a smallArgs) (int64, error) { return a.ID, nil }, memo.Options[int64]{})
		if err != nil {
			b.Fatal(err)
		}
		benchLocalHit(b, f, smallArgs{ID: 42, Lang: "fr"})
	})
	b.Run("struct-memokey", func(b *testing.B) {
		f, err := memo.New(store, uniqueName(), func(_ context.Context, u userKey) (int64, error) { return u.ID, nil }, memo.Options[int64]{})
		if err != nil {
			b.Fatal(err)
		}
		benchLocalHit(b, f, newUserKey(42))
	})
	b.Run("cache-get", func(b *testing.B) {
		// The floor: the cache's own local hit, with the key already made.
		c, err := cache.New(store, uniqueName(), cache.Options[int64]{})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := c.Set(ctx, "k", 42); err != nil {
			b.Fatal(err)
		}
		warmLocal(b, func() uint64 {
			if _, err := c.Get(ctx, "k"); err != nil {
				b.Fatal(err)
			}
			return c.Stats().LocalHits
		})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Get(ctx, "k"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("query-with-map", func(b *testing.B) {
		f, err := memo.New(store, uniqueName(), func(_ context.Context, q query) (int64, error) { return q.UserID, nil }, memo.Options[int64]{})
		if err != nil {
			b.Fatal(err)
		}
		benchLocalHit(b, f, newQuery(42, "fr"))
	})
}

func benchLocalHit[A any](b *testing.B, f *memo.Func[A, int64], arg A) {
	ctx := context.Background()
	warmLocal(b, func() uint64 {
		if _, err := f.Call(ctx, arg); err != nil {
			b.Fatal(err)
		}
		return f.Info().LocalHits
	})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Call(ctx, arg); err != nil {
			b.Fatal(err)
		}
	}
}
