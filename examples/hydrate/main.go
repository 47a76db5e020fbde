// Command hydrate turns ranked search-result ids into documents with
// orderedcache.Hydrate: hits from the local tier and Redis (one round
// trip), one database call for every miss, and the rank order kept.
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
	"github.com/tiercache/tiercache/orderedcache"
)

type document struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
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
	docs, err := cache.New(store, "example-docs", cache.Options[document]{TTL: 10 * time.Minute, NegativeTTL: time.Minute})
	if err != nil {
		return err
	}
	defer docs.Clear(ctx)

	// The database: one call with every miss; id 404 does not exist.
	byID := func(_ context.Context, missing []int64) (map[int64]document, error) {
		fmt.Fprintf(w, "  database asked for %v\n", missing)
		out := make(map[int64]document, len(missing))
		for _, id := range missing {
			if id != 404 {
				out[id] = document{ID: id, Title: fmt.Sprintf("doc %d", id)}
			}
		}
		return out, nil
	}
	for _, ranked := range [][]int64{{42, 7, 19, 404}, {19, 42, 5, 7, 404}} {
		fmt.Fprintf(w, "Hydrate %v\n", ranked)
		values, unsupplied, err := orderedcache.Hydrate(ctx, docs, ranked, byID)
		if err != nil {
			return err
		}
		for _, d := range values {
			fmt.Fprintf(w, "  %d %q\n", d.ID, d.Title)
		}
		fmt.Fprintf(w, "  not found: %v\n", unsupplied)
	}
	return nil
}
