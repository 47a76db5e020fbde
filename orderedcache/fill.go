package orderedcache

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/cache"
)

// Fill loads the misses: it calls load once with every miss, in order, and
// writes what load returns to the cache in one round trip (one per node on
// Cluster), together with negative entries for the misses load did not
// return when the cache has a NegativeTTL. Ids load returns that were not
// asked for are ignored. With no misses Fill does nothing.
//
// The ids load does not return stay misses in this Dict (Misses lists
// them); with a NegativeTTL, the next New reports them in NotFound and does
// not load them again until the negative entry expires.
//
// Fill returns ctx.Err() without calling load when ctx is done, and
// ErrNilLoader for a nil load. When load fails, Fill returns its error
// (wrapped) and the Dict and the cache are unchanged. When the write fails
// (an error wrapping cache.ErrUnavailable, cache.ErrTooLarge...) the Dict
// keeps the loaded values and the error says they were not cached. Fill
// applies none of the cache's load settings (LoadTimeout, StaleIfError):
// bound load with ctx; Hydrate applies them.
func (d *Dict[K, V]) Fill(ctx context.Context, load func(ctx context.Context, missing []K) (map[K]V, error)) error {
	if load == nil {
		return ErrNilLoader
	}
	idx, err := d.missIndexes()
	if err != nil || len(idx) == 0 {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	missing := make([]K, len(idx))
	for j, i := range idx {
		missing[j] = d.ids[i]
	}
	got, err := load(ctx, missing)
	if err != nil {
		return fmt.Errorf("tiercache/orderedcache: loading %d ids: %w", len(idx), err)
	}
	values := make(map[string]V, len(got))
	var absent []string
	for _, i := range idx { // idx, not missing: load may reorder its slice
		v, ok := got[d.ids[i]]
		if !ok {
			absent = append(absent, d.keys[i])
			continue
		}
		values[d.keys[i]] = v
		d.vals[i], d.st[i] = v, hit
		d.hits++
	}
	if err := d.c.Fill(ctx, values, absent); err != nil {
		return fmt.Errorf("tiercache/orderedcache: caching %d loaded ids: %w", len(values), err)
	}
	return nil
}

// missIndexes returns the indexes of the misses, checking that their keys
// are distinct.
func (d *Dict[K, V]) missIndexes() ([]int, error) {
	var idx []int
	for i, s := range d.st {
		if s == miss {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		return idx, nil
	}
	seen := make(map[string]K, len(idx))
	for _, i := range idx {
		if other, dup := seen[d.keys[i]]; dup {
			return nil, fmt.Errorf("%w: ids %v and %v have key %q", ErrKeyCollision, other, d.ids[i], d.keys[i])
		}
		seen[d.keys[i]] = d.ids[i]
	}
	return idx, nil
}

// Hydrate returns the values of ids in order: values[i] belongs to the i-th
// id that has one, and unsupplied lists, in order, the ids that have no
// value (known missing, or not returned by load). Duplicate ids keep their
// first position. It takes integer and string ids (for other id types use
// New and Fill with Options.Key).
//
// Hydrate is c.GetManyOrLoad in rank order: the local tier, then one Redis
// read for the rest (one round trip per node on Cluster), then one call of
// load with every miss, then one write (one round trip per node). It keeps
// GetManyOrLoad's guarantees: the cache's LoadTimeout bounds load, negative
// entries are written with a NegativeTTL, StaleIfError serves stale values
// when load fails, and when Redis is unavailable Hydrate degrades to load
// (the values are returned with a nil error; the cache's stats count it).
//
// An empty list costs no round trip. When ctx is done Hydrate returns
// ctx.Err() and load is not called. On any error values and unsupplied are
// nil; a failing load's error is wrapped.
func Hydrate[K comparable, V any](ctx context.Context, c *cache.Cache[V], ids []K, load func(ctx context.Context, missing []K) (map[K]V, error)) (values []V, unsupplied []K, err error) {
	switch {
	case c == nil:
		return nil, nil, ErrNilCache
	case load == nil:
		return nil, nil, ErrNilLoader
	}
	key, err := keyFunc(Options[K]{})
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	keys, err := keysOf(ids, key)
	if err != nil {
		return nil, nil, err
	}
	if len(keys) == 0 {
		return nil, nil, nil
	}
	found, err := c.GetManyOrLoad(ctx, keys, func(ctx context.Context, missing []string) (map[string]V, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return loadKeys(ctx, ids, keys, missing, load)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("tiercache/orderedcache: hydrating %d ids: %w", len(keys), err)
	}
	values, unsupplied = inOrder(ids, keys, found, false)
	if len(values) != len(found) || hasDup(unsupplied) {
		values, unsupplied = inOrder(ids, keys, found, true)
	}
	return values, unsupplied, nil
}

// inOrder returns the values found for ids in order and the ids without
// one, skipping repeated ids when dedup is set.
func inOrder[K comparable, V any](ids []K, keys []string, found map[string]V, dedup bool) ([]V, []K) {
	var seen map[K]struct{}
	if dedup {
		seen = make(map[K]struct{}, len(ids))
	}
	values := make([]V, 0, len(found))
	var unsupplied []K
	for i, id := range ids {
		if dedup {
			if _, dup := seen[id]; dup {
				continue
			}
			seen[id] = struct{}{}
		}
		if v, ok := found[keys[i]]; ok {
			values = append(values, v)
		} else {
			unsupplied = append(unsupplied, id)
		}
	}
	return values, unsupplied
}

// hasDup reports whether ids holds an id twice.
func hasDup[K comparable](ids []K) bool {
	if len(ids) < 2 {
		return false
	}
	seen := make(map[K]struct{}, len(ids))
	for _, id := range ids {
		if _, dup := seen[id]; dup {
			return true
		}
		seen[id] = struct{}{}
	}
	return false
}

// loadKeys calls load with the ids of the keys missing (ids[i] has key
// keys[i]) and returns its values by key. load may reorder or overwrite the
// slice it gets.
func loadKeys[K comparable, V any](ctx context.Context, ids []K, keys, missing []string, load func(context.Context, []K) (map[K]V, error)) (map[string]V, error) {
	byKey := make(map[string]int, len(keys))
	for i, k := range keys {
		if _, dup := byKey[k]; !dup {
			byKey[k] = i
		}
	}
	idx := make([]int, len(missing))
	asked := make([]K, len(missing))
	for j, k := range missing {
		i, ok := byKey[k]
		if !ok {
			return nil, fmt.Errorf("tiercache/orderedcache: cache asked to load unknown key %q", k)
		}
		idx[j], asked[j] = i, ids[i]
	}
	got, err := load(ctx, asked)
	if err != nil {
		return nil, err
	}
	out := make(map[string]V, len(got))
	for _, i := range idx {
		if v, ok := got[ids[i]]; ok {
			out[keys[i]] = v
		}
	}
	return out, nil
}
