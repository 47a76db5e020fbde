package collections_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// BenchmarkPairedLimit runs each collection call and its limit (the raw
// go-redis command) alternately in the same iteration and reports the median
// time of each and their ratio ("x-limit"). On a shared, loaded machine the
// separate Benchmark<Group>/{tiercache,limit} rows drift with the load
// between the two runs; paired medians see the same load and give a stable
// ratio.
func BenchmarkPairedLimit(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	d, err := collections.NewDict(rdb, "paired", collections.DictOptions[string, string]{KeyCodec: codec.String(), Codec: codec.String()})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Set(ctx, "k", "value of about fifty bytes......................"); err != nil {
		b.Fatal(err)
	}
	c, _ := collections.NewCounter(rdb, "paired", collections.CounterOptions[string]{Codec: codec.String()})
	s, _ := collections.NewSet(rdb, "paired", collections.SetOptions[string]{Codec: codec.String()})
	probe := make([]string, 100)
	for i := range probe {
		probe[i] = benchKey(950 + i)
	}
	if _, err := s.Add(ctx, probe[:50]...); err != nil {
		b.Fatal(err)
	}
	q, _ := collections.NewQueue(rdb, "paired", collections.QueueOptions[string]{Codec: codec.String()})
	rq, _ := collections.NewReliableQueue(rdb, "paired-reliable", collections.QueueOptions[string]{Codec: codec.String()})
	const item = "an item of about fifty bytes....................."
	put := func(key string) func() error {
		return func() error { return rdb.LPush(ctx, key, item).Err() }
	}

	for _, p := range []struct {
		group          string
		tiercache, raw func() error
		// setup, when set, runs untimed before each of the two calls.
		setup, rawSetup func() error
	}{
		{"DictGet",
			func() error { _, err := d.Get(ctx, "k"); return err },
			func() error { return rdb.HGet(ctx, d.Key(), "k").Err() }, nil, nil},
		{"CounterIncr",
			func() error { _, err := c.Incr(ctx, "k"); return err },
			func() error { return rdb.HIncrBy(ctx, c.Key(), "k", 1).Err() }, nil, nil},
		{"SetContainsMany",
			func() error { _, err := s.ContainsMany(ctx, probe...); return err },
			func() error {
				args := make([]any, len(probe))
				for i, m := range probe {
					args[i] = m
				}
				return rdb.SMIsMember(ctx, s.Key(), args...).Err()
			}, nil, nil},
		{"QueuePutGet",
			func() error {
				if err := q.Put(ctx, item); err != nil {
					return err
				}
				_, err := q.Get(ctx)
				return err
			},
			func() error {
				if err := rdb.LPush(ctx, q.Key(), item).Err(); err != nil {
					return err
				}
				return rdb.BRPop(ctx, time.Second, q.Key()).Err()
			}, nil, nil},
		// The reliable queue's claim and ack (an item waiting each time)
		// against the classic reliable-queue pattern: LMOVE into a
		// processing list, then LREM from it.
		{"ReliableQueueClaimAck",
			func() error {
				d, err := rq.TryGet(ctx)
				if err != nil {
					return err
				}
				return d.Ack(ctx)
			},
			func() error {
				v, err := rdb.LMove(ctx, "paired-raw", "paired-raw:processing", "RIGHT", "LEFT").Result()
				if err != nil {
					return err
				}
				return rdb.LRem(ctx, "paired-raw:processing", 1, v).Err()
			}, put(rq.Key()), put("paired-raw")},
	} {
		b.Run(p.group, func(b *testing.B) {
			var ours, limit []time.Duration
			for b.Loop() {
				if p.setup != nil {
					if err := p.setup(); err != nil {
						b.Fatal(err)
					}
				}
				t0 := time.Now()
				if err := p.tiercache(); err != nil {
					b.Fatal(err)
				}
				ours = append(ours, time.Since(t0))
				if p.rawSetup != nil {
					if err := p.rawSetup(); err != nil {
						b.Fatal(err)
					}
				}
				t1 := time.Now()
				if err := p.raw(); err != nil {
					b.Fatal(err)
				}
				limit = append(limit, time.Since(t1))
			}
			mo, ml := median(ours), median(limit)
			b.ReportMetric(float64(mo.Nanoseconds()), "tiercache-ns")
			b.ReportMetric(float64(ml.Nanoseconds()), "limit-ns")
			b.ReportMetric(float64(mo)/float64(ml), "x-limit")
		})
	}
}

// median returns the median of ds, sorting it.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
