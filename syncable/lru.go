package syncable

import (
	"context"
	"crypto/rand"
	_ "embed"
	"fmt"

	"github.com/hashicorp/golang-lru/v2/simplelru"
	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

var (
	//go:embed lru_write.lua
	lruWriteSrc string
	//go:embed lru_len.lua
	lruLenSrc string
)

// LRUDict is a map from K to V that keeps its maxSize most recently used
// items in memory and the others in the Redis hash of the collections.Dict
// of the same name ("<prefix>{<name>}:dict", same codecs), like
// redis-collections' LRUDict: a process bounds its memory by offloading
// the items it has not used lately.
//
// Set writes in memory; when that makes more than maxSize items, the least
// recently used one is evicted: written to Redis first when it changed
// since it was last there (an item is never dropped before Redis has it),
// in the same call. Get looks in memory, then in Redis, and promotes what
// it finds there into memory. Sync writes the items changed in memory to
// Redis in one round trip and keeps them in memory. Len counts the keys
// held in either place once. Every item is always in memory, in Redis, or
// both; every write to Redis is one atomic round trip.
//
// An LRUDict assumes it is the only writer of its hash: the items it holds
// in memory are not refreshed when another process writes them in Redis,
// and its writes overwrite theirs. Load forgets the in-memory items that
// are unchanged since Redis got them, so that the next reads fetch them
// again. (A syncable Dict or collections.Dict may read the hash; the
// LRUDict's writes bump the version a syncable Dict checks, so that Dict's
// next Sync gets ErrConflict rather than undoing them.)
//
// An LRUDict is not safe for concurrent use.
type LRUDict[K comparable, V any] struct {
	b       base
	kc      codec.Codec[K]
	vc      codec.Codec[V]
	maxSize int
	mem     *simplelru.LRU[K, *lruEntry[V]]
}

// lruEntry is an item in memory; dirty when Redis does not have its value.
type lruEntry[V any] struct {
	v     V
	dirty bool
}

// NewLRUDict returns an LRUDict that keeps at most maxSize items in memory
// and the rest in the hash called name on rdb. It does not talk to Redis:
// items already in the hash are read when first asked for. It returns
// ErrInvalidArgument for a negative maxSize and the arguments NewDict
// refuses; maxSize [LRUUnbounded] (0) keeps every item in memory. opts.LoadChunk is not used.
func NewLRUDict[K comparable, V any](rdb redis.UniversalClient, name string, maxSize int, opts DictOptions[K, V]) (*LRUDict[K, V], error) {
	if maxSize < 0 {
		return nil, fmt.Errorf("%w: LRUDict %q: negative maxSize %d", ErrInvalidArgument, name, maxSize)
	}
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
	// The LRU never evicts by itself: Set and Get make room first, so that
	// an evicted item reaches Redis before it leaves memory.
	mem, err := simplelru.NewLRU[K, *lruEntry[V]](lruCapacity(maxSize), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return &LRUDict[K, V]{b: b, kc: kc, vc: vc, maxSize: maxSize, mem: mem}, nil
}

// Name returns the dict's name.
func (d *LRUDict[K, V]) Name() string { return d.b.name }

// Key returns the Redis key of the dict's hash.
func (d *LRUDict[K, V]) Key() string { return d.b.key }

// MaxSize returns the most items the dict keeps in memory, or
// [LRUUnbounded] for no bound.
func (d *LRUDict[K, V]) MaxSize() int { return d.maxSize }

// MemLen returns the number of items in memory, at most MaxSize when it
// is bounded.
func (d *LRUDict[K, V]) MemLen() int { return d.mem.Len() }

// Get returns the value of k and whether the dict holds it. An item in
// memory is returned without a round trip and becomes the most recently
// used; otherwise one round trip reads it from Redis (writing the item it
// evicts to make room, when that one changed since Redis had it) and, when
// found, brings it into memory.
func (d *LRUDict[K, V]) Get(ctx context.Context, k K) (V, bool, error) {
	var zero V
	if e, ok := d.mem.Get(k); ok {
		return e.v, true, nil
	}
	field, err := d.kc.Append(nil, k)
	if err != nil {
		return zero, false, encodeError(d.b.key, err)
	}
	var writes []any
	oldest, full := d.oldest()
	if full && oldest.dirty {
		if writes, err = d.pairs(writes, d.oldestKey(), oldest.v); err != nil {
			return zero, false, err
		}
	}
	raw, _, err := d.write(ctx, "get", true, field, nil, writes)
	if err != nil {
		return zero, false, err
	}
	if full {
		oldest.dirty = false // it is in Redis now
	}
	if raw == nil {
		return zero, false, nil
	}
	v, err := d.vc.Decode([]byte(*raw))
	if err != nil {
		return zero, false, decodeError(d.b.key, *raw, err)
	}
	if full {
		d.mem.RemoveOldest()
	}
	d.mem.Add(k, &lruEntry[V]{v: v})
	return v, true, nil
}

// Set sets the value of k in memory, making it the most recently used. When
// k is not in memory and memory is full, the least recently used item is
// evicted first, written to Redis in one round trip when it changed since
// Redis had it; if that write fails, Set returns its error and changes
// nothing.
func (d *LRUDict[K, V]) Set(ctx context.Context, k K, v V) error {
	if e, ok := d.mem.Get(k); ok {
		e.v, e.dirty = v, true
		return nil
	}
	if err := d.makeRoom(ctx); err != nil {
		return err
	}
	d.mem.Add(k, &lruEntry[V]{v: v, dirty: true})
	return nil
}

// makeRoom evicts the least recently used item when memory is full.
func (d *LRUDict[K, V]) makeRoom(ctx context.Context) error {
	oldest, full := d.oldest()
	if !full {
		return nil
	}
	if oldest.dirty {
		writes, err := d.pairs(nil, d.oldestKey(), oldest.v)
		if err != nil {
			return err
		}
		if _, _, err := d.write(ctx, "evict", false, nil, nil, writes); err != nil {
			return err
		}
	}
	d.mem.RemoveOldest()
	return nil
}

// oldest returns the least recently used item and whether memory is full.
func (d *LRUDict[K, V]) oldest() (*lruEntry[V], bool) {
	if d.mem.Len() < d.limit() {
		return nil, false
	}
	_, e, _ := d.mem.GetOldest()
	return e, true
}

func (d *LRUDict[K, V]) oldestKey() K {
	k, _, _ := d.mem.GetOldest()
	return k
}

// Delete removes k from memory and from Redis, in one round trip, and
// reports whether the dict held it. When the round trip fails, it returns
// the error and changes nothing.
func (d *LRUDict[K, V]) Delete(ctx context.Context, k K) (bool, error) {
	field, err := d.kc.Append(nil, k)
	if err != nil {
		return false, encodeError(d.b.key, err)
	}
	_, n, err := d.write(ctx, "delete", false, nil, []any{field}, nil)
	if err != nil {
		return false, err
	}
	return d.mem.Remove(k) || n > 0, nil
}

// Len returns the number of keys the dict holds, in memory or in Redis,
// each counted once, in one round trip.
func (d *LRUDict[K, V]) Len(ctx context.Context) (int, error) {
	args := make([]any, 0, d.mem.Len())
	for _, k := range d.mem.Keys() {
		f, err := d.kc.Append(nil, k)
		if err != nil {
			return 0, encodeError(d.b.key, err)
		}
		args = append(args, f)
	}
	res, err := d.b.eval(ctx, "len", false, lruLenSrc, []string{d.b.key}, args)
	if err != nil {
		return 0, err
	}
	n, ok1 := at[int64](res, 0)
	present, ok2 := at[int64](res, 1)
	if !ok1 || !ok2 {
		return 0, failKey("len", d.b.key, fmt.Errorf("unexpected reply %v", res))
	}
	return int(n-present) + d.mem.Len(), nil
}

// Sync writes the items changed in memory since Redis had them, in one
// round trip (none when nothing changed), and keeps them in memory. Their
// values overwrite what Redis holds for their keys.
func (d *LRUDict[K, V]) Sync(ctx context.Context) error {
	var writes []any
	var synced []*lruEntry[V]
	for _, k := range d.mem.Keys() {
		e, _ := d.mem.Peek(k)
		if !e.dirty {
			continue
		}
		var err error
		if writes, err = d.pairs(writes, k, e.v); err != nil {
			return err
		}
		synced = append(synced, e)
	}
	if len(synced) == 0 {
		return nil
	}
	if _, _, err := d.write(ctx, "sync", false, nil, nil, writes); err != nil {
		return err
	}
	for _, e := range synced {
		e.dirty = false
	}
	return nil
}

// Load forgets the in-memory items that Redis holds unchanged, so that the
// next Get reads them from Redis again; items changed in memory are kept.
// It does not talk to Redis. With it, an LRUDict is a [Syncer].
func (d *LRUDict[K, V]) Load(context.Context) error {
	for _, k := range d.mem.Keys() {
		if e, _ := d.mem.Peek(k); !e.dirty {
			d.mem.Remove(k)
		}
	}
	return nil
}

// pairs appends the encoded field and value of k and v to args.
func (d *LRUDict[K, V]) pairs(args []any, k K, v V) ([]any, error) {
	f, err := d.kc.Append(nil, k)
	if err != nil {
		return nil, encodeError(d.b.key, err)
	}
	val, err := d.vc.Append(nil, v)
	if err != nil {
		return nil, encodeError(d.b.key, err)
	}
	return append(args, f, val), nil
}

// write runs lru_write.lua: it reads field (when read is true), deletes
// dels and sets the pairs of sets. It returns the value read (nil when
// absent) and the number of fields deleted.
func (d *LRUDict[K, V]) write(ctx context.Context, op string, read bool, field []byte, dels, sets []any) (*string, int64, error) {
	flag := "0"
	if read {
		flag = "1"
	}
	args := make([]any, 0, 4+len(dels)+len(sets))
	args = append(args, rand.Text(), flag, string(field), len(dels))
	args = append(args, dels...)
	args = append(args, sets...)
	res, err := d.b.eval(ctx, op, len(dels)+len(sets) > 0, lruWriteSrc, []string{d.b.key, d.b.verKey}, args)
	if err != nil {
		return nil, 0, err
	}
	n, _ := at[int64](res, 1)
	if s, ok := at[string](res, 0); ok {
		return &s, n, nil
	}
	return nil, n, nil
}
