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
	w *cache.Whole[*listCopy[T]]
}

// listCopy is a list as read: each element decoded, and as encoded, which
// the searches by encoding (Count, Contains, IndexOf) compare.
type listCopy[T any] struct {
	vs   []T
	raws []string
}

// newListLocal returns the local copy of b's list, or nil without
// Options.Local.
func newListLocal[T any](b *base, c codec.Codec[T]) (*listLocal[T], error) {
	w, err := newWhole[*listCopy[T]](b)
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
	if lc, ok := l.copy(ctx); ok {
		return lc.vs, true
	}
	return nil, false
}

// copy is get with the elements' encodings.
func (l *listLocal[T]) copy(ctx context.Context) (*listCopy[T], bool) {
	if l == nil {
		return nil, false
	}
	return localCopy(ctx, l.w, l.readAll)
}

func (l *listLocal[T]) readAll(ctx context.Context) (*listCopy[T], int, error) {
	raws, err := l.b.lrange(ctx, "iterate", 0, -1)
	if err != nil {
		return nil, 0, err
	}
	vs, size := make([]T, len(raws)), 0
	for i, raw := range raws {
		if vs[i], err = decode(l.c, l.b.key, raw); err != nil {
			return nil, -1, nil // not kept: the reads from Redis report it
		}
		size += 2*len(raw) + memberOverhead // the encoding and the decoded form
	}
	return &listCopy[T]{vs: vs, raws: raws}, size, nil
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

// slice returns the elements of the Python slice s, from the copy when
// there is one, else with list_slice.lua.
func (l *listLocal[T]) slice(ctx context.Context, b *base, c codec.Codec[T], s Slice) ([]T, error) {
	sa, err := s.args(b.key)
	if err != nil {
		return nil, err
	}
	if vs, ok := l.get(ctx); ok {
		start, step, n := s.indices(int64(len(vs)))
		out := make([]T, n)
		for k := range out {
			out[k] = vs[start+int64(k)*step]
		}
		return out, nil
	}
	var raws []string
	err = b.rt(ctx, "slice", false, func(ctx context.Context) (err error) {
		a := append(listSlice.args(1, 6), b.key, "get")
		raws, err = listSlice.run(ctx, b.rdb, false, append(append(a, sa...), "")).StringSlice()
		return err
	})
	if err != nil {
		return nil, err
	}
	return decodeSlice(c, b.key, raws)
}

// indices turns s into the first index, the step and the number of
// elements it selects in a list of n elements: Python's slice.indices, as
// list_slice.lua computes it. s's step is not 0.
func (s Slice) indices(n int64) (start, step, count int64) {
	step = 1
	if s.Step != nil {
		step = *s.Step
	}
	lower, upper := int64(0), n
	if step < 0 {
		lower, upper = -1, n-1
	}
	bound := func(p *int64, def int64) int64 {
		if p == nil {
			return def
		}
		i := *p
		switch {
		case i < 0:
			i = max(i+n, lower)
		case i > upper:
			i = upper
		}
		return i
	}
	var stop int64
	if step < 0 {
		start, stop = bound(s.Start, upper), bound(s.Stop, lower)
		if stop < start {
			count = (start-stop-1)/-step + 1
		}
	} else {
		start, stop = bound(s.Start, lower), bound(s.Stop, upper)
		if start < stop {
			count = (stop-start-1)/step + 1
		}
	}
	return start, step, count
}

// search returns the index of the first element encoded as val in [start,
// stop) (list.index's clamped bounds), or -1; ok is false without a copy.
func (l *listLocal[T]) search(ctx context.Context, val []byte, start, stop int64) (i int64, ok bool) {
	lc, ok := l.copy(ctx)
	if !ok {
		return -1, false
	}
	n := int64(len(lc.raws))
	clamp := func(i int64) int64 {
		if i < 0 {
			return max(i+n, 0)
		}
		return min(i, n)
	}
	for i := clamp(start); i < clamp(stop); i++ {
		if lc.raws[i] == string(val) {
			return i, true
		}
	}
	return -1, true
}

// count returns the number of elements encoded as val; ok is false without
// a copy.
func (l *listLocal[T]) count(ctx context.Context, val []byte) (n int64, ok bool) {
	lc, ok := l.copy(ctx)
	if !ok {
		return 0, false
	}
	for _, raw := range lc.raws {
		if raw == string(val) {
			n++
		}
	}
	return n, true
}
