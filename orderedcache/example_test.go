package orderedcache_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/orderedcache"
)

// exampleAddr is the address of the redis-server TestMain starts for the
// examples.
var exampleAddr string

func TestMain(m *testing.M) {
	addr, stop, err := exampleRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "orderedcache examples:", err)
		os.Exit(1)
	}
	exampleAddr = addr
	code := m.Run()
	stop()
	os.Exit(code)
}

type Document struct {
	ID    int64
	Title string
}

// searchIndex stands for the search engine: it returns ids in rank order.
func searchIndex(string) []int64 { return []int64{42, 7, 19, 7, 3} }

// loadDocuments stands for the database: one query for every id asked.
func loadDocuments(_ context.Context, ids []int64) (map[int64]Document, error) {
	fmt.Println("loading", ids)
	titles := map[int64]string{42: "Answer", 7: "Seven", 19: "Nineteen"} // 3 was deleted
	out := make(map[int64]Document, len(ids))
	for _, id := range ids {
		if t, ok := titles[id]; ok {
			out[id] = Document{ID: id, Title: t}
		}
	}
	return out, nil
}

func ExampleHydrate() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: exampleAddr})
	defer rdb.Close()
	store, _ := cache.NewStore(rdb, cache.StoreOptions{})
	defer store.Close()
	docs, _ := cache.New(store, "docs-hydrate", cache.Options[Document]{})

	// 7 and 19 are already cached; the loader is asked for the others.
	_ = docs.Set(ctx, "7", Document{ID: 7, Title: "Seven"})
	_ = docs.Set(ctx, "19", Document{ID: 19, Title: "Nineteen"})

	results, unknown, err := orderedcache.Hydrate(ctx, docs, searchIndex("q"), loadDocuments)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range results {
		fmt.Println(d.ID, d.Title)
	}
	fmt.Println("unknown:", unknown)
	// Output:
	// loading [42 3]
	// 42 Answer
	// 7 Seven
	// 19 Nineteen
	// unknown: [3]
}

func ExampleNew() {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: exampleAddr})
	defer rdb.Close()
	store, _ := cache.NewStore(rdb, cache.StoreOptions{})
	defer store.Close()
	docs, _ := cache.New(store, "docs-new", cache.Options[Document]{})
	_ = docs.Set(ctx, "19", Document{ID: 19, Title: "Nineteen"})

	d, err := orderedcache.New(ctx, docs, searchIndex("q"), orderedcache.Options[int64]{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("cached:", d.Keys(), "to load:", d.Misses())

	if err := d.Fill(ctx, loadDocuments); err != nil {
		fmt.Println(err)
		return
	}
	for id, doc := range d.All() {
		fmt.Println(id, doc.Title)
	}
	fmt.Println("still missing:", d.Misses())
	// Output:
	// cached: [19] to load: [42 7 3]
	// loading [42 7 3]
	// 42 Answer
	// 7 Seven
	// 19 Nineteen
	// still missing: [3]
}

// An id type that is neither an integer nor a string needs a key function.
func ExampleOptions() {
	type sku struct {
		Vendor string
		Code   int
	}
	ctx := context.Background()
	store, _ := cache.NewStore(nil, cache.StoreOptions{}) // local-only, for the example
	defer store.Close()
	prices, _ := cache.New(store, "prices", cache.Options[float64]{})

	d, err := orderedcache.New(ctx, prices, []sku{{"acme", 1}}, orderedcache.Options[sku]{})
	fmt.Println(err)

	d, _ = orderedcache.New(ctx, prices, []sku{{"acme", 1}, {"acme", 2}}, orderedcache.Options[sku]{
		Key: func(s sku) string { return fmt.Sprintf("%s-%d", s.Vendor, s.Code) },
	})
	_ = d.Set(ctx, sku{"acme", 2}, 9.5)
	fmt.Println(d.Keys(), d.Misses(), prices.RedisKey("acme-2"))
	// Output:
	// tiercache/orderedcache: id type needs Options.Key: orderedcache_test.sku
	// [{acme 2}] [{acme 1}] tc:prices:acme-2
}
