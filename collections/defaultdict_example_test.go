package collections_test

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

func ExampleDefaultDict() {
	ctx := context.Background()
	// Seats left per flight: a flight nobody asked about yet starts at 180,
	// and of any number of processes asking at once, one sets it.
	seats, err := collections.NewDefaultDict(exampleClient(), "seats", collections.DefaultDictOptions[string, int]{
		DictOptions: collections.DictOptions[string, int]{KeyCodec: codec.String()},
		Default:     func() int { return 180 },
	})
	if err != nil {
		panic(err)
	}
	_ = seats.Clear(ctx)
	_ = seats.Set(ctx, "AF123", 12)
	af, _ := seats.Get(ctx, "AF123")
	ba, _ := seats.Get(ctx, "BA456")
	fmt.Println(af, ba)
	all, _ := seats.ToMap(ctx)
	fmt.Println(all)
	// Output:
	// 12 180
	// map[AF123:12 BA456:180]
}
