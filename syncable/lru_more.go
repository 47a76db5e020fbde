package syncable

import (
	"context"
	_ "embed"
	"errors"
	"iter"
	"math"
)

//go:embed lru_clear.lua
var lruClearSrc string

// LRUUnbounded is the maxSize of an [LRUDict] without a bound on its
// memory: every item it sets or reads stays in memory, nothing is ever
// spilled to Redis (Sync still writes the changed items there, and Get
// still reads the items only Redis has).
const LRUUnbounded = 0

// limit returns the most items d keeps in memory: maxSize, or math.MaxInt
// when unbounded.
func (d *LRUDict[K, V]) limit() int {
	if d.maxSize == LRUUnbounded {
		return math.MaxInt
	}
	return d.maxSize
}

// lruCapacity is the size of the in-memory LRU of an LRUDict of maxSize:
// one more than maxSize (Set and Get make room before the LRU would
// evict), and the largest size for an unbounded one.
func lruCapacity(maxSize int) int {
	if maxSize == LRUUnbounded {
		return math.MaxInt
	}
	return maxSize + 1
}

// Clear removes every item, from memory and from Redis: one round trip
// that deletes the hash (and its version key) atomically. Items changed in
// memory and not yet synced are dropped too. When the round trip fails, or
// the key holds another Redis type (ErrWrongType, nothing deleted), it
// returns the error and memory is left as it was. A resent Clear deletes
// nothing more, so it is safe under go-redis's retries.
func (d *LRUDict[K, V]) Clear(ctx context.Context) error {
	if _, err := d.b.eval(ctx, "clear", true, lruClearSrc, []string{d.b.key, d.b.verKey}, nil); err != nil {
		return err
	}
	d.mem.Purge()
	return nil
}

// errStop ends a load that the loop over Items stopped.
var errStop = errors.New("tiercache/syncable: iteration stopped")

// Items returns every item the dict holds, in memory or in Redis, as a
// sequence, and a function that returns the error that ended it early (nil
// when it ran to the end or the loop stopped). Always check it: a failed
// round trip or an undecodable field or value ends the sequence.
//
// Each key is yielded exactly once: first the items in memory, most
// recently used first, then those only Redis holds; for a key in both
// places the in-memory value wins (it is the newer one). The items in
// memory are those at the start of the iteration; Redis is read as one
// instant's state, in one round trip when the hash holds at most
// DictOptions.LoadChunk fields, else one per chunk (see [Dict.Load]).
// Iterating does not change what is in memory nor the recency of items:
// items read from Redis are not brought into memory.
func (d *LRUDict[K, V]) Items(ctx context.Context) (seq iter.Seq2[K, V], errf func() error) {
	var err error
	seq = func(yield func(K, V) bool) {
		err = d.items(ctx, yield)
	}
	return seq, func() error { return err }
}

func (d *LRUDict[K, V]) items(ctx context.Context, yield func(K, V) bool) error {
	keys := d.mem.Keys() // oldest first
	vals := make([]V, len(keys))
	held := make(map[string]struct{}, len(keys))
	for i, k := range keys {
		e, _ := d.mem.Peek(k)
		vals[i] = e.v
		f, err := d.kc.Append(nil, k)
		if err != nil {
			return encodeError(d.b.key, err)
		}
		held[string(f)] = struct{}{}
	}
	for i := len(keys) - 1; i >= 0; i-- {
		if !yield(keys[i], vals[i]) {
			return nil
		}
	}
	_, err := d.b.load(ctx, 2, func(int) {}, func(g []string) error {
		if _, ok := held[g[0]]; ok {
			return nil
		}
		k, err := d.kc.Decode([]byte(g[0]))
		if err != nil {
			return decodeError(d.b.key, g[0], err)
		}
		v, err := d.vc.Decode([]byte(g[1]))
		if err != nil {
			return decodeError(d.b.key, g[1], err)
		}
		if !yield(k, v) {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}
