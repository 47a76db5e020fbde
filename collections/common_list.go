package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

// What List, Deque and Queue share: they are Redis lists.

var (
	//go:embed list_push.lua
	listPushSrc string
	//go:embed list_take.lua
	listTakeSrc string

	listPush = newScript(listPushSrc)
	listTake = newScript(listTakeSrc)
)

// llen returns the length of the list.
func (b *base) llen(ctx context.Context) (int64, error) {
	var n int64
	err := b.rt(ctx, "len", false, func(ctx context.Context) (err error) {
		n, err = b.rdb.LLen(ctx, b.key).Result()
		return err
	})
	return n, err
}

// lrange returns the raw elements from start to stop, inclusive (LRANGE).
func (b *base) lrange(ctx context.Context, op string, start, stop int64) ([]string, error) {
	var raws []string
	err := b.rt(ctx, op, false, func(ctx context.Context) (err error) {
		raws, err = cache.ReadClient(ctx, b.rdb).LRange(ctx, b.key, start, stop).Result()
		return err
	})
	return raws, err
}

// lindex returns the element at index i, ErrIndexOutOfRange when there is
// none.
func lindex[T any](ctx context.Context, b *base, c codec.Codec[T], op string, i int64) (T, error) {
	var raw string
	err := b.rt(ctx, op, false, func(ctx context.Context) (err error) {
		raw, err = b.rdb.LIndex(ctx, b.key, i).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		var zero T
		return zero, fmt.Errorf("%w: index %d of list %q", ErrIndexOutOfRange, i, b.key)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return decode(c, b.key, raw)
}

// side names the end of a list for the scripts.
func side(left bool) string {
	if left {
		return "left"
	}
	return "right"
}

// push pushes values at one end (left: LPUSH order) and trims the list to
// maxLen (0: no limit) from the other end, with one script that a resend
// does not apply twice. It returns the new length.
func push[T any](ctx context.Context, b *base, c codec.Codec[T], op string, left bool, maxLen int64, values []T) (int64, error) {
	vals, err := encodeAll(c, b.key, values)
	if err != nil {
		return 0, err
	}
	a := append(listPush.args(2, 5+len(vals)), b.keyArg, b.req.next(), side(left), maxLen, b.window)
	a = append(a, vals...)
	var n int64
	err = b.rtIdem(ctx, op, func(ctx context.Context) (err error) {
		n, err = listPush.run(ctx, b.rdb, false, a).Int64()
		return err
	})
	return n, err
}

// take pops the raw element at one end, with one script that a resend does
// not apply twice. An empty list is redis.Nil.
//
// When the round trip fails after Redis may have run it (the context ended
// during go-redis' resends, the resends ran out), the element the request
// took would be lost: take asks Redis once more for its record, under a
// context that does not end with ctx (bounded by Options.Timeout). If the
// record holds an element, take returns it; if there is none, nothing was
// taken and the error is ctx's (or the network's) without ErrUncertain.
// Only when that check fails too is the error ErrUncertain.
func (b *base) take(ctx context.Context, op string, left bool) (string, error) {
	a := append(listTake.args(2, 4), b.keyArg, b.req.next(), side(left), b.window)
	var raw string
	var sent error // the round trip's own error
	err := b.rtIdem(ctx, op, func(ctx context.Context) error {
		raw, sent = listTake.run(ctx, b.rdb, false, a).Text()
		return sent
	})
	if err == nil || !errors.Is(err, ErrUncertain) {
		return raw, err
	}
	a[5] = "check"
	var kept string
	cerr := b.rt(context.WithoutCancel(ctx), op, false, func(c context.Context) (err error) {
		kept, err = listTake.run(c, b.rdb, false, a).Text()
		return err
	})
	switch {
	case cerr == nil:
		return kept, nil // taken: the element is the caller's
	case errors.Is(cerr, redis.Nil):
		return "", fmt.Errorf("tiercache/collections: %s %q: nothing taken: %w", op, b.key, sent)
	}
	return "", err
}

// pop takes the element at one end; an empty list is ErrEmpty.
func pop[T any](ctx context.Context, b *base, c codec.Codec[T], op string, left bool) (T, error) {
	raw, err := b.take(ctx, op, left)
	if errors.Is(err, redis.Nil) {
		var zero T
		return zero, fmt.Errorf("%w: list %q", ErrEmpty, b.key)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return decode(c, b.key, raw)
}

// listAll returns the elements and their indexes as a sequence read with
// LRANGE, rangeChunk elements per round trip, and the function that
// returns the error that ended it early.
func listAll[T any](ctx context.Context, b *base, c codec.Codec[T]) (iter.Seq2[int64, T], func() error) {
	var err error
	seq := func(yield func(int64, T) bool) {
		for start := int64(0); ; start += rangeChunk {
			var raws []string
			raws, err = b.lrange(ctx, "iterate", start, start+rangeChunk-1)
			if err != nil {
				return
			}
			for i, raw := range raws {
				var v T
				if v, err = decode(c, b.key, raw); err != nil {
					return
				}
				if !yield(start+int64(i), v) {
					return
				}
			}
			if len(raws) < rangeChunk {
				return
			}
		}
	}
	return seq, func() error { return err }
}

// takeWait takes the raw element at one end, waiting until there is one or
// ctx ends, which gives an error matching ErrEmpty and ctx.Err(). Taking is
// the take script, which a resend does not apply twice (a BLPOP or BRPOP
// whose reply is lost would lose the element); waiting is a blocking
// command that changes nothing (see await), in slices (see blockSlice), so
// a cancellation without a deadline is seen within one.
func (b *base) takeWait(ctx context.Context, op string, left bool) (string, error) {
	slice := blockSlice(b.rdb)
	for {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("%w: %s %q: %w", ErrEmpty, op, b.key, err)
		}
		raw, err := b.take(ctx, op, left)
		if err == nil {
			return raw, nil
		}
		if !errors.Is(err, redis.Nil) {
			if ctx.Err() != nil && !errors.Is(err, ErrUncertain) { // nothing taken
				return "", fmt.Errorf("%w: %s %q: %w", ErrEmpty, op, b.key, errors.Join(ctx.Err(), err))
			}
			return "", err
		}
		if err := b.await(ctx, op, left, blockFor(ctx, slice, 0)); err != nil {
			return "", err
		}
	}
}

// await blocks until the list has an element or wait has passed, without
// taking anything: BLMOVE from one end to the same end of the same list
// leaves it unchanged, so a resend is harmless. When ctx ends first the
// error matches ErrEmpty and ctx.Err().
func (b *base) await(ctx context.Context, op string, left bool, wait time.Duration) error {
	c, cancel, err := b.beginBlocking(ctx, op, wait)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEmpty, err)
	}
	defer cancel()
	end := "RIGHT"
	if left {
		end = "LEFT"
	}
	err = b.rdb.Do(c, "blmove", b.key, b.key, end, end, formatSeconds(wait)).Err()
	switch {
	case err == nil, errors.Is(err, redis.Nil):
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %s %q: %w", ErrEmpty, op, b.key, ctx.Err())
	}
	return b.fail(op, err)
}
