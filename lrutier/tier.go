package lrutier

import "unsafe"

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
	nodes *Nodes[K] // every node in it is the Node of a node[K, V]
}

// node is a Tier's entry: its Node first, so that a *Node of a Tier's is the
// address of its node.
type node[K comparable, V any] struct {
	Node[K]
	value V
}

// valueOf returns the value of n, a Node a Tier[K, V] set.
func valueOf[K comparable, V any](n *Node[K]) V {
	return (*node[K, V])(unsafe.Pointer(n)).value
}

// New returns an empty Tier configured by opts (see [Options] for the
// defaults). It is safe to call concurrently.
func New[K comparable, V any](opts Options[K, V]) *Tier[K, V] {
	nopts := Options[K, *Node[K]]{
		MaxEntries: opts.MaxEntries, MaxBytes: opts.MaxBytes, Shards: opts.Shards,
		Hash: opts.Hash, Now: opts.Now, NoGetStats: opts.NoGetStats,
	}
	if onEvict := opts.OnEvict; onEvict != nil {
		nopts.OnEvict = func(k K, n *Node[K], r Reason) { onEvict(k, valueOf[K, V](n), r) }
	}
	return &Tier[K, V]{nodes: NewNodes(nopts)}
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
	if n := t.nodes.Get(key); n != nil {
		return valueOf[K, V](n), true
	}
	var zero V
	return zero, false
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
	return t.nodes.Set(key, &(&node[K, V]{value: v}).Node, size, expireAt)
}

// Delete removes the entry stored under key, expired or not, and reports
// whether there was one. OnEvict is not called. It is safe for concurrent
// use.
func (t *Tier[K, V]) Delete(key K) bool { return t.nodes.Delete(key) }

// DeleteFunc removes every entry (expired or not) for which del returns true
// and returns how many it removed. OnEvict is not called. It is safe for
// concurrent use, but del is called while a shard lock is held: it must be
// quick, and it must not call any method of this Tier (that would
// deadlock). Entries set concurrently may or may not be visited. It visits
// every entry, so it costs O(Len) and is meant for rare bulk invalidation.
func (t *Tier[K, V]) DeleteFunc(del func(K, V) bool) int {
	return t.nodes.DeleteFunc(func(n *Node[K]) bool { return del(n.key, valueOf[K, V](n)) })
}

// CountFunc returns how many live (unexpired) entries match. Like
// DeleteFunc, match runs under a shard lock: it must be quick and must not
// call the Tier. It costs O(Len). It is safe for concurrent use.
func (t *Tier[K, V]) CountFunc(match func(K, V) bool) int {
	return t.nodes.CountFunc(func(n *Node[K]) bool { return match(n.key, valueOf[K, V](n)) })
}

// Sweep removes every entry that has expired, counts each as an expiration,
// reports each to OnEvict (after the shard lock is released) and returns how
// many it removed. Expired entries are otherwise removed only when touched,
// so a caller that wants their bytes back sooner runs Sweep periodically. It
// is safe for concurrent use.
func (t *Tier[K, V]) Sweep() int { return t.nodes.Sweep() }

// Purge removes every entry. OnEvict is not called; the counters are kept.
// It is safe for concurrent use.
func (t *Tier[K, V]) Purge() { t.nodes.Purge() }

// Len returns the number of entries stored, including expired entries not
// yet removed. It is safe for concurrent use.
func (t *Tier[K, V]) Len() int { return t.nodes.Len() }

// Stats returns the tier's counters summed over its shards. It is safe for
// concurrent use.
func (t *Tier[K, V]) Stats() Stats { return t.nodes.Stats() }
