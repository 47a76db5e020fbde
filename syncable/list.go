package syncable

import (
	"context"
	"iter"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// ListOptions are the settings of a [List]. The zero value means the
// defaults.
type ListOptions[T any] struct {
	// ListOptions are the settings of the collections.List of the same
	// name: key prefix, per-round-trip timeout, element codec.
	collections.ListOptions[T]

	// LoadChunk is the number of elements Load reads per round trip.
	// Default DefaultLoadChunk (1000).
	LoadChunk int
}

// List is a sequence of T held in memory, with the methods of a Python
// list, and synced with the Redis list of the collections.List of the same
// name, "<prefix>{<name>}:list", elements encoded with the same codec.
// Indexes count from 0 at the head; negative indexes count from the end.
// Every method but Load, Sync and SyncOverwrite works in memory; pushes and
// pops at either end are O(1). A List is not safe for concurrent use.
type List[T any] struct {
	s seq[T]
}

// NewList returns an empty List for the Redis list called name on rdb. It
// does not talk to Redis. It returns ErrInvalidArgument for the arguments
// collections.NewList refuses and a negative LoadChunk.
func NewList[T any](rdb redis.UniversalClient, name string, opts ListOptions[T]) (*List[T], error) {
	cl, err := collections.NewList(rdb, name, opts.ListOptions)
	if err != nil {
		return nil, invalid(err)
	}
	b, err := newBase(rdb, name, cl.Key(), "list", opts.Options, opts.LoadChunk)
	if err != nil {
		return nil, err
	}
	c := opts.Codec
	if c == nil {
		c = codec.JSON[T]()
	}
	return &List[T]{s: newSeq(b, c)}, nil
}

// Name returns the list's name.
func (l *List[T]) Name() string { return l.s.b.name }

// Key returns the Redis key of the list.
func (l *List[T]) Key() string { return l.s.b.key }

// Len returns the number of elements.
func (l *List[T]) Len() int { return l.s.r.len() }

// Index returns the element at index i and whether there is one.
func (l *List[T]) Index(i int) (T, bool) {
	j, ok := l.s.r.index(i)
	if !ok {
		var zero T
		return zero, false
	}
	return l.s.r.at(j).v, true
}

// SetIndex replaces the element at index i and reports whether there is
// one.
func (l *List[T]) SetIndex(i int, v T) bool {
	j, ok := l.s.r.index(i)
	if ok {
		e := l.s.r.at(j)
		e.v, e.changed = v, true
	}
	return ok
}

// Append adds values at the end, in order.
func (l *List[T]) Append(values ...T) {
	for _, v := range values {
		l.s.r.pushBack(elem[T]{v: v, origin: -1})
	}
}

// Insert inserts v before index i, like Python's list.insert: a negative i
// counts from the end, and an i out of range inserts at the nearer end.
func (l *List[T]) Insert(i int, v T) {
	n := l.s.r.len()
	if i < 0 {
		i = max(i+n, 0)
	}
	l.s.r.insert(min(i, n), elem[T]{v: v, origin: -1})
}

// Pop removes the element at index i and returns it (Pop(-1) takes the last
// one), and reports whether there was one.
func (l *List[T]) Pop(i int) (T, bool) {
	j, ok := l.s.r.index(i)
	if !ok {
		var zero T
		return zero, false
	}
	return l.s.r.remove(j).v, true
}

// All returns the indexes and elements, from the head.
func (l *List[T]) All() iter.Seq2[int, T] { return l.s.r.all }

// Slice returns a copy of the elements, from the head.
func (l *List[T]) Slice() []T {
	out := make([]T, 0, l.s.r.len())
	for _, v := range l.s.r.all {
		out = append(out, v)
	}
	return out
}

// Sort sorts the list by cmp, as slices.SortStableFunc does.
func (l *List[T]) Sort(cmp func(a, b T) int) {
	es := make([]elem[T], l.s.r.len())
	for i := range es {
		es[i] = *l.s.r.at(i)
	}
	slices.SortStableFunc(es, func(a, b elem[T]) int { return cmp(a.v, b.v) })
	for i, e := range es {
		*l.s.r.at(i) = e
	}
}

// Clear removes every element. The next Sync deletes the Redis list.
func (l *List[T]) Clear() { l.s.r.clear() }

// Load replaces the in-memory elements with the Redis list's, in one round
// trip per LoadChunk elements, all of the list at the instant of the first
// (see [Dict.Load]).
func (l *List[T]) Load(ctx context.Context) error { return l.s.load(ctx, 0) }

// Sync makes the Redis list hold exactly the in-memory elements, in one
// atomic round trip. After pushes and pops at the ends and replacements
// (SetIndex), it sends only the pushed and replaced elements; edits in the
// middle make it send more, up to the whole list. To find the changes it
// encodes every element, or only the new and replaced ones when T holds no
// pointers, slices, maps, interfaces or unexported fields. It fails with ErrConflict,
// writing nothing, when Redis changed since the last Load or Sync (see the
// package documentation). An empty list deletes the key.
func (l *List[T]) Sync(ctx context.Context) error { return l.s.sync(ctx, false) }

// SyncOverwrite makes the Redis list hold exactly the in-memory elements
// whatever it holds, sending them all and checking nothing.
func (l *List[T]) SyncOverwrite(ctx context.Context) error { return l.s.sync(ctx, true) }
