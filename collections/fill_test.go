package collections_test

import (
	"context"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// fillOpts gives the fill tests' round trips room for 100k elements on a
// loaded machine (a hang guard only).
var fillOpts = collections.Options{Timeout: time.Minute}

// fillCase is one type's Create and Replace, with contents made from ints.
type fillCase struct {
	key     string
	create  func(ctx context.Context, vals []int) error
	replace func(ctx context.Context, vals []int) error
	read    func(ctx context.Context) (any, error) // the contents as they are
	want    func(vals []int) any                   // the contents vals make
}

// fillCases returns the cases of every single-key data-structure type,
// named after the test.
func fillCases(t *testing.T, rdb redis.UniversalClient) map[string]fillCase {
	name := dsName(t)
	dict, err := collections.NewDict(rdb, name, collections.DictOptions[int, string]{Options: fillOpts})
	require.NoError(t, err)
	ctr, err := collections.NewCounter(rdb, name, collections.CounterOptions[string]{Options: fillOpts, Codec: codec.String()})
	require.NoError(t, err)
	set, err := collections.NewSet(rdb, name, collections.SetOptions[int]{Options: fillOpts})
	require.NoError(t, err)
	list, err := collections.NewList(rdb, name, collections.ListOptions[int]{Options: fillOpts})
	require.NoError(t, err)
	deque, err := collections.NewDeque(rdb, name, collections.DequeOptions[int]{Options: fillOpts})
	require.NoError(t, err)
	queue, err := collections.NewQueue(rdb, name, collections.QueueOptions[int]{Options: fillOpts})
	require.NoError(t, err)
	zset, err := collections.NewSortedSet(rdb, name, collections.SortedSetOptions[int]{Options: fillOpts})
	require.NoError(t, err)

	dictOf := func(vals []int) map[int]string {
		m := make(map[int]string, len(vals))
		for _, v := range vals {
			m[v] = strconv.Itoa(v)
		}
		return m
	}
	countsOf := func(vals []int) map[string]int64 {
		m := make(map[string]int64, len(vals))
		for _, v := range vals {
			m[strconv.Itoa(v)] = int64(v) - 2 // zero and negative counts too
		}
		return m
	}
	setOf := func(vals []int) map[int]struct{} {
		m := make(map[int]struct{}, len(vals))
		for _, v := range vals {
			m[v] = struct{}{}
		}
		return m
	}
	scoredOf := func(vals []int) []collections.Scored[int] {
		out := make([]collections.Scored[int], len(vals))
		for i, v := range vals {
			out[i] = collections.Scored[int]{Value: v, Score: float64(v) / 2}
		}
		slices.SortFunc(out, func(a, b collections.Scored[int]) int { return a.Value - b.Value })
		return out
	}
	ints := func(vals []int) any { return slices.Clone(vals) }
	return map[string]fillCase{
		"Dict": {key: dict.Key(),
			create:  func(ctx context.Context, vals []int) error { return dict.Create(ctx, dictOf(vals)) },
			replace: func(ctx context.Context, vals []int) error { return dict.Replace(ctx, dictOf(vals)) },
			read:    func(ctx context.Context) (any, error) { return dict.ToMap(ctx) },
			want:    func(vals []int) any { return dictOf(vals) }},
		"Counter": {key: ctr.Key(),
			create:  func(ctx context.Context, vals []int) error { return ctr.Create(ctx, countsOf(vals)) },
			replace: func(ctx context.Context, vals []int) error { return ctr.Replace(ctx, countsOf(vals)) },
			read:    func(ctx context.Context) (any, error) { return ctr.ToMap(ctx) },
			want:    func(vals []int) any { return countsOf(vals) }},
		"Set": {key: set.Key(),
			create:  func(ctx context.Context, vals []int) error { return set.Create(ctx, vals...) },
			replace: func(ctx context.Context, vals []int) error { return set.Replace(ctx, vals...) },
			read:    func(ctx context.Context) (any, error) { return set.ToSet(ctx) },
			want:    func(vals []int) any { return setOf(vals) }},
		"List": {key: list.Key(),
			create:  func(ctx context.Context, vals []int) error { return list.Create(ctx, vals...) },
			replace: func(ctx context.Context, vals []int) error { return list.Replace(ctx, vals...) },
			read:    func(ctx context.Context) (any, error) { return list.Range(ctx, 0, -1) },
			want:    ints},
		"Deque": {key: deque.Key(),
			create:  func(ctx context.Context, vals []int) error { return deque.Create(ctx, vals...) },
			replace: func(ctx context.Context, vals []int) error { return deque.Replace(ctx, vals...) },
			read:    func(ctx context.Context) (any, error) { return deque.Range(ctx, 0, -1) },
			want:    ints},
		"Queue": {key: queue.Key(),
			create:  func(ctx context.Context, vals []int) error { return queue.Create(ctx, vals...) },
			replace: func(ctx context.Context, vals []int) error { return queue.Replace(ctx, vals...) },
			read: func(ctx context.Context) (any, error) {
				// The items in the order Get takes them: from the tail.
				raws, err := rdb.LRange(ctx, queue.Key(), 0, -1).Result()
				out := make([]int, len(raws))
				for i, raw := range raws {
					out[len(raws)-1-i], _ = strconv.Atoi(raw)
				}
				return out, err
			},
			want: ints},
		"SortedSet": {key: zset.Key(),
			create: func(ctx context.Context, vals []int) error { return zset.Create(ctx, scoredOf(vals)...) },
			replace: func(ctx context.Context, vals []int) error {
				return zset.Replace(ctx, scoredOf(vals)...)
			},
			read: func(ctx context.Context) (any, error) { return zset.RangeByRank(ctx, 0, -1) },
			want: func(vals []int) any { return scoredOf(vals) }},
	}
}

// TestFill: Create and Replace of every single-key data-structure type,
// on a single server and on a cluster.
func TestFill(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("semantics", func(t *testing.T) {
			for typ, c := range fillCases(t, be.rdb) {
				t.Run(typ, func(t *testing.T) { testFillSemantics(t, be.rdb, c) })
			}
		})
		t.Run("wrong type keeps the data", func(t *testing.T) {
			for typ, c := range fillCases(t, be.rdb) {
				t.Run(typ, func(t *testing.T) {
					ctx := t.Context()
					dsOccupy(t, be.rdb, c.key)
					require.ErrorIs(t, c.create(ctx, []int{1, 2}), collections.ErrWrongType)
					require.ErrorIs(t, c.create(ctx, nil), collections.ErrWrongType)
					require.ErrorIs(t, c.replace(ctx, []int{1, 2}), collections.ErrWrongType)
					require.ErrorIs(t, c.replace(ctx, nil), collections.ErrWrongType)
					dsUntouched(t, be.rdb, c.key)

					// A version key of another type is refused too.
					require.NoError(t, be.rdb.Del(ctx, c.key).Err())
					ver := c.key + ":syncver"
					require.NoError(t, be.rdb.SAdd(ctx, ver, "x").Err())
					require.ErrorIs(t, c.replace(ctx, []int{1}), collections.ErrWrongType)
					require.ErrorIs(t, c.create(ctx, []int{1}), collections.ErrWrongType)
					require.Zero(t, be.rdb.Exists(ctx, c.key).Val(), "nothing written")
					require.Equal(t, []string{"x"}, be.rdb.SMembers(ctx, ver).Val())
				})
			}
		})
		t.Run("large", func(t *testing.T) {
			const n = 100_000
			vals := intsFrom(0, n)
			for typ, c := range fillCases(t, be.rdb) {
				t.Run(typ, func(t *testing.T) {
					ctx := t.Context()
					require.NoError(t, c.create(ctx, vals))
					require.Equal(t, c.want(vals), dsMust[any](t)(c.read(ctx)))
					require.ErrorIs(t, c.create(ctx, vals), collections.ErrExists)
					other := intsFrom(n/2, n)
					require.NoError(t, c.replace(ctx, other))
					require.Equal(t, c.want(other), dsMust[any](t)(c.read(ctx)))
				})
			}
		})
		t.Run("deque maxlen", func(t *testing.T) { testFillDequeMaxLen(t, be.rdb) })
		t.Run("queue order", func(t *testing.T) { testFillQueueOrder(t, be.rdb) })
		t.Run("reliable queue", func(t *testing.T) { testFillReliableQueue(t, be.rdb) })
		t.Run("defaultdict", func(t *testing.T) { testFillDefaultDict(t, be.rdb) })
		t.Run("sortedset NaN", func(t *testing.T) {
			z, err := collections.NewSortedSet(be.rdb, dsName(t), collections.SortedSetOptions[int]{})
			require.NoError(t, err)
			nan := collections.Scored[int]{Value: 1, Score: math.NaN()}
			require.ErrorIs(t, z.Create(t.Context(), nan), collections.ErrInvalidArgument)
			require.ErrorIs(t, z.Replace(t.Context(), nan), collections.ErrInvalidArgument)
			require.Zero(t, be.rdb.Exists(t.Context(), z.Key()).Val())
		})
	})
}

