package syncable

import (
	"context"
	"iter"
	"maps"
	"reflect"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// DictOptions are the settings of a [Dict]. The zero value means the
// defaults.
type DictOptions[K comparable, V any] struct {
	// DictOptions are the settings of the collections.Dict of the same
	// name: key prefix, per-round-trip timeout, codecs. A Dict and a
	// collections.Dict given the same name and options share one hash.
	collections.DictOptions[K, V]

	// LoadChunk is the number of fields Load reads per round trip; a dict
	// no larger is read in one. Default DefaultLoadChunk (1000).
	LoadChunk int
}

// Dict is a map from K to V held in memory and synced with the Redis hash of
// the collections.Dict of the same name, "<prefix>{<name>}:dict": a field
// per key, encoded with the same codecs, so that a process using
// collections.Dict reads exactly what a Sync wrote, and a Load reads what
// collections.Dict wrote.
//
// Get, Set, Delete and the iterations work on the in-memory map and never
// talk to Redis. Load replaces the map with the hash's content; Sync makes
// the hash equal to the map in one atomic round trip (see the package
// documentation for what it checks and sends). Values are compared by their
// encodings at Sync, so a value changed in place (a slice or map value, a
// pointer) is synced too.
//
// A Dict is not safe for concurrent use: like a Go map, guard it with a
// mutex when goroutines share it.
type Dict[K comparable, V any] struct {
	b     base
	kc    codec.Codec[K]
	vc    codec.Codec[V]
	m     map[K]V
	snap  keyedSnap
	track tracker[K]
}

// NewDict returns an empty Dict for the hash called name on rdb. It does not
// talk to Redis: call Load to read the hash. It returns ErrInvalidArgument
// for the arguments collections.NewDict refuses and a negative LoadChunk.
func NewDict[K comparable, V any](rdb redis.UniversalClient, name string, opts DictOptions[K, V]) (*Dict[K, V], error) {
	cd, err := collections.NewDict(rdb, name, opts.DictOptions)
	if err != nil {
		return nil, invalid(err)
	}
	b, err := newBase(rdb, name, cd.Key(), "hash", opts.Options, opts.LoadChunk)
	if err != nil {
		return nil, err
	}
	kc, vc := opts.KeyCodec, opts.Codec
	if kc == nil {
		kc = codec.JSON[K]()
	}
	if vc == nil {
		vc = codec.JSON[V]()
	}
	d := &Dict[K, V]{b: b, kc: kc, vc: vc, m: make(map[K]V), snap: newKeyedSnap(0)}
	d.track.on = plainTypes(reflect.TypeFor[K](), reflect.TypeFor[V]())
	return d, nil
}

// Name returns the dict's name.
func (d *Dict[K, V]) Name() string { return d.b.name }

// Key returns the Redis key of the dict's hash.
func (d *Dict[K, V]) Key() string { return d.b.key }

// Get returns the value of k and whether the dict holds k.
func (d *Dict[K, V]) Get(k K) (V, bool) {
	v, ok := d.m[k]
	return v, ok
}

// Has reports whether the dict holds k.
func (d *Dict[K, V]) Has(k K) bool {
	_, ok := d.m[k]
	return ok
}

// Set sets the value of k.
func (d *Dict[K, V]) Set(k K, v V) {
	d.m[k] = v
	d.track.mark(k)
}

// Delete removes k and reports whether the dict held it.
func (d *Dict[K, V]) Delete(k K) bool {
	_, ok := d.m[k]
	if ok {
		delete(d.m, k)
		d.track.mark(k)
	}
	return ok
}

// Len returns the number of keys.
func (d *Dict[K, V]) Len() int { return len(d.m) }

// All returns the pairs, in no particular order.
func (d *Dict[K, V]) All() iter.Seq2[K, V] { return maps.All(d.m) }

// Keys returns the keys, in no particular order.
func (d *Dict[K, V]) Keys() iter.Seq[K] { return maps.Keys(d.m) }

// Values returns the values, in no particular order.
func (d *Dict[K, V]) Values() iter.Seq[V] { return maps.Values(d.m) }

// Update sets every pair the sequence yields.
func (d *Dict[K, V]) Update(items iter.Seq2[K, V]) {
	for k, v := range items {
		d.Set(k, v)
	}
}

// Clear removes every key. The next Sync deletes the hash.
func (d *Dict[K, V]) Clear() {
	clear(d.m)
	d.track.forget()
}

// Load replaces the in-memory map with the hash's content: one round trip
// when the hash has at most LoadChunk fields, otherwise one per chunk, all
// chunks of the state at the instant of the first. It returns ErrWrongType
// when the key holds another Redis type and ErrDecode when a field or value
// does not decode; the map is unchanged then.
func (d *Dict[K, V]) Load(ctx context.Context) error {
	var m map[K]V
	var snap keyedSnap
	version, err := d.b.load(ctx, 2, func(n int) {
		m, snap = make(map[K]V, n), newKeyedSnap(n)
	}, func(g []string) error {
		k, err := d.kc.Decode([]byte(g[0]))
		if err != nil {
			return decodeError(d.b.key, g[0], err)
		}
		v, err := d.vc.Decode([]byte(g[1]))
		if err != nil {
			return decodeError(d.b.key, g[1], err)
		}
		m[k] = v
		snap.m[g[0]] = &snapEntry{raw: g[1]}
		return nil
	})
	if err != nil {
		return err
	}
	d.m, d.snap = m, snap
	d.track.reset(len(snap.m))
	d.b.loaded(version)
	return nil
}

// Sync makes the hash hold exactly the in-memory map, in one round trip,
// atomically: readers see the old hash or the new one, never a mix. It
// sends only the fields that changed since the last Load or Sync (to find
// them, it encodes every entry, or only those Set or Deleted since when K
// and V hold no pointers, slices, maps, interfaces or unexported fields, so
// that nothing else can change them), and fails
// with ErrConflict, writing nothing, when Redis changed since then (see the
// package documentation). An empty map deletes the hash. A hash with a time
// to live keeps it.
func (d *Dict[K, V]) Sync(ctx context.Context) error {
	return d.b.sync(ctx, "sync", keyedSyncSrc, false, d.plan)
}

// SyncOverwrite makes the hash hold exactly the in-memory map, in one round
// trip, atomically, whatever Redis holds: it checks nothing and sends every
// field.
func (d *Dict[K, V]) SyncOverwrite(ctx context.Context) error {
	return d.b.sync(ctx, "sync overwrite", keyedSyncSrc, true, d.plan)
}

func (d *Dict[K, V]) plan(overwrite bool) (*plan, error) {
	src := mapSource(d.b.key, d.m, &d.track, d.kc, d.vc.Append)
	return keyedPlan(&d.snap, d.b.key, "hash", overwrite, src, func() { d.track.reset(len(d.snap.m)) })
}
