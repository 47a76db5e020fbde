package lrutier

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// Node is an entry as a [Nodes] tier keeps it: its key, expiry and size, and
// its place in its shard's recency list. An owner that keeps its values in
// the node itself (one allocation per entry) embeds a Node as the first
// field of its own struct and hands the Node's address to [Nodes.Set];
// [Tier] does just that. Get reads nodes without the shard's lock, so what
// a node holds never changes once it is set: a Set of a key already there
// puts a new node in the old one's place. The fields a hit reads come first.
type Node[K comparable] struct {
	key      K
	expireAt int64         // unix nanoseconds; 0: never
	moved    atomic.Uint64 // the shard's moves when the node was last moved to the front
	size     int64
	newer    *Node[K]
	older    *Node[K]
}

// removal is an entry taken out under a shard lock, kept until the lock is
// released so that OnEvict can be called without it.
type removal[K comparable] struct {
	n      *Node[K]
	reason Reason
}

// Key returns the key n was set under.
func (n *Node[K]) Key() K { return n.key }

// counters are the statistics a shard changes under its write lock.
type counters struct {
	bytes       int64 // sum of the sizes of the stored entries
	evictions   uint64
	expirations uint64
}

// shardAlign is the size shards are padded to: two 64-byte cache lines,
// because adjacent-line prefetch makes neighbours on the same 128-byte pair
// contend too.
const shardAlign = 128

// shardBody is the size of a shard's fields, without the padding. The
// table and the list ends hold pointers, so it does not depend on K or V.
const shardBody = 4*unsafe.Sizeof(atomic.Uint64{}) + unsafe.Sizeof(table[int]{}) +
	unsafe.Sizeof(sync.Mutex{}) + 2*unsafe.Sizeof(uintptr(0)) + unsafe.Sizeof(counters{})

// shard is one lock's worth of the tier: a table and a recency list of
// nodes, and its counters, padded so that two shards never share a cache
// line. Every field is written only under mu. Get takes no lock and writes
// nothing: it reads seq, the table, moves and window (atomically), and
// checks seq again to know that no writer changed the table meanwhile. The
// fields a hit reads come first.
type shard[K comparable] struct {
	// seq is odd while a writer changes the table, and counts its changes:
	// a reader that sees it even and unchanged around its probe saw a table
	// that no writer touched.
	seq   atomic.Uint64
	items table[K]
	// moves counts the nodes moved to the front (by Set or by a promoting
	// Get): it is the clock that node.moved is read against.
	moves atomic.Uint64
	// window is how many moves the shard makes after a node's own before a
	// Get moves the node to the front again; see setWindow and Tier.Get.
	window atomic.Uint64
	// retries counts the lookups that probed again because a writer
	// changed the table meanwhile (for tests: they show the race was run).
	retries atomic.Uint64

	mu sync.Mutex

	newest, oldest *Node[K] // the ends of the recency list
	counters
	_ [(shardAlign - shardBody%shardAlign) % shardAlign]byte
}

// reset empties s. The caller holds s.mu, or s is new.
func (s *shard[K]) reset() {
	s.seq.Add(1)
	s.items.arr.Store(newSlots[K](minTableSlots))
	s.items.used = 0
	s.seq.Add(1)
	s.newest, s.oldest = nil, nil
	s.bytes = 0
}

// lookupTries is how many times lookup probes without the lock before it
// takes it: a writer holds a shard's table for a few slot moves at most.
const lookupTries = 4

// lookup returns key's node, or nil, without taking s.mu unless writers
// keep changing the table under it. The node may leave s right after: the
// caller reads only its fields that never change.
func (s *shard[K]) lookup(hash uint64, key K) *Node[K] {
	for range lookupTries {
		seq := s.seq.Load()
		if seq&1 != 0 {
			s.retries.Add(1)
			continue
		}
		n, done := s.items.findShared(hash, key)
		if done && s.seq.Load() == seq {
			return n
		}
		s.retries.Add(1)
	}
	s.mu.Lock()
	n := s.find(hash, key)
	s.mu.Unlock()
	return n
}

