// Package prom exports a tiercache Store's metrics (package otelmetrics) to
// a Prometheus registry of client_golang, through the OpenTelemetry SDK and
// its Prometheus exporter. It is a package of its own so that programs that
// export otherwise do not link the SDK.
//
//	reg := prometheus.NewRegistry()
//	m, err := prom.Register(reg, store, otelmetrics.Options{})
//	if err != nil { ... }
//	defer m.Close()
//	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// or, in one call, Handler. Programs that already run an OpenTelemetry
// MeterProvider with a Prometheus exporter call otelmetrics.Attach with
// that provider instead.
package prom

import (
	"context"
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/httpcache"
	"github.com/tiercache/tiercache/otelmetrics"
)

// Metrics is a Store's instrumentation exporting to a Prometheus registry.
type Metrics struct {
	*otelmetrics.Metrics
	mp   *sdkmetric.MeterProvider
	http []*otelmetrics.HTTPMetrics

	attributes []attribute.KeyValue // Options.Attributes of Register
}

// Register attaches s (otelmetrics.Attach) to a MeterProvider of its own
// whose Prometheus exporter is registered with reg. Register one Store per
// registry; for several Stores in one process, attach each to one
// MeterProvider with otelmetrics.Options.Attributes that tell them apart.
func Register(reg prometheus.Registerer, s *cache.Store, opts otelmetrics.Options) (*Metrics, error) {
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp))
	m, err := otelmetrics.Attach(s, mp, opts)
	if err != nil {
		return nil, errors.Join(err, mp.Shutdown(context.Background()))
	}
	return &Metrics{Metrics: m, mp: mp, attributes: opts.Attributes}, nil
}

// AttachHTTP exports the counters of an httpcache.Cache on the Store
// (otelmetrics.AttachHTTP) to the same registry. Close detaches it too.
func (m *Metrics) AttachHTTP(c *httpcache.Cache) error {
	h, err := otelmetrics.AttachHTTP(c, m.mp, otelmetrics.Options{Attributes: m.attributes})
	if err != nil {
		return err
	}
	m.http = append(m.http, h)
	return nil
}

// Close detaches the Store and any httpcache.Cache, and shuts the
// MeterProvider down.
func (m *Metrics) Close() error {
	errs := []error{m.Metrics.Close()}
	for _, h := range m.http {
		errs = append(errs, h.Close())
	}
	return errors.Join(append(errs, m.mp.Shutdown(context.Background()))...)
}

// Handler attaches s to a new registry and returns the registry's /metrics
// handler (the Prometheus text and OpenMetrics formats), with the Metrics to
// close when the Store is closed.
func Handler(s *cache.Store, opts otelmetrics.Options) (http.Handler, *Metrics, error) {
	reg := prometheus.NewRegistry()
	m, err := Register(reg, s, opts)
	if err != nil {
		return nil, nil, err
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), m, nil
}
