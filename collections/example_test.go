package collections_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// TestMain stops the Redis server the examples start, if they started one.
func TestMain(m *testing.M) {
	code := m.Run()
	examples.Close()
	os.Exit(code)
}

// examples is the redis-server the Examples run against, started on first
// use; TestMain stops it.
var examples redistest.Shared

// exampleClient returns a client of the examples' server.
func exampleClient() *redis.Client { return examples.Client() }

func ExampleBloomFilter() {
	ctx := context.Background()
	rdb := exampleClient()
	// Sized for a million user names at a 0.1% false positive rate.
	seen, err := collections.NewBloomFilter(rdb, "signups", 1_000_000, 0.001,
		collections.BloomOptions[string]{Codec: codec.String()})
	if err != nil {
		panic(err)
	}
	if _, err := seen.AddMany(ctx, []string{"alice", "bob"}); err != nil {
		panic(err)
	}
	got, err := seen.ContainsMany(ctx, []string{"alice", "mallory"})
	if err != nil {
		panic(err)
	}
	fmt.Println("alice:", got[0], "mallory:", got[1])
	n, _ := seen.Len(ctx)
	fmt.Println("about", n, "names")

	// The same filter opened with other parameters is refused.
	other, _ := collections.NewBloomFilter(rdb, "signups", 10, 0.1, collections.BloomOptions[string]{Codec: codec.String()})
	_, err = other.Contains(ctx, "alice")
	fmt.Println(errors.Is(err, collections.ErrConfigMismatch))
	// Output:
	// alice: true mallory: false
	// about 2 names
	// true
}

func ExampleHyperLogLog() {
	ctx := context.Background()
	rdb := exampleClient()
	monday, _ := collections.NewHyperLogLog[string](rdb, "visitors:mon", collections.HyperLogLogOptions[string]{})
	tuesday, _ := collections.NewHyperLogLog[string](rdb, "visitors:tue", collections.HyperLogLogOptions[string]{})
	if _, err := monday.AddMany(ctx, []string{"ann", "ben", "cid", "ann"}); err != nil {
		panic(err)
	}
	if _, err := tuesday.AddMany(ctx, []string{"ben", "dan"}); err != nil {
		panic(err)
	}
	n, _ := monday.Len(ctx)
	fmt.Println("monday:", n)
	both, _ := monday.Union(ctx, tuesday)
	fmt.Println("monday or tuesday:", both)
	ok, _ := monday.Contains(ctx, "dan")
	fmt.Println("dan on monday:", ok)
	// Output:
	// monday: 3
	// monday or tuesday: 4
	// dan on monday: false
}

func ExampleLock() {
	ctx := context.Background()
	// Production code passes the clients of 3 or 5 independent masters.
	masters := []redis.UniversalClient{exampleClient()}
	lock, err := collections.NewLock(masters, "invoice:42", collections.LockOptions{TTL: 10 * time.Second})
	if err != nil {
		panic(err)
	}
	fence, err := lock.Lock(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println("fencing token", fence)
	// ... write to the resource along with the fencing token ...
	if err := lock.Unlock(ctx); err != nil {
		panic(err)
	}

	fence, _ = lock.Lock(ctx)
	fmt.Println("next fencing token", fence)
	_ = lock.Unlock(ctx)
	// Output:
	// fencing token 1
	// next fencing token 2
}

func ExampleSynchronize() {
	ctx := context.Background()
	masters := []redis.UniversalClient{exampleClient()}
	// With the watchdog, the lock outlives its TTL for as long as fn runs.
	lock, _ := collections.NewLock(masters, "nightly-report", collections.LockOptions{Watchdog: true})
	err := collections.Synchronize(ctx, lock, func(ctx context.Context) error {
		// ctx is canceled if the lock is lost.
		fmt.Println("only one process builds the report")
		return nil
	})
	fmt.Println(err)
	// Output:
	// only one process builds the report
	// <nil>
}

func ExampleFenceChecker() {
	// A resource that keeps the highest fencing token it has admitted.
	var store collections.FenceChecker
	fmt.Println(store.Admit(7)) // the current holder
	fmt.Println(store.Admit(7)) // writes again
	fmt.Println(store.Admit(8)) // the next holder
	err := store.Admit(7)       // the first holder wakes up from a long pause
	fmt.Println(errors.Is(err, collections.ErrStaleFence))
	// Output:
	// <nil>
	// <nil>
	// <nil>
	// true
}

func ExampleNextID() {
	ctx := context.Background()
	// Production code passes the clients of 3 or 5 independent masters.
	masters := []redis.UniversalClient{exampleClient()}
	orders, err := collections.NewNextID(masters, "order-ids", collections.NextIDOptions{})
	if err != nil {
		panic(err)
	}
	for range 3 {
		id, err := orders.Next(ctx)
		if err != nil {
			panic(err)
		}
		fmt.Println(id)
	}
	// Output:
	// 1
	// 2
	// 3
}

// A program that retires a lock name removes its fencing counters, which
// have no TTL. Tokens then start again from 1.
func ExampleLock_Purge() {
	ctx := context.Background()
	masters := []redis.UniversalClient{exampleClient()}
	lock, err := collections.NewLock(masters, "report:2025", collections.LockOptions{})
	if err != nil {
		panic(err)
	}
	fence, _ := lock.Lock(ctx)
	fmt.Println("fencing token", fence)
	_ = lock.Unlock(ctx)
	if err := lock.Purge(ctx); err != nil {
		panic(err)
	}
	fence, _ = lock.Lock(ctx)
	fmt.Println("after Purge", fence)
	_ = lock.Unlock(ctx)
	_ = lock.Purge(ctx)
	// Output:
	// fencing token 1
	// after Purge 1
}
