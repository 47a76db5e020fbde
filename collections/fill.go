package collections

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
)

// This file holds every type's Create and Replace: fill a collection with
// its whole contents in one atomic step, only where it does not exist yet
// (pottery's KeyExistsError when a container is given contents on a key
// that exists), or in place of what it held. Each is one script (see
// common_fill.go and bloom_fill.lua), whatever the number of elements.
//
// Redis holds no empty hash, set, list or sorted set: a Create with no
// contents writes nothing and only checks (ErrExists if the key exists), and
// a Replace with no contents deletes the key, as Clear does. A HyperLogLog
// and a BloomFilter can be empty and exist: theirs create an empty one.

// Create fills the dict with items, atomically, if its key does not exist,
// and returns an error matching ErrExists, writing nothing, if it does
// (ErrWrongType when it holds another Redis type). With no items it only
// checks: Redis holds no empty hash, so nothing is created. It is one
// script whatever the number of items, and idempotent under resend: a
// request id makes a resend after a lost reply return the first run's
// answer (leaving a dedupe record for [Options.DedupeWindow]), not
// ErrExists for its own write.
func (d *Dict[K, V]) Create(ctx context.Context, items map[K]V) error {
	return d.fill(ctx, true, items)
}

// Replace makes items the dict's whole contents, atomically: one script
// deletes what the hash held (its time to live included, and the version
// key package syncable keeps next to it, as Clear does) and writes items.
// No items deletes the dict. A key of another Redis type is ErrWrongType and
// is left as it is. A resend writes the same contents again.
func (d *Dict[K, V]) Replace(ctx context.Context, items map[K]V) error {
	return d.fill(ctx, false, items)
}

func (d *Dict[K, V]) fill(ctx context.Context, create bool, items map[K]V) error {
	args := make([]any, 0, 2*len(items))
	for k, v := range items {
		f, err := encode(d.kc, d.b.key, k)
		if err != nil {
			return err
		}
		val, err := encode(d.vc, d.b.key, v)
		if err != nil {
			return err
		}
		args = append(args, f, val)
	}
	return d.b.fill(ctx, create, "hset", args)
}

// Create sets the counts of counts, atomically, if the counter's key does
// not exist, and returns an error matching ErrExists, writing nothing, if it
// does; see [Dict.Create]. Zero and negative counts are stored as given.
func (c *Counter[K]) Create(ctx context.Context, counts map[K]int64) error {
	return c.fill(ctx, true, counts)
}

// Replace makes counts the counter's whole contents, atomically; see
// [Dict.Replace]. No counts deletes the counter.
func (c *Counter[K]) Replace(ctx context.Context, counts map[K]int64) error {
	return c.fill(ctx, false, counts)
}

func (c *Counter[K]) fill(ctx context.Context, create bool, counts map[K]int64) error {
	args := make([]any, 0, 2*len(counts))
	for k, n := range counts {
		f, err := encode(c.kc, c.b.key, k)
		if err != nil {
			return err
		}
		args = append(args, f, strconv.FormatInt(n, 10))
	}
	return c.b.fill(ctx, create, "hset", args)
}

// Create adds members, atomically, if the set's key does not exist, and
// returns an error matching ErrExists, writing nothing, if it does; see
// [Dict.Create]. With no members it only checks.
func (s *Set[T]) Create(ctx context.Context, members ...T) error {
	return s.fill(ctx, true, members)
}

// Replace makes members the set's whole contents, atomically; see
// [Dict.Replace]. No members deletes the set.
func (s *Set[T]) Replace(ctx context.Context, members ...T) error {
	return s.fill(ctx, false, members)
}

func (s *Set[T]) fill(ctx context.Context, create bool, members []T) error {
	args, err := encodeAll(s.c, s.b.key, members)
	if err != nil {
		return err
	}
	return s.b.fill(ctx, create, "sadd", args)
}

// Create fills the list with values, in order, atomically, if its key does
// not exist, and returns an error matching ErrExists, writing nothing, if it
// does; see [Dict.Create]. With no values it only checks.
func (l *List[T]) Create(ctx context.Context, values ...T) error {
	return fillList(ctx, &l.b, l.c, true, "rpush", values)
}

