package otelmetrics_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/otelmetrics"
)

// newStore returns a Store on rdb, closed in t.Cleanup, whose log lines
// are dropped.
func newStore(t testing.TB, rdb redis.UniversalClient, opts cache.StoreOptions) *cache.Store {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	s, err := cache.NewStore(rdb, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitCoherent waits for s's invalidation stream.
func waitCoherent(t testing.TB, s *cache.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(ctx))
}

// reader is a ManualReader with helpers to read what it collects.
type reader struct {
	t testing.TB
	r *sdkmetric.ManualReader
	m *otelmetrics.Metrics
}

// attach makes a MeterProvider on a ManualReader and attaches s to it.
// Measurements carry tiercache.store=name.
func attach(t testing.TB, s *cache.Store, name string) *reader {
	t.Helper()
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := otelmetrics.Attach(s, mp, otelmetrics.Options{Attributes: []attribute.KeyValue{attribute.String("tiercache.store", name)}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return &reader{t, r, m}
}

// collect returns the metrics collected now, by name.
func (r *reader) collect() map[string]metricdata.Metrics {
	r.t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(r.t, r.r.Collect(context.Background(), &rm))
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		require.Equal(r.t, otelmetrics.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// value returns metric name's value summed over the data points that carry
// every attribute of kv (a histogram's value is its count of
// measurements), and whether the metric was collected at all.
func (r *reader) value(name string, kv ...attribute.KeyValue) (int64, bool) {
	r.t.Helper()
	m, ok := r.collect()[name]
	if !ok {
		return 0, false
	}
	match := func(set attribute.Set) bool {
		for _, want := range kv {
			if got, ok := set.Value(want.Key); !ok || got != want.Value {
				return false
			}
		}
		return true
	}
	var sum int64
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				sum += p.Value
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				sum += p.Value
			}
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				sum += int64(p.Count)
			}
		}
	default:
		r.t.Fatalf("%s: unexpected data %T", name, m.Data)
	}
	return sum, true
}

// get is value for a metric that must have been collected.
func (r *reader) get(name string, kv ...attribute.KeyValue) int64 {
	r.t.Helper()
	v, ok := r.value(name, kv...)
	require.True(r.t, ok, "metric %s not collected", name)
	return v
}

// moves runs op and requires metric name (with kv) to grow by at least
// min, and returns by how much it grew.
func (r *reader) moves(name string, min int64, op func(), kv ...attribute.KeyValue) int64 {
	r.t.Helper()
	before, _ := r.value(name, kv...)
	op()
	after := r.get(name, kv...)
	require.GreaterOrEqual(r.t, after-before, min, "%s %v: before %d, after %d", name, kv, before, after)
	return after - before
}

// eventually waits up to 10s for metric name (with kv) to reach at least
// want, collecting every 5ms: the events that move it (an invalidation's
// arrival, a connection's loss) happen on the Store's own goroutines.
func (r *reader) eventually(name string, want int64, kv ...attribute.KeyValue) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, _ := r.value(name, kv...)
		if v >= want {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s %v: %d after 10s, want at least %d", name, kv, v, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ns(name string) attribute.KeyValue   { return otelmetrics.NamespaceKey.String(name) }
func tier(name string) attribute.KeyValue { return otelmetrics.TierKey.String(name) }