func testFillSemantics(t *testing.T, rdb redis.UniversalClient, c fillCase) {
	ctx := t.Context()
	absent := func() {
		t.Helper()
		require.Zero(t, rdb.Exists(ctx, c.key).Val(), "key %q exists", c.key)
	}
	holds := func(vals []int) {
		t.Helper()
		require.Equal(t, c.want(vals), dsMust[any](t)(c.read(ctx)))
	}

	// No contents on an absent key: it only checks, and creates nothing.
	require.NoError(t, c.create(ctx, nil))
	absent()
	require.NoError(t, c.create(ctx, []int{1, 2, 3}))
	holds([]int{1, 2, 3})

	// It exists: Create writes nothing, with or without contents.
	require.ErrorIs(t, c.create(ctx, []int{4}), collections.ErrExists)
	require.ErrorIs(t, c.create(ctx, nil), collections.ErrExists)
	holds([]int{1, 2, 3})

	// Replace drops the old contents, the TTL and the syncable version key.
	ver := c.key + ":syncver"
	require.NoError(t, rdb.Expire(ctx, c.key, time.Hour).Err())
	require.NoError(t, rdb.Set(ctx, ver, "token", 0).Err())
	require.NoError(t, c.replace(ctx, []int{5, 6}))
	holds([]int{5, 6})
	require.Equal(t, time.Duration(-1), rdb.TTL(ctx, c.key).Val(), "no TTL after replace")
	require.Zero(t, rdb.Exists(ctx, ver).Val(), "version key gone")
	require.NoError(t, c.replace(ctx, []int{5, 6}), "the same replace again")
	holds([]int{5, 6})

	// Replace with nothing deletes; on an absent key it is a no-op.
	require.NoError(t, c.replace(ctx, nil))
	absent()
	require.NoError(t, c.replace(ctx, nil))
	absent()

	// Replace creates an absent key; Create after a Clear works again.
	require.NoError(t, c.replace(ctx, []int{7}))
	holds([]int{7})
	require.NoError(t, rdb.Del(ctx, c.key).Err())
	require.NoError(t, c.create(ctx, []int{8, 9}))
	holds([]int{8, 9})
}

