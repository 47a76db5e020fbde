package collections

import (
	"context"
	_ "embed"
	"fmt"
	"iter"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// More of SortedSet: get-or-set of a score, score ranges with exclusive
// bounds and a window of ranks, and the scan.

var (
	//go:embed sortedset_score_or_set.lua
	sortedSetScoreOrSetSrc string
	sortedSetScoreOrSet    = newScript(sortedSetScoreOrSetSrc)
)

// ScoreOrSet returns member's score, adding member with score first when
// the set does not hold it (get-or-set; dict.setdefault for scores), and
// reports whether this call added it. It is one script, so of two
// concurrent ScoreOrSets of one absent member, one adds it and both return
// its score. A NaN score is ErrInvalidArgument. It is idempotent under
// resend (a request id: a call whose reply was lost and that go-redis sent
// again still reports that it added the member).
func (z *SortedSet[T]) ScoreOrSet(ctx context.Context, member T, score float64) (float64, bool, error) {
	if math.IsNaN(score) {
		return 0, false, fmt.Errorf("%w: NaN score for %v in sorted set %q", ErrInvalidArgument, member, z.b.key)
	}
	v, err := encode(z.c, z.b.key, member)
	if err != nil {
		return 0, false, err
	}
	a := append(sortedSetScoreOrSet.args(2, 5), z.b.keyArg, z.b.req.next(), v, formatScore(score), z.b.window)
	var reply []any
	err = z.b.rtIdem(ctx, "score or set", func(ctx context.Context) (err error) {
		reply, err = sortedSetScoreOrSet.run(ctx, z.b.rdb, false, a).Slice()
		return err
	})
	if err != nil {
		return 0, false, err
	}
	s, added, err := scoreReply(reply)
	if err != nil {
		return 0, false, z.b.fail("score or set", err)
	}
	return s, added, nil
}

// scoreReply reads the {score, flag} reply of sortedset_score_or_set.lua.
func scoreReply(reply []any) (float64, bool, error) {
	if len(reply) != 2 {
		return 0, false, fmt.Errorf("unexpected reply %v", reply)
	}
	raw, _ := reply[0].(string)
	s, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return 0, false, fmt.Errorf("unexpected score %q: %w", raw, err)
	}
	flag, _ := reply[1].(int64)
	return s, flag == 1, nil
}

// RevRangeByScore returns the members with a score from max down to min,
// both included, highest first: RangeByScore in reverse. The bounds come
// in that order, as ZREVRANGEBYSCORE takes them.
func (z *SortedSet[T]) RevRangeByScore(ctx context.Context, max, min float64) ([]Scored[T], error) {
	if c, ok := z.local(ctx); ok {
		if lo, hi, ok := c.byScore(min, max); ok {
			return reversed(c.ms[lo:hi]), nil
		}
	}
	return z.rangeArgs(ctx, "rev range by score", redis.ZRangeArgs{Start: formatScore(max), Stop: formatScore(min), ByScore: true, Rev: true})
}

// RangeOptions are the settings of [SortedSet.RangeByScoreLimit]. The zero
// value means both bounds included, lowest score first.
type RangeOptions struct {
	// ExclusiveMin and ExclusiveMax leave the members scored exactly min
	// or max out of the range. Default false: included.
	ExclusiveMin, ExclusiveMax bool

	// Rev orders the range from the highest score, so that offset skips
	// members from the top. min and max are still the lower and the upper
	// bound. Default false: lowest first.
	Rev bool
}

// RangeByScoreLimit returns up to count members with a score from min to
// max, after skipping the first offset of them (ZRANGE BYSCORE LIMIT), in
// one command: a page of a score range, by score bounds and ranks at once.
// A negative count means every member from offset on; a count of 0 returns
// none. Use math.Inf for open ends, opts for exclusive bounds and the
// reverse order. A NaN bound or a negative offset is ErrInvalidArgument; a
// min above max, or an offset past the range, returns no member.
func (z *SortedSet[T]) RangeByScoreLimit(ctx context.Context, min, max float64, offset, count int64, opts RangeOptions) ([]Scored[T], error) {
	if math.IsNaN(min) || math.IsNaN(max) {
		return nil, fmt.Errorf("%w: NaN score bound for sorted set %q", ErrInvalidArgument, z.b.key)
	}
	if offset < 0 {
		return nil, fmt.Errorf("%w: negative offset %d for sorted set %q", ErrInvalidArgument, offset, z.b.key)
	}
	if count < 0 {
		count = -1 // what Redis takes for "all"
	}
	if c, ok := z.local(ctx); ok {
		return c.byScoreLimit(min, max, offset, count, opts), nil
	}
	lo, hi := scoreBound(min, opts.ExclusiveMin), scoreBound(max, opts.ExclusiveMax)
	// Built by hand: go-redis' ZRangeArgs leaves out a LIMIT of 0 0.
	args := []any{"zrange", z.b.key, lo, hi, "byscore"}
	if opts.Rev {
		args = []any{"zrange", z.b.key, hi, lo, "byscore", "rev"} // REV takes max first
	}
	args = append(args, "limit", offset, count, "withscores")
	var zs []redis.Z
	err := z.b.rt(ctx, "range by score limit", false, func(ctx context.Context) (err error) {
		cmd := redis.NewZSliceCmd(ctx, args...)
		_ = z.b.rdb.Process(ctx, cmd)
		zs, err = cmd.Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	return z.decodeZ(zs)
}

// scoreBound formats a score bound for Redis, "(" first when exclusive.
func scoreBound(f float64, exclusive bool) string {
	if exclusive {
		return "(" + formatScore(f)
	}
	return formatScore(f)
}

// Scan returns the members and their scores as a sequence read with
// ZSCAN, a chunk per round trip, in no particular order, and a function
// that returns the error that ended it early (nil when it ran to the end
// or the loop stopped). Always check it: a failed round trip or an
// undecodable member ends the sequence. Every member present for the whole
// iteration is yielded exactly once, with the score the scan read; members
// added, removed or re-scored meanwhile may or may not be.
func (z *SortedSet[T]) Scan(ctx context.Context) (seq iter.Seq[Scored[T]], errf func() error) {
	var err error
	seq = func(yield func(Scored[T]) bool) {
		err = z.b.scan(ctx, "scan", 2, func(c context.Context, cursor uint64) ([]string, uint64, error) {
			return z.b.rdb.ZScan(c, z.b.key, cursor, "", scanCount).Result()
		}, func(g []string) (bool, error) {
			v, err := decode(z.c, z.b.key, g[0])
			if err != nil {
				return false, err
			}
			s, err := strconv.ParseFloat(g[1], 64)
			if err != nil {
				return false, z.b.fail("scan", fmt.Errorf("score %q of member %q: %w", g[1], g[0], err))
			}
			return yield(Scored[T]{v, s}), nil
		})
	}
	return seq, func() error { return err }
}
