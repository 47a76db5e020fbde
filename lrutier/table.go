package lrutier

import (
	"math/bits"
	"sync/atomic"
)

// minTableSlots is the size of an empty table: a power of two.
const minTableSlots = 8

// slot is one place of a table: a node and its key's hash, or nothing. Both
// words are atomic because Get reads them without the shard's lock; a
// reader may see the two of one slot from different moments, which the
// shard's sequence count (see shard.lookup) makes it discard.
type slot[K comparable] struct {
	hash atomic.Uint64
	n    atomic.Pointer[Node[K]] // nil: the slot is empty
}

// slots is a table's array with the shift that maps a hash to its home.
// A resize publishes a new one; the old one is left as it was, for the
// readers still probing it.
type slots[K comparable] struct {
	s     []slot[K] // a power of two of them
	shift uint      // 64 - log2(len(s)); see home
}

// table finds a shard's nodes by key. It is an open-addressing hash table
// (linear probing, backward-shift deletion) indexed by the 64-bit hash the
// Tier already computed to choose the shard, so that a lookup does not hash
// the key a second time, and kept at most 3/4 full. Keys with equal hashes
// simply take several slots. Only one writer at a time may change a table
// (its shard's lock guards that); readers may probe it at any time with
// findShared.
type table[K comparable] struct {
	arr  atomic.Pointer[slots[K]]
	used int
}

func newSlots[K comparable](size int) *slots[K] {
	return &slots[K]{s: make([]slot[K], size), shift: uint(64 - bits.Len(uint(size-1)))}
}

// newTable returns an empty table of size slots.
func newTable[K comparable](size int) *table[K] {
	t := new(table[K])
	t.arr.Store(newSlots[K](size))
	return t
}

// home returns the slot where the probe for hash starts. The hash is
// multiplied before its top bits are taken because the shard was chosen by
// its low bits (all the hashes of a shard share them), and so that a Hash
// that is weak in its top bits still spreads.
func (a *slots[K]) home(hash uint64) uint64 {
	return (hash * 0x9e3779b97f4a7c15) >> a.shift
}

// find returns key's node, or nil. The caller is the table's writer.
func (t *table[K]) find(hash uint64, key K) *Node[K] {
	n, _ := t.findShared(hash, key)
	return n
}

// findShared returns key's node, or nil, and whether the probe ended as
// probes do: at the key or at an empty slot. A reader that runs while the
// writer moves slots may see neither (the probe then gives up after one
// pass over the array), or may miss a node that a slot move carried past
// it: the shard's sequence count tells it to look again.
func (t *table[K]) findShared(hash uint64, key K) (*Node[K], bool) {
	a := t.arr.Load()
	mask := uint64(len(a.s) - 1)
	i := a.home(hash)
	for range len(a.s) {
		s := &a.s[i]
		n := s.n.Load()
		if n == nil {
			return nil, true
		}
		if s.hash.Load() == hash && n.key == key {
			return n, true
		}
		i = (i + 1) & mask
	}
	return nil, false
}

// insert adds n, whose key is not in t, growing t first if it would be more
// than 3/4 full.
func (t *table[K]) insert(n *Node[K], hash uint64) {
	if a := t.arr.Load(); 4*(t.used+1) > 3*len(a.s) {
		t.resize(2 * len(a.s))
	}
	t.arr.Load().put(hash, n)
	t.used++
}

// put stores n in the first empty slot of its probe sequence.
func (a *slots[K]) put(hash uint64, n *Node[K]) {
	mask := uint64(len(a.s) - 1)
	i := a.home(hash)
	for a.s[i].n.Load() != nil {
		i = (i + 1) & mask
	}
	a.s[i].hash.Store(hash)
	a.s[i].n.Store(n)
}

// resize moves every node to a new array of size slots and publishes it.
func (t *table[K]) resize(size int) {
	old := t.arr.Load()
	a := newSlots[K](size)
	for i := range old.s {
		if n := old.s[i].n.Load(); n != nil {
			a.put(old.s[i].hash.Load(), n)
		}
	}
	t.arr.Store(a)
}

// index returns the slot that holds n, which is in t under hash.
func (a *slots[K]) index(n *Node[K], hash uint64) uint64 {
	mask := uint64(len(a.s) - 1)
	i := a.home(hash)
	for a.s[i].n.Load() != n {
		i = (i + 1) & mask
	}
	return i
}

// replace puts n in the slot of old, which is in t and has n's key and hash.
func (t *table[K]) replace(old, n *Node[K], hash uint64) {
	a := t.arr.Load()
	a.s[a.index(old, hash)].n.Store(n)
}

// delete removes n, which is in t under hash. Each later slot of the probe run moves
// back into the hole when the hole is on its own probe path, so that no
// lookup stops short at an empty slot (no tombstones).
func (t *table[K]) delete(n *Node[K], hash uint64) {
	a := t.arr.Load()
	mask := uint64(len(a.s) - 1)
	hole := a.index(n, hash)
	for i := (hole + 1) & mask; a.s[i].n.Load() != nil; i = (i + 1) & mask {
		h := a.s[i].hash.Load()
		if home := a.home(h); (hole-home)&mask < (i-home)&mask {
			a.s[hole].hash.Store(h)
			a.s[hole].n.Store(a.s[i].n.Load())
			hole = i
		}
	}
	a.s[hole].n.Store(nil)
	a.s[hole].hash.Store(0)
	t.used--
}
