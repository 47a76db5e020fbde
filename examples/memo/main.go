// Command memo memoizes a slow function on a tiercache Store: the first
// call runs it, later calls (in this process or any other on the same
// Redis) get its result.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/demoredis"
	"github.com/tiercache/tiercache/memo"
)

type quoteArgs struct {
	SKU      string
	Currency string
}

// quote stands for a slow computation or a remote call.
func quote(ctx context.Context, a quoteArgs) (int, error) {
	time.Sleep(50 * time.Millisecond)
	return len(a.SKU) * 100, nil
}

func main() {
	conn, err := demoredis.Connect(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if err := run(context.Background(), os.Stdout, conn); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, conn *demoredis.Conn) error {
	store, err := cache.NewStore(conn.Client, cache.StoreOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	price, err := memo.New(store, "example-quote", quote, memo.Options[int]{
		Cache: cache.Options[int]{TTL: 10 * time.Minute},
	})
	if err != nil {
		return err
	}
	defer price.Clear(ctx)
	for range 3 {
		start := time.Now()
		p, err := price.Call(ctx, quoteArgs{SKU: "A-1", Currency: "EUR"})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "price %d in %v\n", p, time.Since(start).Round(time.Microsecond))
	}
	info := price.Info()
	fmt.Fprintf(w, "function runs: %d, hits: %d (local %d, Redis %d)\n", info.Loads, info.Hits, info.LocalHits, info.RemoteHits)
	return nil
}
