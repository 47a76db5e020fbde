package prom_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/otelmetrics"
	"github.com/tiercache/tiercache/otelmetrics/prom"
)

// TestRegistry: a Store registered with a Prometheus registry shows its
// metrics under their Prometheus names, and they move with the operations.
func TestRegistry(t *testing.T) {
	ctx := context.Background()
	s, err := cache.NewStore(redistest.Start(t).Client(t), cache.StoreOptions{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(wctx))

	reg := prometheus.NewRegistry()
	m, err := prom.Register(reg, s, otelmetrics.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	c, err := cache.New(s, "users", cache.Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	require.NoError(t, err)

	value := func(name string, labels map[string]string) float64 {
		t.Helper()
		mfs, err := reg.Gather()
		require.NoError(t, err)
		var sum float64
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
		metrics:
			for _, m := range mf.GetMetric() {
				have := map[string]string{}
				for _, l := range m.GetLabel() {
					have[l.GetName()] = l.GetValue()
				}
				for k, v := range labels {
					if have[k] != v {
						continue metrics
					}
				}
				switch {
				case m.Counter != nil:
					sum += m.GetCounter().GetValue()
				case m.Gauge != nil:
					sum += m.GetGauge().GetValue()
				case m.Histogram != nil:
					sum += float64(m.GetHistogram().GetSampleCount())
				}
			}
			return sum
		}
		t.Fatalf("%s not gathered", name)
		return 0
	}
	users := map[string]string{"tiercache_namespace": "users"}

	_, err = c.GetOrLoad(ctx, "42", func(context.Context) (string, error) { return "Ada", nil })
	require.NoError(t, err)
	require.Equal(t, 1.0, value("tiercache_loads_total", users))
	require.Equal(t, 1.0, value("tiercache_misses_total", users))
	require.Equal(t, 1.0, value("tiercache_load_duration_seconds", users))
	require.Positive(t, value("db_client_operation_duration_seconds", map[string]string{"db_system_name": "redis"}))
	require.Equal(t, 1.0, value("tiercache_coherent", nil))
	require.Equal(t, 1.0, value("tiercache_breaker_state", map[string]string{"tiercache_breaker_state": "closed"}))
	for i := 0; i < 1000 && c.Stats().LocalHits == 0; i++ {
		_, err := c.Get(ctx, "42")
		require.NoError(t, err)
	}
	require.Equal(t, float64(c.Stats().LocalHits), value("tiercache_hits_total", map[string]string{"tiercache_namespace": "users", "tiercache_tier": "local"}))
	require.Positive(t, value("tiercache_local_usage_bytes", nil))
	require.Positive(t, value("tiercache_local_entries", nil))

	// The same through the one-call handler.
	h, hm, err := prom.Handler(s, otelmetrics.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = hm.Close() })
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, name := range []string{"tiercache_hits_total", "tiercache_invalidations_total", "tiercache_local_usage_bytes", "tiercache_breaker_state"} {
		require.True(t, strings.Contains(string(body), name), "%s missing from /metrics:\n%s", name, body)
	}
}
