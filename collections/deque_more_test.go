package collections_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

// pyInsert is Python's deque.insert (list.insert) on l.
func pyInsert(l []int, i int64, v int) []int {
	n := int64(len(l))
	if i < 0 {
		i = max(i+n, 0)
	}
	i = min(i, n)
	return slices.Insert(slices.Clone(l), int(i), v)
}

func newBoundedDeque[T any](t testing.TB, rdb redis.UniversalClient, name string, maxLen int) *collections.Deque[T] {
	t.Helper()
	d, err := collections.NewDeque(rdb, name, collections.DequeOptions[T]{MaxLen: maxLen, Bounded: true})
	require.NoError(t, err)
	return d
}

func dequeAll(t *testing.T, d *collections.Deque[int]) []int {
	t.Helper()
	got, err := d.Range(context.Background(), 0, -1)
	require.NoError(t, err)
	if got == nil {
		got = []int{}
	}
	return got
}

func TestDequeMore(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("index set delete", func(t *testing.T) { testDequeIndexes(t, be.rdb) })
		t.Run("insert matches Python", func(t *testing.T) { testDequeInsert(t, be.rdb) })
		t.Run("insert bounded", func(t *testing.T) { testDequeInsertBounded(t, be.rdb) })
		t.Run("maxlen 0", func(t *testing.T) { testDequeMaxLenZero(t, be.rdb) })
		t.Run("search and reverse", func(t *testing.T) { testDequeSearch(t, be.rdb) })
		t.Run("errors", func(t *testing.T) { testDequeMoreErrors(t, be.rdb) })
	})
}

func testDequeIndexes(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDeque[int](t, rdb, dsName(t), 0)
	for _, i := range []int64{0, -1, 1} {
		_, err := d.Index(ctx, i)
		require.ErrorIs(t, err, collections.ErrIndexOutOfRange)
		require.ErrorIs(t, d.SetIndex(ctx, i, 1), collections.ErrIndexOutOfRange)
		require.ErrorIs(t, d.Delete(ctx, i), collections.ErrIndexOutOfRange)
	}
	_, err := d.Extend(ctx, 0, 10, 20, 30, 40)
	require.NoError(t, err)
	require.Equal(t, 10, dsMust[int](t)(d.Index(ctx, 1)))
	require.Equal(t, 40, dsMust[int](t)(d.Index(ctx, -1)))
	require.Equal(t, 0, dsMust[int](t)(d.Index(ctx, -5)))
	for _, i := range []int64{5, -6, math.MaxInt64, math.MinInt64} {
		_, err := d.Index(ctx, i)
		require.ErrorIs(t, err, collections.ErrIndexOutOfRange, "index %d", i)
		require.ErrorIs(t, d.SetIndex(ctx, i, 1), collections.ErrIndexOutOfRange, "set %d", i)
		require.ErrorIs(t, d.Delete(ctx, i), collections.ErrIndexOutOfRange, "delete %d", i)
	}
	require.Equal(t, []int{0, 10, 20, 30, 40}, dequeAll(t, d))
	require.NoError(t, d.SetIndex(ctx, -2, 33))
	require.NoError(t, d.SetIndex(ctx, 0, 1))
	require.Equal(t, []int{1, 10, 20, 33, 40}, dequeAll(t, d))

	model := []int{1, 10, 20, 33, 40}
	for _, i := range []int64{2, -1, 0, -2, 0} {
		require.NoError(t, d.Delete(ctx, i))
		j := i
		if j < 0 {
			j += int64(len(model))
		}
		model = slices.Delete(model, int(j), int(j)+1)
		require.Equal(t, model, dequeAll(t, d), "del d[%d]", i)
	}
	require.Zero(t, dsMust[int64](t)(d.Len(ctx)))

	// Deleting an inner element never removes an equal one elsewhere.
	_, err = d.Extend(ctx, 7, 7, 7, 7)
	require.NoError(t, err)
	require.NoError(t, d.Delete(ctx, 2))
	require.Equal(t, []int{7, 7, 7}, dequeAll(t, d))
}

