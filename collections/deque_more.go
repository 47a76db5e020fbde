package collections

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// The Python deque methods that Deque adds on top of deque.go: access by
// index, insertion, deletion, search, counting and reversing.

// prefixFull is raised by list_insert.lua when a bounded deque is full.
const prefixFull = "TCFULL"

// Bounded reports whether the deque has a maximum length, [Deque.MaxLen]
// (which may be 0: see DequeOptions.Bounded), like Python's deque.maxlen
// not being None.
func (d *Deque[T]) Bounded() bool { return d.bounded }

// Index returns the element at index i, like Python's d[i]: 0 is the
// leftmost, -1 the rightmost. ErrIndexOutOfRange when there is none.
func (d *Deque[T]) Index(ctx context.Context, i int64) (T, error) {
	return d.local.index(ctx, &d.b, d.c, "index", i)
}

// SetIndex replaces the element at index i, like Python's d[i] = v;
// ErrIndexOutOfRange when there is none. A resend sets the same value, so
// it is sent with go-redis' retries.
func (d *Deque[T]) SetIndex(ctx context.Context, i int64, v T) error {
	return lset(ctx, &d.b, d.c, i, v)
}

// Delete removes the element at index i, like Python's del d[i];
// ErrIndexOutOfRange when there is none. An inner element is replaced by
// a random sentinel that is then removed, so no real element is removed in
// its place. It is sent without transport retries (a resend would remove
// another element): a lost reply is ErrUncertain.
func (d *Deque[T]) Delete(ctx context.Context, i int64) error {
	err := d.b.rt(ctx, "delete", true, func(ctx context.Context) error {
		return runOnce(ctx, d.b.rdb, listPop, []string{d.b.key}, i, "tiercache-sentinel:"+token()).Err()
	})
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("%w: index %d of deque %q", ErrIndexOutOfRange, i, d.b.key)
	}
	return err
}

// Insert inserts v before index i, like Python's deque.insert: a negative
// i counts from the end, and an i out of range inserts at the nearer end.
// It returns the new length. A bounded deque that is full (MaxLen
// elements; always, with MaxLen 0) is left alone and Insert returns an
// error matching ErrIndexOutOfRange, as Python raises IndexError. It is
// one script, sent without transport retries: a lost reply is
// ErrUncertain.
func (d *Deque[T]) Insert(ctx context.Context, i int64, v T) (int64, error) {
	val, err := encode(d.c, d.b.key, v)
	if err != nil {
		return 0, err
	}
	args := []any{i, val}
	if d.bounded {
		args = append(args, strconv.Itoa(d.maxLen))
	}
	var n int64
	err = d.b.rt(ctx, "insert", true, func(ctx context.Context) (err error) {
		n, err = runOnce(ctx, d.b.rdb, listInsert, []string{d.b.key}, args...).Int64()
		return err
	})
	if redis.HasErrorPrefix(err, prefixFull) {
		return 0, fmt.Errorf("%w: deque %q already at its maximum size %d", ErrIndexOutOfRange, d.b.key, d.maxLen)
	}
	return n, err
}

// Contains reports whether an element equals v (by encoding), like
// Python's "v in d".
func (d *Deque[T]) Contains(ctx context.Context, v T) (bool, error) {
	return d.local.contains(ctx, &d.b, d.c, v)
}

// Count returns the number of elements equal to v (by encoding), like
// Python's deque.count.
func (d *Deque[T]) Count(ctx context.Context, v T) (int64, error) {
	return d.local.countOf(ctx, &d.b, d.c, v)
}

// IndexOf returns the index (from the left) of the first element equal to
// v (by encoding), like Python's deque.index(v); ErrNotFound when there is
// none.
func (d *Deque[T]) IndexOf(ctx context.Context, v T) (int64, error) {
	return d.local.indexOf(ctx, &d.b, d.c, v)
}

// IndexOfBetween returns the index of the first element equal to v (by
// encoding) at or after index start and before index stop, like Python's
// deque.index(v, start, stop): negative bounds count from the end and
// bounds out of range are clamped (stop math.MaxInt64 searches to the
// end). ErrNotFound when there is none.
func (d *Deque[T]) IndexOfBetween(ctx context.Context, v T, start, stop int64) (int64, error) {
	return d.local.indexBetween(ctx, &d.b, d.c, v, start, stop)
}

// Reverse reverses the deque in place, like Python's deque.reverse, with
// one script; the deque keeps its TTL. It is sent without transport
// retries (a resend would reverse it back): a lost reply is ErrUncertain.
func (d *Deque[T]) Reverse(ctx context.Context) error { return lreverse(ctx, &d.b) }
