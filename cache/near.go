package cache

import (
	"fmt"
	"sync"
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
// CoherenceNone, an entry may be stale for up to its TTL.
//
// The Redis keys must start with the Store's prefix (StoreOptions.Prefix) so
// that CLIENT TRACKING covers them. A reader follows the fill protocol:
//
//	tok := near.Token()
//	v := read from Redis
//	near.Keep(rkey, field, v, size, tok)
//
// and a writer calls Invalidate(rkey) after writing, so that its own
// process stops serving the old value before the invalidation arrives.
type Near[V any] struct {
	s        *Store
	id       uint32
	ttl      time.Duration
	versions sync.Map // Redis key -> *atomic.Uint64, bumped by every invalidation
}

// nearEntry is what a Near keeps in the local tier.
type nearEntry[V any] struct {
	v       V
	version uint64
}

// NewNear returns a Near on s whose entries live at most ttl (further capped
// by StoreOptions.MaxStaleness). A Store without Redis keeps nothing.
func NewNear[V any](s *Store, ttl time.Duration) (*Near[V], error) {
	if s == nil || ttl <= 0 {
		return nil, fmt.Errorf("%w: NewNear needs a Store and a positive TTL", ErrInvalidOptions)
	}
	n := &Near[V]{s: s, id: s.nextNS.Add(1), ttl: min(ttl, s.opts.MaxStaleness)}
	s.nearMu.Lock()
	s.nears = append(s.nears, n)
	s.nearMu.Unlock()
	return n, nil
}

// nearInvalidator is what the Store calls on every invalidated Redis key.
type nearInvalidator interface{ invalidate(rkey string) }

func (n *Near[V]) invalidate(rkey string) {
	if ver, ok := n.versions.Load(rkey); ok {
		ver.(*atomic.Uint64).Add(1)
	}
}

func (n *Near[V]) version(rkey string) *atomic.Uint64 {
	if ver, ok := n.versions.Load(rkey); ok {
		return ver.(*atomic.Uint64)
	}
	ver, _ := n.versions.LoadOrStore(rkey, new(atomic.Uint64))
	return ver.(*atomic.Uint64)
}

// Token returns the token to pass to Keep for a value read from Redis after
// this call.
func (n *Near[V]) Token() uint64 { return n.s.coh.token() }

// Get returns the value kept for field of rkey, if it is still valid.
func (n *Near[V]) Get(rkey, field string) (V, bool) {
	var zero V
	e, ok := n.s.local.Get(localKey{n.id, nearKey(rkey, field)})
	if !ok {
		return zero, false
	}
	ne := e.value.(nearEntry[V])
	ver, ok := n.versions.Load(rkey)
	if !ok || ver.(*atomic.Uint64).Load() != ne.version {
		return zero, false
	}
	return ne.v, true
}

// Keep stores v for field of rkey, read from Redis after Token returned tok,
// unless a write to rkey may have overtaken the read. size is v's
// approximate size in bytes.
func (n *Near[V]) Keep(rkey, field string, v V, size int, tok uint64) {
	if !n.s.hasRedis() || !n.s.coh.keepable(rkey, tok) {
		return
	}
	ver := n.version(rkey)
	cur := ver.Load()
	lk := localKey{n.id, nearKey(rkey, field)}
	exp := time.Now().Add(n.ttl - clockTick).UnixNano() // see clockTick
	n.s.local.Set(lk, &entry{value: nearEntry[V]{v, cur}}, int64(size+len(rkey)+len(field))+entryOverhead, exp)
	if !n.s.coh.keepable(rkey, tok) || ver.Load() != cur { // an invalidation landed meanwhile
		n.s.local.Delete(lk)
	}
}

// Invalidate makes every entry of rkey a miss in this process at once; a
// writer calls it after writing rkey.
func (n *Near[V]) Invalidate(rkey string) { n.invalidate(rkey) }

func nearKey(rkey, field string) string { return rkey + "\x00" + field }
