package otelmetrics

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/httpcache"
)

// ErrNilCache is returned by AttachHTTP for a nil Cache or MeterProvider.
var ErrNilCache = errors.New("tiercache/otelmetrics: nil httpcache.Cache or MeterProvider")

// HTTPMetrics is an httpcache.Cache's instrumentation. Close detaches it.
type HTTPMetrics struct {
	reg metric.Registration
}

// AttachHTTP exports the counters of an httpcache.Cache (httpcache.Stats),
// read at collection time, so a request pays nothing for them:
//
//	tiercache.http.hits              counter {request}  answered from a fresh stored response
//	tiercache.http.stale_hits        counter {request}  answered from a stale stored response
//	tiercache.http.misses            counter {request}  forwarded for want of a usable stored response
//	tiercache.http.revalidated       counter {response} stored responses freshened by a 304
//	tiercache.http.stored            counter {response} responses stored
//	tiercache.http.coalesced         counter {request}  answered by another request's fetch
//	tiercache.http.invalidated       counter {key}      keys invalidated by unsafe methods
//	tiercache.http.store_errors      counter {error}    failed Store calls the request survived
//	tiercache.http.not_stored_too_big counter {response} responses over MaxBodySize
//	tiercache.http.corrupt           counter {entry}    stored entries read under another key than theirs
//
// Each measurement carries Options.Attributes. The Store under the Cache is
// instrumented by Attach (its namespace is the Cache's Name).
func AttachHTTP(c *httpcache.Cache, mp metric.MeterProvider, opts Options) (*HTTPMetrics, error) {
	if c == nil || mp == nil {
		return nil, ErrNilCache
	}
	meter := mp.Meter(ScopeName)
	var errs []error
	var insts []metric.Observable
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		o, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		insts = append(insts, o)
		return o
	}
	hits := counter("tiercache.http.hits", "{request}", "Requests answered from a fresh stored response.")
	stale := counter("tiercache.http.stale_hits", "{request}", "Requests answered from a stale stored response.")
	misses := counter("tiercache.http.misses", "{request}", "Requests forwarded for want of a usable stored response.")
	revalidated := counter("tiercache.http.revalidated", "{response}", "Stored responses freshened by a 304.")
	stored := counter("tiercache.http.stored", "{response}", "Responses stored.")
	coalesced := counter("tiercache.http.coalesced", "{request}", "Requests answered by another request's fetch.")
	invalidated := counter("tiercache.http.invalidated", "{key}", "Keys invalidated by unsafe methods.")
	storeErrs := counter("tiercache.http.store_errors", "{error}", "Failed Store calls the request survived.")
	tooBig := counter("tiercache.http.not_stored_too_big", "{response}", "Responses not stored for a body over MaxBodySize.")
	corrupt := counter("tiercache.http.corrupt", "{entry}", "Stored entries read under another key than theirs.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	opt := metric.WithAttributeSet(attribute.NewSet(opts.Attributes...))
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := c.Stats()
		for _, v := range []struct {
			c metric.Int64ObservableCounter
			n uint64
		}{
			{hits, st.Hits}, {stale, st.StaleHits}, {misses, st.Misses}, {revalidated, st.Revalidated},
			{stored, st.Stored}, {coalesced, st.Coalesced}, {invalidated, st.Invalidated},
			{storeErrs, st.RedisErrors}, {tooBig, st.NotStoredBig}, {corrupt, st.Corrupt},
		} {
			o.ObserveInt64(v.c, int64(v.n), opt)
		}
		return nil
	}, insts...)
	if err != nil {
		return nil, err
	}
	return &HTTPMetrics{reg: reg}, nil
}

// Close unregisters the instruments' callback. It does not shut the
// MeterProvider down.
func (m *HTTPMetrics) Close() error { return m.reg.Unregister() }
