package lrutier

import (
	"hash/maphash"
	"math/bits"
	"runtime"
	"time"

	"github.com/tiercache/tiercache/internal/percpu"
)

// Default budgets used when the corresponding [Options] field is zero or
// negative.
const (
	DefaultMaxEntries       = 100_000
	DefaultMaxBytes   int64 = 64 << 20

	// maxShards bounds Options.Shards so that rounding up to a power of two
	// cannot overflow and a typo cannot allocate millions of shards.
	maxShards = 1 << 16
)

// Reason says why an entry left the tier. It is passed to [Options.OnEvict].
// A Reason is a plain value and safe for concurrent use.
type Reason uint8

const (
	// Evicted means the entry was pushed out by the entry or byte budget.
	Evicted Reason = iota + 1
	// Expired means the entry was found past its expiry on access, as the
	// oldest entry of its shard while making room, or by [Tier.Sweep].
	Expired
	// Removed means the entry was removed by [Tier.Delete],
	// [Tier.DeleteFunc] or [Tier.Purge]. OnEvict is not called for it.
	Removed
)

// String returns the lower-case name of r, such as "evicted".
func (r Reason) String() string {
	switch r {
	case Evicted:
		return "evicted"
	case Expired:
		return "expired"
	case Removed:
		return "removed"
	}
	return "unknown"
}

// Options configures a [Tier]. The zero value means the documented defaults.
// New reads the Options once; changing them afterwards has no effect.
type Options[K comparable, V any] struct {
	// MaxEntries is the entry budget of the whole tier, split evenly across
	// the shards and rounded up, so a shard holds at most
	// ceil(MaxEntries/Shards) entries. Default (<= 0): DefaultMaxEntries.
	MaxEntries int

	// MaxBytes is the byte budget of the whole tier, split evenly across the
	// shards (rounded down, at least 1 per shard). An entry larger than one
	// shard's share is never stored. Default (<= 0): DefaultMaxBytes.
	MaxBytes int64

	// Shards is the number of shards, rounded up to a power of two (at most
	// 65536). Default (<= 0): the smallest power of two >= 4*GOMAXPROCS.
	Shards int

	// Hash selects the shard of a key (by its low bits) and the key's place
	// in the shard's hash table, so it is the only hashing an operation
	// does. It must be deterministic and quick, and it is called on every
	// operation. Different keys should rarely get the same value: the
	// table tells them apart with ==, but each lookup of one steps over the
	// others. Default (nil): hash/maphash with a seed chosen by New
	// (maphash.String for string keys, maphash.Comparable otherwise).
	Hash func(K) uint64

	// OnEvict, if not nil, is called with each entry that leaves the tier
	// for reason Evicted or Expired (never for Removed). It is always called
	// after the shard lock is released, on the goroutine whose call removed
	// the entry, so it may call the Tier. It may be called concurrently from
	// several goroutines. Default (nil): no callback.
	OnEvict func(key K, value V, reason Reason)

	// Now returns the current time in unix nanoseconds; tests inject a fake
	// clock here. It is called only when an expiry must be checked.
	// Default (nil): time.Now().UnixNano().
	Now func() int64

	// NoGetStats, if true, leaves Gets uncounted: Stats reports 0 Hits and
	// 0 Misses. It is for an owner that counts its reads itself, so that a
	// hit is counted once. Default (false): Get counts.
	NoGetStats bool
}

// Stats is a snapshot of a [Tier]'s counters, summed over its shards. The
// shards are read one after another, so under concurrent use the sum is not
// an atomic snapshot of the whole tier.
type Stats struct {
	Hits        uint64 // Gets that returned a value
	Misses      uint64 // Gets that did not (absent or expired)
	Evictions   uint64 // entries pushed out by a budget (Reason Evicted)
	Expirations uint64 // entries removed because they had expired (Reason Expired)
	Entries     int    // entries stored now, including expired ones not yet removed
	Bytes       int64  // sum of the sizes of the entries stored now
}

// Tier is a sharded LRU (approximate; the package documentation gives the
// exact order) with per-entry expiry and budgets in entries and bytes. It is
// safe for concurrent use by multiple goroutines. Create it with [New]; the
// zero value is not usable.
type Tier[K comparable, V any] struct {
	shards     []shard[K, V]
	mask       uint64
	hash       func(K) uint64
	onEvict    func(K, V, Reason)
	now        func() int64 // nil: time.Now
	maxEntries int          // per shard
	maxBytes   int64        // per shard
	count      bool         // Get counts hits and misses

	// Gets count here, on a cell per processor: a hot key's readers on two
	// cores then write no cache line in common.
	hits, misses percpu.Counter
}

