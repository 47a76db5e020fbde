// Package collectionsbench measures tiercache's Redis-backed collections
// against the limit: the raw go-redis command that does the same work on
// the same key (the Python peers, pottery and redis-collections, have no Go
// counterpart).
//
// Groups: DictGet (Dict.Get vs HGET), CounterIncr (Counter.Incr vs
// HINCRBY), SetContainsMany (Set.ContainsMany of 100 members vs SMISMEMBER)
// and QueuePutGet (Queue.Put then Get vs LPUSH then BRPOP). Every
// collection uses String codecs, so both rows move the same bytes. The
// collections package has the same benchmarks for `go test -bench`; see
// bench/README.md for the table.
package collectionsbench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/bench/internal/redisproc"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// redisAddr is the address of the redis-server TestMain started.
var redisAddr string

func TestMain(m *testing.M) { os.Exit(redisproc.Main(m, &redisAddr)) }

// client returns a client of the server, closed when b ends.
func client(b *testing.B) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	b.Cleanup(func() { _ = c.Close() })
	return c
}

// key returns the i-th key of a benchmark.
func key(i int) string { return fmt.Sprintf("k%04d", i) }

func BenchmarkDictGet(b *testing.B) {
	ctx := context.Background()
	rdb := client(b)
	d, err := collections.NewDict(rdb, "bench", collections.DictOptions[string, string]{
		KeyCodec: codec.String(), Codec: codec.String(),
	})
	if err != nil {
		b.Fatal(err)
	}
	items := make(map[string]string, 1000)
	for i := range 1000 {
		items[key(i)] = "value of " + key(i) + ", about fifty bytes long....."
	}
	if err := d.SetMany(ctx, items); err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = key(i)
	}
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := rdb.HGet(ctx, d.Key(), keys[i%1000]).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := d.Get(ctx, keys[i%1000]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCounterIncr(b *testing.B) {
	ctx := context.Background()
	rdb := client(b)
	c, err := collections.NewCounter(rdb, "bench", collections.CounterOptions[string]{Codec: codec.String()})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 100)
	for i := range keys {
		keys[i] = key(i)
	}
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if err := rdb.HIncrBy(ctx, c.Key(), keys[i%100], 1).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := c.Incr(ctx, keys[i%100]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSetContainsMany(b *testing.B) {
	ctx := context.Background()
	rdb := client(b)
	s, err := collections.NewSet(rdb, "bench", collections.SetOptions[string]{Codec: codec.String()})
	if err != nil {
		b.Fatal(err)
	}
	members := make([]string, 1000)
	for i := range members {
		members[i] = key(i)
	}
	if _, err := s.Add(ctx, members...); err != nil {
		b.Fatal(err)
	}
	probe := make([]string, 100) // half present, half absent
	for i := range probe {
		probe[i] = key(950 + i)
	}
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			args := make([]any, len(probe)) // what any caller builds per call
			for i, m := range probe {
				args[i] = m
			}
			if _, err := rdb.SMIsMember(ctx, s.Key(), args...).Result(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.ContainsMany(ctx, probe...); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkQueuePutGet(b *testing.B) {
	ctx := context.Background()
	rdb := client(b)
	q, err := collections.NewQueue(rdb, "bench", collections.QueueOptions[string]{Codec: codec.String()})
	if err != nil {
		b.Fatal(err)
	}
	const item = "an item of about fifty bytes....................."
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
}
