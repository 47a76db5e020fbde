package cache

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Near is a view of a Store's local tier for values that live in Redis
// structures other than cache entries: a hash's fields, a set's members, a
// list's elements. Entries are named by a Redis key and a field; any write
// to the Redis key that the Store's coherence sees (or a flush, or an
// outage of the invalidation stream) makes every entry of that key a miss.
// It shares the Store's entry and byte budgets. Safe for concurrent use.
//
// Only tracking coherence sees writes to such structures by other
// processes: under CoherencePubSub, which announces cache entries only, and
// CoherenceNone, an entry may be stale for up to its TTL. Writes made
// through Invalidate in this process are seen at once in every mode.
//
// The Redis keys must start with the Store's prefix (StoreOptions.Prefix) so
// that CLIENT TRACKING covers them. A reader follows the fill protocol:
//
//	tok := near.Token()
//	v := read from Redis
//	near.Keep(rkey, field, v, size, tok)
//
// and a writer calls Invalidate(rkey) once its write has ended (whether it
// succeeded or not), so that its own process stops serving the old value
// before the invalidation arrives and reads in flight do not keep it.
//
// A Near registers nothing with its Store: the cost of an invalidation does
// not depend on how many Nears exist, and an unreachable Near is garbage
// collected (its entries age out of the local tier). Close drops its
// entries at once.
type Near[V any] struct {
	s      *Store
	id     uint32
	ttl    time.Duration
	closed atomic.Bool
}

// nearEntry is what a Near keeps in the local tier: a value and the
// version of its Redis key when it was kept.
type nearEntry[V any] struct {
	v     V
	ver   *nearVersion
	count uint64
}

// nearVersion is the version of one Redis key, shared by every Near of a
// Store and kept in the local tier under the Store's nearVersions
// namespace. An invalidation deletes it (and bumps it), so every entry
// kept under it becomes a miss; the version kept anew is another object.
type nearVersion struct{ n atomic.Uint64 }

// NewNear returns a Near on s whose entries live at most ttl (further capped
// by StoreOptions.MaxStaleness). A Store without Redis keeps nothing.
func NewNear[V any](s *Store, ttl time.Duration) (*Near[V], error) {
	if s == nil || ttl <= 0 {
		return nil, fmt.Errorf("%w: NewNear needs a Store and a positive TTL", ErrInvalidOptions)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	return &Near[V]{s: s, id: s.nextNS.Add(1), ttl: min(ttl, s.opts.MaxStaleness)}, nil
}

// Token returns the token to pass to Keep for a value read from Redis after
// this call.
func (n *Near[V]) Token() uint64 { return n.s.coh.token() }

// currentVersion returns the version of rkey kept in the local tier.
func (n *Near[V]) currentVersion(rkey string) (*nearVersion, bool) {
	e, ok := n.s.local.Get(localKey{n.s.nearVersions, rkey})
	if !ok {
		return nil, false
	}
	return valueOf[*nearVersion](e), true
}

// Get returns the value kept for field of rkey, if it is still valid.
func (n *Near[V]) Get(rkey, field string) (V, bool) {
	var zero V
	if n.closed.Load() || n.s.closed.Load() {
		return zero, false
	}
	e, ok := n.s.local.Get(localKey{n.id, nearKey(rkey, field)})
	if !ok {
		return zero, false
	}
	ne := valueOf[nearEntry[V]](e)
	if ver, ok := n.currentVersion(rkey); !ok || ver != ne.ver || ver.n.Load() != ne.count {
		return zero, false
	}
	return ne.v, true
}

// Keep stores v for field of rkey, read from Redis after Token returned tok,
// unless a write to rkey may have overtaken the read. size is v's
// approximate size in bytes.
func (n *Near[V]) Keep(rkey, field string, v V, size int, tok uint64) {
	n.s.coh.cover(rkey) // a family first kept now refuses tok (see nsPrefixes)
	if !n.s.hasRedis() || n.closed.Load() || !n.s.coh.keepable(rkey, tok) {
		return
	}
	exp := time.Now().Add(n.ttl - clockTick).UnixNano() // see clockTick
	ver, ok := n.currentVersion(rkey)
	if !ok {
		ver = new(nearVersion)
		// The version outlives the entries kept under it: MaxStaleness
		// bounds them all.
		n.s.local.Set(localKey{n.s.nearVersions, rkey}, newEntry(ver), int64(len(rkey))+entryOverhead,
			time.Now().Add(n.s.opts.MaxStaleness).UnixNano())
	}
	cur := ver.n.Load()
	lk := localKey{n.id, nearKey(rkey, field)}
	n.s.local.Set(lk, newEntry(nearEntry[V]{v, ver, cur}), int64(size+len(rkey)+len(field))+entryOverhead, exp)
	if now, ok := n.currentVersion(rkey); !n.s.coh.keepable(rkey, tok) || !ok || now != ver || ver.n.Load() != cur {
		n.s.local.Delete(lk) // an invalidation landed meanwhile
	}
}

// Invalidate makes every entry of rkey a miss in this process at once, and
// keeps reads of rkey in flight from keeping what they read; a writer calls
// it once its write to rkey has ended.
func (n *Near[V]) Invalidate(rkey string) { n.s.coh.wrote(rkey, 0) }

// Close drops the Near's entries from the local tier and makes Keep keep
// nothing more and Get miss. It is optional: a Near nobody references is
// garbage collected, and its entries age out.
func (n *Near[V]) Close() {
	if n.closed.Swap(true) {
		return
	}
	n.s.local.DeleteFunc(func(k localKey, _ *entry) bool { return k.ns == n.id })
}

func nearKey(rkey, field string) string { return rkey + "\x00" + field }
