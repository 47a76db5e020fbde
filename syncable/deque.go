package syncable

import (
	"context"
	"fmt"
	"iter"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// DequeOptions are the settings of a [Deque]. The zero value means the
// defaults.
type DequeOptions[T any] struct {
	// DequeOptions are the settings of the collections.Deque of the same
	// name: key prefix, per-round-trip timeout, element codec, and MaxLen,
	// which bounds the in-memory deque the same way (a push past it drops
	// an element from the other end).
	collections.DequeOptions[T]

	// LoadChunk is the number of elements Load reads per round trip.
	// Default DefaultLoadChunk (1000).
	LoadChunk int
}

// Deque is a double-ended queue of T held in memory, with the methods of
// Python's collections.deque, and synced with the Redis list of the
// collections.Deque of the same name, "<prefix>{<name>}:deque". With
// MaxLen, a push that would make it longer drops an element from the other
// end, and Load keeps the MaxLen rightmost elements of a longer Redis list
// (like Python's deque(iterable, maxlen)), which the next Sync trims. Every
// method but Load, Sync and SyncOverwrite works in memory, in O(1) but
// Rotate. A Deque is not safe for concurrent use.
type Deque[T any] struct {
	s      seq[T]
	maxLen int
}

// NewDeque returns an empty Deque for the Redis list called name on rdb. It
// does not talk to Redis. It returns ErrInvalidArgument for the arguments
// collections.NewDeque refuses (a negative MaxLen among them) and a
// negative LoadChunk.
func NewDeque[T any](rdb redis.UniversalClient, name string, opts DequeOptions[T]) (*Deque[T], error) {
	cd, err := collections.NewDeque(rdb, name, opts.DequeOptions)
	if err != nil {
		return nil, invalid(err)
	}
	if opts.MaxLen < 0 { // collections refuses it too; say so here as well
		return nil, fmt.Errorf("%w: deque %q: negative MaxLen %d", ErrInvalidArgument, name, opts.MaxLen)
	}
	b, err := newBase(rdb, name, cd.Key(), "list", opts.Options, opts.LoadChunk)
	if err != nil {
		return nil, err
	}
	c := opts.Codec
	if c == nil {
		c = codec.JSON[T]()
	}
	return &Deque[T]{s: newSeq(b, c), maxLen: opts.MaxLen}, nil
}

// Name returns the deque's name.
func (d *Deque[T]) Name() string { return d.s.b.name }

// Key returns the Redis key of the deque.
func (d *Deque[T]) Key() string { return d.s.b.key }

// MaxLen returns the deque's maximum length, 0 for none.
func (d *Deque[T]) MaxLen() int { return d.maxLen }

// Len returns the number of elements.
func (d *Deque[T]) Len() int { return d.s.r.len() }

// Append adds v at the right end, dropping the leftmost element when the
// deque is at MaxLen.
func (d *Deque[T]) Append(v T) {
	if d.maxLen > 0 && d.s.r.len() >= d.maxLen {
		d.s.r.popFront()
	}
	d.s.r.pushBack(elem[T]{v: v, origin: -1})
}

// AppendLeft adds v at the left end, dropping the rightmost element when
// the deque is at MaxLen.
func (d *Deque[T]) AppendLeft(v T) {
	if d.maxLen > 0 && d.s.r.len() >= d.maxLen {
		d.s.r.popBack()
	}
	d.s.r.pushFront(elem[T]{v: v, origin: -1})
}

// Extend appends values at the right end, in order.
func (d *Deque[T]) Extend(values ...T) {
	for _, v := range values {
		d.Append(v)
	}
}

// ExtendLeft appends values at the left end one after the other (so they
// end up in reverse order, as with Python's extendleft).
func (d *Deque[T]) ExtendLeft(values ...T) {
	for _, v := range values {
		d.AppendLeft(v)
	}
}

// Pop removes the rightmost element and returns it, and reports whether
// there was one.
func (d *Deque[T]) Pop() (T, bool) {
	if d.s.r.len() == 0 {
		var zero T
		return zero, false
	}
	return d.s.r.popBack().v, true
}

// PopLeft removes the leftmost element and returns it, and reports whether
// there was one.
func (d *Deque[T]) PopLeft() (T, bool) {
	if d.s.r.len() == 0 {
		var zero T
		return zero, false
	}
	return d.s.r.popFront().v, true
}

// Peek returns the rightmost element and whether there is one.
func (d *Deque[T]) Peek() (T, bool) {
	if d.s.r.len() == 0 {
		var zero T
		return zero, false
	}
	return d.s.r.at(d.s.r.len() - 1).v, true
}

// PeekLeft returns the leftmost element and whether there is one.
func (d *Deque[T]) PeekLeft() (T, bool) {
	if d.s.r.len() == 0 {
		var zero T
		return zero, false
	}
	return d.s.r.at(0).v, true
}

// Rotate rotates the deque n steps to the right (the last element becomes
// the first), or -n steps to the left when n is negative, like Python's
// deque.rotate. It costs min(k, len-k) moves for a rotation of k.
func (d *Deque[T]) Rotate(n int) {
	l := d.s.r.len()
	if l == 0 {
		return
	}
	k := n % l
	if k < 0 {
		k += l
	}
	d.s.r.rotate(k)
}

// All returns the indexes and elements, from the left.
func (d *Deque[T]) All() iter.Seq2[int, T] { return d.s.r.all }

// Clear removes every element. The next Sync deletes the Redis list.
func (d *Deque[T]) Clear() { d.s.r.clear() }

// Load replaces the in-memory elements with the Redis list's (the MaxLen
// rightmost ones), in one round trip per LoadChunk elements (see
// [Dict.Load]).
func (d *Deque[T]) Load(ctx context.Context) error { return d.s.load(ctx, d.maxLen) }

// Sync makes the Redis list hold exactly the in-memory elements, in one
// atomic round trip that sends only the pushed and replaced elements after
// pushes and pops at the ends (see [List.Sync]); ErrConflict when Redis
// changed since the last Load or Sync.
func (d *Deque[T]) Sync(ctx context.Context) error { return d.s.sync(ctx, false) }

// SyncOverwrite makes the Redis list hold exactly the in-memory elements
// whatever it holds.
func (d *Deque[T]) SyncOverwrite(ctx context.Context) error { return d.s.sync(ctx, true) }
