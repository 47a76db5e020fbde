package collections_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// The letters deque of pottery's README (and of Python's collections.deque
// documentation), with rotate.
func ExampleDeque() {
	ctx := context.Background()
	d, err := collections.NewDeque(exampleClient(), "letters", collections.DequeOptions[string]{Codec: codec.String()})
	if err != nil {
		panic(err)
	}
	_ = d.Clear(ctx)
	_, _ = d.Extend(ctx, "g", "h", "i")
	all, errf := d.All(ctx)
	for _, elem := range all {
		fmt.Print(strings.ToUpper(elem))
	}
	fmt.Println(errf())

	_, _ = d.Append(ctx, "j")
	_, _ = d.AppendLeft(ctx, "f")
	show := func() { letters, _ := d.Range(ctx, 0, -1); fmt.Println(strings.Join(letters, "")) }
	show()
	right, _ := d.Pop(ctx)
	left, _ := d.PopLeft(ctx)
	fmt.Println(right, left)
	show()

	_, _ = d.Extend(ctx, "j", "k", "l")
	_ = d.Rotate(ctx, 1) // right rotation
	show()
	_ = d.Rotate(ctx, -1) // left rotation
	show()
	_ = d.Rotate(ctx, 100) // any n: 100 mod 6
	show()
	_, _ = d.ExtendLeft(ctx, "a", "b", "c")
	show()

	// With a maximum length, a push drops from the other end.
	last3, _ := collections.NewDeque(exampleClient(), "last3", collections.DequeOptions[string]{Codec: codec.String(), MaxLen: 3})
	_ = last3.Clear(ctx)
	_, _ = last3.Extend(ctx, "a", "b", "c", "d", "e")
	kept, _ := last3.Range(ctx, 0, -1)
	fmt.Println(kept)
	// Output:
	// GHI<nil>
	// fghij
	// j f
	// ghi
	// lghijk
	// ghijkl
	// ijklgh
	// cbaijklgh
	// [c d e]
}
