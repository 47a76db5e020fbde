package cache

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Coherence selects how a Store keeps its local tier coherent with Redis.
type Coherence int32

const (
	// CoherenceAuto uses CoherenceTracking where the server accepts CLIENT
	// TRACKING, else CoherencePubSub. The default.
	CoherenceAuto Coherence = iota
	// CoherenceTracking: one connection per Redis server that may answer
	// the Store's reads (every master of a Cluster, its replicas too when
	// the client reads from them; the master and replicas of a Sentinel
	// group; every shard of a Ring) runs CLIENT TRACKING in broadcast mode
	// over the Store's prefix and receives the keys of every write under
	// it, by any client (other languages, redis-cli, expiry, eviction). A
	// replica reports a write when it applies it.
	CoherenceTracking
	// CoherencePubSub: every write made through tiercache publishes its keys
	// on "<prefix>invalidate", and every Store subscribes. On a Redis 7
	// Cluster the keys go out with sharded pub/sub instead: a write
	// SPUBLISHes on a channel of its key's hash slot, in the same script
	// call as the write, and every Store holds one connection per master
	// subscribed (SSUBSCRIBE) to the channels of that master's slots: 16384
	// channels in all, a few megabytes of server memory per Store (see the
	// README). On a Cluster whose replicas serve the Store's reads, pub/sub
	// cannot be coherent (the messages reach replicas before the writes
	// do): the local tier stays off. Writes by other clients are not seen:
	// their effect on local copies is bounded only by the local TTL and
	// MaxStaleness.
	CoherencePubSub
	// CoherenceNone: local copies are bounded by the local TTL and
	// MaxStaleness only.
	CoherenceNone
	// CoherenceTrackingNamespaces is CoherenceTracking with one broadcast
	// prefix per namespace the Store uses ("<prefix><namespace>:" for
	// every Cache, and the key of every Whole and Near up to its first ':'
	// or '{' after the Store's prefix), instead of the whole Store prefix:
	// a Store hears only of writes to its namespaces. Opening a namespace
	// (or the first Whole or Near of a new key family) after the streams
	// are up restarts them: the local tier is flushed once. Fleet-wide
	// lease waits are then woken by the value's write or by polling, not
	// by the lease's release.
	CoherenceTrackingNamespaces
	// CoherenceTrackingKeys: Redis remembers which keys the Store read and
	// invalidates only those (CLIENT TRACKING without BCAST). Reads whose
	// replies may be kept locally go through connections of the Store's
	// own (a second pool, cloned from the client's options), each
	// redirecting its invalidations to the stream of its server; a Store
	// hears only of the keys it read. A read kept locally costs Redis a
	// tracking-table entry until the key is written or evicted from the
	// table (tracking-table-max-keys). When one of those connections
	// closes (a timeout, a kill, the server gone), Redis forgets what it
	// read: the Store flushes. An own write is kept only after a read of
	// the key through those connections confirms Redis holds it. On a
	// Ring this mode runs as CoherenceTracking.
	CoherenceTrackingKeys
)

// tracking reports whether m is one of the CLIENT TRACKING modes.
func (m Coherence) tracking() bool {
	return m == CoherenceTracking || m == CoherenceTrackingNamespaces || m == CoherenceTrackingKeys
}

func (c Coherence) String() string {
	switch c {
	case CoherenceAuto:
		return "auto"
	case CoherenceTracking:
		return "tracking"
	case CoherencePubSub:
		return "pubsub"
	case CoherenceNone:
		return "none"
	case CoherenceTrackingNamespaces:
		return "tracking-namespaces"
	case CoherenceTrackingKeys:
		return "tracking-keys"
	}
	return "unknown"
}

const (
	// markBuckets is the number of invalidation marks; keys share them by
	// hash, and a shared mark only costs a skipped local store.
	markBuckets = 1 << 12
	// healthEvery is how long an invalidation connection may stay silent
	// before it is pinged; a second silence marks it down.
	healthEvery = time.Second
	// topologyEvery is how often the servers to follow are listed.
	topologyEvery = time.Second
	// invalidateChannel is the channel CLIENT TRACKING redirects to.
	invalidateChannel = "__redis__:invalidate"
)

