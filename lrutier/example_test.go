package lrutier_test

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/tiercache/tiercache/lrutier"
)

func Example() {
	tier := lrutier.New(lrutier.Options[string, string]{
		Shards:     1,
		MaxEntries: 2,
		OnEvict: func(key, _ string, reason lrutier.Reason) {
			fmt.Println("left:", key, reason)
		},
	})
	tier.Set("a", "apple", 5, 0) // size in bytes, no expiry
	tier.Set("b", "banana", 6, 0)
	tier.Get("a")                 // a is now the most recently used
	tier.Set("c", "cherry", 6, 0) // over the entry budget: b goes

	v, ok := tier.Get("a")
	fmt.Println(v, ok)
	_, ok = tier.Get("b")
	fmt.Println(ok)
	st := tier.Stats()
	fmt.Println(st.Entries, st.Bytes, st.Evictions)
	// Output:
	// left: b evicted
	// apple true
	// false
	// 2 11 1
}

func ExampleTier_Set() {
	now := int64(1_000)
	tier := lrutier.New(lrutier.Options[string, string]{
		Shards:   1,
		MaxBytes: 100,
		Now:      func() int64 { return now }, // a fake clock, in unix nanoseconds
	})
	fmt.Println(tier.Set("session", "s1", 10, now+500)) // expires at 1_500
	fmt.Println(tier.Set("huge", "…", 101, 0))          // larger than the byte budget

	now = 1_499
	_, ok := tier.Get("session")
	fmt.Println(ok)
	now = 1_500
	_, ok = tier.Get("session")
	fmt.Println(ok, tier.Stats().Expirations)
	// Output:
	// true
	// false
	// true
	// false 1
}

func ExampleTier_DeleteFunc() {
	tier := lrutier.New(lrutier.Options[string, int]{})
	tier.Set("user:1", 1, 8, 0)
	tier.Set("user:2", 2, 8, 0)
	tier.Set("item:1", 3, 8, 0)

	// The predicate runs under the shard locks: keep it quick and do not
	// call the tier from it.
	n := tier.DeleteFunc(func(key string, _ int) bool {
		return strings.HasPrefix(key, "user:")
	})
	fmt.Println(n, tier.Len())
	// Output:
	// 2 1
}

func ExampleTier_Sweep() {
	now := int64(0)
	tier := lrutier.New(lrutier.Options[string, int]{Now: func() int64 { return now }})
	tier.Set("a", 1, 8, 10)
	tier.Set("b", 2, 8, 20)
	tier.Set("c", 3, 8, 0)

	now = 15
	fmt.Println(tier.Sweep(), tier.Len(), tier.Stats().Bytes)
	// Output:
	// 1 2 16
}

// user is an owner's entry: the tier's Node first, then the owner's own
// fields, all in one allocation.
type user struct {
	lrutier.Node[int]
	name string
}

// userOf returns the user whose Node is n. It is valid because every Node in
// the tier below is the first field of a user.
func userOf(n *lrutier.Node[int]) *user { return (*user)(unsafe.Pointer(n)) }

func ExampleNodes() {
	tier := lrutier.NewNodes(lrutier.Options[int, *lrutier.Node[int]]{
		OnEvict: func(id int, n *lrutier.Node[int], reason lrutier.Reason) {
			fmt.Println("left:", userOf(n).name, reason)
		},
	})
	u := &user{name: "ada"} // fields written before Set, never after
	tier.Set(1, &u.Node, int64(len(u.name)), 0)

	if n := tier.Get(1); n != nil {
		fmt.Println(n.Key(), userOf(n).name)
	}
	fmt.Println(tier.Get(2) == nil)
	// Output:
	// 1 ada
	// true
}
