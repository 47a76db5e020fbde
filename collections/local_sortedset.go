package collections

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
)

// zsetCopy is the local copy of a whole sorted set (Options.Local): its
// members in Redis' order (by score, ties by encoding) and each member's
// rank by its encoding, or, for members of a basic type (a string, an
// integer, a bool: see plainKeys), by its value, which a lookup finds
// without encoding.
type zsetCopy[T any] struct {
	ms      []Scored[T]
	rank    map[string]int // by encoding, unless byValue
	byValue map[any]int
}

// plainKeys reports whether values of T can key a map and are equal
// exactly when their encodings are (for a codec that round-trips them).
func plainKeys[T any]() bool {
	switch reflect.TypeFor[T]().Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

// local returns the copy of the whole sorted set, reading it (ZRANGE 0 -1
// WITHSCORES) when there is none. ok is false without Options.Local, for a
// set over the local tier's budget or with a member that does not decode,
// and when the read failed: the caller then reads what it needs from
// Redis, which reports the error.
func (z *SortedSet[T]) local(ctx context.Context) (*zsetCopy[T], bool) {
	return localCopy(ctx, z.whole, z.readAll)
}

func (z *SortedSet[T]) readAll(ctx context.Context) (*zsetCopy[T], int, error) {
	var zs []redis.Z
	err := z.b.rt(ctx, "range by rank", false, func(ctx context.Context) (err error) {
		zs, err = cache.ReadClient(ctx, z.b.rdb).ZRangeWithScores(ctx, z.b.key, 0, -1).Result()
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	c := &zsetCopy[T]{ms: make([]Scored[T], len(zs))}
	if plainKeys[T]() {
		c.byValue = make(map[any]int, len(zs))
	} else {
		c.rank = make(map[string]int, len(zs))
	}
	size := 0
	for i, m := range zs {
		raw, _ := m.Member.(string)
		v, err := decode(z.c, z.b.key, raw)
		if err != nil {
			return nil, -1, nil // not kept: the reads from Redis report it
		}
		c.ms[i] = Scored[T]{v, m.Score}
		if c.byValue != nil {
			c.byValue[any(v)] = i
		} else {
			c.rank[raw] = i
		}
		size += 2*len(raw) + 8 + 2*memberOverhead
	}
	if c.byValue != nil && len(c.byValue) != len(zs) { // the codec does not round-trip: by encoding
		c.byValue, c.rank = nil, make(map[string]int, len(zs))
		for i, m := range zs {
			c.rank[m.Member.(string)] = i
		}
	}
	return c, size, nil
}

// Local returns the counters of the sorted set's local copy
// (Options.Local): how many times it was read in full, kept, and found
// over the local tier's budget (then reads go to Redis). Zero without
// Options.Local.
func (z *SortedSet[T]) Local() cache.WholeStats {
	return z.whole.Stats()
}

// localRank returns member's rank in c (from the lowest score), or an
// error matching ErrNotFound.
func (z *SortedSet[T]) localRank(c *zsetCopy[T], member T) (int, error) {
	var r int
	var ok bool
	if c.byValue != nil {
		r, ok = c.byValue[any(member)]
	} else {
		v, err := encode(z.c, z.b.key, member)
		if err != nil {
			return 0, err
		}
		r, ok = c.rank[string(v)]
	}
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
	lo, hi = c.scoreBounds(min, max, false, false)
	return lo, hi, true
}

// scoreBounds returns the bounds of the members of c with a score from min
// to max, each bound excluded when its flag says so (none is NaN); hi is
// never below lo.
func (c *zsetCopy[T]) scoreBounds(min, max float64, exMin, exMax bool) (lo, hi int) {
	lo = sort.Search(len(c.ms), func(i int) bool { return c.ms[i].Score > min || (!exMin && c.ms[i].Score == min) })
	hi = sort.Search(len(c.ms), func(i int) bool { return c.ms[i].Score > max || (exMax && c.ms[i].Score == max) })
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// byScoreLimit is RangeByScoreLimit on c: the members scored from min to
// max (bounds excluded as opts says), in opts' order, after offset, at
// most count of them (count -1: all). No bound is NaN, offset is not
// negative.
func (c *zsetCopy[T]) byScoreLimit(min, max float64, offset, count int64, opts RangeOptions) []Scored[T] {
	lo, hi := c.scoreBounds(min, max, opts.ExclusiveMin, opts.ExclusiveMax)
	if offset >= int64(hi-lo) || count == 0 {
		return []Scored[T]{}
	}
	n := int64(hi-lo) - offset
	if count >= 0 && count < n {
		n = count
	}
	if opts.Rev {
		return reversed(c.ms[hi-int(offset)-int(n) : hi-int(offset)])
	}
	return slices.Clone(c.ms[lo+int(offset) : lo+int(offset)+int(n)])
}

// reversed returns the members of ms in reverse order, in a slice of the
// caller's own.
func reversed[T any](ms []Scored[T]) []Scored[T] {
	out := slices.Clone(ms)
	slices.Reverse(out)
	return out
}
