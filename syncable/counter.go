package syncable

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"iter"
	"maps"
	"reflect"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// CounterOptions are the settings of a [Counter]. The zero value means the
// defaults.
type CounterOptions[K comparable] struct {
	// CounterOptions are the settings of the collections.Counter of the
	// same name: key prefix, per-round-trip timeout, key codec.
	collections.CounterOptions[K]

	// LoadChunk is the number of keys Load reads per round trip. Default
	// DefaultLoadChunk (1000).
	LoadChunk int
}

// Counter counts keys of type K in memory, like Python's
// collections.Counter, and syncs with the Redis hash of the
// collections.Counter of the same name, "<prefix>{<name>}:counter": a field
// per key holding its count in decimal. Counts may be zero or negative; a
// key with a zero count is kept until deleted, as in the collections type.
//
// Every method but Load, Sync and SyncOverwrite works in memory. A Counter
// is not safe for concurrent use.
type Counter[K comparable] struct {
	b     base
	kc    codec.Codec[K]
	m     map[K]int64
	snap  keyedSnap
	track tracker[K]
}

// NewCounter returns an empty Counter for the hash called name on rdb. It
// does not talk to Redis. It returns ErrInvalidArgument for the arguments
// collections.NewCounter refuses and a negative LoadChunk.
func NewCounter[K comparable](rdb redis.UniversalClient, name string, opts CounterOptions[K]) (*Counter[K], error) {
	cc, err := collections.NewCounter(rdb, name, opts.CounterOptions)
	if err != nil {
		return nil, invalid(err)
	}
	b, err := newBase(rdb, name, cc.Key(), "hash", opts.Options, opts.LoadChunk)
	if err != nil {
		return nil, err
	}
	kc := opts.Codec
	if kc == nil {
		kc = codec.JSON[K]()
	}
	c := &Counter[K]{b: b, kc: kc, m: make(map[K]int64), snap: newKeyedSnap(0)}
	c.track.on = plain(reflect.TypeFor[K]())
	return c, nil
}

// Name returns the counter's name.
func (c *Counter[K]) Name() string { return c.b.name }

// Key returns the Redis key of the counter's hash.
func (c *Counter[K]) Key() string { return c.b.key }

// Get returns the count of k: 0 when the counter does not hold k.
func (c *Counter[K]) Get(k K) int64 { return c.m[k] }

// Has reports whether the counter holds k (with any count, zero included).
func (c *Counter[K]) Has(k K) bool {
	_, ok := c.m[k]
	return ok
}

// Set sets the count of k.
func (c *Counter[K]) Set(k K, n int64) {
	c.m[k] = n
	c.track.mark(k)
}

// Incr adds one to the count of k and returns the new count.
func (c *Counter[K]) Incr(k K) int64 { return c.IncrBy(k, 1) }

// IncrBy adds n (which may be negative) to the count of k and returns the
// new count. It wraps around on overflow, as Go's integers do.
func (c *Counter[K]) IncrBy(k K, n int64) int64 {
	c.m[k] += n
	c.track.mark(k)
	return c.m[k]
}

// Add counts each element once more.
func (c *Counter[K]) Add(elems ...K) {
	for _, e := range elems {
		c.IncrBy(e, 1)
	}
}

// Update adds each count of counts to its key's count.
func (c *Counter[K]) Update(counts map[K]int64) {
	for k, n := range counts {
		c.IncrBy(k, n)
	}
}

// Delete removes k and reports whether the counter held it.
func (c *Counter[K]) Delete(k K) bool {
	_, ok := c.m[k]
	if ok {
		delete(c.m, k)
		c.track.mark(k)
	}
	return ok
}

// Len returns the number of keys (zero and negative counts included).
func (c *Counter[K]) Len() int { return len(c.m) }

// All returns the keys and their counts, in no particular order.
func (c *Counter[K]) All() iter.Seq2[K, int64] { return maps.All(c.m) }

// Total returns the sum of the counts.
func (c *Counter[K]) Total() int64 {
	var t int64
	for _, n := range c.m {
		t += n
	}
	return t
}

// MostCommon returns the n largest counts, largest first; n <= 0 returns
// them all. Ties are ordered by the keys' encodings, as collections.Counter
// orders them. It returns ErrEncode when a key cannot be encoded.
func (c *Counter[K]) MostCommon(n int) ([]collections.Count[K], error) {
	type entry struct {
		collections.Count[K]
		field []byte
	}
	entries := make([]entry, 0, len(c.m))
	for k, v := range c.m {
		f, err := c.kc.Append(nil, k)
		if err != nil {
			return nil, encodeError(c.b.key, err)
		}
		entries = append(entries, entry{collections.Count[K]{Key: k, N: v}, f})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if r := cmp.Compare(b.N, a.N); r != 0 {
			return r
		}
		return bytes.Compare(a.field, b.field)
	})
	if n > 0 && n < len(entries) {
		entries = entries[:n]
	}
	out := make([]collections.Count[K], len(entries))
	for i, e := range entries {
		out[i] = e.Count
	}
	return out, nil
}

// Clear removes every key. The next Sync deletes the hash.
func (c *Counter[K]) Clear() {
	clear(c.m)
	c.track.forget()
}

// Load replaces the in-memory counts with the hash's content, in one round
// trip per LoadChunk keys (see [Dict.Load]). A count that is not an integer
// is ErrWrongType, a key that does not decode ErrDecode; the counts are
// unchanged then.
func (c *Counter[K]) Load(ctx context.Context) error {
	var m map[K]int64
	var snap keyedSnap
	version, err := c.b.load(ctx, 2, func(n int) {
		m, snap = make(map[K]int64, n), newKeyedSnap(n)
	}, func(g []string) error {
		k, err := c.kc.Decode([]byte(g[0]))
		if err != nil {
			return decodeError(c.b.key, g[0], err)
		}
		n, err := strconv.ParseInt(g[1], 10, 64)
		if err != nil {
			return fmt.Errorf("%w: counter %q holds %q, not an integer", ErrWrongType, c.b.key, g[1])
		}
		m[k] = n
		snap.m[g[0]] = &snapEntry{raw: g[1]}
		return nil
	})
	if err != nil {
		return err
	}
	c.m, c.snap = m, snap
	c.track.reset(len(snap.m))
	c.b.loaded(version)
	return nil
}

// Sync makes the hash hold exactly the in-memory counts, in one atomic
// round trip that sends only what changed (see [Dict.Sync]); ErrConflict
// when Redis changed since the last Load or Sync. The counts are written,
// not added: a Counter is a snapshot, unlike collections.Counter's
// increments.
func (c *Counter[K]) Sync(ctx context.Context) error {
	return c.b.sync(ctx, "sync", keyedSyncSrc, false, c.plan)
}

// SyncOverwrite makes the hash hold exactly the in-memory counts whatever
// Redis holds (see [Dict.SyncOverwrite]).
func (c *Counter[K]) SyncOverwrite(ctx context.Context) error {
	return c.b.sync(ctx, "sync overwrite", keyedSyncSrc, true, c.plan)
}

func (c *Counter[K]) plan(overwrite bool) (*plan, error) {
	src := mapSource(c.b.key, c.m, &c.track, c.kc, func(b []byte, n int64) ([]byte, error) {
		return strconv.AppendInt(b, n, 10), nil
	})
	return keyedPlan(&c.snap, c.b.key, "hash", overwrite, src, func() { c.track.reset(len(c.snap.m)) })
}
