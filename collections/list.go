package collections

import (
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

var (
	//go:embed list_insert.lua
	listInsertSrc string
	//go:embed list_pop.lua
	listPopSrc string
	//go:embed list_sort.lua
	listSortSrc string

	listInsert = newScript(listInsertSrc)
	listPop    = newScript(listPopSrc)
	listSort   = newScript(listSortSrc)
)

// ListOptions are the settings of a [List]. The zero value means the
// defaults.
type ListOptions[T any] struct {
	// Options are the settings every collection takes.
	Options

	// Codec encodes the elements. Default codec.JSON[T]().
	Codec codec.Codec[T]
}

// List is a sequence of T in one Redis list, "<prefix>{<name>}:list", with
// the methods of a Python list. Indexes count from 0 at the head; negative
// indexes count from the end (-1 is the last element). Every method is
// atomic: the edits that take several Redis commands (Insert, Pop at an
// inner index, Sort) run as one script. The iteration (All) reads the list
// in chunks. A List is safe for concurrent use.
type List[T any] struct {
	b     base
	c     codec.Codec[T]
	local *listLocal[T] // Options.Local's copy of the list, or nil
}

// NewList returns the List called name on rdb. It does not talk to Redis. It
// returns ErrInvalidArgument for a nil client, an empty name or a name or
// prefix that would break the key's hash tag.
func NewList[T any](rdb redis.UniversalClient, name string, opts ListOptions[T]) (*List[T], error) {
	b, err := newBase(rdb, name, "list", "list", opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Codec == nil {
		opts.Codec = codec.JSON[T]()
	}
	l := &List[T]{b: b, c: opts.Codec}
	if l.local, err = newListLocal(&l.b, l.c); err != nil {
		return nil, err
	}
	return l, nil
}

// Name returns the list's name.
func (l *List[T]) Name() string { return l.b.name }

// Key returns the Redis key of the list.
func (l *List[T]) Key() string { return l.b.key }

// Len returns the number of elements.
func (l *List[T]) Len(ctx context.Context) (int64, error) { return l.local.length(ctx, &l.b) }

// Index returns the element at index i; ErrIndexOutOfRange when there is
// none.
func (l *List[T]) Index(ctx context.Context, i int64) (T, error) {
	return l.local.index(ctx, &l.b, l.c, "index", i)
}

// SetIndex replaces the element at index i; ErrIndexOutOfRange when there is
// none.
func (l *List[T]) SetIndex(ctx context.Context, i int64, v T) error {
	val, err := encode(l.c, l.b.key, v)
	if err != nil {
		return err
	}
	err = l.b.rt(ctx, "set index", true, func(ctx context.Context) error {
		return l.b.rdb.LSet(ctx, l.b.key, i, val).Err()
	})
	if redis.HasErrorPrefix(err, "index out of range") || redis.HasErrorPrefix(err, "no such key") {
		return fmt.Errorf("%w: index %d of list %q", ErrIndexOutOfRange, i, l.b.key)
	}
	return err
}

// Insert inserts v before index i, like Python's list.insert: a negative i
// counts from the end, and an i out of range inserts at the nearer end. It
// returns the new length. The cost is that of the elements between i and
// the nearer end, which the script moves off and back. It is sent without
// transport retries: a lost reply is ErrUncertain.
func (l *List[T]) Insert(ctx context.Context, i int64, v T) (int64, error) {
	val, err := encode(l.c, l.b.key, v)
	if err != nil {
		return 0, err
	}
	var n int64
	err = l.b.rt(ctx, "insert", true, func(ctx context.Context) (err error) {
		n, err = runOnce(ctx, l.b.rdb, listInsert, []string{l.b.key}, i, val).Int64()
		return err
	})
	return n, err
}

// Append adds v at the end and returns the new length.
func (l *List[T]) Append(ctx context.Context, v T) (int64, error) {
	return push(ctx, &l.b, l.c, "append", false, 0, []T{v})
}

// Extend adds values at the end, in order, in one command, and returns the
// new length.
func (l *List[T]) Extend(ctx context.Context, values ...T) (int64, error) {
	if len(values) == 0 {
		return l.Len(ctx)
	}
	return push(ctx, &l.b, l.c, "extend", false, 0, values)
}

// Pop removes the element at index i and returns it (Pop(ctx, -1) takes the
// last one); ErrIndexOutOfRange when there is none. An inner element is
// replaced by a random sentinel that is then removed, so no real element
// is ever removed in its place. It is sent without transport retries: a
// lost reply is ErrUncertain.
func (l *List[T]) Pop(ctx context.Context, i int64) (T, error) {
	var zero T
	var raw string
	err := l.b.rt(ctx, "pop", true, func(ctx context.Context) (err error) {
		raw, err = runOnce(ctx, l.b.rdb, listPop, []string{l.b.key}, i, "tiercache-sentinel:"+token()).Text()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return zero, fmt.Errorf("%w: index %d of list %q", ErrIndexOutOfRange, i, l.b.key)
	}
	if err != nil {
		return zero, err
	}
	return decode(l.c, l.b.key, raw)
}

// Remove removes the first element equal to v (by encoding); ErrNotFound
// when there is none. It is sent without transport retries (a resend would
// remove a second equal element): a lost reply is ErrUncertain.
func (l *List[T]) Remove(ctx context.Context, v T) error {
	val, err := encode(l.c, l.b.key, v)
	if err != nil {
		return err
	}
	var n int64
	err = l.b.rt(ctx, "remove", true, func(ctx context.Context) (err error) {
		n, err = doOnce(ctx, l.b.rdb, "lrem", l.b.key, 1, val).Int64()
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: value %v in list %q", ErrNotFound, v, l.b.key)
	}
	return nil
}

// IndexOf returns the index of the first element equal to v (by encoding);
// ErrNotFound when there is none.
func (l *List[T]) IndexOf(ctx context.Context, v T) (int64, error) {
	return l.local.indexOf(ctx, &l.b, l.c, v)
}

// Range returns the elements from index start to index stop, both included,
// like LRANGE: Range(ctx, 0, -1) is the whole list, and indexes out of range
// are clamped.
func (l *List[T]) Range(ctx context.Context, start, stop int64) ([]T, error) {
	return l.local.lrange(ctx, &l.b, l.c, start, stop)
}

// Trim keeps only the elements from index start to index stop, both
// included, like LTRIM. It is sent without transport retries (a resend
// would trim the trimmed list again): a lost reply is ErrUncertain.
func (l *List[T]) Trim(ctx context.Context, start, stop int64) error {
	return l.b.rt(ctx, "trim", true, func(ctx context.Context) error {
		return doOnce(ctx, l.b.rdb, "ltrim", l.b.key, start, stop).Err()
	})
}

// Sort sorts the list in place by cmp (as slices.SortStableFunc does). It
// reads the list, sorts it here and writes it back with a script that
// checks the list has not changed since it was read; when it has, Sort
// starts again, until ctx ends. The list keeps its TTL.
func (l *List[T]) Sort(ctx context.Context, cmp func(a, b T) int) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, time.Duration(mrand.N(1<<min(attempt, 6)))*time.Millisecond); err != nil {
				return l.b.fail("sort", err)
			}
		}
		raws, err := l.b.lrange(ctx, "sort", 0, -1)
		if err != nil {
			return err
		}
		type elem struct {
			v   T
			raw string
		}
		elems := make([]elem, len(raws))
		h := sha1.New()
		for i, raw := range raws {
			v, err := decode(l.c, l.b.key, raw)
			if err != nil {
				return err
			}
			elems[i] = elem{v, raw}
			h.Write(strconv.AppendInt(nil, int64(len(raw)), 10))
			h.Write([]byte{':'})
			h.Write([]byte(raw))
		}
		slices.SortStableFunc(elems, func(a, b elem) int { return cmp(a.v, b.v) })
		args := make([]any, 1, 1+len(elems))
		args[0] = hex.EncodeToString(h.Sum(nil))
		for _, e := range elems {
			args = append(args, e.raw)
		}
		// A resend of a write that ran finds the list changed (sorted) and
		// answers 0: the next attempt reads it sorted and writes it again.
		var done int
		err = l.b.rt(ctx, "sort", true, func(ctx context.Context) (err error) {
			done, err = listSort.Run(ctx, l.b.rdb, []string{l.b.key}, args...).Int()
			return err
		})
		if err != nil {
			return err
		}
		if done == 1 {
			return nil
		}
	}
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// All returns the elements with their indexes as a sequence read with
// LRANGE, a chunk per round trip (never one per element), and a function
// that returns the error that ended it early (nil when it ran to the end or
// the loop stopped). Always check it. The list is not frozen: an edit made
// meanwhile shifts the indexes of the chunks still to be read.
func (l *List[T]) All(ctx context.Context) (seq iter.Seq2[int64, T], errf func() error) {
	return l.local.all(ctx, &l.b, l.c)
}

// Local returns the counters of the list's local copy (Options.Local):
// how many times it was read in full, kept, and found over the local
// tier's budget (then reads go to Redis). Zero without Options.Local.
func (l *List[T]) Local() cache.WholeStats { return l.local.stats() }

// Clear deletes the list. It returns ErrWrongType, deleting nothing, when
// the key holds another Redis type.
func (l *List[T]) Clear(ctx context.Context) error { return l.b.clear(ctx) }

// Expire makes the whole list expire after ttl (millisecond resolution; at
// least 1ms) and reports whether it exists.
func (l *List[T]) Expire(ctx context.Context, ttl time.Duration) (bool, error) {
	return l.b.expire(ctx, ttl)
}
