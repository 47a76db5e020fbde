package collections_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// Create fills a collection only if it does not exist yet (pottery's
// KeyExistsError); Replace swaps its whole contents in one step.
func ExampleDict_Create() {
	ctx := context.Background()
	prices, err := collections.NewDict(exampleClient(), "prices", collections.DictOptions[string, int]{
		KeyCodec: codec.String(),
	})
	if err != nil {
		panic(err)
	}
	_ = prices.Clear(ctx)
	fmt.Println(prices.Create(ctx, map[string]int{"apple": 3, "pear": 4}))
	err = prices.Create(ctx, map[string]int{"plum": 5})
	fmt.Println(errors.Is(err, collections.ErrExists))

	_ = prices.Replace(ctx, map[string]int{"plum": 5})
	all, _ := prices.ToMap(ctx)
	fmt.Println(all)
	// Output:
	// <nil>
	// true
	// map[plum:5]
}

// A bounded deque created from more values than it holds keeps the last
// ones, as Python's deque(iterable, maxlen) does.
func ExampleDeque_Create() {
	ctx := context.Background()
	recent, err := collections.NewDeque(exampleClient(), "recent", collections.DequeOptions[string]{
		Codec: codec.String(), MaxLen: 3,
	})
	if err != nil {
		panic(err)
	}
	_ = recent.Clear(ctx)
	_ = recent.Create(ctx, "a", "b", "c", "d", "e")
	got, _ := recent.Range(ctx, 0, -1)
	fmt.Println(got)
	// Output: [c d e]
}

// A HyperLogLog or a Bloom filter can be empty and exist: Create with no
// items makes an empty one.
func ExampleHyperLogLog_Create() {
	ctx := context.Background()
	visitors, err := collections.NewHyperLogLog(exampleClient(), "visitors-created", collections.HyperLogLogOptions[string]{
		Codec: codec.String(),
	})
	if err != nil {
		panic(err)
	}
	_ = visitors.Clear(ctx)
	fmt.Println(visitors.Create(ctx, []string{"ann", "bob", "ann"}))
	n, _ := visitors.Len(ctx)
	fmt.Println(n, errors.Is(visitors.Create(ctx, nil), collections.ErrExists))
	// Output:
	// <nil>
	// 2 true
}

// A MultiMapTTL's Create fills map keys only if none of them holds a live
// value; Replace gives the map keys it names exactly the values given.
func ExampleMultiMapTTL_Create() {
	ctx := context.Background()
	sessions, err := collections.NewMultiMapTTL(exampleClient(), "sessions-created", collections.MultiMapTTLOptions[string]{
		Codec: codec.String(),
	})
	if err != nil {
		panic(err)
	}
	_, _ = sessions.Delete(ctx, "alice", "bob")
	fmt.Println(sessions.Create(ctx, time.Hour, map[string][]string{"alice": {"laptop", "phone"}}))
	err = sessions.Create(ctx, time.Hour, map[string][]string{"alice": {"tablet"}, "bob": {"tv"}})
	fmt.Println(errors.Is(err, collections.ErrExists))

	_ = sessions.Replace(ctx, time.Hour, map[string][]string{"alice": {"tablet"}, "bob": {"tv"}})
	all, _ := sessions.GetMany(ctx, "alice", "bob")
	fmt.Println(all)
	// Output:
	// <nil>
	// true
	// map[alice:[tablet] bob:[tv]]
}

// Replace with its own expiries: a value whose time has passed is not
// added, and a key left with no values is deleted.
func ExampleMultiMapTTL_ReplaceWithExpiry() {
	ctx := context.Background()
	tokens, err := collections.NewMultiMapTTL(exampleClient(), "tokens-replaced", collections.MultiMapTTLOptions[string]{
		Codec: codec.String(),
	})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	_ = tokens.ReplaceWithExpiry(ctx, map[string][]collections.Expiring[string]{
		"alice": {{Value: "t1", ExpiresAt: now.Add(time.Hour)}, {Value: "t0", ExpiresAt: now.Add(-time.Minute)}},
		"bob":   {{Value: "t9", ExpiresAt: now.Add(-time.Minute)}},
	})
	all, _ := tokens.GetMany(ctx, "alice", "bob")
	fmt.Println(all)
	// Output: map[alice:[t1]]
}
