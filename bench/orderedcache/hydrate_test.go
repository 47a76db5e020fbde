package orderedcachebench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/orderedcache"
)

// numIDs is how many ranked ids every benchmark hydrates.
const numIDs = 1000

// ids are the ranked ids: 1 to 1000, in rank order.
var ids = func() []int64 {
	out := make([]int64, numIDs)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}()

// tenPercentMisses reports whether an id's document is cached in
// BenchmarkHydrate1000: all but every tenth id's.
func tenPercentMisses(id int64) bool { return id%10 != 0 }

// allCached reports that every id's document is cached, as in
// BenchmarkHydrateLocal1000.
func allCached(int64) bool { return true }

// document returns the document of id as the JSON a search service hands
// on (about 100 bytes): the benchmarks use the String codec so that every
// implementation moves the same bytes and none decodes.
func document(id int64) string {
	return fmt.Sprintf(`{"id":%d,"title":"Document number %d","url":"https://example.com/docs/%d","score":0.%03d}`, id, id, id, id%1000)
}

// result is what every implementation produces: the documents of the
// cached ids in rank order, and the ids to load.
type result struct {
	docs   []string
	misses []int64
}

// check verifies a result against the fixture, once per sub-benchmark.
func (r result) check(cached func(int64) bool) error {
	var wantDocs []string
	var wantMisses []int64
	for _, id := range ids {
		if cached(id) {
			wantDocs = append(wantDocs, document(id))
		} else {
			wantMisses = append(wantMisses, id)
		}
	}
	if !slices.Equal(r.docs, wantDocs) || !slices.Equal(r.misses, wantMisses) {
		return fmt.Errorf("got %d documents and misses %v, want %d documents and misses %v",
			len(r.docs), r.misses, len(wantDocs), wantMisses)
	}
	return nil
}

// newClient returns a go-redis client for the benchmark server, flushed so
// that every benchmark starts from an empty database.
func newClient(b *testing.B) *redis.Client {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	b.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		b.Fatalf("FLUSHDB: %v", err)
	}
	return rdb
}

// newCache returns a namespace of strings (String codec) on a Store of its
// own on rdb, holding the documents of the ids cached reports.
func newCache(b *testing.B, rdb *redis.Client, opts cache.Options[string], cached func(int64) bool) *cache.Cache[string] {
	b.Helper()
	store, err := cache.NewStore(rdb, cache.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	// A Store keeps nothing locally until its invalidation connection is
	// subscribed, which it does in the background after NewStore.
	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard
	defer cancel()
	if err := store.WaitCoherent(wctx); err != nil {
		b.Fatal(err)
	}
	opts.Codec = codec.String()
	c, err := cache.New(store, "docs", opts)
	if err != nil {
		b.Fatal(err)
	}
	items := make(map[string]string, numIDs)
	for _, id := range ids {
		if cached(id) {
			items[strconv.FormatInt(id, 10)] = document(id)
		}
	}
	if err := c.SetMany(context.Background(), items); err != nil {
		b.Fatal(err)
	}
	return c
}

// run runs each implementation as a sub-benchmark, checking its result
// once before timing it.
func run(b *testing.B, cached func(int64) bool, order []string, impls map[string]func() (result, error)) {
	b.Helper()
	for _, name := range order {
		hydrate := impls[name]
		b.Run(name, func(b *testing.B) {
			r, err := hydrate()
			if err == nil {
				err = r.check(cached)
			}
			if err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := hydrate(); err != nil {
					b.Fatalf("%s: %v", name, err)
				}
			}
		})
	}
}

