// Command collections uses two Redis-backed collections from several
// goroutines at once (standing for several processes): a Counter, whose
// increments are never lost, and a Lock, which makes a read-modify-write
// of a plain key safe and hands out increasing fencing tokens.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/demoredis"
)

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
	const workers, each = 4, 25
	rdb := conn.Client

	hits, err := collections.NewCounter(rdb, "example-hits", collections.CounterOptions[string]{Codec: codec.String()})
	if err != nil {
		return err
	}
	defer hits.Clear(ctx)
	const stock = "example-stock"
	defer rdb.Del(ctx, stock)
	rdb.Set(ctx, stock, workers*each, time.Hour)

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	var mu sync.Mutex
	var fences []uint64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker has its Lock value, as each process would.
			lock, err := collections.NewLock([]redis.UniversalClient{rdb}, "example-stock", collections.LockOptions{})
			if err != nil {
				errs <- err
				return
			}
			for range each {
				if _, err := hits.Incr(ctx, "/checkout"); err != nil { // HINCRBY: never lost
					errs <- err
					return
				}
				err := collections.Synchronize(ctx, lock, func(ctx context.Context) error {
					mu.Lock()
					fences = append(fences, lock.Fence()) // a storage that rejects lower tokens is safe even from a paused holder
					mu.Unlock()
					n, err := rdb.Get(ctx, stock).Int() // read, modify, write: safe only under the lock
					if err != nil {
						return err
					}
					return rdb.Set(ctx, stock, n-1, time.Hour).Err()
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := errors.Join(<-errs); err != nil {
		return err
	}
	n, err := hits.Get(ctx, "/checkout")
	if err != nil {
		return err
	}
	left, err := rdb.Get(ctx, stock).Int()
	if err != nil {
		return err
	}
	increasing := true
	for i := 1; i < len(fences); i++ {
		increasing = increasing && fences[i] > fences[i-1]
	}
	fmt.Fprintf(w, "checkouts counted: %d of %d\n", n, workers*each)
	fmt.Fprintf(w, "stock left: %d (started at %d, %d taken under the lock)\n", left, workers*each, workers*each)
	fmt.Fprintf(w, "fencing tokens strictly increasing: %v\n", increasing)
	return nil
}
