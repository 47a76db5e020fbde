package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

var (
	//go:embed deque_rotate.lua
	dequeRotateSrc string
	dequeRotate    = newScript(dequeRotateSrc)
)

// DequeOptions are the settings of a [Deque]. The zero value means the
// defaults.
type DequeOptions[T any] struct {
	// Options are the settings every collection takes.
	Options

	// Codec encodes the elements. Default codec.JSON[T]().
	Codec codec.Codec[T]

	// MaxLen, when positive, bounds the deque's length: a push that would
	// make it longer drops elements from the other end, in the same atomic
	// step, like Python's deque(maxlen=n). Every writer of one deque must
	// use the same MaxLen (it is a setting of the writers, not stored in
	// Redis). Default 0: unbounded, unless Bounded is set. Negative is
	// ErrInvalidArgument.
	MaxLen int

	// Bounded makes MaxLen a bound even when it is 0: a deque with Bounded
	// and MaxLen 0 is always empty, like Python's deque(maxlen=0) (every
	// push drops its values and Insert fails). A positive MaxLen bounds
	// the deque whether Bounded is set or not. Default false.
	Bounded bool
}

// Deque is a double-ended queue of T in one Redis list,
// "<prefix>{<name>}:deque", with the methods of Python's
// collections.deque. Every method is atomic; with MaxLen, the push and the
// trim are one script, so no reader, in any process, ever sees the deque
// longer than MaxLen. A Deque is safe for concurrent use.
type Deque[T any] struct {
	b       base
	c       codec.Codec[T]
	maxLen  int
	bounded bool          // maxLen is a bound (it is positive, or Bounded was set)
	local   *listLocal[T] // Options.Local's copy of the deque, or nil
}

