package collections_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

// pySlice is Python's slice.indices(n): the first index, the step and the
// number of elements of s on a sequence of n; ok is false for step 0.
func pySlice(s collections.Slice, n int64) (start, step, count int64, ok bool) {
	step = 1
	if s.Step != nil {
		step = *s.Step
	}
	if step == 0 {
		return 0, 0, 0, false
	}
	lower, upper := int64(0), n
	if step < 0 {
		lower, upper = -1, n-1
	}
	bound := func(p *int64, def int64) int64 {
		if p == nil {
			return def
		}
		i := *p
		if i < 0 {
			i += n
			if i < lower {
				i = lower
			}
		} else if i > upper {
			i = upper
		}
		return i
	}
	var stop int64
	if step < 0 {
		start, stop = bound(s.Start, upper), bound(s.Stop, lower)
		if stop < start {
			count = (start-stop-1)/(-step) + 1
		}
	} else {
		start, stop = bound(s.Start, lower), bound(s.Stop, upper)
		if start < stop {
			count = (stop-start-1)/step + 1
		}
	}
	return start, step, count, true
}

// pyGet is l[s].
func pyGet(l []int, s collections.Slice) []int {
	start, step, count, _ := pySlice(s, int64(len(l)))
	out := []int{}
	for k := range count {
		out = append(out, l[start+k*step])
	}
	return out
}

// pySet is l[s] = vals; ok is false when Python raises ValueError.
func pySet(l []int, s collections.Slice, vals []int) ([]int, bool) {
	start, step, count, _ := pySlice(s, int64(len(l)))
	l = append([]int{}, l...)
	if step != 1 {
		if int64(len(vals)) != count {
			return l, false
		}
		for k, v := range vals {
			l[start+int64(k)*step] = v
		}
		return l, true
	}
	stop := start + count // count is 0 when stop <= start
	out := append([]int{}, l[:start]...)
	return append(append(out, vals...), l[stop:]...), true
}

// pyDel is del l[s].
func pyDel(l []int, s collections.Slice) []int {
	start, step, count, _ := pySlice(s, int64(len(l)))
	drop := map[int64]bool{}
	for k := range count {
		drop[start+k*step] = true
	}
	out := []int{}
	for i, v := range l {
		if !drop[int64(i)] {
			out = append(out, v)
		}
	}
	return out
}

// pyIndex is l.index(v, start, stop), -1 when absent.
func pyIndex(l []int, v int, start, stop int64) int64 {
	n := int64(len(l))
	clamp := func(i int64) int64 {
		if i < 0 {
			return max(i+n, 0)
		}
		return min(i, n)
	}
	for i := clamp(start); i < clamp(stop); i++ {
		if l[i] == v {
			return i
		}
	}
	return -1
}

func ip(i int64) *int64 { return &i }

func seq(n int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = i * 10
	}
	return l
}

// The model agrees with what CPython prints for these.
func TestPySliceModel(t *testing.T) {
	l := seq(7) // [0 10 20 30 40 50 60]
	for _, c := range []struct {
		s    collections.Slice
		want []int
	}{
		{collections.Slice{}, l},
		{collections.Slice{Step: ip(-1)}, []int{60, 50, 40, 30, 20, 10, 0}},
		{collections.Slice{Step: ip(-2)}, []int{60, 40, 20, 0}},
		{collections.Slice{Start: ip(1), Step: ip(-2)}, []int{10}},
		{collections.Slice{Start: ip(-2), Stop: ip(1), Step: ip(-1)}, []int{50, 40, 30, 20}},
		{collections.Slice{Start: ip(10), Stop: ip(-10), Step: ip(-3)}, []int{60, 30, 0}},
		{collections.Slice{Start: ip(2), Stop: ip(-2), Step: ip(2)}, []int{20, 40}},
		{collections.Slice{Start: ip(5), Stop: ip(2)}, []int{}},
		{collections.Slice{Start: ip(-100), Stop: ip(100), Step: ip(3)}, []int{0, 30, 60}},
	} {
		require.Equal(t, c.want, pyGet(l, c.s), c.s.String())
	}
	got, _ := pySet(l, collections.Slice{Start: ip(5), Stop: ip(2)}, []int{1, 2})
	require.Equal(t, []int{0, 10, 20, 30, 40, 1, 2, 50, 60}, got)
	require.Equal(t, []int{10, 30, 50}, pyDel(l, collections.Slice{Step: ip(2)}))
	require.Equal(t, "[1::-2]", collections.Slice{Start: ip(1), Step: ip(-2)}.String())
	require.Equal(t, "[:]", collections.Slice{}.String())
}

