package collections_test

import (
	"context"
	"testing"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// BenchmarkCounterIncr increments one of 100 keys: Counter.Incr (String
// codec) against the limit, a raw go-redis HINCRBY of the same field.
func BenchmarkCounterIncr(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	c, err := collections.NewCounter(rdb, "bench", collections.CounterOptions[string]{Codec: codec.String()})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := c.Incr(ctx, benchKey(i%100)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := rdb.HIncrBy(ctx, c.Key(), benchKey(i%100), 1).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
