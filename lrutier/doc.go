// Package lrutier is the bounded local tier of tiercache's two-tier cache: an
// in-process, sharded LRU that keeps values decoded, expires entries at an
// absolute time, and holds two budgets, one in entries and one in bytes.
//
// A [Tier] is split into a power-of-two number of shards. Each shard is a
// golang-lru/v2 simplelru.LRU (which is not safe for concurrent use) under
// its own mutex, so callers on different shards do not contend. The budgets
// are split evenly across the shards and enforced per shard: a [Tier.Set]
// that pushes a shard over either budget removes that shard's least recently
// used entries until both hold again.
//
// Expiry is lazy: an entry past its expiry is removed when [Tier.Get] finds
// it, when it reaches the tail of its shard, or when [Tier.Sweep] runs.
//
// The size of an entry is whatever the caller says it is; tiercache's cache
// package passes the encoded length plus the key length plus a fixed
// overhead. The tier keeps the byte count of each shard exact across
// overwrites, deletes, expiry and eviction.
//
// Values are shared, not copied: every Get of a key returns the same stored
// V. Callers that mutate what they get must copy it first.
//
// Callbacks ([Options.OnEvict]) are never run while a shard lock is held, so a
// callback may use the Tier it belongs to. The one exception is the predicate
// given to [Tier.DeleteFunc], which is documented there.
package lrutier
