package cache

import (
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/percpu"
)

// Stats is a snapshot of a namespace's counters, with the state of the Store
// it belongs to.
type Stats struct {
	LocalHits    uint64 // reads answered by the local tier
	RemoteHits   uint64 // reads answered by Redis
	Misses       uint64 // reads that found no fresh value
	NegativeHits uint64 // reads answered by a cached "not found"
	Loads        uint64 // loader calls
	LoadErrors   uint64 // loader calls that failed (ErrNotFound excepted) or panicked in a refresh
	SharedLoads  uint64 // GetOrLoad calls that shared another call's load
	StaleServed  uint64 // stale values returned (stale-while-revalidate, stale-if-error)
	DecodeErrors uint64 // Redis values that could not be decoded (read as misses)
	RedisErrors  uint64 // failed Redis calls
	BreakerSkips uint64 // Redis calls the open breaker skipped (not in RedisErrors)
	FillsRefused uint64 // loaded values Redis refused: the key was written, deleted or filled since the load began (see GetOrLoad)
	Degraded     uint64 // loaded values returned without being stored because Redis was unavailable
	LeaseWaits   uint64 // times a load waited on another process's lease
	Renewals     uint64 // renewals of sliding values Redis applied (Options.Sliding)
	// RenewalsRefused are renewals Redis refused: the key was written,
	// deleted or renewed by another Store since it was read.
	RenewalsRefused uint64

	// Coherence, store-wide.
	Coherence          Coherence     // the mode in force (Auto until decided)
	Coherent           bool          // every invalidation connection is subscribed: the local tier is in use
	Invalidations      uint64        // keys invalidated by the stream
	Resyncs            uint64        // local tier flushes after a lost invalidation connection or a topology change
	InvalidationLagP50 time.Duration // from the start of a write through this Store to the arrival of its invalidation
	InvalidationLagP99 time.Duration
	LagSamples         int // writes whose lag was measured

	// Store-wide figures.
	Breaker      BreakerState // the Store's circuit breaker
	Evictions    uint64       // local entries pushed out by the budget
	Expirations  uint64       // local entries dropped at their expiry
	LocalEntries int          // entries in the local tier
	LocalBytes   int64        // bytes the local tier accounts for
}

// counters are a namespace's statistics. The two that local hits count are
// per processor, since every goroutine that reads the namespace adds to
// them: two cores reading one hot key write no cache line in common.
type counters struct {
	localHits, negativeHits                         percpu.Counter
	remoteHits, misses                              atomic.Uint64
	loads, loadErrors, sharedLoads, staleServed     atomic.Uint64
	decodeErrors, redisErrors, degraded, leaseWaits atomic.Uint64
	breakerSkips, fillsRefused                      atomic.Uint64
	renewals, renewalsRefused                       atomic.Uint64
}

// Stats returns the namespace's counters and the Store's local tier figures.
func (c *Cache[V]) Stats() Stats {
	ls := c.s.local.Stats()
	p50, p99, n := c.s.coh.lag.quantiles()
	return Stats{
		LeaseWaits:         c.stats.leaseWaits.Load(),
		Renewals:           c.stats.renewals.Load(),
		RenewalsRefused:    c.stats.renewalsRefused.Load(),
		Coherence:          c.s.Coherence(),
		Coherent:           c.s.coh.down.Load() == 0 && !c.s.closed.Load(),
		Invalidations:      c.s.coh.invalidations.Load(),
		Resyncs:            c.s.coh.resyncs.Load(),
		InvalidationLagP50: p50,
		InvalidationLagP99: p99,
		LagSamples:         n,
		LocalHits:          c.stats.localHits.Load(),
		RemoteHits:         c.stats.remoteHits.Load(),
		Misses:             c.stats.misses.Load(),
		NegativeHits:       c.stats.negativeHits.Load(),
		Loads:              c.stats.loads.Load(),
		LoadErrors:         c.stats.loadErrors.Load(),
		SharedLoads:        c.stats.sharedLoads.Load(),
		StaleServed:        c.stats.staleServed.Load(),
		DecodeErrors:       c.stats.decodeErrors.Load(),
		RedisErrors:        c.stats.redisErrors.Load(),
		BreakerSkips:       c.stats.breakerSkips.Load(),
		FillsRefused:       c.stats.fillsRefused.Load(),
		Degraded:           c.stats.degraded.Load(),
		Breaker:            c.s.Breaker(),
		Evictions:          ls.Evictions,
		Expirations:        ls.Expirations,
		LocalEntries:       ls.Entries,
		LocalBytes:         ls.Bytes,
	}
}