// coherence tracks what the Store has learnt about writes to Redis and
// decides whether a value read from (or written to) Redis may be kept in
// the local tier.
//
// The rule for a fill: take a token (the sequence number) before the Redis
// call; after it, keep the value only if no invalidation of its key, no
// flush, and no outage of an invalidation connection was recorded since the
// token. The value is stored first and the check made after, so that an
// invalidation that lands between the two still removes it.
type coherence struct {
	s      *Store
	want   Coherence
	prefix string
	seed   maphash.Seed

	mode    atomic.Int32  // the Coherence in force; Auto while undecided
	sharded atomic.Bool   // pub/sub on Cluster uses sharded channels; set before mode
	seq     atomic.Uint64 // bumped by every invalidation and flush
	flushed atomic.Uint64 // seq of the last flush
	marks   [markBuckets]atomic.Uint64
	down    atomic.Int32 // invalidation connections not subscribed, plus 1 while undecided

	invalidations atomic.Uint64 // keys invalidated
	resyncs       atomic.Uint64 // flushes after a lost connection or a topology change

	stateMu sync.Mutex
	changed chan struct{} // closed and replaced when down changes

	waitMu  sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
	nwait   atomic.Int32

	lag  lagRecorder
	topo *topology
	// kt is the key-level tracking state, set at construction when the
	// Store asks for CoherenceTrackingKeys (not on a Ring); nil otherwise.
	kt *keyTracking
	// ns is the per-namespace broadcast state, and the streams' lives.
	ns nsPrefixes
	// heard, set by tests, sees every message of every invalidation
	// connection after it is handled, with the server's address.
	heard atomic.Pointer[func(addr string, m *redis.Message)]

	decided     chan struct{} // closed once mode is decided
	decideOnce  sync.Once
	modeWaiters atomic.Int32 // writes waiting in awaitMode, for tests

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newCoherence(s *Store, want Coherence) *coherence {
	c := &coherence{
		s:       s,
		want:    want,
		prefix:  s.opts.Prefix,
		seed:    maphash.MakeSeed(),
		changed: make(chan struct{}),
		waiters: make(map[string]map[chan struct{}]struct{}),
		decided: make(chan struct{}),
		topo:    newTopology(),
	}
	if s.rdb == nil || want == CoherenceNone {
		c.setMode(CoherenceNone)
		return c
	}
	c.down.Store(1) // undecided
	if _, ring := s.rdb.(*redis.Ring); want == CoherenceTrackingKeys && !ring {
		c.kt = &keyTracking{c: c, ids: map[string]int64{}}
	}
	// The Store's lifetime, ended by Close, bounds the invalidation
	// connections; no caller's context does.
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.supervise(ctx)
	}()
	return c
}

// closedDown is added to the count of connections down when the Store
// closes: from then on nothing is keepable and the Store is not coherent,
// whatever the connections do as they stop.
const closedDown = 1 << 30

// close stops the invalidation connections for good; Store.Close has
// added closedDown already.
func (c *coherence) close() {
	if c.cancel != nil {
		c.cancel()
		c.wg.Wait()
	}
	if c.kt != nil {
		c.kt.stop()
	}
	c.flush()
	c.stateMu.Lock()
	close(c.changed) // waitUp sees the Store closed
	c.changed = make(chan struct{})
	c.stateMu.Unlock()
}

// setMode records the mode decided.
func (c *coherence) setMode(m Coherence) {
	c.mode.Store(int32(m))
	c.decideOnce.Do(func() { close(c.decided) })
}

