package lrutier

import (
	"hash/maphash"
	"math/bits"
	"runtime"
	"time"

	"github.com/tiercache/tiercache/internal/percpu"
)

// Nodes is the engine of a [Tier] for an owner that keeps its values in the
// nodes themselves: it stores *[Node] values that the owner allocated as
// the first field of its own struct, so that an entry is one allocation and
// a hit follows one pointer less. Everything [Tier] documents holds for it;
// its OnEvict and predicates get the nodes. Create it with [NewNodes]; the
// zero value is not usable. It is safe for concurrent use.
type Nodes[K comparable] struct {
	shards     []shard[K]
	mask       uint64
	hash       func(K) uint64
	onEvict    func(K, *Node[K], Reason)
	now        func() int64 // nil: time.Now
	maxEntries int          // per shard
	maxBytes   int64        // per shard
	count      bool         // Get counts hits and misses

	// Gets count here, on a cell per processor: a hot key's readers on two
	// cores then write no cache line in common.
	hits, misses percpu.Counter
}

// NewNodes returns an empty Nodes tier configured by opts (see [Options] for
// the defaults); OnEvict gets each node that leaves. It is safe to call
// concurrently.
func NewNodes[K comparable](opts Options[K, *Node[K]]) *Nodes[K] {
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

	t := &Nodes[K]{
		shards:     make([]shard[K], n),
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
func (t *Nodes[K]) shardFor(key K) (uint64, *shard[K]) {
	h := t.hash(key)
	return h, &t.shards[h&t.mask]
}

func (t *Nodes[K]) clock() int64 {
	if t.now != nil {
		return t.now()
	}
	return time.Now().UnixNano()
}

// Get returns the live node stored under key, or nil. It takes no lock and writes
// no memory that other Gets read, so Gets of one key on several cores do
// not slow each other down; it counts on a cell of its processor's (see
// [Options.NoGetStats]). It moves the entry to the front of its shard's
// recency order only when the shard has made at least W moves since the
// entry's last one (see the package documentation), and such a Get then
// takes the shard's lock, briefly. An entry found past its expiry is
// removed, counted as an expiration and a miss, and reported to OnEvict
// (after the lock is released). A Get that runs while a Set or Delete of
// the same key is under way returns the node from before or after it. Get
// does not allocate. It is safe for concurrent use.
func (t *Nodes[K]) Get(key K) *Node[K] {
	h, s := t.shardFor(key)
	n := s.lookup(h, key)
	if n == nil {
		t.miss()
		return nil
	}
	if n.expireAt != 0 {
		if now := t.clock(); n.expireAt <= now {
			t.miss()
			t.expire(s, h, key, now)
			return nil
		}
	}
	if t.count {
		t.hits.Inc()
	}
	if s.behind(n) {
		s.promote(h, key)
	}
	return n
}

func (t *Nodes[K]) miss() {
	if t.count {
		t.misses.Inc()
	}
}

// promote moves key's node to the front if it is still more than a window
// behind: another Get, or a Set, may have moved it since the caller looked.
func (s *shard[K]) promote(hash uint64, key K) {
	s.mu.Lock()
	if n := s.find(hash, key); n != nil && s.behind(n) {
		s.moveToFront(n)
	}
	s.mu.Unlock()
}

// expire removes key's node, which a Get found expired at now, unless it was removed or replaced by a live one since; it counts
// the expiration and reports it after the lock is released.
func (t *Nodes[K]) expire(s *shard[K], hash uint64, key K, now int64) {
	s.mu.Lock()
	n := s.find(hash, key)
	if n == nil || n.expireAt == 0 || n.expireAt > now {
		s.mu.Unlock()
		return
	}
	s.unlink(n, hash)
	s.expirations++
	s.mu.Unlock()
	if t.onEvict != nil {
		t.onEvict(key, n, Expired)
	}
}

// Set stores n under key with its size in bytes and its absolute expiry
// expireAt in unix nanoseconds (0: no expiry), replacing any old node, and
// moves it to the front of its shard's recency order. n must be new: a Node
// is set once, in one tier, and Set fills in its fields (the owner's fields
// around it must be written before the call and never after, since Gets
// read them without a lock). The caller computes
// size (tiercache uses the encoded length plus the key length plus a fixed
// overhead); a negative size counts as 0. Set then removes the shard's
// oldest entries until both shard budgets hold, reporting each to OnEvict
// after the lock is released (as Expired if it had expired, else Evicted).
//
// An entry larger than a shard's byte budget is not stored: Set returns false
// and removes any old value under key (without calling OnEvict), so a reader
// never sees the value the caller meant to replace. Otherwise Set returns
// true. It is safe for concurrent use.
func (t *Nodes[K]) Set(key K, n *Node[K], size int64, expireAt int64) bool {
	size = max(size, 0)
	h, s := t.shardFor(key)
	s.mu.Lock()
	if size > t.maxBytes {
		s.remove(h, key)
		s.mu.Unlock()
		return false
	}
	n.key, n.size, n.expireAt = key, size, expireAt
	if old := s.find(h, key); old != nil {
		// A new node, not the old one changed: readers hold nodes without
		// the lock.
		s.replace(old, n, h)
		s.moveToFront(n)
	} else {
		s.pushFront(n, h)
	}
	if s.len() <= t.maxEntries && s.bytes <= t.maxBytes {
		s.setWindow(t.maxEntries, t.maxBytes)
		s.mu.Unlock()
		return true
	}
	var buf [4]removal[K]
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
func (t *Nodes[K]) shrink(s *shard[K], out []removal[K]) []removal[K] {
	var now int64
	haveNow := false
	for (s.len() > t.maxEntries || s.bytes > t.maxBytes) && s.oldest != nil {
		n := s.oldest
		s.unlink(n, t.hash(n.key))
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
			out = append(out, removal[K]{n: n, reason: reason})
		}
	}
	return out
}

// report calls OnEvict for each collected removal. No lock may be held.
func (t *Nodes[K]) report(out []removal[K]) {
	for i := range out {
		t.onEvict(out[i].n.key, out[i].n, out[i].reason)
	}
}

// Delete removes the entry stored under key, expired or not, and reports
// whether there was one. OnEvict is not called. It is safe for concurrent
// use.
func (t *Nodes[K]) Delete(key K) bool {
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
func (t *Nodes[K]) DeleteFunc(del func(*Node[K]) bool) int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		for nd := s.oldest; nd != nil; {
			newer := nd.newer
			if del(nd) {
				s.unlink(nd, t.hash(nd.key))
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
func (t *Nodes[K]) CountFunc(match func(*Node[K]) bool) int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		now := t.clock()
		for nd := s.oldest; nd != nil; nd = nd.newer {
			if (nd.expireAt == 0 || nd.expireAt > now) && match(nd) {
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
func (t *Nodes[K]) Sweep() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		var out []removal[K]
		s.mu.Lock()
		now := t.clock()
		for nd := s.oldest; nd != nil; {
			newer := nd.newer
			if nd.expireAt != 0 && nd.expireAt <= now {
				s.unlink(nd, t.hash(nd.key))
				s.expirations++
				n++
				if t.onEvict != nil {
					out = append(out, removal[K]{n: nd, reason: Expired})
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
func (t *Nodes[K]) Purge() {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		s.reset()
		s.mu.Unlock()
	}
}

// Len returns the number of entries stored, including expired entries not
// yet removed. It is safe for concurrent use.
func (t *Nodes[K]) Len() int {
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
func (t *Nodes[K]) Stats() Stats {
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
