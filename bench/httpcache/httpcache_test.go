// Package httpcachebench measures cached HTTP responses served through
// tiercache's httpcache middleware against the limit (the bare handler
// writing the same bytes) and against victorspringer/http-cache, a peer
// middleware.
//
// Every implementation serves the same response (a body of the group's
// size, Content-Type, Cache-Control: max-age=3600, Content-Length) from a
// real httptest.Server to a keep-alive http.Client, from GOMAXPROCS
// goroutines (b.RunParallel): ns/op is the inverse of requests per second,
// and allocs/op counts client and server together (the same client for
// every implementation). The cache is warmed before the timer starts and
// the benchmark fails if the handler behind a cache is called again.
//
// Benchmarks are named Benchmark<Group>/<impl>; see bench/README.md.
package httpcachebench

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	vcache "github.com/victorspringer/http-cache"
	"github.com/victorspringer/http-cache/adapter/memory"

	"github.com/tiercache/tiercache/bench/internal/redisproc"
	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/httpcache"
)

// redisAddr is the address of the redis-server TestMain started.
var redisAddr string

// runSeq gives each run its own namespace, so that every run starts cold.
var runSeq atomic.Int64

func TestMain(m *testing.M) { os.Exit(redisproc.Main(m, &redisAddr)) }

// BenchmarkHTTPCached1KiB serves a cached 1 KiB response.
func BenchmarkHTTPCached1KiB(b *testing.B) { benchCached(b, 1<<10) }

// BenchmarkHTTPCached100KiB serves a cached 100 KiB response.
func BenchmarkHTTPCached100KiB(b *testing.B) { benchCached(b, 100<<10) }

// origin writes the response every implementation serves, and counts its
// calls.
type origin struct {
	body  []byte
	calls atomic.Int64
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.calls.Add(1)
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "max-age=3600")
	h.Set("Content-Length", strconv.Itoa(len(o.body)))
	_, _ = w.Write(o.body)
}

func benchCached(b *testing.B, size int) {
	body := bytes.Repeat([]byte("tiercache"), size/9+1)[:size]

	b.Run("limit", func(b *testing.B) {
		o := &origin{body: body}
		serve(b, o, size)
	})
	b.Run("tiercache", func(b *testing.B) {
		rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
		defer rdb.Close()
		logger := slog.New(slog.DiscardHandler)
		store, err := cache.NewStore(rdb, cache.StoreOptions{Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		hc, err := httpcache.New(store, httpcache.Options{Namespace: "bench-" + strconv.FormatInt(runSeq.Add(1), 10), Redis: rdb, Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		defer hc.Close()
		o := &origin{body: body}
		serve(b, hc.Handler(o), size)
		if n := o.calls.Load(); n != 1 {
			b.Fatalf("the handler was called %d times, want 1 (every timed request a hit)", n)
		}
	})
	b.Run("victorspringer", func(b *testing.B) {
		mem, err := memory.NewAdapter(memory.AdapterWithAlgorithm(memory.LRU), memory.AdapterWithCapacity(1000))
		if err != nil {
			b.Fatal(err)
		}
		client, err := vcache.NewClient(vcache.ClientWithAdapter(mem), vcache.ClientWithTTL(time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		o := &origin{body: body}
		serve(b, client.Middleware(o), size)
		if n := o.calls.Load(); n != 1 {
			b.Logf("victorspringer: the handler was called %d times (%d misses among the timed requests)", n, n-1)
		}
	})
}

// serve runs GET requests against h behind a real server, in parallel, and
// checks every response.
func serve(b *testing.B, h http.Handler, size int) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
	defer client.CloseIdleConnections()
	url := srv.URL + "/item?id=1"
	if err := get(client, url, size, make([]byte, 32<<10)); err != nil { // warm the cache
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 32<<10)
		for pb.Next() {
			if err := get(client, url, size, buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func get(client *http.Client, url string, size int, buf []byte) error {
	res, err := client.Get(url)
	if err != nil {
		return err
	}
	n, err := io.CopyBuffer(io.Discard, res.Body, buf)
	res.Body.Close()
	switch {
	case err != nil:
		return err
	case res.StatusCode != http.StatusOK || n != int64(size):
		return &badResponse{res.StatusCode, n}
	}
	return nil
}

type badResponse struct {
	status int
	n      int64
}

func (e *badResponse) Error() string {
	return "status " + strconv.Itoa(e.status) + ", " + strconv.FormatInt(e.n, 10) + " bytes"
}
