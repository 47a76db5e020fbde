package collections

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

// SortedSetOptions are the settings of a [SortedSet]. The zero value means
// the defaults.
type SortedSetOptions[T any] struct {
	// Options are the settings every collection takes.
	Options

	// Codec encodes the members. Default codec.JSON[T]().
	Codec codec.Codec[T]
}

// SortedSet is a set of T ordered by a float64 score, in one Redis sorted
// set, "<prefix>{<name>}:sortedset": members are ranked by score, ties by
// their encodings. With IncrScore it is also a counter that keeps its keys
// ordered (redis-collections' SortedSetCounter). Ranks count from 0 at the
// lowest score; negative ranks count from the highest (-1). Score ranges
// are inclusive; use math.Inf for open ends. Every method is one atomic
// command. A SortedSet is safe for concurrent use.
type SortedSet[T any] struct {
	b     base
	c     codec.Codec[T]
	whole *cache.Whole[*zsetCopy[T]] // Options.Local's copy of the set, or nil
}

// Scored is a member of a [SortedSet] and its score.
type Scored[T any] struct {
	Value T
	Score float64
}

// NewSortedSet returns the SortedSet called name on rdb. It does not talk to
// Redis. It returns ErrInvalidArgument for a nil client, an empty name or a
// name or prefix that would break the key's hash tag.
func NewSortedSet[T any](rdb redis.UniversalClient, name string, opts SortedSetOptions[T]) (*SortedSet[T], error) {
	b, err := newBase(rdb, name, "sortedset", "zset", opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Codec == nil {
		opts.Codec = codec.JSON[T]()
	}
	z := &SortedSet[T]{b: b, c: opts.Codec}
	if z.whole, err = newWhole[*zsetCopy[T]](&z.b); err != nil {
		return nil, err
	}
	return z, nil
}

// Name returns the sorted set's name.
func (z *SortedSet[T]) Name() string { return z.b.name }

// Key returns the Redis key of the sorted set.
func (z *SortedSet[T]) Key() string { return z.b.key }

// SetScore adds member with score, or changes its score.
func (z *SortedSet[T]) SetScore(ctx context.Context, member T, score float64) error {
	return z.SetScores(ctx, Scored[T]{member, score})
}

// SetScores adds or re-scores several members in one command: all or none.
// A NaN score is ErrInvalidArgument.
func (z *SortedSet[T]) SetScores(ctx context.Context, members ...Scored[T]) error {
	if len(members) == 0 {
		return nil
	}
	zs := make([]redis.Z, len(members))
	for i, m := range members {
		if math.IsNaN(m.Score) {
			return fmt.Errorf("%w: NaN score for %v in sorted set %q", ErrInvalidArgument, m.Value, z.b.key)
		}
		v, err := encode(z.c, z.b.key, m.Value)
		if err != nil {
			return err
		}
		zs[i] = redis.Z{Score: m.Score, Member: v}
	}
	return z.b.rt(ctx, "set score", true, func(ctx context.Context) error {
		return z.b.rdb.ZAdd(ctx, z.b.key, zs...).Err()
	})
}

// IncrScore adds by to member's score (a missing member starts at 0) and
// returns the new score. It is sent without transport retries: a lost reply
// is ErrUncertain.
func (z *SortedSet[T]) IncrScore(ctx context.Context, member T, by float64) (float64, error) {
	v, err := encode(z.c, z.b.key, member)
	if err != nil {
		return 0, err
	}
	var s float64
	err = z.b.rt(ctx, "incr score", true, func(ctx context.Context) (err error) {
		cmd := doOnce(ctx, z.b.rdb, "zincrby", z.b.key, by, v)
		if err = cmd.Err(); err != nil {
			return err
		}
		switch r := cmd.Val().(type) {
		case float64: // RESP3 double
			s = r
		default:
			s, err = cmd.Float64() // RESP2 bulk string
		}
		return err
	})
	return s, err
}

// Score returns member's score; ErrNotFound when it is not in the set.
func (z *SortedSet[T]) Score(ctx context.Context, member T) (float64, error) {
	if c, ok := z.local(ctx); ok {
		r, err := z.localRank(c, member)
		if err != nil {
			return 0, err
		}
		return c.ms[r].Score, nil
	}
	v, err := encode(z.c, z.b.key, member)
	if err != nil {
		return 0, err
	}
	var s float64
	err = z.b.rt(ctx, "score", false, func(ctx context.Context) (err error) {
		s, err = z.b.rdb.ZScore(ctx, z.b.key, string(v)).Result()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("%w: member %v of sorted set %q", ErrNotFound, member, z.b.key)
	}
	return s, err
}

// Rank returns member's rank from the lowest score (0); ErrNotFound when it
// is not in the set.
func (z *SortedSet[T]) Rank(ctx context.Context, member T) (int64, error) {
	return z.rank(ctx, "rank", member, false)
}

// RevRank returns member's rank from the highest score (0); ErrNotFound when
// it is not in the set.
func (z *SortedSet[T]) RevRank(ctx context.Context, member T) (int64, error) {
	return z.rank(ctx, "rev rank", member, true)
}

func (z *SortedSet[T]) rank(ctx context.Context, op string, member T, rev bool) (int64, error) {
	if c, ok := z.local(ctx); ok {
		r, err := z.localRank(c, member)
		if err != nil {
			return 0, err
		}
		if rev {
			r = len(c.ms) - 1 - r
		}
		return int64(r), nil
	}
	v, err := encode(z.c, z.b.key, member)
	if err != nil {
		return 0, err
	}
	var r int64
	err = z.b.rt(ctx, op, false, func(ctx context.Context) (err error) {
		if rev {
			r, err = z.b.rdb.ZRevRank(ctx, z.b.key, string(v)).Result()
		} else {
			r, err = z.b.rdb.ZRank(ctx, z.b.key, string(v)).Result()
		}
		return err
	})
	if errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("%w: member %v of sorted set %q", ErrNotFound, member, z.b.key)
	}
	return r, err
}

// RangeByRank returns the members ranked start to stop, both included,
// lowest score first (0, -1 is the whole set).
func (z *SortedSet[T]) RangeByRank(ctx context.Context, start, stop int64) ([]Scored[T], error) {
	if c, ok := z.local(ctx); ok {
		return c.byRank(start, stop, false), nil
	}
	return z.rangeArgs(ctx, "range by rank", redis.ZRangeArgs{Start: start, Stop: stop})
}

// RevRangeByRank returns the members ranked start to stop from the highest
// score, both included, highest first: RevRangeByRank(ctx, 0, 9) is the top
// ten.
func (z *SortedSet[T]) RevRangeByRank(ctx context.Context, start, stop int64) ([]Scored[T], error) {
	if c, ok := z.local(ctx); ok {
		return c.byRank(start, stop, true), nil
	}
	return z.rangeArgs(ctx, "rev range by rank", redis.ZRangeArgs{Start: start, Stop: stop, Rev: true})
}

// RangeByScore returns the members with a score from min to max, both
// included, lowest first.
func (z *SortedSet[T]) RangeByScore(ctx context.Context, min, max float64) ([]Scored[T], error) {
	if c, ok := z.local(ctx); ok {
		if lo, hi, ok := c.byScore(min, max); ok {
			return slices.Clone(c.ms[lo:hi:hi]), nil
		}
	}
	return z.rangeArgs(ctx, "range by score", redis.ZRangeArgs{Start: formatScore(min), Stop: formatScore(max), ByScore: true})
}

func (z *SortedSet[T]) rangeArgs(ctx context.Context, op string, a redis.ZRangeArgs) ([]Scored[T], error) {
	a.Key = z.b.key
	var zs []redis.Z
	err := z.b.rt(ctx, op, false, func(ctx context.Context) (err error) {
		zs, err = z.b.rdb.ZRangeArgsWithScores(ctx, a).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	return z.decodeZ(zs)
}

func (z *SortedSet[T]) decodeZ(zs []redis.Z) ([]Scored[T], error) {
	out := make([]Scored[T], len(zs))
	for i, m := range zs {
		raw, _ := m.Member.(string)
		v, err := decode(z.c, z.b.key, raw)
		if err != nil {
			return nil, err
		}
		out[i] = Scored[T]{v, m.Score}
	}
	return out, nil
}

// formatScore formats a score bound for Redis: "-inf" and "+inf" for the
// infinities.
func formatScore(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// CountBetween returns the number of members with a score from min to max,
// both included.
func (z *SortedSet[T]) CountBetween(ctx context.Context, min, max float64) (int64, error) {
	if c, ok := z.local(ctx); ok {
		if lo, hi, ok := c.byScore(min, max); ok {
			return int64(hi - lo), nil
		}
	}
	var n int64
	err := z.b.rt(ctx, "count", false, func(ctx context.Context) (err error) {
		n, err = z.b.rdb.ZCount(ctx, z.b.key, formatScore(min), formatScore(max)).Result()
		return err
	})
	return n, err
}

// Remove removes members and returns how many were in the set. It is
// idempotent (ZREM): after a resend the count misses the members the first
// run removed.
func (z *SortedSet[T]) Remove(ctx context.Context, members ...T) (int64, error) {
	if len(members) == 0 {
		return 0, nil
	}
	args, err := encodeAll(z.c, z.b.key, members)
	if err != nil {
		return 0, err
	}
	var n int64
	err = z.b.rt(ctx, "remove", true, func(ctx context.Context) (err error) {
		n, err = z.b.rdb.ZRem(ctx, z.b.key, args...).Result()
		return err
	})
	return n, err
}

// RemoveByRank removes the members ranked start to stop, both included, and
// returns how many it removed. It is sent without transport retries (a
// resend would remove the members that moved into those ranks): a lost
// reply is ErrUncertain.
func (z *SortedSet[T]) RemoveByRank(ctx context.Context, start, stop int64) (int64, error) {
	var n int64
	err := z.b.rt(ctx, "remove by rank", true, func(ctx context.Context) (err error) {
		n, err = doOnce(ctx, z.b.rdb, "zremrangebyrank", z.b.key, start, stop).Int64()
		return err
	})
	return n, err
}

// RemoveByScore removes the members with a score from min to max, both
// included, and returns how many it removed. It is idempotent: after a
// resend the count misses the members the first run removed.
func (z *SortedSet[T]) RemoveByScore(ctx context.Context, min, max float64) (int64, error) {
	var n int64
	err := z.b.rt(ctx, "remove by score", true, func(ctx context.Context) (err error) {
		n, err = z.b.rdb.ZRemRangeByScore(ctx, z.b.key, formatScore(min), formatScore(max)).Result()
		return err
	})
	return n, err
}

// PopMin removes the member with the lowest score and returns it; ErrEmpty
// when the set is empty. It is sent without transport retries (a resend
// would pop a second member): a lost reply is ErrUncertain.
func (z *SortedSet[T]) PopMin(ctx context.Context) (Scored[T], error) {
	return z.pop(ctx, "pop min", false)
}

// PopMax removes the member with the highest score and returns it; ErrEmpty
// when the set is empty. Like PopMin, it is sent without transport retries.
func (z *SortedSet[T]) PopMax(ctx context.Context) (Scored[T], error) {
	return z.pop(ctx, "pop max", true)
}

func (z *SortedSet[T]) pop(ctx context.Context, op string, highest bool) (Scored[T], error) {
	name := "zpopmin"
	if highest {
		name = "zpopmax"
	}
	var zs []redis.Z
	err := z.b.rt(ctx, op, true, func(ctx context.Context) error {
		cmd := onceZ{redis.NewZSliceCmd(ctx, name, z.b.key)}
		_ = z.b.rdb.Process(ctx, cmd)
		zs, _ = cmd.Result()
		return cmd.Err()
	})
	if err != nil {
		return Scored[T]{}, err
	}
	if len(zs) == 0 {
		return Scored[T]{}, fmt.Errorf("%w: sorted set %q", ErrEmpty, z.b.key)
	}
	out, err := z.decodeZ(zs)
	if err != nil {
		return Scored[T]{}, err
	}
	return out[0], nil
}

// Len returns the number of members.
func (z *SortedSet[T]) Len(ctx context.Context) (int64, error) {
	if c, ok := z.local(ctx); ok {
		return int64(len(c.ms)), nil
	}
	var n int64
	err := z.b.rt(ctx, "len", false, func(ctx context.Context) (err error) {
		n, err = z.b.rdb.ZCard(ctx, z.b.key).Result()
		return err
	})
	return n, err
}

// Clear deletes the sorted set. It returns ErrWrongType, deleting nothing,
// when the key holds another Redis type.
func (z *SortedSet[T]) Clear(ctx context.Context) error { return z.b.clear(ctx) }

// Expire makes the whole sorted set expire after ttl (millisecond
// resolution; at least 1ms) and reports whether it exists.
func (z *SortedSet[T]) Expire(ctx context.Context, ttl time.Duration) (bool, error) {
	return z.b.expire(ctx, ttl)
}
