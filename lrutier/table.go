package lrutier

import "math/bits"

// minTableSlots is the size of an empty table: a power of two.
const minTableSlots = 8

// slot is one place of a table: a node and its key's hash, or nothing.
type slot[K comparable, V any] struct {
	hash uint64
	n    *node[K, V] // nil: the slot is empty
}

// table finds a shard's nodes by key. It is an open-addressing hash table
// (linear probing, backward-shift deletion) indexed by the 64-bit hash the
// Tier already computed to choose the shard, so that a lookup does not hash
// the key a second time, and kept at most 3/4 full. Keys with equal hashes
// simply take several slots. A table is not safe for concurrent use: its
// shard's lock guards it.
type table[K comparable, V any] struct {
	slots []slot[K, V] // a power of two of them
	shift uint         // 64 - log2(len(slots)); see home
	used  int
}

func newTable[K comparable, V any](size int) table[K, V] {
	return table[K, V]{
		slots: make([]slot[K, V], size),
		shift: uint(64 - bits.Len(uint(size-1))),
	}
}

// home returns the slot where the probe for hash starts. The hash is
// multiplied before its top bits are taken because the shard was chosen by
// its low bits (all the hashes of a shard share them), and so that a Hash
// that is weak in its top bits still spreads.
func (t *table[K, V]) home(hash uint64) uint64 {
	return (hash * 0x9e3779b97f4a7c15) >> t.shift
}

// find returns key's node, or nil.
func (t *table[K, V]) find(hash uint64, key K) *node[K, V] {
	mask := uint64(len(t.slots) - 1)
	for i := t.home(hash); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.n == nil {
			return nil
		}
		if s.hash == hash && s.n.key == key {
			return s.n
		}
	}
}

// insert adds n, whose key is not in t, growing t first if it would be more
// than 3/4 full.
func (t *table[K, V]) insert(n *node[K, V]) {
	if 4*(t.used+1) > 3*len(t.slots) {
		t.resize(2 * len(t.slots))
	}
	t.put(n.hash, n)
	t.used++
}

// put stores n in the first empty slot of its probe sequence.
func (t *table[K, V]) put(hash uint64, n *node[K, V]) {
	mask := uint64(len(t.slots) - 1)
	i := t.home(hash)
	for t.slots[i].n != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = slot[K, V]{hash: hash, n: n}
}

// resize moves every node to a new array of size slots.
func (t *table[K, V]) resize(size int) {
	old := t.slots
	*t = newTable[K, V](size)
	for _, s := range old {
		if s.n != nil {
			t.put(s.hash, s.n)
			t.used++
		}
	}
}

// delete removes n, which is in t. Each later slot of the probe run moves
// back into the hole when the hole is on its own probe path, so that no
// lookup stops short at an empty slot (no tombstones).
func (t *table[K, V]) delete(n *node[K, V]) {
	mask := uint64(len(t.slots) - 1)
	hole := t.home(n.hash)
	for t.slots[hole].n != n {
		hole = (hole + 1) & mask
	}
	for i := (hole + 1) & mask; t.slots[i].n != nil; i = (i + 1) & mask {
		if home := t.home(t.slots[i].hash); (hole-home)&mask < (i-home)&mask {
			t.slots[hole] = t.slots[i]
			hole = i
		}
	}
	t.slots[hole] = slot[K, V]{}
	t.used--
}
