package orderedcache_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/orderedcache"
)

// BenchmarkHydrateWithLoad measures the whole hydration of 1000 ranked ids
// of which 900 are cached in Redis (none in the local tier: LocalTTL -1)
// and 100 are new in every iteration, so that each iteration loads 100
// documents and writes them back:
//
//   - raw: one MGET of the 1000 keys, then one pipeline of 100 SET PX of
//     the loaded documents (what the two round trips cost without tiercache);
//   - Hydrate: orderedcache.Hydrate, whose loader builds the 100 documents.
//
// Documents are ~100-byte strings (String codec), so no time goes to JSON.
func BenchmarkHydrateWithLoad(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	store, err := cache.NewStore(rdb, cache.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	c, err := cache.New(store, "bench", cache.Options[string]{LocalTTL: -1, TTL: time.Minute, Codec: codec.String()})
	if err != nil {
		b.Fatal(err)
	}
	document := func(id int) string {
		return `{"id":` + strconv.Itoa(id) + `,"title":"Document number ` + strconv.Itoa(id) + `","url":"https://example.com/docs/x"}`
	}
	items := make(map[string]string, 900)
	for id := 1; id <= 900; id++ {
		items[strconv.Itoa(id)] = document(id)
	}
	if err := c.SetMany(ctx, items); err != nil {
		b.Fatal(err)
	}
	next := 1_000_000 // first never-seen id
	// batch returns the 1000 ranked ids of one iteration: the 900 cached
	// ones with 100 new ones spread among them.
	batch := func() []int {
		ids := make([]int, 0, 1000)
		for id := 1; id <= 900; id++ {
			ids = append(ids, id)
			if id%9 == 0 {
				ids = append(ids, next)
				next++
			}
		}
		return ids
	}
	load := func(_ context.Context, missing []int) (map[int]string, error) {
		out := make(map[int]string, len(missing))
		for _, id := range missing {
			out[id] = document(id)
		}
		return out, nil
	}

	b.Run("raw", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ids := batch()
			rkeys := make([]string, len(ids))
			for i, id := range ids {
				rkeys[i] = c.RedisKey(strconv.Itoa(id))
			}
			vals, err := rdb.MGet(ctx, rkeys...).Result()
			if err != nil {
				b.Fatal(err)
			}
			var missing []int
			docs := make([]string, 0, len(ids))
			for i, v := range vals {
				if s, ok := v.(string); ok {
					docs = append(docs, s)
				} else {
					missing = append(missing, ids[i])
				}
			}
			loaded, _ := load(ctx, missing)
			_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for id, d := range loaded {
					p.Set(ctx, c.RedisKey(strconv.Itoa(id)), d, time.Minute)
				}
				return nil
			})
			if err != nil || len(docs) != 900 || len(loaded) != 100 {
				b.Fatalf("%d cached, %d loaded, error %v", len(docs), len(loaded), err)
			}
		}
	})
	b.Run("Hydrate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			values, unsupplied, err := orderedcache.Hydrate(ctx, c, batch(), load)
			if err != nil || len(values) != 1000 || len(unsupplied) != 0 {
				b.Fatalf("%d values, %d unsupplied, error %v", len(values), len(unsupplied), err)
			}
		}
	})
}
