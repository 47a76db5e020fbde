package collections

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
)

// zsetCopy is the local copy of a whole sorted set (Options.Local): its
// members in Redis' order (by score, ties by encoding) and each member's
// rank by its encoding.
type zsetCopy[T any] struct {
	ms   []Scored[T]
	rank map[string]int
}

// local returns the copy of the whole sorted set, reading it (ZRANGE 0 -1
// WITHSCORES) when there is none. ok is false without Options.Local, for a
// set over the local tier's budget or with a member that does not decode,
// and when the read failed: the caller then reads what it needs from
// Redis, which reports the error.
func (z *SortedSet[T]) local(ctx context.Context) (*zsetCopy[T], bool) {
	if z.whole == nil {
		return nil, false
	}
	if c, ok := z.whole.Get(); ok {
		return c, true
	}
	c, ok, err := z.whole.Load(ctx, z.readAll)
	return c, ok && err == nil
}

func (z *SortedSet[T]) readAll(ctx context.Context) (*zsetCopy[T], int, error) {
	var zs []redis.Z
	err := z.b.rt(ctx, "range by rank", false, func(ctx context.Context) (err error) {
		zs, err = z.b.rdb.ZRangeWithScores(ctx, z.b.key, 0, -1).Result()
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	c := &zsetCopy[T]{ms: make([]Scored[T], len(zs)), rank: make(map[string]int, len(zs))}
	size := 0
	for i, m := range zs {
		raw, _ := m.Member.(string)
		v, err := decode(z.c, z.b.key, raw)
		if err != nil {
			return nil, -1, nil // not kept: the reads from Redis report it
		}
		c.ms[i], c.rank[raw] = Scored[T]{v, m.Score}, i
		size += 2*len(raw) + 8 + 2*memberOverhead
	}
	return c, size, nil
}

// Local returns the counters of the sorted set's local copy
// (Options.Local): how many times it was read in full, kept, and found
// over the local tier's budget (then reads go to Redis). Zero without
// Options.Local.
func (z *SortedSet[T]) Local() cache.WholeStats {
	if z.whole == nil {
		return cache.WholeStats{}
	}
	return z.whole.Stats()
}

// localRank returns member's rank in c (from the lowest score), or an
// error matching ErrNotFound.
func (z *SortedSet[T]) localRank(c *zsetCopy[T], member T) (int, error) {
	v, err := encode(z.c, z.b.key, member)
	if err != nil {
		return 0, err
	}
	r, ok := c.rank[string(v)]
	if !ok {
		return 0, fmt.Errorf("%w: member %v of sorted set %q", ErrNotFound, member, z.b.key)
	}
	return r, nil
}

// byRank returns the members of c ranked start to stop (ZRANGE's rules),
// from the highest score with rev, in a slice of the caller's own.
func (c *zsetCopy[T]) byRank(start, stop int64, rev bool) []Scored[T] {
	n := int64(len(c.ms))
	lo, hi := rangeBounds(n, start, stop)
	out := make([]Scored[T], 0, hi-lo)
	for r := lo; r < hi; r++ {
		i := r
		if rev {
			i = n - 1 - r
		}
		out = append(out, c.ms[i])
	}
	return out
}

// byScore returns the bounds of the members of c with a score from min to
// max, both included; ok is false for a NaN bound (Redis refuses it).
func (c *zsetCopy[T]) byScore(min, max float64) (lo, hi int, ok bool) {
	if math.IsNaN(min) || math.IsNaN(max) {
		return 0, 0, false
	}
	lo = sort.Search(len(c.ms), func(i int) bool { return c.ms[i].Score >= min })
	hi = sort.Search(len(c.ms), func(i int) bool { return c.ms[i].Score > max })
	if hi < lo {
		hi = lo
	}
	return lo, hi, true
}