func testFillDequeMaxLen(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	d, err := collections.NewDeque(rdb, dsName(t), collections.DequeOptions[int]{MaxLen: 3})
	require.NoError(t, err)
	// deque(range(6), maxlen=3) holds [3, 4, 5].
	require.NoError(t, d.Create(ctx, 0, 1, 2, 3, 4, 5))
	require.Equal(t, []int{3, 4, 5}, dsMust[[]int](t)(d.Range(ctx, 0, -1)))
	require.ErrorIs(t, d.Create(ctx, 9), collections.ErrExists)
	require.NoError(t, d.Replace(ctx, 7, 8))
	require.Equal(t, []int{7, 8}, dsMust[[]int](t)(d.Range(ctx, 0, -1)))
	require.NoError(t, d.Replace(ctx, intsFrom(0, 1000)...))
	require.Equal(t, []int{997, 998, 999}, dsMust[[]int](t)(d.Range(ctx, 0, -1)))
	_, err = d.Append(ctx, 1000)
	require.NoError(t, err)
	require.Equal(t, []int{998, 999, 1000}, dsMust[[]int](t)(d.Range(ctx, 0, -1)))
}

func testFillQueueOrder(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	q, err := collections.NewQueue(rdb, dsName(t), collections.QueueOptions[string]{Codec: codec.String()})
	require.NoError(t, err)
	require.NoError(t, q.Create(ctx, "a", "b"))
	require.NoError(t, q.Put(ctx, "c"))
	require.ErrorIs(t, q.Create(ctx, "x"), collections.ErrExists)
	for _, want := range []string{"a", "b", "c"} {
		require.Equal(t, want, dsMust[string](t)(q.TryGet(ctx)))
	}
	require.NoError(t, q.Replace(ctx, "d", "e"))
	require.Equal(t, "d", dsMust[string](t)(q.TryGet(ctx)))
	require.Equal(t, "e", dsMust[string](t)(q.TryGet(ctx)))
	_, err = q.TryGet(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)
}

