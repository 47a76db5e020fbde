// Package otelmetrics exports a tiercache Store's figures as OpenTelemetry
// metrics: one call, Attach, instruments the Store and every namespace made
// on it (Cache, memo, httpcache, orderedcache all create namespaces).
//
//	m, err := otelmetrics.Attach(store, otel.GetMeterProvider(), otelmetrics.Options{})
//	if err != nil { ... }
//	defer m.Close()
//
// Counters and gauges are read from the Store's own counters at collection
// time (Store.Stats, Store.NamespaceStats), so the read paths pay nothing
// for them: a local hit costs the same, and allocates nothing, with or
// without a provider. Durations (loads, lease waits, invalidation lag,
// Redis calls) and refused fills are recorded as they happen, through
// cache.Hooks, on paths that already reach Redis or run a loader.
//
// AttachHTTP exports an httpcache.Cache's own counters the same way.
//
// The package depends on the OpenTelemetry metric API only. Package
// otelmetrics/prom exports to a Prometheus registry (client_golang) through
// the OpenTelemetry SDK and its Prometheus exporter.
//
// # Metrics
//
// Attributes are bounded: tiercache.namespace (the namespace's name, never
// a key), tiercache.tier, tiercache.coherence.mode, tiercache.breaker.state,
// error.type, db.system.name, plus Options.Attributes.
//
//	tiercache.hits               counter {hit}    namespace, tier=local|remote
//	tiercache.negative_hits      counter {hit}    namespace: reads answered by a cached "not found"
//	tiercache.misses             counter {miss}   namespace
//	tiercache.stale_served       counter {value}  namespace: stale-while-revalidate, stale-if-error
//	tiercache.loads              counter {load}   namespace: loader calls
//	tiercache.load.errors        counter {load}   namespace: loader calls that failed
//	tiercache.load.shared        counter {call}   namespace: calls that shared another call's load
//	tiercache.load.duration      histogram s      namespace, error.type (not_found, timeout, _OTHER)
//	tiercache.lease.waits        counter {wait}   namespace: waits on another process's lease
//	tiercache.lease.wait.duration histogram s     namespace: a load's whole wait on a lease
//	tiercache.fills.refused      counter {fill}   namespace: loaded values Redis refused (the key changed since the load began)
//	tiercache.decode_errors      counter {value}  namespace: undecodable Redis values
//	tiercache.degraded           counter {value}  namespace: loaded values returned unstored (Redis down)
//	tiercache.redis.errors       counter {error}  namespace: failed Redis calls
//	tiercache.invalidations      counter {key}    keys invalidated by the stream
//	tiercache.resyncs            counter {resync} local tier flushes after a lost stream or a topology change
//	tiercache.invalidation.lag   histogram s      from the start of a write to the arrival of its invalidation
//	tiercache.coherent           gauge            1 while every invalidation connection is subscribed; coherence.mode
//	tiercache.breaker.state      gauge            1 for the breaker's current state, 0 for the others
//	tiercache.local.entries      updowncounter {entry}
//	tiercache.local.usage        updowncounter By  bytes the local tier accounts for
//	tiercache.local.evictions    counter {entry}  entries pushed out by the budget
//	tiercache.local.expirations  counter {entry}  entries dropped at their expiry
//	db.client.operation.duration histogram s      db.system.name=redis, error.type on failure: every Redis call
//	                                              of the Store (its count is the round trips)
//
// Names and units follow the OpenTelemetry semantic conventions where they
// have one (db.client.operation.duration, error.type, db.system.name, units
// in UCUM); the rest are under tiercache. The Prometheus exporter turns
// them into tiercache_hits_total, tiercache_load_duration_seconds,
// tiercache_local_usage_bytes, db_client_operation_duration_seconds and so on.
package otelmetrics

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/cache"
)

// ScopeName is the instrumentation scope of the meter Attach creates.
const ScopeName = "github.com/tiercache/tiercache/otelmetrics"

