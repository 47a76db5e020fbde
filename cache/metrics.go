package cache

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Hooks are functions a Store calls on the events that its counters cannot
// describe: durations, and fills the local tier refused. They exist for
// metrics exporters such as package otelmetrics; Stats and
// Store.NamespaceStats carry everything else.
//
// A nil field means the event is not reported. No hook runs on the
// local-hit path. Hooks run on the goroutine of the event, often a caller's:
// they must be fast, safe for concurrent use, and must not call the Store.
type Hooks struct {
	// Load is called after each loader call (GetOrLoad, GetManyOrLoad,
	// background refreshes) with the loader's duration and error
	// (ErrNotFound included). A loader that panics is not reported.
	Load func(namespace string, d time.Duration, err error)
	// LeaseWait is called when a load stops waiting on another process's
	// lease, with the whole time it waited (from its first wait until it
	// found the value, took the lease itself, or gave up).
	LeaseWait func(namespace string, d time.Duration)
	// InvalidationLag is called for each measured invalidation lag: the
	// time from the start of a write through this Store until its
	// invalidation arrived (see Stats.InvalidationLagP50).
	InvalidationLag func(d time.Duration)
	// RedisCall is called after each call the Store made to Redis (one
	// round trip per node involved), with its duration and its error: nil
	// for success and for a missing key, a redis.Error for a reply error
	// such as WRONGTYPE, anything else for a failure of Redis or of the
	// path to it. Calls the breaker skipped are not reported.
	RedisCall func(d time.Duration, err error)
	// FillRefused is called when a value read from or written to Redis
	// was kept out of the local tier because coherence could not vouch
	// for it: an invalidation of its key arrived during the call, or the
	// invalidation stream was not subscribed.
	FillRefused func(namespace string)
}

// observability is the part of a Store that metrics read: the hooks and
// the counters of every Cache made on it.
type observability struct {
	hooks atomic.Pointer[Hooks]

	mu     sync.Mutex
	caches []nsCounters // every Cache made on the Store, in creation order
}

// nsCounters names a Cache's counters by its namespace.
type nsCounters struct {
	ns string
	c  *counters
}

// SetHooks makes the Store call h's functions from now on, replacing the
// hooks set before; nil removes them. Events already under way may still
// reach the previous hooks.
func (s *Store) SetHooks(h *Hooks) { s.obs.hooks.Store(h) }

// CompareAndSwapHooks replaces the Store's hooks with h only if they are
// old, and reports whether it did: an exporter detaching itself removes
// its own hooks, not those of one attached after it.
func (s *Store) CompareAndSwapHooks(old, h *Hooks) bool { return s.obs.hooks.CompareAndSwap(old, h) }

// track records a new Cache's counters for NamespaceStats. A Store keeps
// them until it is garbage collected itself.
func (s *Store) track(ns string, c *counters) {
	s.obs.mu.Lock()
	s.obs.caches = append(s.obs.caches, nsCounters{ns, c})
	s.obs.mu.Unlock()
}

// Stats returns the Store's figures: the store-wide fields, and the
// counters of every namespace made on it, summed.
func (s *Store) Stats() Stats {
	st := s.storeStats()
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	for _, nc := range s.obs.caches {
		nc.c.addTo(&st)
	}
	return st
}

// NamespaceStats returns the Stats of every namespace made on s, by name:
// the counters of the namespace's Caches summed (several Caches may share
// a name), with the store-wide fields. It reads counters only, so that a
// metrics exporter can call it at every collection.
func (s *Store) NamespaceStats() map[string]Stats {
	base := s.storeStats()
	s.obs.mu.Lock()
	defer s.obs.mu.Unlock()
	out := make(map[string]Stats)
	for _, nc := range s.obs.caches {
		st, ok := out[nc.ns]
		if !ok {
			st = base
		}
		nc.c.addTo(&st)
		out[nc.ns] = st
	}
	return out
}

