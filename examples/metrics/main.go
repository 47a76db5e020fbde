// Command metrics exports a Store's metrics to Prometheus and serves a
// readiness probe: /metrics (otelmetrics/prom) and /readyz
// (otelmetrics.ReadyHandler). It makes a few reads, then prints some of
// what /metrics says. With -listen it keeps serving until interrupted.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/demoredis"
	"github.com/tiercache/tiercache/otelmetrics"
	"github.com/tiercache/tiercache/otelmetrics/prom"
)

func main() {
	listen := flag.String("listen", "", "serve /metrics and /readyz on this address (for example 127.0.0.1:9090) until interrupted")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	conn, err := demoredis.Connect(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if err := run(ctx, os.Stdout, conn, *listen); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, w io.Writer, conn *demoredis.Conn, listen string) error {
	store, err := cache.NewStore(conn.Client, cache.StoreOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	metrics, m, err := prom.Handler(store, otelmetrics.Options{})
	if err != nil {
		return err
	}
	defer m.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /readyz", otelmetrics.ReadyHandler(store))

	// Ready once the invalidation stream is subscribed.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := store.WaitCoherent(wctx); err != nil {
		return err
	}
	users, err := cache.New(store, "example-users", cache.Options[string]{})
	if err != nil {
		return err
	}
	defer users.Clear(ctx)
	for range 3 {
		if _, err := users.GetOrLoad(ctx, "42", func(context.Context) (string, error) { return "Ada", nil }); err != nil {
			return err
		}
	}

	if listen != "" {
		fmt.Fprintf(w, "serving http://%s/metrics and /readyz\n", listen)
		srv := &http.Server{Addr: listen, Handler: mux}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		if err := srv.ListenAndServe(); err != http.ErrServerClosed {
			return err
		}
		return nil
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	fmt.Fprintf(w, "/readyz: %d %s", rec.Code, rec.Body.String())
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "_bucket{") {
			continue
		}
		if strings.HasPrefix(l, "tiercache_") && strings.Contains(l, "example-users") ||
			strings.HasPrefix(l, "tiercache_coherent") || strings.HasPrefix(l, "db_client_operation_duration_seconds_count") {
			fmt.Fprintln(w, l)
		}
	}
	return nil
}