func testDequeInsert(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDeque[int](t, rdb, dsName(t), 0)
	model := []int{}
	for k, i := range []int64{0, 0, -1, 5, -100, 100, 2, -2, math.MaxInt64, math.MinInt64, 3} {
		n, err := d.Insert(ctx, i, k)
		require.NoError(t, err)
		model = pyInsert(model, i, k)
		require.Equal(t, int64(len(model)), n)
		require.Equal(t, model, dequeAll(t, d), "insert(%d, %d)", i, k)
	}
}

func testDequeInsertBounded(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDeque[int](t, rdb, dsName(t), 3)
	require.True(t, d.Bounded())
	require.Equal(t, int64(1), dsMust[int64](t)(d.Insert(ctx, 0, 1)))
	require.Equal(t, int64(2), dsMust[int64](t)(d.Insert(ctx, 0, 2)))
	require.Equal(t, int64(3), dsMust[int64](t)(d.Insert(ctx, 1, 3)))
	_, err := d.Insert(ctx, 1, 4)
	require.ErrorIs(t, err, collections.ErrIndexOutOfRange)
	require.ErrorContains(t, err, "maximum size")
	require.Equal(t, []int{2, 3, 1}, dequeAll(t, d))

	// Without a bound an Insert always inserts.
	u := newDeque[int](t, rdb, dsName(t)+"u", 0)
	require.False(t, u.Bounded())
	require.Zero(t, u.MaxLen())
	require.Equal(t, int64(1), dsMust[int64](t)(u.Insert(ctx, 0, 1)))
}

func testDequeMaxLenZero(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newBoundedDeque[int](t, rdb, dsName(t), 0)
	require.True(t, d.Bounded())
	require.Zero(t, d.MaxLen())
	for name, push := range map[string]func() (int64, error){
		"Append":     func() (int64, error) { return d.Append(ctx, 1) },
		"AppendLeft": func() (int64, error) { return d.AppendLeft(ctx, 1) },
		"Extend":     func() (int64, error) { return d.Extend(ctx, 1, 2) },
		"ExtendLeft": func() (int64, error) { return d.ExtendLeft(ctx, 1, 2) },
	} {
		n, err := push()
		require.NoError(t, err, name)
		require.Zero(t, n, name)
	}
	_, err := d.Insert(ctx, 0, 1)
	require.ErrorIs(t, err, collections.ErrIndexOutOfRange)
	require.Zero(t, dsMust[int64](t)(d.Len(ctx)))
	require.Zero(t, dsMust[int64](t)(rdb.Exists(ctx, d.Key()).Result()))
	_, err = d.Pop(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)

	// Bounded with a positive MaxLen is the same as MaxLen alone.
	b := newBoundedDeque[int](t, rdb, dsName(t)+"b", 2)
	require.Equal(t, int64(2), dsMust[int64](t)(b.Extend(ctx, 1, 2, 3)))
	require.Equal(t, []int{2, 3}, dequeAll(t, b))

	// A wrong type still says so.
	dsOccupy(t, rdb, d.Key())
	_, err = d.Append(ctx, 1)
	require.ErrorIs(t, err, collections.ErrWrongType)
	dsUntouched(t, rdb, d.Key())
}

