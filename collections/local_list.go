package collections

import (
	"context"
	"fmt"
	"iter"
	"slices"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

// listLocal is the local copy of a whole Redis list that List and Deque
// read with Options.Local. Its methods on a nil *listLocal report no copy.
type listLocal[T any] struct {
	b *base
	c codec.Codec[T]
	w *cache.Whole[[]T]
}

// newListLocal returns the local copy of b's list, or nil without
// Options.Local.
func newListLocal[T any](b *base, c codec.Codec[T]) (*listLocal[T], error) {
	w, err := newWhole[[]T](b)
	if w == nil || err != nil {
		return nil, err
	}
	return &listLocal[T]{b: b, c: c, w: w}, nil
}

// get returns the copy of the whole list, reading it (LRANGE 0 -1) when
// there is none. ok is false without Options.Local, for a list over the
// local tier's budget or with an element that does not decode, and when
// the read failed: the caller then reads what it needs from Redis, which
// reports the error.
func (l *listLocal[T]) get(ctx context.Context) ([]T, bool) {
	if l == nil {
		return nil, false
	}
	return localCopy(ctx, l.w, l.readAll)
}

func (l *listLocal[T]) readAll(ctx context.Context) ([]T, int, error) {
	raws, err := l.b.lrange(ctx, "iterate", 0, -1)
	if err != nil {
		return nil, 0, err
	}
	vs, size := make([]T, len(raws)), 0
	for i, raw := range raws {
		if vs[i], err = decode(l.c, l.b.key, raw); err != nil {
			return nil, -1, nil // not kept: the reads from Redis report it
		}
		size += len(raw) + memberOverhead
	}
	return vs, size, nil
}

// stats returns the copy's counters (zero without Options.Local).
func (l *listLocal[T]) stats() cache.WholeStats {
	if l == nil {
		return cache.WholeStats{}
	}
	return l.w.Stats()
}

// index returns element i of the list (negative from the end), from the
// copy when there is one, else with LINDEX.
func (l *listLocal[T]) index(ctx context.Context, b *base, c codec.Codec[T], op string, i int64) (T, error) {
	vs, ok := l.get(ctx)
	if !ok {
		return lindex(ctx, b, c, op, i)
	}
	if i < 0 {
		i += int64(len(vs))
	}
	if i < 0 || i >= int64(len(vs)) {
		var zero T
		return zero, fmt.Errorf("%w: index %d of list %q", ErrIndexOutOfRange, i, b.key)
	}
	return vs[i], nil
}

// length returns the length of the list, from the copy when there is one.
func (l *listLocal[T]) length(ctx context.Context, b *base) (int64, error) {
	if vs, ok := l.get(ctx); ok {
		return int64(len(vs)), nil
	}
	return b.llen(ctx)
}

// lrange returns the elements from start to stop, both included (LRANGE's
// rules), in a slice of the caller's own.
func (l *listLocal[T]) lrange(ctx context.Context, b *base, c codec.Codec[T], start, stop int64) ([]T, error) {
	if vs, ok := l.get(ctx); ok {
		lo, hi := rangeBounds(int64(len(vs)), start, stop)
		return slices.Clone(vs[lo:hi:hi]), nil
	}
	raws, err := b.lrange(ctx, "range", start, stop)
	if err != nil {
		return nil, err
	}
	return decodeSlice(c, b.key, raws)
}

// rangeBounds turns LRANGE's start and stop (inclusive, negative from the
// end) on a list of n elements into the bounds of a Go slice.
func rangeBounds(n, start, stop int64) (lo, hi int64) {
	if start < 0 {
		start = max(start+n, 0)
	}
	if stop < 0 {
		stop += n
	}
	stop = min(stop, n-1)
	if start > stop {
		return 0, 0
	}
	return start, stop + 1
}

// all returns the elements with their indexes: those of the copy when
// there is one, else read in chunks (listAll).
func (l *listLocal[T]) all(ctx context.Context, b *base, c codec.Codec[T]) (iter.Seq2[int64, T], func() error) {
	if vs, ok := l.get(ctx); ok {
		return func(yield func(int64, T) bool) {
			for i, v := range vs {
				if !yield(int64(i), v) {
					return
				}
			}
		}, func() error { return nil }
	}
	return listAll(ctx, b, c)
}