var (
	sliceBounds = []*int64{nil, ip(-10), ip(-7), ip(-3), ip(-1), ip(0), ip(1), ip(2), ip(5), ip(10), ip(math.MinInt64), ip(math.MaxInt64)}
	sliceSteps  = []*int64{nil, ip(1), ip(2), ip(3), ip(-1), ip(-2), ip(-3), ip(math.MaxInt64), ip(math.MinInt64)}
	writeBounds = []*int64{nil, ip(-3), ip(-1), ip(0), ip(2), ip(10)}
	writeSteps  = []*int64{nil, ip(2), ip(-1), ip(-2), ip(3)}
)

func TestListMore(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("slice matches Python", func(t *testing.T) { testListSliceGet(t, be.rdb) })
		t.Run("set slice matches Python", func(t *testing.T) { testListSliceSet(t, be.rdb) })
		t.Run("delete slice matches Python", func(t *testing.T) { testListSliceDel(t, be.rdb) })
		t.Run("count contains index reverse", func(t *testing.T) { testListSearch(t, be.rdb) })
		t.Run("ttl kept", func(t *testing.T) { testListMoreTTL(t, be.rdb) })
		t.Run("errors", func(t *testing.T) { testListMoreErrors(t, be.rdb) })
	})
}

// reset makes l hold want.
func reset(t *testing.T, l *collections.List[int], want []int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, l.Clear(ctx))
	_, err := l.Extend(ctx, want...)
	require.NoError(t, err)
}

func all(t *testing.T, l *collections.List[int]) []int {
	t.Helper()
	got, err := l.Range(context.Background(), 0, -1)
	require.NoError(t, err)
	if got == nil {
		got = []int{}
	}
	return got
}

func testListSliceGet(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 7} {
		l := newList[int](t, rdb, fmt.Sprint(dsName(t), n))
		reset(t, l, seq(n))
		for _, start := range sliceBounds {
			for _, stop := range sliceBounds {
				for _, step := range sliceSteps {
					s := collections.Slice{Start: start, Stop: stop, Step: step}
					got, err := l.Slice(ctx, s)
					require.NoError(t, err, s.String())
					if got == nil {
						got = []int{}
					}
					require.Equal(t, pyGet(seq(n), s), got, "len %d %s", n, s)
				}
			}
		}
	}
}

func testListSliceSet(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 6} {
		l := newList[int](t, rdb, fmt.Sprint(dsName(t), n))
		for _, start := range writeBounds {
			for _, stop := range writeBounds {
				for _, step := range writeSteps {
					s := collections.Slice{Start: start, Stop: stop, Step: step}
					_, _, count, _ := pySlice(s, int64(n))
					for _, k := range []int64{0, 1, 3, count, count + 1} {
						vals := make([]int, k)
						for i := range vals {
							vals[i] = -1 - i
						}
						reset(t, l, seq(n))
						want, ok := pySet(seq(n), s, vals)
						err := l.SetSlice(ctx, s, vals)
						if ok {
							require.NoError(t, err, "len %d %s = %v", n, s, vals)
						} else {
							require.ErrorIs(t, err, collections.ErrInvalidArgument, "len %d %s = %v", n, s, vals)
						}
						require.Equal(t, want, all(t, l), "len %d %s = %v", n, s, vals)
					}
				}
			}
		}
	}
}

