package collections_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// Python's dict.fromkeys, setdefault, copy and popitem.
func ExampleDict_SetDefault() {
	ctx := context.Background()
	rdb := exampleClient()
	seen, err := collections.NewDict(rdb, "seen", collections.DictOptions[string, int]{KeyCodec: codec.String()})
	if err != nil {
		panic(err)
	}
	_ = seen.Clear(ctx)
	_ = seen.FromKeys(ctx, 0, "a", "b")
	v, _ := seen.SetDefault(ctx, "a", 7) // a is there: its value stays
	fmt.Println("a:", v)
	v, _ = seen.SetDefault(ctx, "c", 7)
	fmt.Println("c:", v)

	backup, _ := collections.NewDict(rdb, "seen-backup", collections.DictOptions[string, int]{})
	_ = backup.Clear(ctx)
	backup, err = seen.Copy(ctx, "seen-backup")
	fmt.Println(err)
	_, err = seen.Copy(ctx, "seen-backup")
	fmt.Println(errors.Is(err, collections.ErrExists))

	n := 0
	for {
		if _, _, err := backup.PopItem(ctx); errors.Is(err, collections.ErrEmpty) {
			break
		}
		n++
	}
	fmt.Println(n, "popped")
	all, _ := seen.ToMap(ctx)
	fmt.Println(all)
	// Output:
	// a: 0
	// c: 7
	// <nil>
	// true
	// 3 popped
	// map[a:0 b:0 c:7]
}