// Replace makes values, in order, the list's whole contents, atomically;
// see [Dict.Replace]. No values deletes the list.
func (l *List[T]) Replace(ctx context.Context, values ...T) error {
	return fillList(ctx, &l.b, l.c, false, "rpush", values)
}

// Create fills the deque with values, from left to right, atomically, if
// its key does not exist, and returns an error matching ErrExists, writing
// nothing, if it does; see [Dict.Create]. With MaxLen, only the last MaxLen
// values are kept, as Python's deque(iterable, maxlen) does. With no values
// it only checks.
func (d *Deque[T]) Create(ctx context.Context, values ...T) error {
	return fillList(ctx, &d.b, d.c, true, "rpush", d.last(values))
}

// Replace makes values, from left to right, the deque's whole contents,
// atomically (with MaxLen, the last MaxLen of them); see [Dict.Replace]. No
// values deletes the deque.
func (d *Deque[T]) Replace(ctx context.Context, values ...T) error {
	return fillList(ctx, &d.b, d.c, false, "rpush", d.last(values))
}

// last returns the values a deque of MaxLen keeps of values.
func (d *Deque[T]) last(values []T) []T {
	if d.maxLen > 0 && len(values) > d.maxLen {
		return values[len(values)-d.maxLen:]
	}
	return values
}

// Create puts items in the queue, in order (Get returns items[0] first),
// atomically, if its key does not exist, and returns an error matching
// ErrExists, writing nothing, if it does; see [Dict.Create]. With no items
// it only checks. The dead-letter list is not looked at.
func (q *Queue[T]) Create(ctx context.Context, items ...T) error {
	return fillList(ctx, &q.b, q.c, true, "lpush", items)
}

// Replace makes items, in order, the queue's whole contents (the items
// waiting), atomically; see [Dict.Replace]. No items empties the queue. The
// dead-letter list is left as it is.
func (q *Queue[T]) Replace(ctx context.Context, items ...T) error {
	return fillList(ctx, &q.b, q.c, false, "lpush", items)
}

// Create puts items in the reliable queue, in order (Get delivers items[0]
// first), atomically, if its list of waiting items does not exist, and
// returns an error matching ErrExists, writing nothing, if it does; see
// [Queue.Create]. Deliveries in flight and the dead-letter list are not
// looked at: a queue whose items are all in flight is created again.
func (r *ReliableQueue[T]) Create(ctx context.Context, items ...T) error {
	return r.q.Create(ctx, items...)
}

// Replace makes items, in order, the reliable queue's whole list of
// waiting items, atomically; see [Queue.Replace]. Deliveries in flight stay
// in flight (an expired one still returns to the front of the queue) and
// the dead-letter list is left as it is.
func (r *ReliableQueue[T]) Replace(ctx context.Context, items ...T) error {
	return r.q.Replace(ctx, items...)
}

// fillList creates or replaces a list with values pushed one after the
// other with cmd (RPUSH or LPUSH).
func fillList[T any](ctx context.Context, b *base, c codec.Codec[T], create bool, cmd string, values []T) error {
	args, err := encodeAll(c, b.key, values)
	if err != nil {
		return err
	}
	return b.fill(ctx, create, cmd, args)
}

// Create adds members with their scores, atomically, if the sorted set's
// key does not exist, and returns an error matching ErrExists, writing
// nothing, if it does; see [Dict.Create]. A member given twice gets its
// last score. A NaN score is ErrInvalidArgument. With no members it only
// checks.
func (z *SortedSet[T]) Create(ctx context.Context, members ...Scored[T]) error {
	return z.fill(ctx, true, members)
}

// Replace makes members, with their scores, the sorted set's whole
// contents, atomically; see [Dict.Replace]. No members deletes the sorted
// set.
func (z *SortedSet[T]) Replace(ctx context.Context, members ...Scored[T]) error {
	return z.fill(ctx, false, members)
}

