package collections

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

var (
	//go:embed counter_incr.lua
	counterIncrSrc string
	//go:embed counter_update.lua
	counterUpdateSrc string

	counterIncr   = newScript(counterIncrSrc)
	counterUpdate = redis.NewScript(counterUpdateSrc)
)

// CounterOptions are the settings of a [Counter]. The zero value means the
// defaults.
type CounterOptions[K comparable] struct {
	// Options are the settings every collection takes.
	Options

	// Codec encodes the counted keys into hash fields. Default
	// codec.JSON[K]().
	Codec codec.Codec[K]
}

// Counter counts keys of type K in one Redis hash,
// "<prefix>{<name>}:counter": a field per key holding a 64-bit integer,
// like Python's collections.Counter. Every update is atomic on the server
// (HINCRBY, or one script for several keys), so concurrent updates from any
// number of goroutines and processes are never lost, and no update ever
// fails with a conflict. Counts may be zero or negative. A Counter is safe
// for concurrent use.
type Counter[K comparable] struct {
	b     base
	kc    codec.Codec[K]
	whole *cache.Whole[map[K]int64] // Options.Local's copy of the counter, or nil
}

// Count is a key and its count.
type Count[K any] struct {
	Key K
	N   int64
}

// NewCounter returns the Counter called name on rdb. It does not talk to
// Redis. It returns ErrInvalidArgument for a nil client, an empty name or a
// name or prefix that would break the key's hash tag.
func NewCounter[K comparable](rdb redis.UniversalClient, name string, opts CounterOptions[K]) (*Counter[K], error) {
	b, err := newBase(rdb, name, "counter", "hash", opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Codec == nil {
		opts.Codec = codec.JSON[K]()
	}
	c := &Counter[K]{b: b, kc: opts.Codec}
	if c.whole, err = newWhole[map[K]int64](&c.b); err != nil {
		return nil, err
	}
	return c, nil
}

// Name returns the counter's name.
func (c *Counter[K]) Name() string { return c.b.name }

// Key returns the Redis key of the counter's hash.
func (c *Counter[K]) Key() string { return c.b.key }

// Incr adds one to the count of k and returns the new count.
func (c *Counter[K]) Incr(ctx context.Context, k K) (int64, error) {
	return c.IncrBy(ctx, k, 1)
}

// IncrBy adds n (which may be negative) to the count of k and returns the
// new count. A stored count that is not an integer is ErrWrongType; an
// overflow of int64 is an error and changes nothing. It is idempotent under
// resend: one script checks the call's request id, so a resend after a
// lost reply returns the count of the first run and adds nothing (it
// leaves a dedupe record for [Options.DedupeWindow]).
func (c *Counter[K]) IncrBy(ctx context.Context, k K, n int64) (int64, error) {
	field, err := encode(c.kc, c.b.key, k)
	if err != nil {
		return 0, err
	}
	a := append(counterIncr.args(2, 5), c.b.keyArg, c.b.req.next(), field, n, c.b.window)
	var v int64
	err = c.b.rtIdem(ctx, "incr", func(ctx context.Context) (err error) {
		v, err = counterIncr.run(ctx, c.b.rdb, false, a).Int64()
		return err
	})
	return v, err
}

// Get returns the count of k: 0 when the counter does not hold k.
func (c *Counter[K]) Get(ctx context.Context, k K) (int64, error) {
	if m, ok := c.local(ctx); ok {
		return m[k], nil
	}
	field, err := encode(c.kc, c.b.key, k)
	if err != nil {
		return 0, err
	}
	var raw string
	err = c.b.rt(ctx, "get", false, func(ctx context.Context) (err error) {
		raw, err = c.b.rdb.HGet(ctx, c.b.key, string(field)).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return 0, nil // a missing key counts 0
	}
	if err != nil {
		return 0, err
	}
	return c.parse(raw)
}

// local returns the local copy of the whole counter with Options.Local,
// reading it (HGETALL) when there is none. ok is false without
// Options.Local, for a counter over the local tier's budget or with a
// field that does not decode, and when the read failed: the caller then
// reads what it needs from Redis, which reports the error.
func (c *Counter[K]) local(ctx context.Context) (map[K]int64, bool) {
	return localCopy(ctx, c.whole, c.readAll)
}

// readAll reads and decodes the whole counter, for the local copy.
func (c *Counter[K]) readAll(ctx context.Context) (map[K]int64, int, error) {
	var raw map[string]string
	err := c.b.rt(ctx, "scan", false, func(ctx context.Context) (err error) {
		raw, err = cache.ReadClient(ctx, c.b.rdb).HGetAll(ctx, c.b.key).Result()
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	m, size := make(map[K]int64, len(raw)), 0
	for f, v := range raw {
		k, err1 := decode(c.kc, c.b.key, f)
		n, err2 := c.parse(v)
		if err1 != nil || err2 != nil {
			return nil, -1, nil // not kept: the reads from Redis report it
		}
		m[k] = n
		size += len(f) + 8 + memberOverhead
	}
	return m, size, nil
}

// Local returns the counters of the counter's local copy
// (Options.Local): how many times it was read in full, kept, and found
// over the local tier's budget (then reads go to Redis). Zero without
// Options.Local.
func (c *Counter[K]) Local() cache.WholeStats {
	return c.whole.Stats()
}

// parse reads a stored count.
func (c *Counter[K]) parse(raw string) (int64, error) {
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: counter %q holds %q, not an integer", ErrWrongType, c.b.key, raw)
	}
	return n, nil
}

// Add counts each element once more (an element given three times gains
// three), atomically: all or none.
func (c *Counter[K]) Add(ctx context.Context, elems ...K) error {
	return c.update(ctx, "add", func(yield func(K, int64) bool) {
		for _, e := range elems {
			if !yield(e, 1) {
				return
			}
		}
	})
}

// Update adds each count of counts to its key's count, atomically: all or
// none.
func (c *Counter[K]) Update(ctx context.Context, counts map[K]int64) error {
	return c.update(ctx, "update", func(yield func(K, int64) bool) {
		for k, n := range counts {
			if !yield(k, n) {
				return
			}
		}
	})
}

// Subtract subtracts each count of counts from its key's count, atomically:
// all or none. Counts may go to zero or below.
func (c *Counter[K]) Subtract(ctx context.Context, counts map[K]int64) error {
	for k, n := range counts {
		if n == math.MinInt64 {
			return fmt.Errorf("%w: subtract %d from %v in counter %q", ErrInvalidArgument, n, k, c.b.key)
		}
	}
	return c.update(ctx, "subtract", func(yield func(K, int64) bool) {
		for k, n := range counts {
			if !yield(k, -n) {
				return
			}
		}
	})
}

// update adds the deltas with one script, idempotent under resend (see
// IncrBy).
func (c *Counter[K]) update(ctx context.Context, op string, deltas iter.Seq2[K, int64]) error {
	args := []any{c.b.opts.DedupeWindow.Milliseconds()}
	for k, n := range deltas {
		field, err := encode(c.kc, c.b.key, k)
		if err != nil {
			return err
		}
		args = append(args, field, n)
	}
	if len(args) == 1 {
		return nil
	}
	keys := []string{c.b.key, c.b.req.next()}
	return c.b.rtIdem(ctx, op, func(ctx context.Context) error {
		return counterUpdate.Run(ctx, c.b.rdb, keys, args...).Err()
	})
}

// Delete removes keys (their counts become 0) and returns how many the
// counter held. It is idempotent (HDEL): a resend after a lost reply
// deletes nothing more, and the count it returns then misses the keys the
// first run deleted.
func (c *Counter[K]) Delete(ctx context.Context, ks ...K) (int64, error) {
	if len(ks) == 0 {
		return 0, nil
	}
	fields := make([]string, len(ks))
	for i, k := range ks {
		f, err := encode(c.kc, c.b.key, k)
		if err != nil {
			return 0, err
		}
		fields[i] = string(f)
	}
	var n int64
	err := c.b.rt(ctx, "delete", true, func(ctx context.Context) (err error) {
		n, err = c.b.rdb.HDel(ctx, c.b.key, fields...).Result()
		return err
	})
	return n, err
}

// Len returns the number of keys the counter holds (zero and negative
// counts included).
func (c *Counter[K]) Len(ctx context.Context) (int64, error) {
	if m, ok := c.local(ctx); ok {
		return int64(len(m)), nil
	}
	var n int64
	err := c.b.rt(ctx, "len", false, func(ctx context.Context) (err error) {
		n, err = c.b.rdb.HLen(ctx, c.b.key).Result()
		return err
	})
	return n, err
}

// All returns the keys and their counts as a sequence read with HSCAN, a
// chunk per round trip, and a function that returns the error that ended
// it early. Always check it. Every key present for the whole iteration is
// yielded exactly once. With Options.Local it yields the counts of the
// local copy of the whole counter, as it was when All was called, in no
// round trip (and so do ToMap, MostCommon, Elements and Total).
func (c *Counter[K]) All(ctx context.Context) (seq iter.Seq2[K, int64], errf func() error) {
	if m, ok := c.local(ctx); ok {
		return maps.All(m), func() error { return nil }
	}
	var err error
	seq = func(yield func(K, int64) bool) {
		err = c.b.scan(ctx, "scan", 2, func(rc context.Context, cursor uint64) ([]string, uint64, error) {
			return c.b.rdb.HScan(rc, c.b.key, cursor, "", scanCount).Result()
		}, func(g []string) (bool, error) {
			k, err := decode(c.kc, c.b.key, g[0])
			if err != nil {
				return false, err
			}
			n, err := c.parse(g[1])
			if err != nil {
				return false, err
			}
			return yield(k, n), nil
		})
	}
	return seq, func() error { return err }
}

// ToMap reads every count, in chunks (see [Counter.All]).
func (c *Counter[K]) ToMap(ctx context.Context) (map[K]int64, error) {
	out := make(map[K]int64)
	all, errf := c.All(ctx)
	for k, n := range all {
		out[k] = n
	}
	if err := errf(); err != nil {
		return nil, err
	}
	return out, nil
}

// MostCommon returns the n largest counts, largest first; n <= 0 returns
// them all. Ties are ordered by the keys' encodings, so the order is stable.
// It reads the whole hash (in chunks): a Redis hash keeps no order.
func (c *Counter[K]) MostCommon(ctx context.Context, n int) ([]Count[K], error) {
	type entry struct {
		Count[K]
		field []byte
	}
	var entries []entry
	all, errf := c.All(ctx)
	for k, v := range all {
		f, err := encode(c.kc, c.b.key, k)
		if err != nil {
			return nil, err
		}
		entries = append(entries, entry{Count[K]{k, v}, f})
	}
	if err := errf(); err != nil {
		return nil, err
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
	out := make([]Count[K], len(entries))
	for i, e := range entries {
		out[i] = e.Count
	}
	return out, nil
}

// Elements returns each key repeated as many times as its count (keys with
// a count below one are skipped), like Python's Counter.elements, as a
// sequence over [Counter.All], and a function that returns the error that
// ended it early.
func (c *Counter[K]) Elements(ctx context.Context) (seq iter.Seq[K], errf func() error) {
	all, errf := c.All(ctx)
	return func(yield func(K) bool) {
		for k, n := range all {
			for range max(n, 0) {
				if !yield(k) {
					return
				}
			}
		}
	}, errf
}

// Total returns the sum of the counts, negative ones included (0 for an
// empty counter), as Python's Counter.total, read in chunks (see
// [Counter.All]). The sum is exact: ErrOverflow only when the total itself
// does not fit an int64.
func (c *Counter[K]) Total(ctx context.Context) (int64, error) {
	var total sum128
	all, errf := c.All(ctx)
	for _, n := range all {
		total.add(n)
	}
	if err := errf(); err != nil {
		return 0, err
	}
	n, ok := total.int64()
	if !ok {
		return 0, totalError(c.b.key)
	}
	return n, nil
}

// Clear deletes the counter. It returns ErrWrongType, deleting nothing, when
// the key holds another Redis type.
func (c *Counter[K]) Clear(ctx context.Context) error { return c.b.clear(ctx) }

// Expire makes the whole counter expire after ttl (millisecond resolution;
// at least 1ms) and reports whether it exists.
func (c *Counter[K]) Expire(ctx context.Context, ttl time.Duration) (bool, error) {
	return c.b.expire(ctx, ttl)
}