func testFillDefaultDict(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	dd, err := collections.NewDefaultDict(rdb, dsName(t), collections.DefaultDictOptions[string, int]{
		Default: func() int { return 42 }})
	require.NoError(t, err)
	require.NoError(t, dd.Create(ctx, map[string]int{"a": 1}))
	require.ErrorIs(t, dd.Create(ctx, map[string]int{"b": 2}), collections.ErrExists)
	require.Equal(t, 1, dsMust[int](t)(dd.Get(ctx, "a")))
	require.Equal(t, 42, dsMust[int](t)(dd.Get(ctx, "b")), "a missing key gets the default")
	require.NoError(t, dd.Replace(ctx, map[string]int{"c": 3}))
	require.Equal(t, map[string]int{"c": 3}, dsMust[map[string]int](t)(dd.ToMap(ctx)))
}

// TestFillHyperLogLog: Create and Replace of a HyperLogLog, which can be
// empty and exist.
func TestFillHyperLogLog(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := t.Context()
		h, err := collections.NewHyperLogLog(be.rdb, dsName(t), collections.HyperLogLogOptions[int]{Options: fillOpts})
		require.NoError(t, err)
		key := "tc:{" + dsName(t) + "}:hll"

		// No items: an empty HyperLogLog exists, and a second Create fails.
		require.NoError(t, h.Create(ctx, nil))
		require.Equal(t, int64(1), be.rdb.Exists(ctx, key).Val())
		require.Zero(t, dsMust[int64](t)(h.Len(ctx)))
		require.ErrorIs(t, h.Create(ctx, []int{1}), collections.ErrExists)
		require.Zero(t, dsMust[int64](t)(h.Len(ctx)))

		require.NoError(t, h.Replace(ctx, []int{1, 2, 3}))
		require.Equal(t, int64(3), dsMust[int64](t)(h.Len(ctx)))
		require.NoError(t, h.Replace(ctx, []int{4}))
		require.Equal(t, int64(1), dsMust[int64](t)(h.Len(ctx)))
		require.False(t, dsMust[bool](t)(h.Contains(ctx, 1)), "old items gone")
		require.NoError(t, h.Replace(ctx, nil))
		require.Zero(t, dsMust[int64](t)(h.Len(ctx)))
		require.Equal(t, int64(1), be.rdb.Exists(ctx, key).Val())

		// Large: 100k items in one Create, then in one Replace.
		require.NoError(t, h.Clear(ctx))
		const n = 100_000
		require.NoError(t, h.Create(ctx, intsFrom(0, n)))
		require.InEpsilon(t, n, dsMust[int64](t)(h.Len(ctx)), 0.02)
		require.ErrorIs(t, h.Create(ctx, intsFrom(0, n)), collections.ErrExists)
		require.NoError(t, h.Replace(ctx, intsFrom(0, n/10)))
		require.InEpsilon(t, n/10, dsMust[int64](t)(h.Len(ctx)), 0.02)

		// A string that is not a HyperLogLog, and a key of another type,
		// are ErrWrongType and are left as they are.
		dsOccupy(t, be.rdb, key)
		require.ErrorIs(t, h.Create(ctx, []int{1}), collections.ErrWrongType)
		require.ErrorIs(t, h.Replace(ctx, []int{1}), collections.ErrWrongType)
		require.ErrorIs(t, h.Replace(ctx, nil), collections.ErrWrongType)
		dsUntouched(t, be.rdb, key)
		require.NoError(t, be.rdb.Del(ctx, key).Err())
		require.NoError(t, be.rdb.RPush(ctx, key, "x").Err())
		require.ErrorIs(t, h.Create(ctx, []int{1}), collections.ErrWrongType)
		require.ErrorIs(t, h.Replace(ctx, []int{1}), collections.ErrWrongType)
		require.Equal(t, []string{"x"}, be.rdb.LRange(ctx, key, 0, -1).Val())
	})
}

