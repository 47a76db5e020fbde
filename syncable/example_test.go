package syncable_test

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/syncable"
)

// A Dict works in memory; Sync writes it to Redis in one atomic round trip,
// where collections.Dict (in this process or another) reads it.
func ExampleDict() {
	ctx := context.Background()
	rdb := exampleClient()

	d, err := syncable.NewDict[string, int](rdb, "example-dict", syncable.DictOptions[string, int]{})
	if err != nil {
		fmt.Println(err)
		return
	}
	d.Set("apples", 3)
	d.Set("pears", 5)
	d.Delete("pears")
	if err := d.Sync(ctx); err != nil {
		fmt.Println(err)
		return
	}

	shared, _ := collections.NewDict[string, int](rdb, "example-dict", collections.DictOptions[string, int]{})
	m, _ := shared.ToMap(ctx)
	fmt.Println(m)

	// Emptied, the dict's Sync deletes the hash.
	d.Clear()
	_ = d.Sync(ctx)
	fmt.Println(rdb.Exists(ctx, d.Key()).Val())
	// Output:
	// map[apples:3]
	// 0
}

// With loads the collection, runs the function and syncs. When another
// process synced in between, Sync fails with ErrConflict and writes
// nothing; running With again starts from the new content.
func ExampleWith() {
	ctx := context.Background()
	rdb := exampleClient()
	a, _ := syncable.NewCounter[string](rdb, "example-with", syncable.CounterOptions[string]{})
	b, _ := syncable.NewCounter[string](rdb, "example-with", syncable.CounterOptions[string]{})

	_ = a.Load(ctx)
	_ = b.Load(ctx)
	a.Incr("visits")
	b.Incr("visits")
	fmt.Println("a:", a.Sync(ctx))
	err := b.Sync(ctx)
	fmt.Println("b:", errors.Is(err, syncable.ErrConflict))

	// The optimistic-concurrency loop.
	for {
		err := syncable.With(ctx, b, func() error {
			b.Incr("visits")
			return nil
		})
		if !errors.Is(err, syncable.ErrConflict) {
			break
		}
	}
	fmt.Println("visits:", b.Get("visits"))

	_ = syncable.With(ctx, b, func() error { b.Clear(); return nil })
	// Output:
	// a: <nil>
	// b: true
	// visits: 2
}

// A Deque with MaxLen drops from the other end, in memory as in Redis; a
// Sync after pushes and pops at the ends sends only the new elements.
func ExampleDeque() {
	ctx := context.Background()
	rdb := exampleClient()
	opts := syncable.DequeOptions[string]{DequeOptions: collections.DequeOptions[string]{MaxLen: 3}}
	d, _ := syncable.NewDeque(rdb, "example-deque", opts)
	d.Extend("a", "b", "c", "d")
	_ = d.Sync(ctx)
	d.AppendLeft("z")
	_ = d.Sync(ctx)

	shared, _ := collections.NewDeque(rdb, "example-deque", opts.DequeOptions)
	all, _ := shared.Range(ctx, 0, -1)
	fmt.Println(all)

	d.Clear()
	_ = d.Sync(ctx)
	// Output:
	// [z b c]
}

func ExampleList() {
	ctx := context.Background()
	rdb := exampleClient()
	l, _ := syncable.NewList[int](rdb, "example-list", syncable.ListOptions[int]{})
	l.Append(3, 1, 2)
	l.Insert(0, 9)
	l.Sort(func(a, b int) int { return a - b })
	_ = l.Sync(ctx)

	again, _ := syncable.NewList[int](rdb, "example-list", syncable.ListOptions[int]{})
	_ = again.Load(ctx)
	fmt.Println(again.Slice())

	l.Clear()
	_ = l.Sync(ctx)
	// Output:
	// [1 2 3 9]
}

func ExampleSet() {
	ctx := context.Background()
	rdb := exampleClient()
	s, _ := syncable.NewSet[string](rdb, "example-set", syncable.SetOptions[string]{})
	s.Add("go", "redis", "lua")
	s.Discard("lua")
	_ = s.Sync(ctx)

	shared, _ := collections.NewSet[string](rdb, "example-set", collections.SetOptions[string]{})
	members, _ := shared.ToSet(ctx)
	names := slices.Sorted(func(yield func(string) bool) {
		for m := range members {
			if !yield(m) {
				return
			}
		}
	})
	fmt.Println(names)

	s.Clear()
	_ = s.Sync(ctx)
	// Output:
	// [go redis]
}

func ExampleDefaultDict() {
	ctx := context.Background()
	rdb := exampleClient()
	d, _ := syncable.NewDefaultDict(rdb, "example-defaultdict", syncable.DefaultDictOptions[string, []string]{
		Default: func() []string { return []string{} },
	})
	d.Set("fruits", append(d.Get("fruits"), "apple"))
	d.Set("fruits", append(d.Get("fruits"), "pear"))
	fmt.Println(d.Get("fruits"), d.Get("vegetables"))
	_ = d.Sync(ctx)

	shared, _ := collections.NewDict[string, []string](rdb, "example-defaultdict", collections.DictOptions[string, []string]{})
	m, _ := shared.ToMap(ctx)
	fmt.Println(len(m), m["fruits"])

	d.Clear()
	_ = d.Sync(ctx)
	// Output:
	// [apple pear] []
	// 2 [apple pear]
}

// An LRUDict keeps its most recently used items in memory and the others in
// Redis, where they were written when evicted.
func ExampleLRUDict() {
	ctx := context.Background()
	rdb := exampleClient()
	d, _ := syncable.NewLRUDict[string, int](rdb, "example-lru", 2, syncable.DictOptions[string, int]{})
	_ = d.Set(ctx, "a", 1)
	_ = d.Set(ctx, "b", 2)
	_ = d.Set(ctx, "c", 3) // evicts a, written to Redis
	n, _ := d.Len(ctx)
	fmt.Println("in memory:", d.MemLen(), "in all:", n)

	v, ok, _ := d.Get(ctx, "a") // read from Redis, back in memory
	fmt.Println(v, ok)

	_ = d.Sync(ctx) // the items changed in memory go to Redis too
	shared, _ := collections.NewDict[string, int](rdb, "example-lru", collections.DictOptions[string, int]{})
	m, _ := shared.ToMap(ctx)
	fmt.Println(m)

	_ = shared.Clear(ctx)
	// Output:
	// in memory: 2 in all: 3
	// 1 true
	// map[a:1 b:2 c:3]
}