// Attribute keys.
const (
	NamespaceKey  = attribute.Key("tiercache.namespace")
	TierKey       = attribute.Key("tiercache.tier")
	CoherenceKey  = attribute.Key("tiercache.coherence.mode")
	BreakerKey    = attribute.Key("tiercache.breaker.state")
	ErrorTypeKey  = attribute.Key("error.type")
	DBSystemKey   = attribute.Key("db.system.name")
	durationUnit  = "s"
	errorTypeElse = "_OTHER"
)

// durationBuckets are the histograms' bounds in seconds: from 50µs (a
// loopback round trip, an invalidation's lag) to 10s (a slow loader).
var durationBuckets = []float64{
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
	0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// ErrNilStore is returned by Attach for a nil Store or MeterProvider.
var ErrNilStore = errors.New("tiercache/otelmetrics: nil Store or MeterProvider")

// Options configures Attach. The zero value means the defaults.
type Options struct {
	// Attributes are added to every measurement, to tell apart several
	// Stores that export through one MeterProvider (for example
	// attribute.String("tiercache.store", "sessions")). Default none.
	Attributes []attribute.KeyValue
}

// Metrics is a Store's instrumentation. Close detaches it.
type Metrics struct {
	s     *cache.Store
	reg   metric.Registration
	hooks *cache.Hooks // the Store's hooks while m has them
	base  []attribute.KeyValue

	mu      sync.Mutex
	nsAttrs map[string]*nsAttrs // attribute sets by namespace, built once

	loadDur, leaseDur, lagDur, redisDur metric.Float64Histogram
	refused                             metric.Int64Counter
	lagOpt                              metric.RecordOption
	redisOK                             metric.RecordOption
	redisErr                            map[string]metric.RecordOption // by error.type
}

// nsAttrs are the measurement options of one namespace.
type nsAttrs struct {
	set, local, remote attribute.Set
	opt                metric.MeasurementOption // set, for histograms and counters
	loadErr            map[string]metric.MeasurementOption
}

// Attach instruments s with a meter of mp named ScopeName, and makes s
// report its events to it (cache.Store.SetHooks: a Store has one set of
// hooks, so a second Attach to the same Store takes the events over from
// the first). It returns an error only when an instrument cannot be
// created.
func Attach(s *cache.Store, mp metric.MeterProvider, opts Options) (*Metrics, error) {
	if s == nil || mp == nil {
		return nil, ErrNilStore
	}
	meter := mp.Meter(ScopeName)
	m := &Metrics{s: s, base: opts.Attributes, nsAttrs: make(map[string]*nsAttrs)}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	updown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		u, err := meter.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return u
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithUnit(durationUnit), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		errs = append(errs, err)
		return h
	}

	hits := counter("tiercache.hits", "{hit}", "Reads answered by a tier (tiercache.tier: local or remote).")
	negative := counter("tiercache.negative_hits", "{hit}", "Reads answered by a cached \"not found\".")
	misses := counter("tiercache.misses", "{miss}", "Reads that found no fresh value.")
	stale := counter("tiercache.stale_served", "{value}", "Stale values returned (stale-while-revalidate, stale-if-error).")
	loads := counter("tiercache.loads", "{load}", "Loader calls.")
	loadErrs := counter("tiercache.load.errors", "{load}", "Loader calls that failed.")
	shared := counter("tiercache.load.shared", "{call}", "Calls that shared another call's load.")
	leaseWaits := counter("tiercache.lease.waits", "{wait}", "Waits on another process's load lease.")
	decodeErrs := counter("tiercache.decode_errors", "{value}", "Redis values that could not be decoded.")
	degraded := counter("tiercache.degraded", "{value}", "Loaded values returned without being stored, Redis being unavailable.")
	redisErrs := counter("tiercache.redis.errors", "{error}", "Failed Redis calls.")
	invalidations := counter("tiercache.invalidations", "{key}", "Keys invalidated by the invalidation stream.")
	resyncs := counter("tiercache.resyncs", "{resync}", "Local tier flushes after a lost invalidation connection or a topology change.")
	evictions := counter("tiercache.local.evictions", "{entry}", "Local entries pushed out by the budget.")
	expirations := counter("tiercache.local.expirations", "{entry}", "Local entries dropped at their expiry.")
	coherent := gauge("tiercache.coherent", "", "1 while every invalidation connection is subscribed and the local tier is in use, else 0.")
	breakerState := gauge("tiercache.breaker.state", "", "1 for the Redis circuit breaker's current state (tiercache.breaker.state), 0 for the others.")
	entries := updown("tiercache.local.entries", "{entry}", "Entries in the local tier.")
	usage := updown("tiercache.local.usage", "By", "Bytes the local tier accounts for.")

	m.loadDur = histogram("tiercache.load.duration", "Duration of loader calls.")
	m.leaseDur = histogram("tiercache.lease.wait.duration", "A load's whole wait on another process's lease.")
	m.lagDur = histogram("tiercache.invalidation.lag", "From the start of a write through the Store to the arrival of its invalidation.")
	m.redisDur = histogram("db.client.operation.duration", "Duration of the Store's Redis calls.")
	var err error
	m.refused, err = meter.Int64Counter("tiercache.fills.refused", metric.WithUnit("{fill}"),
		metric.WithDescription("Loaded values Redis refused to write: the key was written, deleted or filled since the load began."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	storeSet := attribute.NewSet(m.base...)
	m.lagOpt = metric.WithAttributeSet(storeSet)
	redisAttrs := func(extra ...attribute.KeyValue) metric.RecordOption {
		return metric.WithAttributeSet(attribute.NewSet(append(append([]attribute.KeyValue{DBSystemKey.String("redis")}, m.base...), extra...)...))
	}
	m.redisOK = redisAttrs()
	m.redisErr = map[string]metric.RecordOption{}
	for _, t := range []string{"timeout", "redis_error", errorTypeElse} {
		m.redisErr[t] = redisAttrs(ErrorTypeKey.String(t))
	}
	states := []cache.BreakerState{cache.BreakerClosed, cache.BreakerOpen, cache.BreakerHalfOpen}
	stateSets := make([]attribute.Set, len(states))
	for i, st := range states {
		stateSets[i] = attribute.NewSet(append([]attribute.KeyValue{BreakerKey.String(breakerName(st))}, m.base...)...)
	}

	m.reg, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := s.Stats()
		o.ObserveInt64(invalidations, int64(st.Invalidations), metric.WithAttributeSet(storeSet))
		o.ObserveInt64(resyncs, int64(st.Resyncs), metric.WithAttributeSet(storeSet))
		o.ObserveInt64(evictions, int64(st.Evictions), metric.WithAttributeSet(storeSet))
		o.ObserveInt64(expirations, int64(st.Expirations), metric.WithAttributeSet(storeSet))
		o.ObserveInt64(entries, int64(st.LocalEntries), metric.WithAttributeSet(storeSet))
		o.ObserveInt64(usage, st.LocalBytes, metric.WithAttributeSet(storeSet))
		o.ObserveInt64(coherent, boolInt(st.Coherent), metric.WithAttributes(append([]attribute.KeyValue{CoherenceKey.String(st.Coherence.String())}, m.base...)...))
		for i, bs := range states {
			o.ObserveInt64(breakerState, boolInt(st.Breaker == bs), metric.WithAttributeSet(stateSets[i]))
		}
		for ns, st := range s.NamespaceStats() {
			a := m.attrs(ns)
			o.ObserveInt64(hits, int64(st.LocalHits), metric.WithAttributeSet(a.local))
			o.ObserveInt64(hits, int64(st.RemoteHits), metric.WithAttributeSet(a.remote))
			opt := metric.WithAttributeSet(a.set)
			o.ObserveInt64(negative, int64(st.NegativeHits), opt)
			o.ObserveInt64(misses, int64(st.Misses), opt)
			o.ObserveInt64(stale, int64(st.StaleServed), opt)
			o.ObserveInt64(loads, int64(st.Loads), opt)
			o.ObserveInt64(loadErrs, int64(st.LoadErrors), opt)
			o.ObserveInt64(shared, int64(st.SharedLoads), opt)
			o.ObserveInt64(leaseWaits, int64(st.LeaseWaits), opt)
			o.ObserveInt64(decodeErrs, int64(st.DecodeErrors), opt)
			o.ObserveInt64(degraded, int64(st.Degraded), opt)
			o.ObserveInt64(redisErrs, int64(st.RedisErrors), opt)
		}
		return nil
	}, hits, negative, misses, stale, loads, loadErrs, shared, leaseWaits, decodeErrs, degraded, redisErrs,
		invalidations, resyncs, evictions, expirations, coherent, breakerState, entries, usage)
	if err != nil {
		return nil, err
	}
	m.hooks = &cache.Hooks{
		Load:            m.onLoad,
		LeaseWait:       m.onLeaseWait,
		InvalidationLag: m.onLag,
		RedisCall:       m.onRedisCall,
		FillRefused:     m.onRefused,
	}
	s.SetHooks(m.hooks)
	return m, nil
}

