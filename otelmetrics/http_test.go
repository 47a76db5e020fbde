package otelmetrics_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/httpcache"
	"github.com/tiercache/tiercache/otelmetrics"
)

// TestHTTPCounters: AttachHTTP exports the Cache's counters as they are,
// with the Options' attributes, and Close detaches them.
func TestHTTPCounters(t *testing.T) {
	s := newStore(t, nil, cache.StoreOptions{})
	hc, err := httpcache.New(s, httpcache.Options{Name: "pages"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = hc.Close() })
	n := 0
	h := hc.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "n=%d", n)
	}))
	for range 3 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://example.com/a", nil))
	}

	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	m, err := otelmetrics.AttachHTTP(hc, mp, otelmetrics.Options{Attributes: []attribute.KeyValue{attribute.String("site", "www")}})
	require.NoError(t, err)
	rd := &reader{t: t, r: r}
	st := hc.Stats()
	require.Equal(t, uint64(2), st.Hits)
	for name, want := range map[string]uint64{
		"tiercache.http.hits": st.Hits, "tiercache.http.misses": st.Misses, "tiercache.http.stored": st.Stored,
	} {
		got, ok := rd.value(name, attribute.String("site", "www"))
		require.True(t, ok, name)
		require.Equal(t, int64(want), got, name)
	}
	require.NoError(t, m.Close())
	_, ok := rd.value("tiercache.http.hits")
	require.False(t, ok, "collected after Close")

	_, err = otelmetrics.AttachHTTP(nil, mp, otelmetrics.Options{})
	require.ErrorIs(t, err, otelmetrics.ErrNilCache)
}
