package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
)

// The Python list methods that List (and, where Python's deque has them,
// Deque) adds on top of list.go: counting, bounded search, reversing and
// slices with steps.

var (
	//go:embed list_slice.lua
	listSliceSrc string
	//go:embed list_reverse.lua
	listReverseSrc string
	//go:embed list_count.lua
	listCountSrc string
	//go:embed list_index.lua
	listIndexSrc string

	listSlice   = newScript(listSliceSrc)
	listReverse = newScript(listReverseSrc)
	listCount   = newScript(listCountSrc)
	listIndex   = newScript(listIndexSrc)
)

// prefixSize is raised by list_slice.lua when an extended slice is
// assigned a sequence of another length.
const prefixSize = "TCSIZE"

// Slice is a Python slice, [Start:Stop:Step], of a [List]. A nil field is
// an omitted one, as Python's None: the zero Slice is [:], the whole list.
// The rules are Python's (slice.indices): Step defaults to 1 and must not
// be 0; a negative bound counts from the end; a bound out of range is
// clamped; an omitted bound is the start or the end in the step's
// direction, so Slice{Step: new(int64(-1))} is [::-1], the list reversed.
type Slice struct {
	Start *int64 // first index; nil: from the first element in the step's direction
	Stop  *int64 // index not reached; nil: to the last element in the step's direction
	Step  *int64 // distance between indexes; nil: 1; 0 is ErrInvalidArgument
}

// String returns the slice in Python's notation, such as "[1::-2]".
func (s Slice) String() string {
	f := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	var b strings.Builder
	b.WriteString("[" + f(s.Start) + ":" + f(s.Stop))
	if s.Step != nil {
		b.WriteString(":" + f(s.Step))
	}
	b.WriteString("]")
	return b.String()
}

// args returns the slice as list_slice.lua's ARGV[2..4], or
// ErrInvalidArgument for a zero step.
func (s Slice) args(key string) ([]any, error) {
	f := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	if s.Step != nil && *s.Step == 0 {
		return nil, fmt.Errorf("%w: slice %s of list %q: step 0", ErrInvalidArgument, s, key)
	}
	return []any{f(s.Start), f(s.Stop), f(s.Step)}, nil
}

// unit reports whether the slice's step is 1 (a plain range).
func (s Slice) unit() bool { return s.Step == nil || *s.Step == 1 }

// Count returns the number of elements equal to v (by encoding), like
// Python's list.count.
func (l *List[T]) Count(ctx context.Context, v T) (int64, error) {
	return l.local.countOf(ctx, &l.b, l.c, v)
}

// Contains reports whether an element equals v (by encoding), like
// Python's "v in l".
func (l *List[T]) Contains(ctx context.Context, v T) (bool, error) {
	return l.local.contains(ctx, &l.b, l.c, v)
}

// IndexOfBetween returns the index of the first element equal to v (by
// encoding) at or after index start and before index stop, like Python's
// list.index(v, start, stop): negative bounds count from the end and
// bounds out of range are clamped (stop math.MaxInt64 searches to the
// end). ErrNotFound when there is none.
func (l *List[T]) IndexOfBetween(ctx context.Context, v T, start, stop int64) (int64, error) {
	return l.local.indexBetween(ctx, &l.b, l.c, v, start, stop)
}

// Reverse reverses the list in place, like Python's list.reverse, with
// one script; the list keeps its TTL. It is sent without transport
// retries (a resend would reverse it back): a lost reply is ErrUncertain.
func (l *List[T]) Reverse(ctx context.Context) error { return lreverse(ctx, &l.b) }

// Slice returns the elements of the slice s, like Python's l[start:stop:step]
// (see [Slice] for the rules): Slice(ctx, Slice{Step: new(int64(-2))}) is
// every other element from the last one back. It is one script reading
// the range the slice spans. A zero step is ErrInvalidArgument.
func (l *List[T]) Slice(ctx context.Context, s Slice) ([]T, error) {
	return l.local.slice(ctx, &l.b, l.c, s)
}

// SetSlice assigns values to the slice s, like Python's
// l[start:stop:step] = values, in one script; the list keeps its TTL. With
// step 1 (or none) the range is replaced by values, whatever their number,
// so the list may grow or shrink (when stop is before start, values are
// inserted at start); this form is sent without transport retries, and a
// lost reply is ErrUncertain. With another step, values must be as many as
// the slice's elements, or SetSlice returns ErrInvalidArgument and writes
// nothing; this form sets each index to its value, which a resend does not
// change. A zero step is ErrInvalidArgument.
func (l *List[T]) SetSlice(ctx context.Context, s Slice, values []T) error {
	sa, err := s.args(l.b.key)
	if err != nil {
		return err
	}
	vals, err := encodeAll(l.c, l.b.key, values)
	if err != nil {
		return err
	}
	a := append(listSlice.args(1, 6+len(vals)), l.b.key, "set")
	a = append(append(append(a, sa...), ""), vals...)
	err = l.b.rt(ctx, "set slice", true, func(ctx context.Context) error {
		return listSlice.run(ctx, l.b.rdb, s.unit(), a).Err()
	})
	if redis.HasErrorPrefix(err, prefixSize) {
		var re redis.Error
		errors.As(err, &re)
		msg := strings.TrimPrefix(strings.TrimPrefix(re.Error(), "ERR "), prefixSize+" ")
		return fmt.Errorf("%w: slice %s of list %q: %s", ErrInvalidArgument, s, l.b.key, msg)
	}
	return err
}