// Close stops the Store's reports to m (unless another Attach took them
// over since) and unregisters the instruments' callback. It does not shut
// the MeterProvider down.
func (m *Metrics) Close() error {
	m.s.CompareAndSwapHooks(m.hooks, nil)
	return m.reg.Unregister()
}

// attrs returns namespace ns's attribute sets, built on first use: the
// number of namespaces is the program's, not its data's.
func (m *Metrics) attrs(ns string) *nsAttrs {
	m.mu.Lock()
	defer m.mu.Unlock()
	if a, ok := m.nsAttrs[ns]; ok {
		return a
	}
	with := func(extra ...attribute.KeyValue) attribute.Set {
		kv := append([]attribute.KeyValue{NamespaceKey.String(ns)}, m.base...)
		return attribute.NewSet(append(kv, extra...)...)
	}
	a := &nsAttrs{set: with(), local: with(TierKey.String("local")), remote: with(TierKey.String("remote"))}
	a.opt = metric.WithAttributeSet(a.set)
	a.loadErr = map[string]metric.MeasurementOption{}
	for _, t := range []string{"not_found", "timeout", errorTypeElse} {
		a.loadErr[t] = metric.WithAttributeSet(with(ErrorTypeKey.String(t)))
	}
	m.nsAttrs[ns] = a
	return a
}

