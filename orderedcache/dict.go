package orderedcache

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/tiercache/tiercache/cache"
)

// status is what a Dict knows of an id.
type status uint8

const (
	miss     status = iota // nothing cached: Fill loads it
	hit                    // has a value
	notFound               // a negative entry: known to have no value
)

// Dict holds the values of a list of ids in the list's order. Hits are read
// from the cache when New runs; Fill loads the misses and Set adds or
// replaces values, writing them through to the cache.
//
// A Dict is not safe for concurrent use: its read methods may run
// concurrently with each other, but not with Set or Fill. The values it
// returns are the cache's (shared with other readers unless the cache has
// CopyOnRead).
type Dict[K comparable, V any] struct {
	c    *cache.Cache[V]
	key  func(K) string
	ids  []K      // distinct ids, each at its first position
	keys []string // keys[i] is the cache key of ids[i]
	vals []V      // vals[i] is the value of ids[i] when st[i] == hit
	st   []status
	hits int

	posOnce sync.Once
	pos     map[K]int // index of each id in ids; see positions
}

// New looks up ids in c: every id in the local tier first, then all the
// others in one Redis read (one round trip per node on Cluster). An empty
// list costs no round trip. Duplicate ids keep their first position.
//
// New returns ErrNilCache, ErrNoKey (K needs Options.Key), an error
// wrapping cache.ErrEmptyKey for an id whose key is empty, and ctx.Err()
// when ctx is done before the lookup. When Redis cannot be read it returns
// both a Dict and an error wrapping cache.ErrUnavailable: the Dict holds the
// local hits and every other id as a miss, so that a caller may still Fill
// it from the source.
func New[K comparable, V any](ctx context.Context, c *cache.Cache[V], ids []K, opts Options[K]) (*Dict[K, V], error) {
	if c == nil {
		return nil, ErrNilCache
	}
	key, err := keyFunc(opts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	keys, err := keysOf(ids, key)
	if err != nil {
		return nil, err
	}
	d := &Dict[K, V]{c: c, key: key, ids: slices.Clone(ids), keys: keys}
	d.vals = make([]V, len(keys))
	d.st = make([]status, len(keys))
	reported := 0
	if len(keys) > 0 {
		err = c.LookupFunc(ctx, keys, func(i int, v V, ok, negative bool) {
			reported++
			switch {
			case ok:
				d.vals[i], d.st[i] = v, hit
				d.hits++
			case negative:
				d.st[i] = notFound
			}
		})
		if err != nil && !errors.Is(err, cache.ErrUnavailable) {
			return nil, fmt.Errorf("tiercache/orderedcache: looking up %d ids: %w", len(keys), err)
		}
	}
	// LookupFunc reports each distinct key once, at its first position:
	// fewer reports than keys means duplicates, and only then is a set of
	// ids needed.
	if reported != len(keys) {
		d.dedup()
	}
	if err != nil {
		return d, fmt.Errorf("tiercache/orderedcache: looking up %d ids: %w", len(keys), err)
	}
	return d, nil
}

// keysOf returns the cache key of each id.
func keysOf[K comparable](ids []K, key func(K) string) ([]string, error) {
	keys := make([]string, len(ids))
	for i, id := range ids {
		k := key(id)
		if k == "" {
			return nil, fmt.Errorf("tiercache/orderedcache: id %v at position %d: %w", id, i, cache.ErrEmptyKey)
		}
		keys[i] = k
	}
	return keys, nil
}

// dedup keeps the first position of each id (with its key, value and
// status), and records the positions.
func (d *Dict[K, V]) dedup() {
	pos := make(map[K]int, len(d.ids))
	ids, keys, vals, st := d.ids[:0], d.keys[:0], d.vals[:0], d.st[:0]
	for i, id := range d.ids {
		if _, dup := pos[id]; dup {
			continue
		}
		pos[id] = len(ids)
		ids, keys = append(ids, id), append(keys, d.keys[i])
		vals, st = append(vals, d.vals[i]), append(st, d.st[i])
	}
	clear(d.vals[len(vals):]) // drop references to values past the end
	d.ids, d.keys, d.vals, d.st = ids, keys, vals, st
	d.pos = pos
	d.posOnce.Do(func() {})
}

// positions returns the index of each id, built on first use: New does not
// need it when the ids are distinct.
func (d *Dict[K, V]) positions() map[K]int {
	d.posOnce.Do(func() {
		d.pos = make(map[K]int, len(d.ids))
		for i, id := range d.ids {
			d.pos[id] = i
		}
	})
	return d.pos
}

// Len returns the number of ids that have a value.
func (d *Dict[K, V]) Len() int { return d.hits }

// Get returns the value of id, and whether it has one.
func (d *Dict[K, V]) Get(id K) (V, bool) {
	if i, ok := d.positions()[id]; ok && d.st[i] == hit {
		return d.vals[i], true
	}
	var zero V
	return zero, false
}

// Keys returns the ids that have a value, in order. Misses and NotFound
// list the others.
func (d *Dict[K, V]) Keys() []K {
	out := make([]K, 0, d.hits)
	for i, id := range d.ids {
		if d.st[i] == hit {
			out = append(out, id)
		}
	}
	return out
}

// Values returns the values in the order of their ids: Values()[i] is the
// value of Keys()[i].
func (d *Dict[K, V]) Values() []V {
	out := make([]V, 0, d.hits)
	for i, v := range d.vals {
		if d.st[i] == hit {
			out = append(out, v)
		}
	}
	return out
}

// All returns the ids that have a value with their values, in order.
func (d *Dict[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for i, id := range d.ids {
			if d.st[i] == hit && !yield(id, d.vals[i]) {
				return
			}
		}
	}
}

// Misses returns the ids with nothing cached, in order: the ones Fill
// loads. After Fill they are the ids the loader did not return.
func (d *Dict[K, V]) Misses() []K { return d.with(miss) }

// NotFound returns the ids known to have no value, in order: those that had
// a negative entry in the cache when New looked them up. Fill does not load
// them.
func (d *Dict[K, V]) NotFound() []K { return d.with(notFound) }

func (d *Dict[K, V]) with(s status) []K {
	var out []K
	for i, id := range d.ids {
		if d.st[i] == s {
			out = append(out, id)
		}
	}
	return out
}

// Set stores v for id in the cache (both tiers) and then in the Dict; an
// id the Dict does not have is added at the end. When the cache write fails
// (an error wrapping cache.ErrTooLarge, cache.ErrUnavailable...) the Dict is
// unchanged.
func (d *Dict[K, V]) Set(ctx context.Context, id K, v V) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pos := d.positions()
	i, ok := pos[id]
	var k string
	if ok {
		k = d.keys[i]
	} else if k = d.key(id); k == "" {
		return fmt.Errorf("tiercache/orderedcache: id %v: %w", id, cache.ErrEmptyKey)
	}
	if err := d.c.Set(ctx, k, v); err != nil {
		return fmt.Errorf("tiercache/orderedcache: id %v: %w", id, err)
	}
	if !ok {
		i = len(d.ids)
		pos[id] = i
		d.ids, d.keys = append(d.ids, id), append(d.keys, k)
		d.vals, d.st = append(d.vals, v), append(d.st, miss)
	}
	if d.st[i] != hit {
		d.hits++
	}
	d.vals[i], d.st[i] = v, hit
	return nil
}