func (z *SortedSet[T]) fill(ctx context.Context, create bool, members []Scored[T]) error {
	args := make([]any, 0, 2*len(members))
	for _, m := range members {
		if math.IsNaN(m.Score) {
			return fmt.Errorf("%w: NaN score for %v in sorted set %q", ErrInvalidArgument, m.Value, z.b.key)
		}
		v, err := encode(z.c, z.b.key, m.Value)
		if err != nil {
			return err
		}
		args = append(args, formatScore(m.Score), v)
	}
	return z.b.fill(ctx, create, "zadd", args)
}

// Create adds items to a new HyperLogLog, atomically, if its key does not
// exist, and returns an error matching ErrExists, writing nothing, if it
// does (ErrWrongType when it holds another type, a string that is not a
// HyperLogLog included). With no items it creates an empty HyperLogLog.
// It is idempotent under resend, as [Dict.Create] is.
func (h *HyperLogLog[T]) Create(ctx context.Context, items []T) error {
	return h.fill(ctx, true, items)
}

// Replace makes the HyperLogLog count exactly items, atomically: one script
// deletes its registers and adds items (none leaves it empty). A key of
// another type is ErrWrongType and is left as it is.
func (h *HyperLogLog[T]) Replace(ctx context.Context, items []T) error {
	return h.fill(ctx, false, items)
}

func (h *HyperLogLog[T]) fill(ctx context.Context, create bool, items []T) error {
	args, err := h.encode(items)
	if err != nil {
		return err
	}
	b, err := newBase(h.rdb, h.name, "hll", "string", h.opts)
	if err != nil {
		return err
	}
	if h.local != nil {
		b.local = wholeWrites{h.local}
	}
	return b.fill(ctx, create, "pfadd", args)
}

var (
	//go:embed bloom_fill.lua
	bloomFillSrc string
	bloomFill    = newScript(bloomCheckSrc + bloomFillSrc)
)

// Create makes the filter, with this client's parameters, and adds items,
// atomically, if it does not exist, and returns an error matching
// ErrExists, writing nothing, if it does (its parameters or bits exist,
// whatever the parameters). With no items it creates an empty filter with
// this client's parameters, so that clients with others get
// ErrConfigMismatch. It is idempotent under resend, as [Dict.Create] is.
func (b *BloomFilter[T]) Create(ctx context.Context, items []T) error {
	return b.fill(ctx, true, items)
}

// Replace makes the filter hold exactly items, atomically: one script
// clears its bits and adds items (none leaves it empty, its parameters
// stored). A filter stored with other parameters is ErrConfigMismatch and a
// key of another type ErrWrongType; both are left as they are: Clear, then
// Create, to change the parameters.
func (b *BloomFilter[T]) Replace(ctx context.Context, items []T) error {
	return b.fill(ctx, false, items)
}

func (b *BloomFilter[T]) fill(ctx context.Context, create bool, items []T) error {
	args, err := b.positions(items)
	if err != nil {
		return err
	}
	fb, err := newBase(b.rdb, b.name, "bloom", "string", b.opts)
	if err != nil {
		return err
	}
	if b.local != nil {
		fb.local = wholeWrites{b.local}
	}
	ks := []any{fb.keyArg, b.paramsKey}
	tail := []any{"replace"}
	if create {
		ks = append(ks, fb.req.next())
		tail = []any{"create", fb.window}
	}
	a := append(bloomFill.args(len(ks), len(ks)+len(args)+len(tail)), ks...)
	a = append(append(a, args...), tail...)
	var n int64
	run := func(ctx context.Context) (err error) {
		n, err = bloomFill.run(ctx, fb.rdb, false, a).Int64()
		if redis.HasErrorPrefix(err, prefixConfig) {
			return redisError(b.bitsKey, err)
		}
		return err
	}
	if create {
		err = fb.rtIdem(ctx, "create", run)
	} else {
		err = fb.rt(ctx, "replace", true, run)
	}
	if err == nil && n == 0 {
		return fmt.Errorf("%w: bloom filter %q", ErrExists, b.bitsKey)
	}
	return err
}