func testListSliceDel(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	for _, n := range []int{0, 1, 6} {
		l := newList[int](t, rdb, fmt.Sprint(dsName(t), n))
		for _, start := range writeBounds {
			for _, stop := range writeBounds {
				for _, step := range writeSteps {
					s := collections.Slice{Start: start, Stop: stop, Step: step}
					reset(t, l, seq(n))
					_, _, count, _ := pySlice(s, int64(n))
					got, err := l.DeleteSlice(ctx, s)
					require.NoError(t, err, "len %d del %s", n, s)
					require.Equal(t, count, got, "len %d del %s", n, s)
					require.Equal(t, pyDel(seq(n), s), all(t, l), "len %d del %s", n, s)
				}
			}
		}
	}

	// The sentinel never takes a real element's place: equal elements
	// elsewhere stay.
	l := newList[int](t, rdb, dsName(t)+"dups")
	reset(t, l, []int{0, 0, 0, 0, 0, 1})
	require.Equal(t, int64(3), dsMust[int64](t)(l.DeleteSlice(ctx, collections.Slice{Step: ip(2)})))
	require.Equal(t, []int{0, 0, 1}, all(t, l))
}

func testListSearch(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	l := newList[int](t, rdb, dsName(t))
	require.Zero(t, dsMust[int64](t)(l.Count(ctx, 1)))
	require.False(t, dsMust[bool](t)(l.Contains(ctx, 1)))
	_, err := l.IndexOfBetween(ctx, 1, 0, math.MaxInt64)
	require.ErrorIs(t, err, collections.ErrNotFound)
	require.NoError(t, l.Reverse(ctx)) // empty: nothing to do
	require.Zero(t, dsMust[int64](t)(l.Len(ctx)))

	model := []int{1, 2, 1, 3, 1, 2}
	reset(t, l, model)
	require.Equal(t, int64(3), dsMust[int64](t)(l.Count(ctx, 1)))
	require.Equal(t, int64(1), dsMust[int64](t)(l.Count(ctx, 3)))
	require.Zero(t, dsMust[int64](t)(l.Count(ctx, 4)))
	require.True(t, dsMust[bool](t)(l.Contains(ctx, 3)))
	require.False(t, dsMust[bool](t)(l.Contains(ctx, 4)))
	bounds := []int64{math.MinInt64, -7, -6, -2, -1, 0, 1, 2, 4, 5, 6, 7, math.MaxInt64}
	for _, v := range []int{1, 2, 3, 4} {
		for _, start := range bounds {
			for _, stop := range bounds {
				want := pyIndex(model, v, start, stop)
				got, err := l.IndexOfBetween(ctx, v, start, stop)
				if want < 0 {
					require.ErrorIs(t, err, collections.ErrNotFound, "index(%d, %d, %d)", v, start, stop)
					continue
				}
				require.NoError(t, err)
				require.Equal(t, want, got, "index(%d, %d, %d)", v, start, stop)
			}
		}
	}

	require.NoError(t, l.Reverse(ctx))
	require.Equal(t, []int{2, 1, 3, 1, 2, 1}, all(t, l))
	big := seq(2500) // more than one chunk of pushes and of searching
	reset(t, l, big)
	require.NoError(t, l.Reverse(ctx))
	slices.Reverse(big)
	require.Equal(t, big, all(t, l))
	require.Equal(t, int64(2400), dsMust[int64](t)(l.IndexOfBetween(ctx, 990, 1500, -1)))
}

