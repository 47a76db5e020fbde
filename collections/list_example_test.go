package collections_test

import (
	"cmp"
	"context"
	"fmt"

	"github.com/tiercache/tiercache/collections"
)

// The squares list of pottery's README.
func ExampleList() {
	ctx := context.Background()
	squares, err := collections.NewList(exampleClient(), "squares", collections.ListOptions[int]{})
	if err != nil {
		panic(err)
	}
	_ = squares.Clear(ctx)
	_, _ = squares.Extend(ctx, 1, 4, 9, 16, 25)
	first, _ := squares.Index(ctx, 0)
	last, _ := squares.Index(ctx, -1)
	tail, _ := squares.Range(ctx, -3, -1)
	fmt.Println(first, last, tail)

	n, _ := squares.Extend(ctx, 36, 49, 64, 81, 100)
	fmt.Println(n, "squares")

	_, _ = squares.Insert(ctx, 0, 0)
	_, _ = squares.Pop(ctx, -1)
	_ = squares.Sort(ctx, func(a, b int) int { return cmp.Compare(b, a) }) // descending
	all, errf := squares.All(ctx)                                          // read in chunks
	for i, v := range all {
		if i < 3 {
			fmt.Print(v, " ")
		}
	}
	fmt.Println(errf())
	// Output:
	// 1 25 [9 16 25]
	// 10 squares
	// 81 64 49 <nil>
}
