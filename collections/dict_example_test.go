package collections_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// The tel dict of pottery's README (and of the Python tutorial).
func ExampleDict() {
	ctx := context.Background()
	tel, err := collections.NewDict(exampleClient(), "tel", collections.DictOptions[string, int]{
		KeyCodec: codec.String(), // fields readable as they are in redis-cli
	})
	if err != nil {
		panic(err)
	}
	_ = tel.Clear(ctx)
	if err := tel.SetMany(ctx, map[string]int{"jack": 4098, "sape": 4139}); err != nil {
		panic(err)
	}
	_ = tel.Set(ctx, "guido", 4127)
	jack, _ := tel.Get(ctx, "jack")
	fmt.Println("jack:", jack)

	_, _ = tel.Delete(ctx, "sape")
	_ = tel.Set(ctx, "irv", 4127)
	all, _ := tel.ToMap(ctx)
	fmt.Println(all)

	keys, errf := tel.Keys(ctx)
	fmt.Println(slices.Sorted(keys), errf())

	has, _ := tel.Has(ctx, "guido")
	fmt.Println("guido in tel:", has)
	_, err = tel.Get(ctx, "sape")
	fmt.Println("sape:", errors.Is(err, collections.ErrNotFound))

	// Update takes any sequence of pairs: a map, or another Dict's Items.
	_ = tel.Update(ctx, maps.All(map[string]int{"jack": 4099}))
	jack, _ = tel.Pop(ctx, "jack")
	n, _ := tel.Len(ctx)
	fmt.Println("popped", jack, "left", n)
	// Output:
	// jack: 4098
	// map[guido:4127 irv:4127 jack:4098]
	// [guido irv jack] <nil>
	// guido in tel: true
	// sape: true
	// popped 4099 left 2
}
