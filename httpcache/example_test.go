package httpcache_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/httpcache"
)

// get fetches url and describes how the cache handled it.
func get(url string) string {
	res, err := http.Get(url)
	if err != nil {
		log.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	how := "forwarded"
	if strings.Contains(res.Header.Get("Cache-Status"), "; hit") {
		how = "from the cache"
	}
	return fmt.Sprintf("%s (%s)", body, how)
}

func Example() {
	// A local-only Store (nil client); give it a Redis client to share
	// responses between processes.
	store, err := cache.NewStore(nil, cache.StoreOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	hc, err := httpcache.New(store, httpcache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer hc.Close()

	var calls atomic.Int32
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "hello #%d", n)
	})
	srv := httptest.NewServer(hc.Handler(app))
	defer srv.Close()

	fmt.Println(get(srv.URL + "/greeting"))
	fmt.Println(get(srv.URL + "/greeting"))
	fmt.Println("handler calls:", calls.Load())
	// Output:
	// hello #1 (forwarded)
	// hello #1 (from the cache)
	// handler calls: 1
}

func ExampleCache_PurgeTag() {
	store, _ := cache.NewStore(nil, cache.StoreOptions{})
	defer store.Close()
	hc, _ := httpcache.New(store, httpcache.Options{})
	defer hc.Close()

	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		// Tags are space-separated; purge any of them to drop the response.
		w.Header().Set("Surrogate-Key", "products product-"+r.URL.Query().Get("id"))
		fmt.Fprint(w, "product ", r.URL.Query().Get("id"))
	})
	srv := httptest.NewServer(hc.Handler(app))
	defer srv.Close()

	get(srv.URL + "/p?id=1")
	get(srv.URL + "/p?id=2")
	if err := hc.PurgeTag(context.Background(), "product-2"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(get(srv.URL + "/p?id=1"))
	fmt.Println(get(srv.URL + "/p?id=2"))
	// Output:
	// product 1 (from the cache)
	// product 2 (forwarded)
}

func ExampleCache_PurgeURL() {
	store, _ := cache.NewStore(nil, cache.StoreOptions{})
	defer store.Close()
	hc, _ := httpcache.New(store, httpcache.Options{})
	defer hc.Close()

	var version atomic.Value
	version.Store("v1")
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprint(w, version.Load())
	})
	srv := httptest.NewServer(hc.Handler(app))
	defer srv.Close()

	fmt.Println(get(srv.URL + "/doc"))
	version.Store("v2")
	fmt.Println(get(srv.URL + "/doc"))
	// The key of a URL includes its scheme and host, as the handler sees them.
	if err := hc.PurgeURL(context.Background(), srv.URL+"/doc"); err != nil {
		log.Fatal(err)
	}
	fmt.Println(get(srv.URL + "/doc"))
	// Output:
	// v1 (forwarded)
	// v1 (from the cache)
	// v2 (forwarded)
}