// The hooks carry no context (they report events, not requests); the
// measurements need none, so they are recorded under context.Background.

func (m *Metrics) onLoad(ns string, d time.Duration, err error) {
	a := m.attrs(ns)
	opt := a.opt
	switch {
	case err == nil:
	case errors.Is(err, cache.ErrNotFound):
		opt = a.loadErr["not_found"]
	case isTimeout(err):
		opt = a.loadErr["timeout"]
	default:
		opt = a.loadErr[errorTypeElse]
	}
	m.loadDur.Record(context.Background(), d.Seconds(), opt)
}

func (m *Metrics) onLeaseWait(ns string, d time.Duration) {
	m.leaseDur.Record(context.Background(), d.Seconds(), m.attrs(ns).opt)
}

func (m *Metrics) onLag(d time.Duration) {
	m.lagDur.Record(context.Background(), d.Seconds(), m.lagOpt)
}

func (m *Metrics) onRedisCall(d time.Duration, err error) {
	opt := m.redisOK
	var re redis.Error
	switch {
	case err == nil:
	case errors.As(err, &re):
		opt = m.redisErr["redis_error"]
	case isTimeout(err):
		opt = m.redisErr["timeout"]
	default:
		opt = m.redisErr[errorTypeElse]
	}
	m.redisDur.Record(context.Background(), d.Seconds(), opt)
}

func (m *Metrics) onRefused(ns string) {
	m.refused.Add(context.Background(), 1, m.attrs(ns).opt)
}

// isTimeout reports whether err is a deadline: the context's, or the
// socket's.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// breakerName is a breaker state as an attribute value.
func breakerName(s cache.BreakerState) string {
	if s == cache.BreakerHalfOpen {
		return "half_open"
	}
	return s.String()
}
