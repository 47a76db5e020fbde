package cache

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Whole is one coherent local copy of a whole Redis value: all of a hash,
// a set, a list or a sorted set, decoded into S by the caller (a map, a
// slice). Its reads are served by Get without a lookup in the local tier:
// a few atomic loads decide whether the copy is still valid. The copy is
// charged to the Store's byte budget like any entry; a copy larger than
// the budget allows is not kept (Load counts it in OverBudget), and
// neither is one the local tier evicts.
//
// A copy stops being valid at once when this process writes the key (the
// writer calls Invalidate, as for a Near), when the Store's coherence sees
// a write to the key by anyone (tracking coherence only: see Near), when
// the Store flushes (an invalidation stream lost) or closes, and after its
// TTL. Safe for concurrent use.
type Whole[S any] struct {
	s    *Store
	id   uint32 // the local tier namespace of the copy's entry
	rkey string
	ttl  time.Duration
	ver  *wholeVersion // rkey's version, shared by the Store's Wholes of rkey
	cur  atomic.Pointer[wholeCopy[S]]
	mu   sync.Mutex // one Load at a time

	// tooBig is the version at which the last Load found the value over
	// budget, plus one (0: none): until the key is written again, Load
	// does not read it in full again.
	tooBig     atomic.Uint64
	tooBigTill atomic.Int64 // unix ns after which Load tries again anyway
	closed     atomic.Bool
	stats      wholeCounters
}

// wholeCounters are a Whole's counters, written only on the slow paths.
type wholeCounters struct {
	loads, kept, overBudget atomic.Uint64
}

// WholeStats are a Whole's counters.
type WholeStats struct {
	Loads      uint64 // Loads that read the value from Redis
	Kept       uint64 // of those, the copies kept locally
	OverBudget uint64 // of those, the copies too large for the local tier
}

// wholeVersion counts the invalidations of one Redis key seen by a Store;
// every Whole of the key shares it (the Store's wholes map holds it while
// some Whole of the key lives).
type wholeVersion struct {
	n    atomic.Uint64
	refs int // guarded by Store.wholeMu
}

// wholeCopy is one kept copy: the value, the version and token it was read
// under, and its expiry.
type wholeCopy[S any] struct {
	w       *Whole[S]
	v       S
	ver     uint64
	tok     uint64
	exp     int64        // unix ns
	touched atomic.Int64 // unix ns of the last promotion in the local tier
}

// evicted is called when the local tier evicts or expires the copy's
// entry: the Whole stops serving it.
func (c *wholeCopy[S]) evicted() { c.w.cur.CompareAndSwap(c, nil) }

// evictable is what the Store's OnEvict looks for in an entry's value.
type evictable interface{ evicted() }

// wholePromote is how often a read copy is promoted in the local tier's
// LRU order: Get does not touch the tier, so a copy in use is moved to the
// front at most this often.
const wholePromote = time.Second