// New returns an empty Tier configured by opts (see [Options] for the
// defaults). It is safe to call concurrently.
func New[K comparable, V any](opts Options[K, V]) *Tier[K, V] {
	n := opts.Shards
	if n <= 0 {
		n = 4 * runtime.GOMAXPROCS(0)
	}
	n = min(n, maxShards)
	n = 1 << bits.Len(uint(n-1)) // round up to a power of two; 1 stays 1

	maxEntries := opts.MaxEntries
	if maxEntries <= 0 {
		maxEntries = DefaultMaxEntries
	}
	maxBytes := opts.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}

	t := &Tier[K, V]{
		shards:     make([]shard[K, V], n),
		mask:       uint64(n - 1),
		hash:       opts.Hash,
		onEvict:    opts.OnEvict,
		now:        opts.Now,
		maxEntries: (maxEntries + n - 1) / n,
		maxBytes:   max(maxBytes/int64(n), 1),
		count:      !opts.NoGetStats,
	}
	if t.hash == nil {
		t.hash = defaultHash[K](maphash.MakeSeed())
	}
	for i := range t.shards {
		t.shards[i].reset()
	}
	return t
}

// defaultHash returns a maphash-based hash for K: maphash.String for string
// keys (the common case, and the fastest), maphash.Comparable otherwise.
func defaultHash[K comparable](seed maphash.Seed) func(K) uint64 {
	var zero K
	if _, ok := any(zero).(string); ok {
		return any(func(s string) uint64 { return maphash.String(seed, s) }).(func(K) uint64)
	}
	return func(k K) uint64 { return maphash.Comparable(seed, k) }
}

// shardFor returns key's hash and its shard.
func (t *Tier[K, V]) shardFor(key K) (uint64, *shard[K, V]) {
	h := t.hash(key)
	return h, &t.shards[h&t.mask]
}

func (t *Tier[K, V]) clock() int64 {
	if t.now != nil {
		return t.now()
	}
	return time.Now().UnixNano()
}

// Get returns the live value stored under key. It takes no lock and writes
// no memory that other Gets read, so Gets of one key on several cores do
// not slow each other down; it counts on a cell of its processor's (see
// [Options.NoGetStats]). It moves the entry to the front of its shard's
// recency order only when the shard has made at least W moves since the
// entry's last one (see the package documentation), and such a Get then
// takes the shard's lock, briefly. An entry found past its expiry is
// removed, counted as an expiration and a miss, and reported to OnEvict
// (after the lock is released). A Get that runs while a Set or Delete of
// the same key is under way returns the value from before or after it. Get
// does not allocate. It is safe for concurrent use.
func (t *Tier[K, V]) Get(key K) (V, bool) {
	h, s := t.shardFor(key)
	n := s.lookup(h, key)
	if n == nil {
		t.miss()
		var zero V
		return zero, false
	}
	if n.expireAt != 0 {
		if now := t.clock(); n.expireAt <= now {
			t.miss()
			t.expire(s, h, key, now)
			var zero V
			return zero, false
		}
	}
	if t.count {
		t.hits.Inc()
	}
	if s.behind(n) {
		s.promote(h, key)
	}
	return n.value, true
}

func (t *Tier[K, V]) miss() {
	if t.count {
		t.misses.Inc()
	}
}

// promote moves key's node to the front if it is still more than a window
// behind: another Get, or a Set, may have moved it since the caller looked.
func (s *shard[K, V]) promote(hash uint64, key K) {
	s.mu.Lock()
	if n := s.find(hash, key); n != nil && s.behind(n) {
		s.moveToFront(n)
	}
	s.mu.Unlock()
}

// expire removes key's node, which a Get found expired at now under the read
// lock, unless it was removed or replaced by a live one since; it counts
// the expiration and reports it after the lock is released.
func (t *Tier[K, V]) expire(s *shard[K, V], hash uint64, key K, now int64) {
	s.mu.Lock()
	n := s.find(hash, key)
	if n == nil || n.expireAt == 0 || n.expireAt > now {
		s.mu.Unlock()
		return
	}
	s.unlink(n)
	s.expirations++
	s.mu.Unlock()
	if t.onEvict != nil {
		t.onEvict(key, n.value, Expired)
	}
}

// Set stores v under key with its size in bytes and its absolute expiry
// expireAt in unix nanoseconds (0: no expiry), replacing any old value, and
// moves it to the front of its shard's recency order. The caller computes
// size (tiercache uses the encoded length plus the key length plus a fixed
// overhead); a negative size counts as 0. Set then removes the shard's
// oldest entries until both shard budgets hold, reporting each to OnEvict
// after the lock is released (as Expired if it had expired, else Evicted).
//
// An entry larger than a shard's byte budget is not stored: Set returns false
// and removes any old value under key (without calling OnEvict), so a reader
// never sees the value the caller meant to replace. Otherwise Set returns
// true. It is safe for concurrent use.
func (t *Tier[K, V]) Set(key K, v V, size int64, expireAt int64) bool {
	size = max(size, 0)
	h, s := t.shardFor(key)
	s.mu.Lock()
	if size > t.maxBytes {
		s.remove(h, key)
		s.mu.Unlock()
		return false
	}
	n := &node[K, V]{key: key, value: v, size: size, expireAt: expireAt, hash: h}
	if old := s.find(h, key); old != nil {
		// A new node, not the old one changed: readers hold nodes without
		// the lock.
		s.replace(old, n)
		s.moveToFront(n)
	} else {
		s.pushFront(n)
	}
	if s.len() <= t.maxEntries && s.bytes <= t.maxBytes {
		s.setWindow(t.maxEntries, t.maxBytes)
		s.mu.Unlock()
		return true
	}
	var buf [4]removal[K, V]
	out := t.shrink(s, buf[:0])
	s.setWindow(t.maxEntries, t.maxBytes)
	s.mu.Unlock()
	t.report(out)
	return true
}

