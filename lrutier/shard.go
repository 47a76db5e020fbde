package lrutier

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// node is one entry of a shard: the key and value and the node's place in
// the shard's recency list. A Set of a new key allocates one node (and,
// now and then, a larger table). The fields a hit reads come first.
type node[K comparable, V any] struct {
	key      K
	value    V
	expireAt int64  // unix nanoseconds; 0: never
	moved    uint64 // the shard's moves when the node was last moved to the front
	hash     uint64 // Tier.hash(key)
	size     int64
	newer    *node[K, V]
	older    *node[K, V]
}

// removal is an entry taken out under a shard lock, kept until the lock is
// released so that OnEvict can be called without it.
type removal[K comparable, V any] struct {
	key    K
	value  V
	reason Reason
}

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
const shardBody = unsafe.Sizeof(sync.RWMutex{}) + 2*unsafe.Sizeof(atomic.Uint64{}) +
	unsafe.Sizeof(table[int, int]{}) + 2*unsafe.Sizeof(uint64(0)) +
	2*unsafe.Sizeof(uintptr(0)) + unsafe.Sizeof(counters{})

// shard is one lock's worth of the tier: a table and a recency list of
// nodes, and its counters, padded so that two shards never share a cache
// line. Get works under the read lock and counts into hits and misses
// atomically; every other field is written only under the write lock. The
// fields a hit reads come first.
type shard[K comparable, V any] struct {
	mu     sync.RWMutex
	hits   atomic.Uint64
	misses atomic.Uint64
	items  table[K, V]

	// moves counts the nodes moved to the front (by Set or by a promoting
	// Get): it is the clock that node.moved is read against.
	moves uint64
	// window is how many moves the shard makes after a node's own before a
	// Get moves the node to the front again; see setWindow and Tier.Get.
	window uint64

	newest, oldest *node[K, V] // the ends of the recency list
	counters
	_ [(shardAlign - shardBody%shardAlign) % shardAlign]byte
}

// reset empties s. The caller holds s.mu for writing, or s is new.
func (s *shard[K, V]) reset() {
	s.items = newTable[K, V](minTableSlots)
	s.newest, s.oldest = nil, nil
	s.bytes = 0
}

// len returns the number of nodes in s. The caller holds s.mu.
func (s *shard[K, V]) len() int { return s.items.used }

// find returns key's node, or nil. The caller holds s.mu.
func (s *shard[K, V]) find(hash uint64, key K) *node[K, V] {
	return s.items.find(hash, key)
}

// pushFront adds n, whose key is not in s, as the newest node. The caller
// holds s.mu for writing.
func (s *shard[K, V]) pushFront(n *node[K, V]) {
	s.items.insert(n)
	n.older = s.newest
	if s.newest != nil {
		s.newest.newer = n
	} else {
		s.oldest = n
	}
	s.newest = n
	s.bytes += n.size
	n.moved = s.moves
	s.moves++
}

// moveToFront makes n, which is in s, the newest node. The caller holds
// s.mu for writing.
func (s *shard[K, V]) moveToFront(n *node[K, V]) {
	n.moved = s.moves
	s.moves++
	if n == s.newest {
		return
	}
	s.unlinkList(n)
	n.newer, n.older = nil, s.newest
	s.newest.newer = n
	s.newest = n
}

// unlinkList takes n out of the recency list only. The caller holds s.mu for
// writing.
func (s *shard[K, V]) unlinkList(n *node[K, V]) {
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
// s.mu for writing.
func (s *shard[K, V]) unlink(n *node[K, V]) {
	s.items.delete(n)
	s.unlinkList(n)
	n.newer, n.older = nil, nil
	s.bytes -= n.size
}

// remove deletes key's node from s and reports whether there was one. The
// caller holds s.mu for writing.
func (s *shard[K, V]) remove(hash uint64, key K) bool {
	n := s.find(hash, key)
	if n == nil {
		return false
	}
	s.unlink(n)
	return true
}

// setWindow sets s.window to half the number of entries s can hold, and at
// least 1: its entry budget maxEntries or, when fewer entries of the
// shard's current mean size fit its byte budget maxBytes, that many. The
// caller holds s.mu for writing.
func (s *shard[K, V]) setWindow(maxEntries int, maxBytes int64) {
	capacity := int64(maxEntries)
	if n := int64(s.len()); n > 0 {
		capacity = min(capacity, maxBytes/max(s.bytes/n, 1))
	}
	s.window = uint64(max(capacity/2, 1))
}
