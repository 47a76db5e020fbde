package collections_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// roundTrips is a go-redis hook that counts round trips: each command, and
// each pipeline as one.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkBloomContainsMany100 checks 100 elements, half of them added, in
// a filter of 100k elements at 1%, and reports the round trips per call.
func BenchmarkBloomContainsMany100(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	bf, err := collections.NewBloomFilter[int](rdb, "bench", 100_000, 0.01, collections.BloomOptions[int]{})
	if err != nil {
		b.Fatal(err)
	}
	eachBatch(intsFrom(0, 100_000), 10_000, func(batch []int) {
		if _, err := bf.AddMany(ctx, batch); err != nil {
			b.Fatal(err)
		}
	})
	items := intsFrom(99_950, 100)
	if _, err := bf.ContainsMany(ctx, items); err != nil { // loads the script
		b.Fatal(err)
	}
	var hook roundTrips
	rdb.AddHook(&hook)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := bf.ContainsMany(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(hook.n.Load())/float64(b.N), "roundtrips/op")
}

// BenchmarkBloomAddMany100 adds 100 elements per call.
func BenchmarkBloomAddMany100(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	bf, err := collections.NewBloomFilter[int](rdb, "bench", 1_000_000, 0.01, collections.BloomOptions[int]{})
	if err != nil {
		b.Fatal(err)
	}
	var hook roundTrips
	b.ReportAllocs()
	next := 0
	for i := 0; b.Loop(); i++ {
		if i == 1 { // after the call that loads the script
			rdb.AddHook(&hook)
			b.ResetTimer()
		}
		if _, err := bf.AddMany(ctx, intsFrom(next, 100)); err != nil {
			b.Fatal(err)
		}
		next += 100
	}
	b.ReportMetric(float64(hook.n.Load())/float64(max(b.N-1, 1)), "roundtrips/op")
}
