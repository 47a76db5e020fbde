package prom_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/otelmetrics"
	"github.com/tiercache/tiercache/otelmetrics/prom"
)

// exampleRedis is the redis-server of the examples, started on first use.
var exampleRedis redistest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	exampleRedis.Close()
	os.Exit(code)
}

func ExampleHandler() {
	ctx := context.Background()
	store, _ := cache.NewStore(exampleRedis.Client(), cache.StoreOptions{})
	defer store.Close()
	metrics, m, err := prom.Handler(store, otelmetrics.Options{})
	if err != nil {
		panic(err)
	}
	defer m.Close() // mux.Handle("GET /metrics", metrics)

	users, _ := cache.New(store, "example-prom", cache.Options[string]{})
	defer users.Clear(ctx)
	_, _ = users.GetOrLoad(ctx, "42", func(context.Context) (string, error) { return "Ada", nil })

	rec := httptest.NewRecorder()
	metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "tiercache_loads_total{") || strings.HasPrefix(line, "tiercache_misses_total{") {
			fmt.Println(line[:strings.Index(line, "{")], line[strings.LastIndex(line, " ")+1:])
		}
	}
	// Output:
	// tiercache_loads_total 1
	// tiercache_misses_total 1
}
