// Package lrutier is the bounded local tier of tiercache's two-tier cache: an
// in-process, sharded LRU that keeps values decoded, expires entries at an
// absolute time, and holds two budgets, one in entries and one in bytes.
//
// A [Tier] is split into a power-of-two number of shards, each under its own
// mutex for writers, so writers on different shards do not contend. A Get
// takes no lock and writes nothing that other Gets read (it checks a
// shard's sequence count around a lock-free probe, and counts on a cell of
// its processor's), so Gets of one hot key on several cores do not slow
// each other down. A shard is a hash table (open addressing, indexed by the
// same 64-bit hash that chose the shard, so a key is hashed once per
// operation) and a list of its entries in recency order. The
// budgets are split evenly across the shards and enforced per shard: a
// [Tier.Set] that pushes a shard over either budget removes that shard's
// oldest entries, in list order, until both hold again.
//
// # Recency order
//
// The order is LRU, with one approximation that lets a hit read without
// writing. A Set moves its entry to the front of its shard's list. A Get
// moves its entry to the front only when the shard has made at least W
// moves to the front since this entry's last one; otherwise it leaves the
// entry where it is, which is then among the W most recently moved entries
// of the shard. W is half the number of entries the shard can hold, and at
// least 1: its share of the entry budget or, when fewer entries of the
// shard's current mean size fit its share of the byte budget, that many. So
// once the shard is full, W is about half of the entries it holds.
//
// Eviction takes the entry whose last move to the front is the oldest. So,
// in a shard holding n entries:
//   - an entry read at least once during the last n-W moves to the front of
//     its shard (Sets and moving Gets) is not evicted; an exact LRU would
//     keep one read during the last n;
//   - entries not read since they were set leave in the order they were set;
//   - when a shard can hold at most 3 entries, W is 1 and the order is
//     exact LRU.
//
// Expiry is lazy: an entry past its expiry is removed when [Tier.Get] finds
// it, when it is the oldest entry of its shard while Set makes room, or when
// [Tier.Sweep] runs.
//
// The size of an entry is whatever the caller says it is; tiercache's cache
// package passes the encoded length plus the key length plus a fixed
// overhead. The tier keeps the byte count of each shard exact across
// overwrites, deletes, expiry and eviction.
//
// Values are shared, not copied: every Get of a key returns the same stored
// V. Callers that mutate what they get must copy it first.
//
// [Nodes] is the same tier for an owner that keeps its values in the nodes
// themselves (one allocation per entry): tiercache's cache package keeps
// each value, decoded and of its own type, in the same object as the node.
//
// Callbacks ([Options.OnEvict]) are never run while a shard lock is held, so a
// callback may use the Tier it belongs to. The one exception is the predicate
// given to [Tier.DeleteFunc], which is documented there.
package lrutier