// DeleteSlice removes the elements of the slice s, like Python's
// del l[start:stop:step], in one script, and returns how many it removed;
// the list keeps its TTL. The elements of a step other than 1 or -1 are
// replaced by a random sentinel that is then removed, so no real element
// is removed in their place. It is sent without transport retries (a
// resend would remove more): a lost reply is ErrUncertain. A zero step is
// ErrInvalidArgument.
func (l *List[T]) DeleteSlice(ctx context.Context, s Slice) (int64, error) {
	sa, err := s.args(l.b.key)
	if err != nil {
		return 0, err
	}
	a := append(listSlice.args(1, 6), l.b.key, "del")
	a = append(append(a, sa...), "tiercache-sentinel:"+token())
	var n int64
	err = l.b.rt(ctx, "delete slice", true, func(ctx context.Context) (err error) {
		n, err = listSlice.run(ctx, l.b.rdb, true, a).Int64()
		return err
	})
	return n, err
}

// countOf counts the elements equal to v.
func (l *listLocal[T]) countOf(ctx context.Context, b *base, c codec.Codec[T], v T) (int64, error) {
	val, err := encode(c, b.key, v)
	if err != nil {
		return 0, err
	}
	if n, ok := l.count(ctx, val); ok {
		return n, nil
	}
	var n int64
	err = b.rt(ctx, "count", false, func(ctx context.Context) (err error) {
		n, err = listCount.run(ctx, b.rdb, false, append(listCount.args(1, 2), b.key, val)).Int64()
		return err
	})
	return n, err
}

// contains reports whether an element equals v.
func (l *listLocal[T]) contains(ctx context.Context, b *base, c codec.Codec[T], v T) (bool, error) {
	_, found, err := l.first(ctx, b, c, "contains", v)
	return found, err
}

// indexBetween returns the index of the first element equal to v in
// [start, stop), ErrNotFound when there is none. It and the searches next
// to it read the copy when there is one, else Redis.
func (l *listLocal[T]) indexBetween(ctx context.Context, b *base, c codec.Codec[T], v T, start, stop int64) (int64, error) {
	val, err := encode(c, b.key, v)
	if err != nil {
		return 0, err
	}
	if i, ok := l.search(ctx, val, start, stop); ok {
		if i < 0 {
			return 0, fmt.Errorf("%w: value %v between %d and %d in list %q", ErrNotFound, v, start, stop, b.key)
		}
		return i, nil
	}
	a := append(listIndex.args(1, 4), b.key, val, strconv.FormatInt(start, 10), strconv.FormatInt(stop, 10))
	var i int64
	err = b.rt(ctx, "index of", false, func(ctx context.Context) (err error) {
		i, err = listIndex.run(ctx, b.rdb, false, a).Int64()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("%w: value %v between %d and %d in list %q", ErrNotFound, v, start, stop, b.key)
	}
	return i, err
}

// lreverse reverses the list, without transport retries.
func lreverse(ctx context.Context, b *base) error {
	return b.rt(ctx, "reverse", true, func(ctx context.Context) error {
		return runOnce(ctx, b.rdb, listReverse, []string{b.key}).Err()
	})
}

// lset replaces the element at index i (LSET, which a resend does not
// change); ErrIndexOutOfRange when there is none.
func lset[T any](ctx context.Context, b *base, c codec.Codec[T], i int64, v T) error {
	val, err := encode(c, b.key, v)
	if err != nil {
		return err
	}
	err = b.rt(ctx, "set index", true, func(ctx context.Context) error {
		return b.rdb.LSet(ctx, b.key, i, val).Err()
	})
	if redis.HasErrorPrefix(err, "index out of range") || redis.HasErrorPrefix(err, "no such key") {
		return fmt.Errorf("%w: index %d of list %q", ErrIndexOutOfRange, i, b.key)
	}
	return err
}

// indexOf returns the index of the first element equal to v (LPOS),
// ErrNotFound when there is none.
func (l *listLocal[T]) indexOf(ctx context.Context, b *base, c codec.Codec[T], v T) (int64, error) {
	i, found, err := l.first(ctx, b, c, "index of", v)
	if err == nil && !found {
		return 0, fmt.Errorf("%w: value %v in list %q", ErrNotFound, v, b.key)
	}
	return i, err
}

// first returns the index of the first element equal to v, from the copy
// when there is one, else with LPOS (operation op); found is false when
// there is none.
func (l *listLocal[T]) first(ctx context.Context, b *base, c codec.Codec[T], op string, v T) (i int64, found bool, err error) {
	val, err := encode(c, b.key, v)
	if err != nil {
		return 0, false, err
	}
	if i, ok := l.search(ctx, val, 0, math.MaxInt64); ok {
		return i, i >= 0, nil
	}
	err = b.rt(ctx, op, false, func(ctx context.Context) (err error) {
		i, err = b.rdb.LPos(ctx, b.key, string(val), redis.LPosArgs{}).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	return i, err == nil, err
}
