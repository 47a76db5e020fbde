package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"iter"
	"maps"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

var (
	//go:embed dict_pop.lua
	dictPopSrc string
	dictPop    = newScript(dictPopSrc)
)

// DictOptions are the settings of a [Dict]. The zero value means the
// defaults.
type DictOptions[K comparable, V any] struct {
	// Options are the settings every collection takes.
	Options

	// KeyCodec encodes the dict's keys into hash fields. Default
	// codec.JSON[K]() (a string key "a" is the field "\"a\""); use
	// codec.String() for string keys readable as they are.
	KeyCodec codec.Codec[K]

	// Codec encodes the values. Default codec.JSON[V]().
	Codec codec.Codec[V]
}

// Dict is a map from K to V in one Redis hash, "<prefix>{<name>}:dict": a
// field per key. Every method is one round trip and atomic, except the
// iterations (Keys, Values, Items, ToMap), which read the hash in chunks.
// A Dict is safe for concurrent use, and any number of Dict values, in any
// number of processes, may share one hash.
type Dict[K comparable, V any] struct {
	b     base
	kc    codec.Codec[K]
	vc    codec.Codec[V]
	whole *cache.Whole[map[K]V] // Options.Local's copy of the dict, or nil
}

// NewDict returns the Dict called name on rdb. It does not talk to Redis.
// It returns ErrInvalidArgument for a nil client, an empty name or a name
// or prefix that would break the key's hash tag.
func NewDict[K comparable, V any](rdb redis.UniversalClient, name string, opts DictOptions[K, V]) (*Dict[K, V], error) {
	b, err := newBase(rdb, name, "dict", "hash", opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.KeyCodec == nil {
		opts.KeyCodec = codec.JSON[K]()
	}
	if opts.Codec == nil {
		opts.Codec = codec.JSON[V]()
	}
	d := &Dict[K, V]{b: b, kc: opts.KeyCodec, vc: opts.Codec}
	if d.whole, err = newWhole[map[K]V](&d.b); err != nil {
		return nil, err
	}
	return d, nil
}

// Name returns the dict's name.
func (d *Dict[K, V]) Name() string { return d.b.name }

// Key returns the Redis key of the dict's hash.
func (d *Dict[K, V]) Key() string { return d.b.key }

// Get returns the value of k. It returns an error matching ErrNotFound when
// the dict has no such key, ErrWrongType when the Redis key holds another
// type, and ErrDecode when the stored value cannot be decoded.
func (d *Dict[K, V]) Get(ctx context.Context, k K) (V, error) {
	var zero V
	v, ok, err := d.read(ctx, k)
	if err != nil {
		return zero, err
	}
	if !ok {
		return zero, fmt.Errorf("%w: key %v in dict %q", ErrNotFound, k, d.b.key)
	}
	return v, nil
}

// read returns the decoded value of k, from the local copy with
// Options.Local, else from Redis; ok is false when the dict has no such
// key.
func (d *Dict[K, V]) read(ctx context.Context, k K) (v V, ok bool, err error) {
	if m, local := d.local(ctx); local {
		v, ok = m[k]
		return v, ok, nil
	}
	field, err := encode(d.kc, d.b.key, k)
	if err != nil {
		return v, false, err
	}
	raw, ok, err := d.fetch(ctx, field)
	if err != nil || !ok {
		return v, false, err
	}
	v, err = decode(d.vc, d.b.key, raw)
	return v, err == nil, err
}

// local returns the local copy of the whole dict with Options.Local,
// reading it (HGETALL) when there is none. ok is false without
// Options.Local, for a dict over the local tier's budget or with a pair
// that does not decode, and when the read failed: the caller then reads
// what it needs from Redis, which reports the error.
func (d *Dict[K, V]) local(ctx context.Context) (map[K]V, bool) {
	return localCopy(ctx, d.whole, d.readAll)
}

// readAll reads and decodes the whole dict, for the local copy.
func (d *Dict[K, V]) readAll(ctx context.Context) (map[K]V, int, error) {
	var raw map[string]string
	err := d.b.rt(ctx, "items", false, func(ctx context.Context) (err error) {
		raw, err = cache.ReadClient(ctx, d.b.rdb).HGetAll(ctx, d.b.key).Result()
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	m, size := make(map[K]V, len(raw)), 0
	for f, v := range raw {
		k, err1 := decode(d.kc, d.b.key, f)
		val, err2 := decode(d.vc, d.b.key, v)
		if err1 != nil || err2 != nil {
			return nil, -1, nil // not kept: the reads from Redis report it
		}
		m[k] = val
		size += len(f) + len(v) + memberOverhead
	}
	return m, size, nil
}

// Local returns the counters of the dict's local copy (Options.Local):
// how many times it was read in full, kept, and found over the local
// tier's budget (then reads go to Redis). Zero without Options.Local.
func (d *Dict[K, V]) Local() cache.WholeStats {
	return d.whole.Stats()
}

// fetch reads one field. Every single-field read goes through it, so that a
// local tier can answer here.
func (d *Dict[K, V]) fetch(ctx context.Context, field []byte) (string, bool, error) {
	var raw string
	err := d.b.rt(ctx, "get", false, func(ctx context.Context) (err error) {
		raw, err = d.b.rdb.HGet(ctx, d.b.key, string(field)).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	return raw, err == nil, err
}

// GetMany returns the values of the keys that the dict holds, in one round
// trip (HMGET); keys it does not hold are absent from the map.
func (d *Dict[K, V]) GetMany(ctx context.Context, ks ...K) (map[K]V, error) {
	out := make(map[K]V, len(ks))
	if len(ks) == 0 {
		return out, nil
	}
	if m, ok := d.local(ctx); ok {
		for _, k := range ks {
			if v, ok := m[k]; ok {
				out[k] = v
			}
		}
		return out, nil
	}
	fields := make([]string, len(ks))
	for i, k := range ks {
		f, err := encode(d.kc, d.b.key, k)
		if err != nil {
			return nil, err
		}
		fields[i] = string(f)
	}
	vals, err := d.fetchMany(ctx, fields)
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue
		}
		val, err := decode(d.vc, d.b.key, s)
		if err != nil {
			return nil, err
		}
		out[ks[i]] = val
	}
	return out, nil
}

// fetchMany reads several fields; a missing one is nil.
func (d *Dict[K, V]) fetchMany(ctx context.Context, fields []string) ([]any, error) {
	var vals []any
	err := d.b.rt(ctx, "get many", false, func(ctx context.Context) (err error) {
		vals, err = d.b.rdb.HMGet(ctx, d.b.key, fields...).Result()
		return err
	})
	return vals, err
}

// Has reports whether the dict holds k.
func (d *Dict[K, V]) Has(ctx context.Context, k K) (bool, error) {
	if m, ok := d.local(ctx); ok {
		_, in := m[k]
		return in, nil
	}
	field, err := encode(d.kc, d.b.key, k)
	if err != nil {
		return false, err
	}
	var ok bool
	err = d.b.rt(ctx, "has", false, func(ctx context.Context) (err error) {
		ok, err = d.b.rdb.HExists(ctx, d.b.key, string(field)).Result()
		return err
	})
	return ok, err
}

// Len returns the number of keys.
func (d *Dict[K, V]) Len(ctx context.Context) (int64, error) {
	if m, ok := d.local(ctx); ok {
		return int64(len(m)), nil
	}
	var n int64
	err := d.b.rt(ctx, "len", false, func(ctx context.Context) (err error) {
		n, err = d.b.rdb.HLen(ctx, d.b.key).Result()
		return err
	})
	return n, err
}

// Set sets the value of k.
func (d *Dict[K, V]) Set(ctx context.Context, k K, v V) error {
	return d.write(ctx, "set", func(yield func(K, V) bool) { yield(k, v) })
}

// SetNX sets the value of k only if the dict does not hold k yet, and
// reports whether it did. It is sent without transport retries (a resend
// would report false for its own write): a lost reply is ErrUncertain.
func (d *Dict[K, V]) SetNX(ctx context.Context, k K, v V) (bool, error) {
	field, err := encode(d.kc, d.b.key, k)
	if err != nil {
		return false, err
	}
	val, err := encode(d.vc, d.b.key, v)
	if err != nil {
		return false, err
	}
	var ok bool
	err = d.b.rt(ctx, "setnx", true, func(ctx context.Context) (err error) {
		ok, err = doOnce(ctx, d.b.rdb, "hsetnx", d.b.key, field, val).Bool()
		return err
	})
	return ok, err
}

// SetMany sets every key of items, in one command: all or none.
func (d *Dict[K, V]) SetMany(ctx context.Context, items map[K]V) error {
	return d.write(ctx, "set many", func(yield func(K, V) bool) {
		for k, v := range items {
			if !yield(k, v) {
				return
			}
		}
	})
}

// Update sets every key the sequence yields (maps.All(m), another dict's
// Items...), later pairs winning over earlier ones with the same key. The
// pairs are encoded first and written in one command: all or none.
func (d *Dict[K, V]) Update(ctx context.Context, items iter.Seq2[K, V]) error {
	return d.write(ctx, "update", items)
}

// write encodes the pairs and writes them with one HSET.
func (d *Dict[K, V]) write(ctx context.Context, op string, items iter.Seq2[K, V]) error {
	var args []any
	var err error
	for k, v := range items {
		var f, val []byte
		if f, err = encode(d.kc, d.b.key, k); err != nil {
			break
		}
		if val, err = encode(d.vc, d.b.key, v); err != nil {
			break
		}
		args = append(args, f, val)
	}
	if err != nil || len(args) == 0 {
		return err
	}
	return d.b.rt(ctx, op, true, func(ctx context.Context) error {
		return d.b.rdb.HSet(ctx, d.b.key, args...).Err()
	})
}

// Delete removes keys and returns how many the dict held. It is idempotent
// (HDEL): after a resend the count misses the keys the first run deleted.
func (d *Dict[K, V]) Delete(ctx context.Context, ks ...K) (int64, error) {
	if len(ks) == 0 {
		return 0, nil
	}
	fields := make([]string, len(ks))
	for i, k := range ks {
		f, err := encode(d.kc, d.b.key, k)
		if err != nil {
			return 0, err
		}
		fields[i] = string(f)
	}
	var n int64
	err := d.b.rt(ctx, "delete", true, func(ctx context.Context) (err error) {
		n, err = d.b.rdb.HDel(ctx, d.b.key, fields...).Result()
		return err
	})
	return n, err
}

// Pop removes k and returns its value, atomically: of two concurrent Pops
// of one key, one gets the value and the other ErrNotFound. It is
// idempotent under resend (a request id; the record keeps a copy of the
// value for Options.DedupeWindow), and a Pop whose reply is lost even so
// asks for that record once more: the value is returned, not lost.
func (d *Dict[K, V]) Pop(ctx context.Context, k K) (V, error) {
	var zero V
	field, err := encode(d.kc, d.b.key, k)
	if err != nil {
		return zero, err
	}
	a := append(dictPop.args(2, 5), d.b.keyArg, d.b.req.next(), field, d.b.window)
	var raw string
	var sent error // the round trip's own error
	err = d.b.rtIdem(ctx, "pop", func(ctx context.Context) error {
		raw, sent = dictPop.run(ctx, d.b.rdb, false, a).Text()
		return sent
	})
	if errors.Is(err, ErrUncertain) {
		// As a list's pop does (see base.take): ask for the value this
		// request removed, under a context that does not end with ctx.
		a = append(a, "check")
		switch cerr := d.b.rt(context.WithoutCancel(ctx), "pop", false, func(c context.Context) (err error) {
			raw, err = dictPop.run(c, d.b.rdb, false, a).Text()
			return err
		}); {
		case cerr == nil:
			err = nil
		case errors.Is(cerr, redis.Nil):
			err = fmt.Errorf("tiercache/collections: pop %q: nothing removed: %w", d.b.key, sent)
		}
	}
	if errors.Is(err, redis.Nil) {
		return zero, fmt.Errorf("%w: key %v in dict %q", ErrNotFound, k, d.b.key)
	}
	if err != nil {
		return zero, err
	}
	return decode(d.vc, d.b.key, raw)
}

// Items returns the dict's pairs as a sequence read with HSCAN, a chunk per
// round trip, and a function that returns the error that ended it early
// (nil when it ran to the end or the loop stopped). Always check it: a
// failed round trip or an undecodable pair ends the sequence.
//
// Every pair present for the whole iteration is yielded exactly once; pairs
// written or deleted meanwhile may or may not be. With Options.Local it
// yields the pairs of the local copy of the whole dict, as it was when
// Items was called, in no round trip.
func (d *Dict[K, V]) Items(ctx context.Context) (seq iter.Seq2[K, V], errf func() error) {
	if m, ok := d.local(ctx); ok {
		return maps.All(m), func() error { return nil }
	}
	var err error
	seq = func(yield func(K, V) bool) {
		err = d.scan(ctx, "items", func(f, v string) (bool, error) {
			k, err := decode(d.kc, d.b.key, f)
			if err != nil {
				return false, err
			}
			val, err := decode(d.vc, d.b.key, v)
			if err != nil {
				return false, err
			}
			return yield(k, val), nil
		})
	}
	return seq, func() error { return err }
}

// Keys returns the dict's keys as a sequence; see [Dict.Items].
func (d *Dict[K, V]) Keys(ctx context.Context) (seq iter.Seq[K], errf func() error) {
	if m, ok := d.local(ctx); ok {
		return maps.Keys(m), func() error { return nil }
	}
	var err error
	seq = func(yield func(K) bool) {
		err = d.scan(ctx, "keys", func(f, _ string) (bool, error) {
			k, err := decode(d.kc, d.b.key, f)
			if err != nil {
				return false, err
			}
			return yield(k), nil
		})
	}
	return seq, func() error { return err }
}

// Values returns the dict's values as a sequence; see [Dict.Items].
func (d *Dict[K, V]) Values(ctx context.Context) (seq iter.Seq[V], errf func() error) {
	if m, ok := d.local(ctx); ok {
		return maps.Values(m), func() error { return nil }
	}
	var err error
	seq = func(yield func(V) bool) {
		err = d.scan(ctx, "values", func(_, v string) (bool, error) {
			val, err := decode(d.vc, d.b.key, v)
			if err != nil {
				return false, err
			}
			return yield(val), nil
		})
	}
	return seq, func() error { return err }
}

// scan runs HSCAN over the hash, passing each field and value once.
func (d *Dict[K, V]) scan(ctx context.Context, op string, each func(field, value string) (bool, error)) error {
	return d.b.scan(ctx, op, 2, func(c context.Context, cursor uint64) ([]string, uint64, error) {
		return d.b.rdb.HScan(c, d.b.key, cursor, "", scanCount).Result()
	}, func(g []string) (bool, error) { return each(g[0], g[1]) })
}

// ToMap returns the whole dict in a map of the caller's own: a copy of the
// local copy with Options.Local, else read in chunks (see [Dict.Items]).
func (d *Dict[K, V]) ToMap(ctx context.Context) (map[K]V, error) {
	if m, ok := d.local(ctx); ok {
		return maps.Clone(m), nil
	}
	out := make(map[K]V)
	items, errf := d.Items(ctx)
	for k, v := range items {
		out[k] = v
	}
	if err := errf(); err != nil {
		return nil, err
	}
	return out, nil
}

// Clear deletes the dict. It returns ErrWrongType, deleting nothing, when
// the key holds another Redis type.
func (d *Dict[K, V]) Clear(ctx context.Context) error {
	return d.b.clear(ctx)
}

// Expire makes the whole dict expire after ttl (millisecond resolution; at
// least 1ms) and reports whether it exists. Any write after that keeps the
// TTL; Clear removes it with the dict.
func (d *Dict[K, V]) Expire(ctx context.Context, ttl time.Duration) (bool, error) {
	return d.b.expire(ctx, ttl)
}
