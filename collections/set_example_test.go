package collections_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/tiercache/tiercache/collections"
)

// The basket set of pottery's README, then the set algebra of the Python
// tutorial on the letters of two words.
func ExampleSet() {
	ctx := context.Background()
	rdb := exampleClient()
	basket, err := collections.NewSet(rdb, "basket", collections.SetOptions[string]{})
	if err != nil {
		panic(err)
	}
	_ = basket.Clear(ctx)
	_, _ = basket.Add(ctx, "apple", "orange", "apple", "pear", "orange", "banana")
	n, _ := basket.Len(ctx)
	fmt.Println(n, "fruits")
	in, _ := basket.ContainsMany(ctx, "orange", "crabgrass")
	fmt.Println("orange:", in[0], "crabgrass:", in[1])
	err = basket.Remove(ctx, "kiwi")
	fmt.Println("remove kiwi:", errors.Is(err, collections.ErrNotFound))

	a, _ := collections.NewSet(rdb, "abracadabra", collections.SetOptions[string]{})
	b, _ := collections.NewSet(rdb, "alacazam", collections.SetOptions[string]{})
	_, _ = a.Add(ctx, "a", "b", "r", "a", "c", "a", "d", "a", "b", "r", "a")
	_, _ = b.Add(ctx, "a", "l", "a", "c", "a", "z", "a", "m")
	sorted := func(s map[string]struct{}, _ error) []string { return slices.Sorted(maps.Keys(s)) }
	fmt.Println("a - b:", sorted(a.Difference(ctx, b)))
	fmt.Println("a | b:", sorted(a.Union(ctx, b)))
	fmt.Println("a & b:", sorted(a.Intersection(ctx, b)))
	fmt.Println("a ^ b:", sorted(a.SymmetricDifference(ctx, b)))

	// In place, atomically on a.
	_, _ = a.IntersectionUpdate(ctx, b)
	fmt.Println("a &= b:", sorted(a.ToSet(ctx)))
	// Output:
	// 4 fruits
	// orange: true crabgrass: false
	// remove kiwi: true
	// a - b: [b d r]
	// a | b: [a b c d l m r z]
	// a & b: [a c]
	// a ^ b: [b d l m r z]
	// a &= b: [a c]
}
