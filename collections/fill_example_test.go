package collections_test

import (
	"context"
	"errors"
	"fmt"

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