// NewDeque returns the Deque called name on rdb. It does not talk to Redis.
// It returns ErrInvalidArgument for a nil client, an empty name, a name or
// prefix that would break the key's hash tag, or a negative MaxLen.
func NewDeque[T any](rdb redis.UniversalClient, name string, opts DequeOptions[T]) (*Deque[T], error) {
	b, err := newBase(rdb, name, "deque", "list", opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.MaxLen < 0 {
		return nil, fmt.Errorf("%w: deque %q: negative MaxLen %d", ErrInvalidArgument, name, opts.MaxLen)
	}
	if opts.Codec == nil {
		opts.Codec = codec.JSON[T]()
	}
	d := &Deque[T]{b: b, c: opts.Codec, maxLen: opts.MaxLen, bounded: opts.Bounded || opts.MaxLen > 0}
	if d.local, err = newListLocal(&d.b, d.c); err != nil {
		return nil, err
	}
	return d, nil
}

// Name returns the deque's name.
func (d *Deque[T]) Name() string { return d.b.name }

// Key returns the Redis key of the deque.
func (d *Deque[T]) Key() string { return d.b.key }

// MaxLen returns the deque's maximum length. 0 is no bound unless
// [Deque.Bounded] reports true.
func (d *Deque[T]) MaxLen() int { return d.maxLen }

// Len returns the number of elements.
func (d *Deque[T]) Len(ctx context.Context) (int64, error) { return d.local.length(ctx, &d.b) }

// Append adds v at the right end and returns the new length.
func (d *Deque[T]) Append(ctx context.Context, v T) (int64, error) {
	return d.push(ctx, "append", false, []T{v})
}

// AppendLeft adds v at the left end and returns the new length.
func (d *Deque[T]) AppendLeft(ctx context.Context, v T) (int64, error) {
	return d.push(ctx, "append left", true, []T{v})
}

// Extend appends values at the right end, in order, atomically, and returns
// the new length.
func (d *Deque[T]) Extend(ctx context.Context, values ...T) (int64, error) {
	return d.push(ctx, "extend", false, values)
}

// ExtendLeft appends values at the left end one after the other (so they
// end up in reverse order, as with Python's extendleft), atomically, and
// returns the new length.
func (d *Deque[T]) ExtendLeft(ctx context.Context, values ...T) (int64, error) {
	return d.push(ctx, "extend left", true, values)
}

// push pushes values at one end, trimming to MaxLen in the same script.
func (d *Deque[T]) push(ctx context.Context, op string, left bool, values []T) (int64, error) {
	if len(values) == 0 || d.bounded && d.maxLen == 0 {
		return d.Len(ctx) // maxlen 0: the values are dropped at once
	}
	return push(ctx, &d.b, d.c, op, left, int64(d.maxLen), values)
}

// Pop removes the rightmost element and returns it; ErrEmpty when there is
// none.
func (d *Deque[T]) Pop(ctx context.Context) (T, error) {
	return pop(ctx, &d.b, d.c, "pop", false)
}

// PopLeft removes the leftmost element and returns it; ErrEmpty when there
// is none.
func (d *Deque[T]) PopLeft(ctx context.Context) (T, error) {
	return pop(ctx, &d.b, d.c, "pop left", true)
}

// PopWait is Pop that waits until there is an element or ctx ends,
// which gives an error matching both ErrEmpty and ctx.Err(). Bound the wait
// with context.WithTimeout; a cancellation without a deadline is noticed
// within a second.
func (d *Deque[T]) PopWait(ctx context.Context) (T, error) {
	return d.popWait(ctx, "pop wait", false)
}

// PopLeftWait is PopLeft that waits, like [Deque.PopWait]. Both wait with a
// blocking command that changes nothing and take with Pop's script, so a
// lost reply never loses an element.
func (d *Deque[T]) PopLeftWait(ctx context.Context) (T, error) {
	return d.popWait(ctx, "pop left wait", true)
}

func (d *Deque[T]) popWait(ctx context.Context, op string, left bool) (T, error) {
	raw, err := d.b.takeWait(ctx, op, left)
	if err != nil {
		var zero T
		return zero, err
	}
	return decode(d.c, d.b.key, raw)
}

// Peek returns the rightmost element without removing it; ErrEmpty when
// there is none.
func (d *Deque[T]) Peek(ctx context.Context) (T, error) { return d.peek(ctx, -1) }

// PeekLeft returns the leftmost element without removing it; ErrEmpty when
// there is none.
func (d *Deque[T]) PeekLeft(ctx context.Context) (T, error) { return d.peek(ctx, 0) }

func (d *Deque[T]) peek(ctx context.Context, i int64) (T, error) {
	v, err := d.local.index(ctx, &d.b, d.c, "peek", i)
	if errors.Is(err, ErrIndexOutOfRange) {
		return v, fmt.Errorf("%w: deque %q", ErrEmpty, d.b.key)
	}
	return v, err
}

// Rotate rotates the deque n steps to the right (the last element becomes
// the first), or -n steps to the left when n is negative, like Python's
// deque.rotate: any n works (it is taken modulo the length) and an empty
// deque stays empty. It is one script, moving min(k, len-k) elements for a
// rotation of k.
func (d *Deque[T]) Rotate(ctx context.Context, n int64) error {
	return d.b.rt(ctx, "rotate", true, func(ctx context.Context) error {
		return runOnce(ctx, d.b.rdb, dequeRotate, []string{d.b.key}, strconv.FormatInt(n, 10)).Err()
	})
}

// Range returns the elements from index start to index stop, both included,
// counted from the left (negative from the right), like LRANGE.
func (d *Deque[T]) Range(ctx context.Context, start, stop int64) ([]T, error) {
	return d.local.lrange(ctx, &d.b, d.c, start, stop)
}

// All returns the elements from left to right with their indexes as a
// sequence read in chunks, and a function that returns the error that ended
// it early; see [List.All].
func (d *Deque[T]) All(ctx context.Context) (seq iter.Seq2[int64, T], errf func() error) {
	return d.local.all(ctx, &d.b, d.c)
}

// Local returns the counters of the deque's local copy (Options.Local);
// see [List.Local].
func (d *Deque[T]) Local() cache.WholeStats { return d.local.stats() }

// Clear deletes the deque. It returns ErrWrongType, deleting nothing, when
// the key holds another Redis type.
func (d *Deque[T]) Clear(ctx context.Context) error { return d.b.clear(ctx) }

// Expire makes the whole deque expire after ttl (millisecond resolution; at
// least 1ms) and reports whether it exists.
func (d *Deque[T]) Expire(ctx context.Context, ttl time.Duration) (bool, error) {
	return d.b.expire(ctx, ttl)
}