// TestFillBloomFilter: Create and Replace of a Bloom filter, its
// parameters checked.
func TestFillBloomFilter(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := t.Context()
		name := dsName(t)
		bf, err := collections.NewBloomFilter(be.rdb, name, 1000, 0.01, collections.BloomOptions[int]{Options: fillOpts})
		require.NoError(t, err)
		other, err := collections.NewBloomFilter(be.rdb, name, 10, 0.1, collections.BloomOptions[int]{Options: fillOpts})
		require.NoError(t, err)
		bitsKey, paramsKey := "tc:{"+name+"}:bloom", "tc:{"+name+"}:bloom:params"

		// No items: an empty filter with bf's parameters exists.
		require.NoError(t, bf.Create(ctx, nil))
		require.Equal(t, int64(1), be.rdb.Exists(ctx, paramsKey).Val())
		require.Zero(t, dsMust[int64](t)(bf.Len(ctx)))
		require.ErrorIs(t, bf.Create(ctx, []int{1}), collections.ErrExists)
		require.ErrorIs(t, other.Create(ctx, []int{1}), collections.ErrExists, "whatever the parameters")
		_, err = other.Add(ctx, 1)
		require.ErrorIs(t, err, collections.ErrConfigMismatch)
		require.ErrorIs(t, other.Replace(ctx, []int{1}), collections.ErrConfigMismatch)
		require.Zero(t, be.rdb.Exists(ctx, bitsKey).Val(), "nothing written")

		// Replace: the old items are gone (but for false positives).
		old, fresh := intsFrom(0, 200), intsFrom(1000, 200)
		require.NoError(t, bf.Replace(ctx, old))
		require.Equal(t, slices.Repeat([]bool{true}, len(old)), dsMust[[]bool](t)(bf.ContainsMany(ctx, old)))
		require.NoError(t, bf.Replace(ctx, fresh))
		require.Equal(t, slices.Repeat([]bool{true}, len(fresh)), dsMust[[]bool](t)(bf.ContainsMany(ctx, fresh)))
		hits := 0
		for _, ok := range dsMust[[]bool](t)(bf.ContainsMany(ctx, old)) {
			if ok {
				hits++
			}
		}
		require.Less(t, hits, 20, "%d of %d old items still in", hits, len(old))
		require.NoError(t, bf.Replace(ctx, nil))
		require.Zero(t, dsMust[int64](t)(bf.Len(ctx)))

		// Create on an absent filter, after Clear; the other's parameters
		// then win.
		require.NoError(t, bf.Clear(ctx))
		require.NoError(t, other.Create(ctx, []int{1}))
		require.True(t, dsMust[bool](t)(other.Contains(ctx, 1)))
		_, err = bf.Contains(ctx, 1)
		require.ErrorIs(t, err, collections.ErrConfigMismatch)

		// Large: 100k items in one Create.
		big, err := collections.NewBloomFilter(be.rdb, name+"big", 100_000, 0.01, collections.BloomOptions[int]{Options: fillOpts})
		require.NoError(t, err)
		items := intsFrom(0, 100_000)
		require.NoError(t, big.Create(ctx, items))
		require.NotContains(t, dsMust[[]bool](t)(big.ContainsMany(ctx, items)), false)
		require.InEpsilon(t, 100_000, dsMust[int64](t)(big.Len(ctx)), 0.05)
		require.ErrorIs(t, big.Create(ctx, items), collections.ErrExists)

		// Bits of another type: ErrWrongType. A string without parameters:
		// Create says it exists, Replace refuses it. Both left as they are.
		require.NoError(t, bf.Clear(ctx))
		dsOccupy(t, be.rdb, bitsKey)
		require.ErrorIs(t, bf.Create(ctx, []int{1}), collections.ErrExists)
		require.ErrorIs(t, bf.Replace(ctx, []int{1}), collections.ErrConfigMismatch)
		dsUntouched(t, be.rdb, bitsKey)
		require.Zero(t, be.rdb.Exists(ctx, paramsKey).Val())
		require.NoError(t, be.rdb.Del(ctx, bitsKey).Err())
		require.NoError(t, be.rdb.SAdd(ctx, bitsKey, "x").Err())
		require.ErrorIs(t, bf.Create(ctx, []int{1}), collections.ErrWrongType)
		require.ErrorIs(t, bf.Replace(ctx, []int{1}), collections.ErrWrongType)
		require.Equal(t, []string{"x"}, be.rdb.SMembers(ctx, bitsKey).Val())
		require.Zero(t, be.rdb.Exists(ctx, paramsKey).Val())
	})
}

