// Command httpcache puts tiercache's RFC 9111 middleware in front of a
// handler: the first request runs the handler, the next ones are served
// from the cache (the local tier, or Redis in other processes), and a purge
// by tag reaches every process.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/httpcache"
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
	store, err := cache.NewStore(conn.Client, cache.StoreOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	hc, err := httpcache.New(store, httpcache.Options{Namespace: "example-http", Redis: conn.Client})
	if err != nil {
		return err
	}
	defer hc.Close()

	var runs atomic.Int64
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Surrogate-Key", "product-42")
		fmt.Fprintln(w, "product 42")
	})
	srv := httptest.NewServer(hc.Handler(app)) // http.ListenAndServe(":8080", hc.Handler(app)) in a service
	defer srv.Close()

	get := func() error {
		resp, err := http.Get(srv.URL + "/products/42")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		fmt.Fprintf(w, "%d  Cache-Status: %s  (handler runs: %d)\n", resp.StatusCode, resp.Header.Get("Cache-Status"), runs.Load())
		return nil
	}
	for range 2 {
		if err := get(); err != nil {
			return err
		}
	}
	if err := hc.PurgeTag(ctx, "product-42"); err != nil { // in every process sharing the Redis
		return err
	}
	fmt.Fprintln(w, "purged tag product-42")
	return get()
}
