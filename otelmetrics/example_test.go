package otelmetrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/otelmetrics"
)

// exampleRedis is the redis-server of the examples, started on first use.
var exampleRedis redistest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	exampleRedis.Close()
	os.Exit(code)
}

func ExampleAttach() {
	ctx := context.Background()
	store, _ := cache.NewStore(exampleRedis.Client(), cache.StoreOptions{})
	defer store.Close()

	// Any MeterProvider: here the SDK's, with a reader the example can call.
	reader := sdkmetric.NewManualReader()
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer provider.Shutdown(ctx)
	m, err := otelmetrics.Attach(store, provider, otelmetrics.Options{})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	users, _ := cache.New(store, "example-attach", cache.Options[string]{})
	defer users.Clear(ctx)
	_, _ = users.GetOrLoad(ctx, "42", func(context.Context) (string, error) { return "Ada", nil })

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(ctx, &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, metric := range sm.Metrics {
			if sum, ok := metric.Data.(metricdata.Sum[int64]); ok && metric.Name == "tiercache.loads" {
				for _, p := range sum.DataPoints {
					ns, _ := p.Attributes.Value(otelmetrics.NamespaceKey)
					fmt.Println(metric.Name, ns.AsString(), p.Value)
				}
			}
		}
	}
	// Output:
	// tiercache.loads example-attach 1
}

func ExampleReadyHandler() {
	ctx := context.Background()
	store, _ := cache.NewStore(exampleRedis.Client(), cache.StoreOptions{})
	ready := otelmetrics.ReadyHandler(store) // mux.Handle("GET /readyz", ready)

	_ = store.WaitCoherent(ctx) // the invalidation stream is subscribed
	rec := httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())

	_ = store.Close()
	rec = httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 200 ready
	// 503 not ready: tiercache/cache: store closed
}