// TestFillLocal: with Options.Local, a Dict, Counter or Set reads its own
// Replace (and its Create after a Clear by another client) at once: both
// drop the local copies.
func TestFillLocal(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := t.Context()
		store, err := cache.NewStore(be.client(t), cache.StoreOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = store.Close() })
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		require.NoError(t, store.WaitCoherent(wctx))
		local := collections.Options{Local: store}
		name := dsName(t)

		d, err := collections.NewDict(be.rdb, name, collections.DictOptions[string, int]{Options: local})
		require.NoError(t, err)
		require.NoError(t, d.Create(ctx, map[string]int{"a": 1}))
		for want := range 5 {
			require.NoError(t, d.Replace(ctx, map[string]int{"a": want}))
			require.Equal(t, want, dsMust[int](t)(d.Get(ctx, "a")))
			require.Equal(t, want, dsMust[int](t)(d.Get(ctx, "a")))
		}
		require.NoError(t, d.Replace(ctx, nil))
		_, err = d.Get(ctx, "a")
		require.ErrorIs(t, err, collections.ErrNotFound)

		c, err := collections.NewCounter(be.rdb, name, collections.CounterOptions[string]{Options: local})
		require.NoError(t, err)
		require.NoError(t, c.Create(ctx, map[string]int64{"x": 3}))
		require.Equal(t, int64(3), dsMust[int64](t)(c.Get(ctx, "x")))
		require.NoError(t, c.Replace(ctx, map[string]int64{"x": 7}))
		require.Equal(t, int64(7), dsMust[int64](t)(c.Get(ctx, "x")))

		s, err := collections.NewSet(be.rdb, name, collections.SetOptions[int]{Options: local})
		require.NoError(t, err)
		require.NoError(t, s.Create(ctx, 1))
		require.True(t, dsMust[bool](t)(s.Contains(ctx, 1)))
		require.NoError(t, s.Replace(ctx, 2))
		require.False(t, dsMust[bool](t)(s.Contains(ctx, 1)))
		require.True(t, dsMust[bool](t)(s.Contains(ctx, 2)))
	})
}