func testDequeSearch(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDeque[int](t, rdb, dsName(t), 0)
	require.False(t, dsMust[bool](t)(d.Contains(ctx, 1)))
	require.Zero(t, dsMust[int64](t)(d.Count(ctx, 1)))
	_, err := d.IndexOf(ctx, 1)
	require.ErrorIs(t, err, collections.ErrNotFound)
	require.NoError(t, d.Reverse(ctx))

	model := []int{5, 6, 5, 7, 5}
	_, err = d.Extend(ctx, model...)
	require.NoError(t, err)
	require.True(t, dsMust[bool](t)(d.Contains(ctx, 7)))
	require.False(t, dsMust[bool](t)(d.Contains(ctx, 8)))
	require.Equal(t, int64(3), dsMust[int64](t)(d.Count(ctx, 5)))
	require.Equal(t, int64(3), dsMust[int64](t)(d.IndexOf(ctx, 7)))
	_, err = d.IndexOf(ctx, 8)
	require.ErrorIs(t, err, collections.ErrNotFound)
	bounds := []int64{math.MinInt64, -6, -5, -1, 0, 1, 2, 3, 5, 6, math.MaxInt64}
	for _, v := range []int{5, 6, 7, 8} {
		for _, start := range bounds {
			for _, stop := range bounds {
				want := pyIndex(model, v, start, stop)
				got, err := d.IndexOfBetween(ctx, v, start, stop)
				if want < 0 {
					require.ErrorIs(t, err, collections.ErrNotFound, "index(%d, %d, %d)", v, start, stop)
					continue
				}
				require.NoError(t, err)
				require.Equal(t, want, got, "index(%d, %d, %d)", v, start, stop)
			}
		}
	}
	require.NoError(t, d.Reverse(ctx))
	require.Equal(t, []int{5, 7, 5, 6, 5}, dequeAll(t, d))
}

func testDequeMoreErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	w := newBoundedDeque[int](t, rdb, dsName(t), 5)
	dsOccupy(t, rdb, w.Key())
	for name, op := range map[string]func() error{
		"Index":          func() error { _, err := w.Index(ctx, 0); return err },
		"SetIndex":       func() error { return w.SetIndex(ctx, 0, 1) },
		"Delete":         func() error { return w.Delete(ctx, 0) },
		"Insert":         func() error { _, err := w.Insert(ctx, 0, 1); return err },
		"Contains":       func() error { _, err := w.Contains(ctx, 1); return err },
		"Count":          func() error { _, err := w.Count(ctx, 1); return err },
		"IndexOf":        func() error { _, err := w.IndexOf(ctx, 1); return err },
		"IndexOfBetween": func() error { _, err := w.IndexOfBetween(ctx, 1, 0, 5); return err },
		"Reverse":        func() error { return w.Reverse(ctx) },
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorContains(t, err, w.Key(), name)
	}
	dsUntouched(t, rdb, w.Key())

	d := newDeque[int](t, rdb, dsName(t)+"d", 0)
	require.NoError(t, rdb.RPush(ctx, d.Key(), "not json").Err())
	_, err := d.Index(ctx, 0)
	require.ErrorIs(t, err, collections.ErrDecode)
	_, err = d.Insert(dsCanceled(), 0, 1)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, collections.ErrUncertain)
}

// TestLostRepliesDequeInsert: Insert and Delete, sent without transport
// retries, report a lost reply as ErrUncertain and are never applied
// twice.
func TestLostRepliesDequeInsert(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		ctx := t.Context()
		d, err := collections.NewDeque(lb.rdb, dsName(t), collections.DequeOptions[int]{})
		require.NoError(t, err)
		count := func(times int, op func() error) (ok, unsure int) {
			for range times {
				switch err := op(); {
				case err == nil:
					ok++
				case errors.Is(err, collections.ErrUncertain):
					unsure++
				default:
					t.Fatalf("%v", err)
				}
			}
			return ok, unsure
		}
		ok, unsure := count(200, func() error { _, err := d.Insert(ctx, 1, 1); return err })
		n, err := d.Len(ctx)
		require.NoError(t, err)
		t.Logf("Insert: %d nil, %d uncertain, len %d", ok, unsure, n)
		require.Positive(t, unsure, "no lost reply reached Insert")
		require.GreaterOrEqual(t, int(n), ok)
		require.LessOrEqual(t, int(n), ok+unsure)

		ok, unsure = count(100, func() error { return d.Delete(ctx, -2) })
		lb.heal()
		m, err := d.Len(ctx)
		require.NoError(t, err)
		t.Logf("Delete: %d nil, %d uncertain, len %d", ok, unsure, m)
		require.LessOrEqual(t, int(m), int(n)-ok)
		require.GreaterOrEqual(t, int(m), int(n)-ok-unsure)
	})
}
