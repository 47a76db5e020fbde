package lrutier

import (
	"sync"
	"unsafe"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// entry is what a shard's simplelru stores under a key. It is stored by
// value, so a Set allocates only simplelru's list element.
type entry[V any] struct {
	value    V
	size     int64
	expireAt int64 // unix nanoseconds; 0: never
}

// removal is an entry taken out under a shard lock, kept until the lock is
// released so that OnEvict can be called without it.
type removal[K comparable, V any] struct {
	key    K
	value  V
	reason Reason
}

// counters are a shard's statistics. They are plain integers updated under
// the shard lock, which every operation that changes them already holds.
type counters struct {
	bytes       int64 // sum of the sizes of the stored entries
	hits        uint64
	misses      uint64
	evictions   uint64
	expirations uint64
}

// shardAlign is the size shards are padded to: two 64-byte cache lines,
// because adjacent-line prefetch makes neighbours on the same 128-byte pair
// contend too.
const shardAlign = 128

// shardBody is the size of a shard's fields, without the padding. The lru
// field is a pointer, so its size does not depend on K or V.
const shardBody = unsafe.Sizeof(sync.Mutex{}) + unsafe.Sizeof(uintptr(0)) + unsafe.Sizeof(counters{})

// shard is one lock's worth of the tier: a simplelru and its counters,
// padded so that two shards never share a cache line. All fields are guarded
// by mu.
type shard[K comparable, V any] struct {
	mu  sync.Mutex
	lru *simplelru.LRU[K, entry[V]]
	counters
	_ [(shardAlign - shardBody%shardAlign) % shardAlign]byte
}

// remove deletes key from s, keeping the byte count exact, and reports
// whether it was there. The caller holds s.mu.
func (s *shard[K, V]) remove(key K) bool {
	e, ok := s.lru.Peek(key)
	if !ok {
		return false
	}
	s.lru.Remove(key)
	s.bytes -= e.size
	return true
}
