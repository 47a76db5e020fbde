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

// BenchmarkReliableQueueClaimAck takes and acks one waiting item:
// ReliableQueue.TryGet then Delivery.Ack against the limit, the classic
// reliable-queue pattern LMOVE into a processing list then LREM from it.
// The item is pushed before each op (untimed by neither: both pay one
// LPUSH).
func BenchmarkReliableQueueClaimAck(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	q, err := collections.NewReliableQueue(rdb, "bench", collections.QueueOptions[string]{Codec: codec.String()})
	if err != nil {
		b.Fatal(err)
	}
	const item = "an item of about fifty bytes..................."
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rdb.LPush(ctx, q.Key(), item).Err(); err != nil {
				b.Fatal(err)
			}
			d, err := q.TryGet(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if err := d.Ack(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rdb.LPush(ctx, "bench-raw", item).Err(); err != nil {
				b.Fatal(err)
			}
			v, err := rdb.LMove(ctx, "bench-raw", "bench-raw:processing", "RIGHT", "LEFT").Result()
			if err != nil {
				b.Fatal(err)
			}
			if err := rdb.LRem(ctx, "bench-raw:processing", 1, v).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
