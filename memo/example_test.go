package memo_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/memo"
)

// The examples use a local-only Store (nil client). Give NewStore a go-redis
// client instead and every process memoizing "price" on that Redis shares
// the results.

type priceArgs struct {
	SKU      string
	Currency string
}

func ExampleNew() {
	ctx := context.Background()
	store, _ := cache.NewStore(nil, cache.StoreOptions{})
	defer store.Close()

	price, err := memo.New(store, "price", func(_ context.Context, a priceArgs) (float64, error) {
		fmt.Println("computing", a.SKU, a.Currency)
		return 9.99, nil
	}, memo.Options[float64]{Cache: cache.Options[float64]{TTL: 10 * time.Minute}})
	if err != nil {
		panic(err)
	}
	for range 3 {
		p, _ := price.Call(ctx, priceArgs{SKU: "A-1", Currency: "EUR"})
		fmt.Println(p)
	}
	// Output:
	// computing A-1 EUR
	// 9.99
	// 9.99
	// 9.99
}

func ExampleFunc_Info() {
	ctx := context.Background()
	store, _ := cache.NewStore(nil, cache.StoreOptions{})
	defer store.Close()

	square, _ := memo.New(store, "square", func(_ context.Context, n int) (int, error) { return n * n, nil }, memo.Options[int]{})
	for _, n := range []int{2, 3, 2, 2} {
		_, _ = square.Call(ctx, n)
	}
	_, _ = square.Bypass(ctx, 3) // recompute and store, counted apart
	info := square.Info()
	fmt.Printf("hits=%d misses=%d loads=%d bypasses=%d size=%d\n", info.Hits, info.Misses, info.Loads, info.Bypasses, info.Size)

	_ = square.Forget(ctx, 2)
	fmt.Println("after Forget:", square.Info().Size)
	_ = square.Clear(ctx)
	fmt.Println("after Clear:", square.Info().Size)
	// Output:
	// hits=2 misses=2 loads=2 bypasses=1 size=2
	// after Forget: 1
	// after Clear: 0
}

func ExampleNew0() {
	ctx := context.Background()
	store, _ := cache.NewStore(nil, cache.StoreOptions{})
	defer store.Close()

	loads := 0
	config, _ := memo.New0(store, "config", func(context.Context) (map[string]string, error) {
		loads++
		return map[string]string{"region": "eu-west-1"}, nil
	}, memo.Options[map[string]string]{})
	c1, _ := config.Call(ctx)
	c2, _ := config.Call(ctx)
	fmt.Println(c1["region"], c2["region"], "loads:", loads)
	// Output: eu-west-1 eu-west-1 loads: 1
}

// userID names its own key: Calls skip the canonical encoding and a local
// hit allocates nothing.
type userID int64

func (u userID) MemoKey() string { return "user:" + strconv.FormatInt(int64(u), 10) }

func ExampleKeyer() {
	ctx := context.Background()
	store, _ := cache.NewStore(nil, cache.StoreOptions{})
	defer store.Close()

	name, _ := memo.New(store, "username", func(_ context.Context, id userID) (string, error) {
		return fmt.Sprint("user-", int64(id)), nil
	}, memo.Options[string]{})
	n, _ := name.Call(ctx, 42)
	key, _ := name.Key(42)
	fmt.Println(n, key, name.Namespace())
	// Output: user-42 user:42 memo.username.v0
}

func ExampleNewKeyed() {
	ctx := context.Background()
	store, _ := cache.NewStore(nil, cache.StoreOptions{})
	defer store.Close()

	// The key function names the result: here the case of the query does
	// not matter, so "Go" and "GO" share one.
	type search struct{ Query string }
	count, _ := memo.NewKeyed(store, "search", func(_ context.Context, s search) (int, error) {
		fmt.Println("searching", s.Query)
		return len(s.Query), nil
	}, func(s search) (string, error) {
		if s.Query == "" {
			return "", errors.New("empty query")
		}
		return "q:" + strings.ToLower(s.Query), nil
	}, memo.Options[int]{})
	a, _ := count.Call(ctx, search{"Go"})
	b, _ := count.Call(ctx, search{"GO"})
	_, err := count.Call(ctx, search{})
	fmt.Println(a, b, err)
	// Output:
	// searching Go
	// 2 2 tiercache/memo: key of "search": empty query
}

func ExampleFunc_Call_notFound() {
	ctx := context.Background()
	store, _ := cache.NewStore(nil, cache.StoreOptions{})
	defer store.Close()

	// A function returns cache.ErrNotFound to say "no result"; with
	// NegativeTTL that answer is remembered too.
	lookups := 0
	find, _ := memo.New(store, "find", func(_ context.Context, sku string) (string, error) {
		lookups++
		return "", cache.ErrNotFound
	}, memo.Options[string]{Cache: cache.Options[string]{NegativeTTL: time.Minute}})
	for range 2 {
		_, err := find.Call(ctx, "missing")
		fmt.Println(errors.Is(err, cache.ErrNotFound))
	}
	fmt.Println("lookups:", lookups, "negative hits:", find.Info().NegativeHits)
	// Output:
	// true
	// true
	// lookups: 1 negative hits: 1
}