// BenchmarkHydrate1000 hydrates 1000 ranked ids, 900 of them cached in
// Redis and none in the local tier (LocalTTL -1), into their documents in
// rank order and the list of ids to load:
//
//   - limit: one raw go-redis MGET of the 1000 Redis keys orderedcache
//     reads, its replies walked into the documents (envelope header cut off)
//     and the misses;
//   - tiercache: orderedcache.New, then Values and Misses;
//   - naive-get-loop: Cache.Get for each id in turn (1000 round trips).
//
// The misses are not loaded: every iteration reads the same keys.
func BenchmarkHydrate1000(b *testing.B) {
	ctx := context.Background()
	rdb := newClient(b)
	c := newCache(b, rdb, cache.Options[string]{LocalTTL: -1}, tenPercentMisses)
	rkeys := make([]string, numIDs)
	for i, id := range ids {
		rkeys[i] = c.RedisKey(strconv.FormatInt(id, 10))
	}
	b.Cleanup(func() {
		if st := c.Stats(); st.LocalHits != 0 {
			b.Errorf("tiercache: %d local hits, want every read from Redis", st.LocalHits)
		}
	})
	run(b, tenPercentMisses, []string{"limit", "tiercache", "naive-get-loop"}, map[string]func() (result, error){
		"limit": func() (result, error) {
			vals, err := rdb.MGet(ctx, rkeys...).Result()
			if err != nil {
				return result{}, err
			}
			r := result{docs: make([]string, 0, len(vals))}
			for i, v := range vals {
				if s, ok := v.(string); ok && len(s) >= codec.HeaderSize {
					r.docs = append(r.docs, s[codec.HeaderSize:])
				} else {
					r.misses = append(r.misses, ids[i])
				}
			}
			return r, nil
		},
		"tiercache": func() (result, error) {
			d, err := orderedcache.New(ctx, c, ids, orderedcache.Options[int64]{})
			if err != nil {
				return result{}, err
			}
			return result{docs: d.Values(), misses: d.Misses()}, nil
		},
		"naive-get-loop": func() (result, error) {
			r := result{docs: make([]string, 0, numIDs)}
			for _, id := range ids {
				v, err := c.Get(ctx, strconv.FormatInt(id, 10))
				switch {
				case errors.Is(err, cache.ErrNotFound):
					r.misses = append(r.misses, id)
				case err != nil:
					return result{}, err
				default:
					r.docs = append(r.docs, v)
				}
			}
			return r, nil
		},
	})
}

// BenchmarkHydrateLocal1000 hydrates 1000 ranked ids whose documents are
// all cached and in the local tier (no Redis call):
//
//   - limit: a plain map[int64]string lookup for each id, appending to the
//     result;
//   - tiercache: orderedcache.New, then Values and Misses.
func BenchmarkHydrateLocal1000(b *testing.B) {
	ctx := context.Background()
	c := newCache(b, newClient(b), cache.Options[string]{}, allCached)
	m := make(map[int64]string, numIDs)
	all := make([]string, 0, numIDs)
	for _, id := range ids {
		all = append(all, strconv.FormatInt(id, 10))
		m[id] = document(id)
	}
	// Read until every document is in the local tier: the invalidations of
	// newCache's own writes arrive after it returns and drop the copies a
	// read may already have kept. Each pass is a round trip.
	deadline := time.Now().Add(30 * time.Second) // a hang guard, not a speed goal
	for c.LocalLen() < numIDs {
		if time.Now().After(deadline) {
			b.Fatalf("local tier holds %d documents after 30s, want %d", c.LocalLen(), numIDs)
		}
		if _, err := c.GetMany(ctx, all); err != nil {
			b.Fatal(err)
		}
	}
	before := c.Stats()
	b.Cleanup(func() {
		st := c.Stats()
		if remote := st.RemoteHits - before.RemoteHits; remote != 0 {
			b.Errorf("tiercache: %d Redis hits, want every hit local", remote)
		}
	})
	run(b, allCached, []string{"limit", "tiercache"}, map[string]func() (result, error){
		"limit": func() (result, error) {
			r := result{docs: make([]string, 0, numIDs)}
			for _, id := range ids {
				if v, ok := m[id]; ok {
					r.docs = append(r.docs, v)
				} else {
					r.misses = append(r.misses, id)
				}
			}
			return r, nil
		},
		"tiercache": func() (result, error) {
			d, err := orderedcache.New(ctx, c, ids, orderedcache.Options[int64]{})
			if err != nil {
				return result{}, err
			}
			return result{docs: d.Values(), misses: d.Misses()}, nil
		},
	})
}