// awaitMode waits, when writes may have to announce their keys (the mode
// is undecided and may turn out to be pub/sub), until the mode is decided:
// a write made before would announce nothing, and other Stores would keep
// the old value. It returns ctx's error when ctx ends first.
func (c *coherence) awaitMode(ctx context.Context) error {
	if c.want.tracking() || c.want == CoherenceNone {
		return nil
	}
	select {
	case <-c.decided:
		return nil
	default:
	}
	c.modeWaiters.Add(1)
	defer c.modeWaiters.Add(-1)
	select {
	case <-c.decided:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// token returns the sequence number to pass to keepable after a Redis call.
func (c *coherence) token() uint64 { return c.seq.Load() }

// keepable reports whether a value of Redis key rkey obtained by a Redis
// call that started at token t may be kept locally now.
func (c *coherence) keepable(rkey string, t uint64) bool {
	return c.down.Load() == 0 && c.flushed.Load() <= t && c.marks[c.bucket(rkey)].Load() <= t && c.kt.keepable()
}

func (c *coherence) bucket(rkey string) int {
	return int(maphash.String(c.seed, rkey) & (markBuckets - 1))
}

// invalidateKey records an invalidation of a Redis key from the stream and
// drops the local copies it names.
func (c *coherence) invalidateKey(rkey string) {
	c.invalidations.Add(1)
	if d, ok := c.lag.end(rkey); ok {
		c.s.observeLag(d)
	}
	// Fence first, so that reads in flight are refused; then the copies go
	// (but for an own write's copy, hidden until checked).
	seq := c.seq.Add(1)
	m := &c.marks[c.bucket(rkey)]
	for old := m.Load(); old < seq && !m.CompareAndSwap(old, seq); old = m.Load() {
	}
	c.dropLocal(rkey, c.s.own.echo(rkey))
	c.wake(rkey)
}

// dropLocal deletes the local copies of rkey but that of namespace id
// keep (0: none).
func (c *coherence) dropLocal(rkey string, keep uint32) {
	if ns, key, ok := c.split(rkey); ok {
		for _, id := range c.s.namespaceIDs(ns) {
			if id != keep {
				c.s.local.Delete(localKey{id, key})
			}
		}
	}
	if e, ok := c.s.local.Get(localKey{c.s.nearVersions, rkey}); ok {
		valueOf[*nearVersion](e).n.Add(1)
		c.s.local.Delete(localKey{c.s.nearVersions, rkey})
	}
	c.s.bumpWhole(rkey)
}

// wrote records that this Store wrote (or deleted, or tried to) rkey, with a
// call that started at token t, once that call has ended. Like an
// invalidation it fences the reads in flight and drops the local copies.
// It returns the token under which the writer may keep the value it wrote,
// and whether it may: not if anything else invalidated the key's bucket, or
// flushed, since t, nor while a stream is down.
func (c *coherence) wrote(rkey string, t uint64) (uint64, bool) {
	seq := c.seq.Add(1)
	m := &c.marks[c.bucket(rkey)]
	ok := false
	for {
		old := m.Load()
		if old >= seq {
			break // a later fence won the race: in doubt
		}
		if m.CompareAndSwap(old, seq) {
			ok = old <= t
			break
		}
	}
	c.dropLocal(rkey, 0)
	c.wake(rkey)
	// Under key-level tracking the key may be tracked by no connection: the
	// value is kept only once a tracked read has confirmed it (see own.go).
	return seq, ok && c.flushed.Load() <= t && c.down.Load() == 0 && c.kt == nil
}

// split parses "<prefix><namespace>:<key>".
func (c *coherence) split(rkey string) (ns, key string, ok bool) {
	rest, ok := strings.CutPrefix(rkey, c.prefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// flush drops every local entry and makes fills that started before it
// unkeepable.
func (c *coherence) flush() {
	c.flushed.Store(c.seq.Add(1))
	c.s.local.Purge()
	c.s.own.forgetAll()
	c.lag.reset()
	c.wakeAll()
}

// setDown adds delta to the count of connections down, flushing on the way
// down (after counting, so that a racing fill is either refused or purged)
// and on the way up (before counting, so that fills from the outage are
// refused).
func (c *coherence) setDown(delta int32) {
	if delta < 0 {
		if c.kt != nil {
			c.kt.renew() // before the flush: kept reads run on the new generation
		}
		c.flush()
	}
	c.down.Add(delta)
	if delta > 0 {
		c.flush()
	}
	c.stateMu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.stateMu.Unlock()
}

// waitUp blocks until every invalidation connection is subscribed.
func (c *coherence) waitUp(ctx context.Context) error {
	for {
		c.stateMu.Lock()
		ch := c.changed
		c.stateMu.Unlock()
		switch d := c.down.Load(); {
		case d == 0:
			return nil
		case d >= closedDown:
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// watch returns a channel that receives when any of the Redis keys is
// invalidated (or everything is flushed), and a function to stop watching.
func (c *coherence) watch(rkeys ...string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.waitMu.Lock()
	for _, k := range rkeys {
		set := c.waiters[k]
		if set == nil {
			set = make(map[chan struct{}]struct{})
			c.waiters[k] = set
		}
		set[ch] = struct{}{}
	}
	c.nwait.Add(1)
	c.waitMu.Unlock()
	return ch, func() {
		c.waitMu.Lock()
		for _, k := range rkeys {
			if set := c.waiters[k]; set != nil {
				delete(set, ch)
				if len(set) == 0 {
					delete(c.waiters, k)
				}
			}
		}
		c.nwait.Add(-1)
		c.waitMu.Unlock()
	}
}

func (c *coherence) wake(rkey string) {
	if c.nwait.Load() == 0 {
		return
	}
	c.waitMu.Lock()
	for ch := range c.waiters[rkey] {
		notify(ch)
	}
	c.waitMu.Unlock()
}

func (c *coherence) wakeAll() {
	if c.nwait.Load() == 0 {
		return
	}
	c.waitMu.Lock()
	for _, set := range c.waiters {
		for ch := range set {
			notify(ch)
		}
	}
	c.waitMu.Unlock()
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
