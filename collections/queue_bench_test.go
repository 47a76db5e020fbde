package collections_test

import (
	"context"
	"testing"
	"time"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// BenchmarkQueuePutGet puts one item and gets it back: Queue.Put then
// Queue.Get (String codec) against the limit, a raw go-redis LPUSH then
// BRPOP of the same list. Each op is two round trips.
func BenchmarkQueuePutGet(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	q, err := collections.NewQueue(rdb, "bench", collections.QueueOptions[string]{Codec: codec.String()})
	if err != nil {
		b.Fatal(err)
	}
	const item = "an item of about fifty bytes..................."
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := q.Put(ctx, item); err != nil {
				b.Fatal(err)
			}
			if _, err := q.Get(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rdb.LPush(ctx, q.Key(), item).Err(); err != nil {
				b.Fatal(err)
			}
			if err := rdb.BRPop(ctx, time.Second, q.Key()).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
