package cache_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
)

type User struct {
	ID   int
	Name string
}

func Example() {
	ctx := context.Background()
	rdb := cache.RedisForExamples() // any go-redis client: Client, ClusterClient, failover client
	store, err := cache.NewStore(rdb, cache.StoreOptions{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	users, err := cache.New(store, "example-users", cache.Options[User]{TTL: 10 * time.Minute})
	if err != nil {
		panic(err)
	}

	if err := users.Set(ctx, "42", User{ID: 42, Name: "Ada"}); err != nil {
		panic(err)
	}
	u, err := users.Get(ctx, "42")
	fmt.Println(u.Name, err)
	_, err = users.Get(ctx, "7")
	fmt.Println(errors.Is(err, cache.ErrNotFound))
	// Output:
	// Ada <nil>
	// true
}

func ExampleCache_GetOrLoad() {
	ctx := context.Background()
	store, _ := cache.NewStore(cache.RedisForExamples(), cache.StoreOptions{})
	defer store.Close()
	users, _ := cache.New(store, "example-getorload", cache.Options[User]{TTL: time.Minute})

	load := func(ctx context.Context) (User, error) {
		fmt.Println("loading 42 from the database")
		return User{ID: 42, Name: "Ada"}, nil
	}
	for range 3 {
		u, err := users.GetOrLoad(ctx, "42", load) // one load, here and across the fleet
		fmt.Println(u.Name, err)
	}
	// Output:
	// loading 42 from the database
	// Ada <nil>
	// Ada <nil>
	// Ada <nil>
}

func ExampleCache_LookupFunc() {
	ctx := context.Background()
	store, _ := cache.NewStore(cache.RedisForExamples(), cache.StoreOptions{})
	defer store.Close()
	names, _ := cache.New(store, "example-lookupfunc", cache.Options[string]{NegativeTTL: time.Minute})
	_ = names.Set(ctx, "a", "Ada")
	_ = names.Set(ctx, "c", "Grace")
	_ = names.SetNotFound(ctx, "b") // b is known to have no value

	ranked := []string{"c", "b", "a", "d"}
	out := make([]string, len(ranked))
	err := names.LookupFunc(ctx, ranked, func(i int, v string, ok, negative bool) {
		switch {
		case ok:
			out[i] = v
		case negative:
			out[i] = "(none)"
		default:
			out[i] = "(load me)"
		}
	})
	fmt.Println(out, err)
	// Output:
	// [Grace (none) Ada (load me)] <nil>
}

// A Store on a go-redis Ring: every shard gets its own invalidation
// connection, and batches go to each shard in one round trip. (This Ring
// has one shard, the examples' server; list yours in Addrs.)
func ExampleNewStore_ring() {
	ctx := context.Background()
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": cache.RedisForExamples().Options().Addr}})
	defer ring.Close()
	store, err := cache.NewStore(ring, cache.StoreOptions{})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	users, _ := cache.New(store, "example-ring", cache.Options[User]{TTL: time.Minute})
	_ = users.SetMany(ctx, map[string]User{"1": {ID: 1, Name: "Ada"}, "2": {ID: 2, Name: "Grace"}})
	got, err := users.GetMany(ctx, []string{"1", "2"})
	fmt.Println(got["1"].Name, got["2"].Name, err)
	// Output:
	// Ada Grace <nil>
}

// A Store in key-level tracking: Redis tells it only of writes to the keys
// it read, however many other Stores and keys there are. Reads that may be
// kept go through a pool of the Store's own; the local tier is flushed
// when one of its connections closes.
func ExampleCoherenceTrackingKeys() {
	ctx := context.Background()
	rdb := cache.RedisForExamples()
	store, err := cache.NewStore(rdb, cache.StoreOptions{Coherence: cache.CoherenceTrackingKeys})
	if err != nil {
		panic(err)
	}
	defer store.Close()
	users, _ := cache.New(store, "example-keys", cache.Options[User]{TTL: time.Minute})
	if err := store.WaitCoherent(ctx); err != nil {
		panic(err)
	}
	_ = users.Set(ctx, "1", User{ID: 1, Name: "Ada"})
	u, err := users.Get(ctx, "1")
	fmt.Println(u.Name, err, store.Coherence())
	// Output:
	// Ada <nil> tracking-keys
}
