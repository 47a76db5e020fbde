package collections_test

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/collections"
)

// Python's l[::-2], l[1:3] = [...] and del l[::2] on a List.
func ExampleList_Slice() {
	ctx := context.Background()
	l, err := collections.NewList(exampleClient(), "slices", collections.ListOptions[int]{})
	if err != nil {
		panic(err)
	}
	_ = l.Clear(ctx)
	_, _ = l.Extend(ctx, 0, 1, 2, 3, 4, 5, 6)
	back, _ := l.Slice(ctx, collections.Slice{Step: new(int64(-2))}) // l[::-2]
	fmt.Println(back)

	_ = l.SetSlice(ctx, collections.Slice{Start: new(int64(1)), Stop: new(int64(3))}, []int{9}) // l[1:3] = [9]
	all, _ := l.Range(ctx, 0, -1)
	fmt.Println(all)

	n, _ := l.DeleteSlice(ctx, collections.Slice{Step: new(int64(2))}) // del l[::2]
	all, _ = l.Range(ctx, 0, -1)
	fmt.Println(n, all)

	err = l.SetSlice(ctx, collections.Slice{Step: new(int64(-1))}, []int{1}) // l[::-1] = [1]
	fmt.Println(err != nil)
	// Output:
	// [6 4 2 0]
	// [0 9 3 4 5 6]
	// 3 [9 4 6]
	// true
}

// A deque(maxlen=3) refuses an insert when full, as Python's does.
func ExampleDeque_Insert() {
	ctx := context.Background()
	d, err := collections.NewDeque(exampleClient(), "inserts", collections.DequeOptions[string]{MaxLen: 3})
	if err != nil {
		panic(err)
	}
	_ = d.Clear(ctx)
	_, _ = d.Extend(ctx, "a", "c")
	_, _ = d.Insert(ctx, 1, "b")
	all, _ := d.Range(ctx, 0, -1)
	fmt.Println(all)
	_, err = d.Insert(ctx, 0, "z")
	fmt.Println(err != nil)
	// Output:
	// [a b c]
	// true
}
