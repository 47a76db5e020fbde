package collections_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// Counter examples from pottery's README and Python's collections.Counter.
func ExampleCounter() {
	ctx := context.Background()
	c, err := collections.NewCounter(exampleClient(), "letters", collections.CounterOptions[string]{Codec: codec.String()})
	if err != nil {
		panic(err)
	}
	_ = c.Clear(ctx)
	for _, r := range "abracadabra" {
		_ = c.Add(ctx, string(r))
	}
	top, _ := c.MostCommon(ctx, 3)
	fmt.Println(top)

	_ = c.Clear(ctx)
	_ = c.Update(ctx, map[string]int64{"a": 4, "b": 2, "c": 0, "d": -2})
	elems, errf := c.Elements(ctx)
	fmt.Println(slices.Sorted(elems), errf())
	bacon, _ := c.Get(ctx, "bacon") // missing keys count 0
	fmt.Println("bacon:", bacon)

	_ = c.Subtract(ctx, map[string]int64{"a": 1, "b": 2, "c": 3, "d": 4})
	counts, _ := c.ToMap(ctx)
	fmt.Println(counts)
	n, _ := c.Incr(ctx, "a") // HINCRBY: concurrent increments are never lost
	fmt.Println("a:", n)
	// Output:
	// [{a 5} {b 2} {r 2}]
	// [a a a a b b] <nil>
	// bacon: 0
	// map[a:3 b:0 c:-3 d:-6]
	// a: 4
}
