package collections

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
)

// What List, Deque and Queue share: they are Redis lists.

// llen returns the length of the list.
func (b *base) llen(ctx context.Context) (int64, error) {
	c, cancel, err := b.begin(ctx, "len")
	if err != nil {
		return 0, err
	}
	defer cancel()
	n, err := b.rdb.LLen(c, b.key).Result()
	if err != nil {
		return 0, b.fail("len", err)
	}
	return n, nil
}

// lrange returns the raw elements from start to stop, inclusive (LRANGE).
func (b *base) lrange(ctx context.Context, op string, start, stop int64) ([]string, error) {
	c, cancel, err := b.begin(ctx, op)
	if err != nil {
		return nil, err
	}
	defer cancel()
	raws, err := b.rdb.LRange(c, b.key, start, stop).Result()
	if err != nil {
		return nil, b.fail(op, err)
	}
	return raws, nil
}

// lindex returns the element at index i, ErrIndexOutOfRange when there is
// none.
func lindex[T any](ctx context.Context, b *base, c codec.Codec[T], op string, i int64) (T, error) {
	var zero T
	rc, cancel, err := b.begin(ctx, op)
	if err != nil {
		return zero, err
	}
	defer cancel()
	raw, err := b.rdb.LIndex(rc, b.key, i).Result()
	if errors.Is(err, redis.Nil) {
		return zero, fmt.Errorf("%w: index %d of list %q", ErrIndexOutOfRange, i, b.key)
	}
	if err != nil {
		return zero, b.fail(op, err)
	}
	return decode(c, b.key, raw)
}

// push runs LPUSH or RPUSH and returns the new length.
func push[T any](ctx context.Context, b *base, c codec.Codec[T], op string, left bool, values []T) (int64, error) {
	args, err := encodeAll(c, b.key, values)
	if err != nil {
		return 0, err
	}
	rc, cancel, err := b.begin(ctx, op)
	if err != nil {
		return 0, err
	}
	defer cancel()
	var cmd *redis.IntCmd
	if left {
		cmd = b.rdb.LPush(rc, b.key, args...)
	} else {
		cmd = b.rdb.RPush(rc, b.key, args...)
	}
	n, err := cmd.Result()
	if err != nil {
		return 0, b.fail(op, err)
	}
	return n, nil
}

// pop runs LPOP or RPOP; an empty list is ErrEmpty.
func pop[T any](ctx context.Context, b *base, c codec.Codec[T], op string, left bool) (T, error) {
	var zero T
	rc, cancel, err := b.begin(ctx, op)
	if err != nil {
		return zero, err
	}
	defer cancel()
	var cmd *redis.StringCmd
	if left {
		cmd = b.rdb.LPop(rc, b.key)
	} else {
		cmd = b.rdb.RPop(rc, b.key)
	}
	raw, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return zero, fmt.Errorf("%w: list %q", ErrEmpty, b.key)
	}
	if err != nil {
		return zero, b.fail(op, err)
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

// bpop waits for an element at one end of the list (BLPOP or BRPOP) until
// one arrives or ctx ends, and returns it raw. It blocks in slices (see
// blockSlice), so a cancellation without a deadline is seen within one.
// When ctx ends first the error matches ErrEmpty and ctx.Err().
func (b *base) bpop(ctx context.Context, op string, left bool) (string, error) {
	cmd := "brpop"
	if left {
		cmd = "blpop"
	}
	slice := blockSlice(b.rdb)
	for {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("%w: %s %q: %w", ErrEmpty, op, b.key, err)
		}
		wait := blockFor(ctx, slice, 0)
		c, cancel, err := b.beginBlocking(ctx, op, wait)
		if err != nil {
			continue // ctx ended: reported above
		}
		var res []string
		switch {
		case wait%time.Second != 0: // Redis takes fractional seconds; go-redis's typed calls do not
			res, err = b.rdb.Do(c, cmd, b.key, formatSeconds(wait)).StringSlice()
		case left:
			res, err = b.rdb.BLPop(c, wait, b.key).Result()
		default:
			res, err = b.rdb.BRPop(c, wait, b.key).Result()
		}
		cancel()
		if errors.Is(err, redis.Nil) || err != nil && ctx.Err() != nil {
			continue // timed out, or ctx ended during the call: wait again or report above
		}
		if err != nil {
			return "", b.fail(op, err)
		}
		if len(res) != 2 {
			return "", b.fail(op, fmt.Errorf("unexpected reply %q", res))
		}
		return res[1], nil
	}
}