func testListMoreTTL(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	l := newList[int](t, rdb, dsName(t))
	ttl := func() time.Duration {
		d, err := rdb.PTTL(ctx, l.Key()).Result()
		require.NoError(t, err)
		return d
	}
	reset(t, l, seq(5))
	require.True(t, dsMust[bool](t)(l.Expire(ctx, time.Hour)))
	require.NoError(t, l.Reverse(ctx))
	require.Greater(t, ttl(), time.Minute)
	require.NoError(t, l.SetSlice(ctx, collections.Slice{}, []int{7, 8})) // the whole list replaced
	require.Equal(t, []int{7, 8}, all(t, l))
	require.Greater(t, ttl(), time.Minute)
	require.NoError(t, l.SetSlice(ctx, collections.Slice{Start: ip(1)}, []int{9, 9, 9}))
	require.Greater(t, ttl(), time.Minute)
	require.Equal(t, int64(4), dsMust[int64](t)(l.DeleteSlice(ctx, collections.Slice{Start: ip(-4)})))
	require.Equal(t, int64(0), dsMust[int64](t)(rdb.Exists(ctx, l.Key()).Result()))
}

func testListMoreErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	l := newList[int](t, rdb, dsName(t))
	reset(t, l, seq(3))
	zero := collections.Slice{Step: ip(0)}
	_, err := l.Slice(ctx, zero)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	require.ErrorIs(t, l.SetSlice(ctx, zero, nil), collections.ErrInvalidArgument)
	_, err = l.DeleteSlice(ctx, zero)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	err = l.SetSlice(ctx, collections.Slice{Step: ip(-1)}, []int{1})
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	require.ErrorContains(t, err, "size 1")
	require.Equal(t, seq(3), all(t, l))

	w := newList[int](t, rdb, dsName(t)+"w")
	dsOccupy(t, rdb, w.Key())
	for name, op := range map[string]func() error{
		"Count":          func() error { _, err := w.Count(ctx, 1); return err },
		"Contains":       func() error { _, err := w.Contains(ctx, 1); return err },
		"IndexOfBetween": func() error { _, err := w.IndexOfBetween(ctx, 1, 0, 9); return err },
		"Reverse":        func() error { return w.Reverse(ctx) },
		"Slice":          func() error { _, err := w.Slice(ctx, collections.Slice{}); return err },
		"SetSlice":       func() error { return w.SetSlice(ctx, collections.Slice{}, []int{1}) },
		"SetSliceStep":   func() error { return w.SetSlice(ctx, collections.Slice{Step: ip(2)}, nil) },
		"DeleteSlice":    func() error { _, err := w.DeleteSlice(ctx, collections.Slice{}); return err },
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorContains(t, err, w.Key(), name)
	}
	dsUntouched(t, rdb, w.Key())

	require.NoError(t, rdb.RPush(ctx, l.Key(), "not json").Err())
	_, err = l.Slice(ctx, collections.Slice{Step: ip(-1)})
	require.ErrorIs(t, err, collections.ErrDecode)
	_, err = l.Slice(dsCanceled(), collections.Slice{})
	require.ErrorIs(t, err, context.Canceled)
}

// TestLostRepliesListSlices: DeleteSlice and Reverse, sent without
// transport retries, report a lost reply as ErrUncertain and never apply
// twice: the elements removed are those of the calls that returned nil
// plus at most one per uncertain call.
func TestLostRepliesListSlices(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		ctx := t.Context()
		l, err := collections.NewList(lb.rdb, dsName(t), collections.ListOptions[int]{})
		require.NoError(t, err)
		const n = 300
		_, err = l.Extend(ctx, seq(n)...)
		require.NoError(t, err)
		var ok, unsure int
		for range 200 {
			switch _, err := l.DeleteSlice(ctx, collections.Slice{Stop: ip(1)}); {
			case err == nil:
				ok++
			case errors.Is(err, collections.ErrUncertain):
				unsure++
			default:
				t.Fatalf("delete slice: %v", err)
			}
		}
		lb.heal()
		left, err := l.Len(ctx)
		require.NoError(t, err)
		t.Logf("DeleteSlice: %d nil, %d uncertain, %d left", ok, unsure, left)
		require.Positive(t, unsure, "no lost reply reached DeleteSlice")
		require.LessOrEqual(t, int(left), n-ok)
		require.GreaterOrEqual(t, int(left), n-ok-unsure)
	})
}