// storeStats returns the store-wide fields of Stats.
func (s *Store) storeStats() Stats {
	ls := s.local.Stats()
	p50, p99, n := s.coh.lag.quantiles()
	return Stats{
		Coherence:          s.Coherence(),
		Coherent:           s.coh.down.Load() == 0,
		Invalidations:      s.coh.invalidations.Load(),
		Resyncs:            s.coh.resyncs.Load(),
		InvalidationLagP50: p50,
		InvalidationLagP99: p99,
		LagSamples:         n,
		Breaker:            s.Breaker(),
		Evictions:          ls.Evictions,
		Expirations:        ls.Expirations,
		LocalEntries:       ls.Entries,
		LocalBytes:         ls.Bytes,
	}
}

// addTo adds the namespace counters to st. A counter added to counters
// must be added here too.
func (c *counters) addTo(st *Stats) {
	st.LocalHits += c.localHits.Load()
	st.RemoteHits += c.remoteHits.Load()
	st.Misses += c.misses.Load()
	st.NegativeHits += c.negativeHits.Load()
	st.Loads += c.loads.Load()
	st.LoadErrors += c.loadErrors.Load()
	st.SharedLoads += c.sharedLoads.Load()
	st.StaleServed += c.staleServed.Load()
	st.DecodeErrors += c.decodeErrors.Load()
	st.RedisErrors += c.redisErrors.Load()
	st.Degraded += c.degraded.Load()
	st.LeaseWaits += c.leaseWaits.Load()
	st.BreakerSkips += c.breakerSkips.Load()
	st.FillsRefused += c.fillsRefused.Load()
}

// observeLoad reports a loader call that started at start.
func (s *Store) observeLoad(ns string, start time.Time, err error) {
	if h := s.obs.hooks.Load(); h != nil && h.Load != nil {
		h.Load(ns, time.Since(start), err)
	}
}

// observeCall reports a Redis call that started at start.
func (s *Store) observeCall(start time.Time, err error) {
	if h := s.obs.hooks.Load(); h != nil && h.RedisCall != nil {
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		h.RedisCall(time.Since(start), err)
	}
}

// observeLag reports a measured invalidation lag.
func (s *Store) observeLag(d time.Duration) {
	if h := s.obs.hooks.Load(); h != nil && h.InvalidationLag != nil {
		h.InvalidationLag(d)
	}
}

// observeRefused reports a fill kept out of the local tier.
func (s *Store) observeRefused(ns string) {
	if h := s.obs.hooks.Load(); h != nil && h.FillRefused != nil {
		h.FillRefused(ns)
	}
}

// leaseWait times a load's wait on another process's lease, from its first
// wait to its end. The zero value has not waited.
type leaseWait struct{ start time.Time }

// begin marks a wait; only the first one starts the clock.
func (w *leaseWait) begin() {
	if w.start.IsZero() {
		w.start = time.Now()
	}
}

// end reports the wait, if there was one, once.
func (w *leaseWait) end(s *Store, ns string) {
	if w.start.IsZero() {
		return
	}
	if h := s.obs.hooks.Load(); h != nil && h.LeaseWait != nil {
		h.LeaseWait(ns, time.Since(w.start))
	}
	w.start = time.Time{}
}

// Ready returns nil when the Store's local tier is in use: every
// invalidation connection is subscribed (or the Store needs none: a
// local-only Store, CoherenceNone). Otherwise it returns ErrNotCoherent, or
// ErrClosed after Close. Until a Store is coherent every read goes to
// Redis: a readiness probe that calls Ready keeps a process out of rotation
// until its local tier can serve. WaitCoherent blocks until then.
//
// A Store also stops being coherent while an invalidation connection is
// down, for instance while Redis is unreachable; reads then go to Redis or
// degrade to the loader. A service that should stay in rotation through a
// Redis outage checks Ready at startup only.
func (s *Store) Ready() error {
	switch {
	case s.closed.Load():
		return ErrClosed
	case s.coh.down.Load() != 0:
		return ErrNotCoherent
	}
	return nil
}

// ErrNotCoherent is returned by Ready while an invalidation connection of
// the Store is not subscribed (at start, until the coherence mode is
// decided and subscribed, and while a connection is down): the local tier
// is not in use and reads go to Redis.
var ErrNotCoherent = errors.New("tiercache/cache: invalidation stream not subscribed")