// shrink removes s's oldest nodes until both budgets hold and returns them
// appended to out when there is an OnEvict to report them to. The caller
// holds s.mu for writing. The node just set is the newest one and fits both
// budgets on its own, so it is never removed here.
func (t *Tier[K, V]) shrink(s *shard[K, V], out []removal[K, V]) []removal[K, V] {
	var now int64
	haveNow := false
	for (s.len() > t.maxEntries || s.bytes > t.maxBytes) && s.oldest != nil {
		n := s.oldest
		s.unlink(n)
		reason := Evicted
		if n.expireAt != 0 {
			if !haveNow {
				now, haveNow = t.clock(), true
			}
			if n.expireAt <= now {
				reason = Expired
			}
		}
		if reason == Expired {
			s.expirations++
		} else {
			s.evictions++
		}
		if t.onEvict != nil {
			out = append(out, removal[K, V]{key: n.key, value: n.value, reason: reason})
		}
	}
	return out
}

// report calls OnEvict for each collected removal. No lock may be held.
func (t *Tier[K, V]) report(out []removal[K, V]) {
	for i := range out {
		t.onEvict(out[i].key, out[i].value, out[i].reason)
	}
}

// Delete removes the entry stored under key, expired or not, and reports
// whether there was one. OnEvict is not called. It is safe for concurrent
// use.
func (t *Tier[K, V]) Delete(key K) bool {
	h, s := t.shardFor(key)
	s.mu.Lock()
	ok := s.remove(h, key)
	s.mu.Unlock()
	return ok
}

// DeleteFunc removes every entry (expired or not) for which del returns true
// and returns how many it removed. OnEvict is not called. It is safe for
// concurrent use, but del is called while a shard lock is held: it must be
// quick, and it must not call any method of this Tier (that would
// deadlock). Entries set concurrently may or may not be visited. It visits
// every entry, so it costs O(Len) and is meant for rare bulk invalidation.
func (t *Tier[K, V]) DeleteFunc(del func(K, V) bool) int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for nd := s.oldest; nd != nil; {
			newer := nd.newer
			if del(nd.key, nd.value) {
				s.unlink(nd)
				n++
			}
			nd = newer
		}
		s.mu.Unlock()
	}
	return n
}

// CountFunc returns how many live (unexpired) entries match. Like
// DeleteFunc, match runs under a shard lock: it must be quick and must not
// call the Tier. It costs O(Len). It is safe for concurrent use.
func (t *Tier[K, V]) CountFunc(match func(K, V) bool) int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		now := t.clock()
		for nd := s.oldest; nd != nil; nd = nd.newer {
			if (nd.expireAt == 0 || nd.expireAt > now) && match(nd.key, nd.value) {
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// Sweep removes every entry that has expired, counts each as an expiration,
// reports each to OnEvict (after the shard lock is released) and returns how
// many it removed. Expired entries are otherwise removed only when touched,
// so a caller that wants their bytes back sooner runs Sweep periodically. It
// is safe for concurrent use.
func (t *Tier[K, V]) Sweep() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		var out []removal[K, V]
		s.mu.Lock()
		now := t.clock()
		for nd := s.oldest; nd != nil; {
			newer := nd.newer
			if nd.expireAt != 0 && nd.expireAt <= now {
				s.unlink(nd)
				s.expirations++
				n++
				if t.onEvict != nil {
					out = append(out, removal[K, V]{key: nd.key, value: nd.value, reason: Expired})
				}
			}
			nd = newer
		}
		s.mu.Unlock()
		t.report(out)
	}
	return n
}

// Purge removes every entry. OnEvict is not called; the counters are kept.
// It is safe for concurrent use.
func (t *Tier[K, V]) Purge() {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.reset()
		s.mu.Unlock()
	}
}

// Len returns the number of entries stored, including expired entries not
// yet removed. It is safe for concurrent use.
func (t *Tier[K, V]) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += s.len()
		s.mu.Unlock()
	}
	return n
}

// Stats returns the tier's counters summed over its shards. It is safe for
// concurrent use.
func (t *Tier[K, V]) Stats() Stats {
	st := Stats{Hits: t.hits.Load(), Misses: t.misses.Load()}
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		st.Evictions += s.evictions
		st.Expirations += s.expirations
		st.Entries += s.len()
		st.Bytes += s.bytes
		s.mu.Unlock()
	}
	return st
}