// len returns the number of nodes in s. The caller holds s.mu.
func (s *shard[K]) len() int { return s.items.used }

// find returns key's node, or nil. The caller holds s.mu.
func (s *shard[K]) find(hash uint64, key K) *Node[K] {
	return s.items.find(hash, key)
}

// pushFront adds n, whose key is not in s, as the newest node. The caller
// holds s.mu.
func (s *shard[K]) pushFront(n *Node[K], hash uint64) {
	s.seq.Add(1)
	s.items.insert(n, hash)
	s.seq.Add(1)
	n.older = s.newest
	if s.newest != nil {
		s.newest.newer = n
	} else {
		s.oldest = n
	}
	s.newest = n
	s.bytes += n.size
	s.stamp(n)
}

// stamp records a move of n to the front. The caller holds s.mu.
func (s *shard[K]) stamp(n *Node[K]) {
	m := s.moves.Load()
	n.moved.Store(m)
	s.moves.Store(m + 1)
}

// behind reports whether n, which was in s, has been passed by more than a
// window of moves since its own: a Get then moves it to the front.
func (s *shard[K]) behind(n *Node[K]) bool {
	return s.moves.Load()-n.moved.Load() > s.window.Load()
}

// replace puts n, a new node for old's key, in old's place in the table and
// the list, keeping the byte count exact. The caller holds s.mu.
func (s *shard[K]) replace(old, n *Node[K], hash uint64) {
	s.seq.Add(1)
	s.items.replace(old, n, hash)
	s.seq.Add(1)
	n.newer, n.older = old.newer, old.older
	if n.newer != nil {
		n.newer.older = n
	} else {
		s.newest = n
	}
	if n.older != nil {
		n.older.newer = n
	} else {
		s.oldest = n
	}
	old.newer, old.older = nil, nil
	s.bytes += n.size - old.size
}

// moveToFront makes n, which is in s, the newest node. The caller holds
// s.mu.
func (s *shard[K]) moveToFront(n *Node[K]) {
	s.stamp(n)
	if n == s.newest {
		return
	}
	s.unlinkList(n)
	n.newer, n.older = nil, s.newest
	s.newest.newer = n
	s.newest = n
}

// unlinkList takes n out of the recency list only. The caller holds s.mu.
func (s *shard[K]) unlinkList(n *Node[K]) {
	if n.newer != nil {
		n.newer.older = n.older
	} else {
		s.newest = n.older
	}
	if n.older != nil {
		n.older.newer = n.newer
	} else {
		s.oldest = n.newer
	}
}

// unlink removes n from s, keeping the byte count exact. The caller holds
// s.mu.
func (s *shard[K]) unlink(n *Node[K], hash uint64) {
	s.seq.Add(1)
	s.items.delete(n, hash)
	s.seq.Add(1)
	s.unlinkList(n)
	n.newer, n.older = nil, nil
	s.bytes -= n.size
}

// remove deletes key's node from s and reports whether there was one. The
// caller holds s.mu.
func (s *shard[K]) remove(hash uint64, key K) bool {
	n := s.find(hash, key)
	if n == nil {
		return false
	}
	s.unlink(n, hash)
	return true
}

// setWindow sets s.window to half the number of entries s can hold, and at
// least 1: its entry budget maxEntries or, when fewer entries of the
// shard's current mean size fit its byte budget maxBytes, that many. The
// caller holds s.mu.
func (s *shard[K]) setWindow(maxEntries int, maxBytes int64) {
	capacity := int64(maxEntries)
	if n := int64(s.len()); n > 0 {
		capacity = min(capacity, maxBytes/max(s.bytes/n, 1))
	}
	s.window.Store(uint64(max(capacity/2, 1)))
}