// NewWhole returns the Whole of Redis key rkey on s, whose copies live at
// most ttl (further capped by StoreOptions.MaxStaleness). The key must start
// with the Store's prefix, as for a Near. Close releases it; an
// unreachable Whole is released by the garbage collector.
func NewWhole[S any](s *Store, rkey string, ttl time.Duration) (*Whole[S], error) {
	if s == nil || ttl <= 0 || rkey == "" {
		return nil, fmt.Errorf("%w: NewWhole needs a Store, a key and a positive TTL", ErrInvalidOptions)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.coh.cover(rkey)
	w := &Whole[S]{s: s, id: s.nextNS.Add(1), rkey: rkey, ttl: min(ttl, s.opts.MaxStaleness)}
	w.ver = s.holdWholeVersion(rkey)
	runtime.AddCleanup(w, func(a wholeRelease) { a.s.releaseWholeVersion(a.rkey) }, wholeRelease{s, rkey})
	return w, nil
}

type wholeRelease struct {
	s    *Store
	rkey string
}

// Get returns the kept copy while it is valid. It does not allocate and
// touches nothing shared but, once a second, the copy's place in the LRU.
func (w *Whole[S]) Get() (S, bool) {
	c := w.cur.Load()
	if c == nil || !w.valid(c) {
		var zero S
		return zero, false
	}
	if now := w.s.clock.nanos(); now-c.touched.Load() > int64(wholePromote) {
		c.touched.Store(now)
		w.s.local.Get(localKey{w.id, w.rkey})
	}
	return c.v, true
}

// valid reports whether c may still be served.
func (w *Whole[S]) valid(c *wholeCopy[S]) bool {
	coh := w.s.coh
	return c.ver == w.ver.n.Load() && coh.down.Load() == 0 && coh.flushed.Load() <= c.tok &&
		w.s.clock.nanos() < c.exp && !w.closed.Load()
}

// Load reads the value with fetch (its decoded form and its size in bytes;
// a negative size: a value that cannot be kept, such as one with an
// undecodable part, which is then skipped as one over budget is) and keeps it when no write to the key may have overtaken the read and it
// fits the budget; it returns what fetch returned either way. Loads of one
// Whole run one at a time, and one that finds a valid copy kept by the
// Load before it returns that copy without reading. A value over budget is not read
// again in full until the key is written or the TTL passes: Load then
// returns ok false without calling fetch, and the caller reads what it
// needs from Redis; so it does while nothing can be kept (an invalidation
// stream down, the Store or the Whole closed).
func (w *Whole[S]) Load(ctx context.Context, fetch func(ctx context.Context) (S, int, error)) (v S, ok bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v, ok := w.Get(); ok {
		return v, true, nil
	}
	if tb := w.tooBig.Load(); tb != 0 && tb-1 == w.ver.n.Load() && w.s.clock.nanos() < w.tooBigTill.Load() {
		return v, false, nil
	}
	if !w.s.hasRedis() || w.s.coh.down.Load() != 0 || w.closed.Load() {
		return v, false, nil // nothing could be kept: the caller reads what it needs
	}
	tok, ver := w.s.coh.token(), w.ver.n.Load()
	w.stats.loads.Add(1)
	var rf *readerFor
	if r := w.s.coh.kt.reader(); r != nil { // after the token: see readNodeFor
		// Loads nest (MultiMapTTL's): one read serves them all, so they
		// share the outermost's.
		var ok bool
		if rf, ok = ctx.Value(readerKey{}).(*readerFor); !ok {
			rf = &readerFor{tracked: r}
			ctx = context.WithValue(ctx, readerKey{}, rf)
		}
	}
	v, size, err := fetch(ctx)
	if err != nil {
		return v, false, err
	}
	if rf != nil && !rf.used.Load() {
		return v, false, nil // read untracked: nothing would tell of a write
	}
	if size < 0 { // not to be kept, nor read in full again until written
		w.skip(ver)
		return v, false, nil
	}
	w.keep(v, size, tok, ver)
	return v, true, nil
}

// readerKey is the context key under which Load hands fetch the Store's
// tracked connections (see ReadClient).
type readerKey struct{}

type readerFor struct {
	tracked redis.UniversalClient
	used    atomic.Bool // ReadClient handed tracked out
}

// ReadClient returns the client a Whole's fetch should read with, given
// the client rdb it would use otherwise: inside Load under
// CoherenceTrackingKeys, the Store's tracked connections, so that Redis
// tells the Store of later writes to what fetch read (a Whole's key lives
// on the Store's servers, whatever client the caller holds); rdb
// otherwise. Under that mode Load keeps a copy only if its fetch read
// through ReadClient.
func ReadClient(ctx context.Context, rdb redis.UniversalClient) redis.UniversalClient {
	if r, ok := ctx.Value(readerKey{}).(*readerFor); ok {
		r.used.Store(true)
		return r.tracked
	}
	return rdb
}

// keep stores v, read under tok and ver, unless a write may have overtaken
// the read or it does not fit.
func (w *Whole[S]) keep(v S, size int, tok, ver uint64) {
	s := w.s
	if !s.hasRedis() || w.closed.Load() || !s.coh.keepable(w.rkey, tok) || w.ver.n.Load() != ver {
		return
	}
	now := s.clock.nanos()
	c := &wholeCopy[S]{w: w, v: v, ver: ver, tok: tok, exp: now + int64(w.ttl-clockTick)}
	c.touched.Store(now)
	lk := localKey{w.id, w.rkey}
	e := newEntry[evictable](c)
	e.evicts = true
	if !s.local.Set(lk, e, int64(size+len(w.rkey))+entryOverhead, c.exp) {
		w.stats.overBudget.Add(1)
		w.skip(ver)
		return
	}
	w.cur.Store(c)
	if !s.coh.keepable(w.rkey, tok) || !w.valid(c) { // an invalidation landed meanwhile
		w.drop(c)
		return
	}
	w.stats.kept.Add(1)
}

// skip makes Load read nothing in full while the key's version is ver,
// for at most the TTL.
func (w *Whole[S]) skip(ver uint64) {
	w.tooBig.Store(ver + 1)
	w.tooBigTill.Store(w.s.clock.nanos() + int64(w.ttl))
}

// drop forgets c, the current copy.
func (w *Whole[S]) drop(c *wholeCopy[S]) {
	if w.cur.CompareAndSwap(c, nil) {
		w.s.local.Delete(localKey{w.id, w.rkey})
	}
}

// Invalidate makes the copies of the key, in every Whole and Near of this
// Store, invalid at once, and keeps Loads in flight from keeping what they
// read; a writer calls it once its write to the key has ended.
func (w *Whole[S]) Invalidate() { w.s.coh.wrote(w.rkey, 0) }

// Stats returns the Whole's counters; zero for a nil Whole.
func (w *Whole[S]) Stats() WholeStats {
	if w == nil {
		return WholeStats{}
	}
	return WholeStats{Loads: w.stats.loads.Load(), Kept: w.stats.kept.Load(), OverBudget: w.stats.overBudget.Load()}
}

// Close drops the copy and makes Load keep nothing more. It is optional.
func (w *Whole[S]) Close() {
	if w.closed.Swap(true) {
		return
	}
	if c := w.cur.Load(); c != nil {
		w.drop(c)
	}
}

// holdWholeVersion returns rkey's version, counting one more holder.
func (s *Store) holdWholeVersion(rkey string) *wholeVersion {
	s.wholeMu.Lock()
	defer s.wholeMu.Unlock()
	v, _ := s.wholes.Load(rkey)
	ver, _ := v.(*wholeVersion)
	if ver == nil {
		ver = new(wholeVersion)
		s.wholes.Store(rkey, ver)
	}
	ver.refs++
	return ver
}

// releaseWholeVersion counts one holder of rkey's version less, forgetting
// it with the last.
func (s *Store) releaseWholeVersion(rkey string) {
	s.wholeMu.Lock()
	defer s.wholeMu.Unlock()
	if v, ok := s.wholes.Load(rkey); ok {
		ver := v.(*wholeVersion)
		if ver.refs--; ver.refs == 0 {
			s.wholes.Delete(rkey)
		}
	}
}

// bumpWhole records an invalidation of rkey for its Wholes.
func (s *Store) bumpWhole(rkey string) {
	if v, ok := s.wholes.Load(rkey); ok {
		v.(*wholeVersion).n.Add(1)
	}
}
