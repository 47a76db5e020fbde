package collections_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

func newList[T any](t testing.TB, rdb redis.UniversalClient, name string) *collections.List[T] {
	t.Helper()
	l, err := collections.NewList(rdb, name, collections.ListOptions[T]{})
	require.NoError(t, err)
	return l
}

func TestList(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("basics", func(t *testing.T) { testListBasics(t, be.rdb) })
		t.Run("insert and pop match Go", func(t *testing.T) { testListInsertPop(t, be.rdb) })
		t.Run("sort", func(t *testing.T) { testListSort(t, be) })
		t.Run("iteration", func(t *testing.T) { testListIteration(t, be.rdb) })
		t.Run("errors", func(t *testing.T) { testListErrors(t, be.rdb) })
	})
}

func testListBasics(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	squares := newList[int](t, rdb, dsName(t))
	_, err := squares.Extend(ctx, 1, 4, 9, 16, 25)
	require.NoError(t, err)
	require.Equal(t, 1, dsMust[int](t)(squares.Index(ctx, 0)))
	require.Equal(t, 25, dsMust[int](t)(squares.Index(ctx, -1)))
	require.Equal(t, []int{9, 16, 25}, dsMust[[]int](t)(squares.Range(ctx, -3, -1)))
	require.Equal(t, int64(6), dsMust[int64](t)(squares.Append(ctx, 36)))
	require.NoError(t, squares.SetIndex(ctx, -1, 49))
	require.Equal(t, []int{1, 4, 9, 16, 25, 49}, dsMust[[]int](t)(squares.Range(ctx, 0, -1)))
	require.Equal(t, int64(3), dsMust[int64](t)(squares.IndexOf(ctx, 16)))
	_, err = squares.IndexOf(ctx, 17)
	require.ErrorIs(t, err, collections.ErrNotFound)
	require.NoError(t, squares.Remove(ctx, 49))
	require.ErrorIs(t, squares.Remove(ctx, 49), collections.ErrNotFound)
	require.NoError(t, squares.Trim(ctx, 1, 3))
	require.Equal(t, []int{4, 9, 16}, dsMust[[]int](t)(squares.Range(ctx, 0, -1)))
	require.Equal(t, int64(3), dsMust[int64](t)(squares.Len(ctx)))
	require.Equal(t, int64(3), dsMust[int64](t)(squares.Extend(ctx)))
	require.True(t, dsMust[bool](t)(squares.Expire(ctx, time.Minute)))
	require.NoError(t, squares.Clear(ctx))
	require.Zero(t, dsMust[int64](t)(squares.Len(ctx)))

	// Removing elements never removes a real element in their place
	// (pottery deleted real 0s when a slice shrank).
	zeros := newList[any](t, rdb, dsName(t)+"zeros")
	_, err = zeros.Extend(ctx, 0, 1, 0, "", nil, 0, 2, 0)
	require.NoError(t, err)
	require.Equal(t, float64(1), dsMust[any](t)(zeros.Pop(ctx, 1)))
	require.Equal(t, float64(2), dsMust[any](t)(zeros.Pop(ctx, -2)))
	require.Equal(t, []any{float64(0), float64(0), "", nil, float64(0), float64(0)}, dsMust[[]any](t)(zeros.Range(ctx, 0, -1)))
}

// Insert and Pop at every index, negative and out of range included, do
// what Python's list.insert and list.pop do on a Go slice.
func testListInsertPop(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	for n := range 7 {
		for i := int64(-n - 2); i <= int64(n+2); i++ {
			l := newList[int](t, rdb, dsName(t))
			require.NoError(t, l.Clear(ctx))
			ref := make([]int, n)
			for j := range ref {
				ref[j] = j
			}
			if n > 0 {
				_, err := l.Extend(ctx, ref...)
				require.NoError(t, err)
			}

			// Python's list.insert.
			at := i
			if at < 0 {
				at = max(at+int64(n), 0)
			}
			at = min(at, int64(n))
			want := slices.Insert(slices.Clone(ref), int(at), 100)
			require.Equal(t, int64(n+1), dsMust[int64](t)(l.Insert(ctx, i, 100)))
			require.Equal(t, want, dsMust[[]int](t)(l.Range(ctx, 0, -1)), "insert at %d into %v", i, ref)

			// Python's list.pop.
			at = i
			if at < 0 {
				at += int64(len(want))
			}
			got, err := l.Pop(ctx, i)
			if at < 0 || at >= int64(len(want)) {
				require.ErrorIs(t, err, collections.ErrIndexOutOfRange, "pop %d of %v", i, want)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, want[at], got, "pop %d of %v", i, want)
			want = slices.Delete(want, int(at), int(at)+1)
			require.Equal(t, want, dsMust[[]int](t)(l.Range(ctx, 0, -1)), "pop %d", i)
		}
	}
}

func testListSort(t *testing.T, be dsBackend) {
	ctx := context.Background()
	l := newList[string](t, be.rdb, dsName(t))
	words := []string{"pear", "fig", "apple", "kiwi", "banana", "fig", "date"}
	_, err := l.Extend(ctx, words...)
	require.NoError(t, err)
	require.True(t, dsMust[bool](t)(l.Expire(ctx, time.Hour)))
	byLen := func(a, b string) int { return cmp.Compare(len(a), len(b)) }
	require.NoError(t, l.Sort(ctx, byLen))
	want := slices.Clone(words)
	slices.SortStableFunc(want, byLen)
	require.Equal(t, want, dsMust[[]string](t)(l.Range(ctx, 0, -1)))
	ttl, err := be.rdb.PTTL(ctx, l.Key()).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 59*time.Minute, "Sort keeps the TTL")

	// Sorting while another client appends: no conflict surfaces and no
	// element is lost.
	other := newList[string](t, be.client(t), dsName(t))
	done := make(chan error, 1)
	go func() {
		for i := range 200 {
			if _, err := other.Append(ctx, "x"+string(rune('a'+i%26))); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 20 {
		require.NoError(t, l.Sort(ctx, cmp.Compare[string]))
	}
	require.NoError(t, <-done)
	require.NoError(t, l.Sort(ctx, cmp.Compare[string]))
	all := dsMust[[]string](t)(l.Range(ctx, 0, -1))
	require.Len(t, all, len(words)+200)
	require.True(t, slices.IsSorted(all))
}

func testListIteration(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	l := newList[int](t, rdb, dsName(t))
	want := make([]int, 1000)
	for i := range want {
		want[i] = i * 3
	}
	_, err := l.Extend(ctx, want...)
	require.NoError(t, err)
	all, errf := l.All(ctx)
	var got []int
	for i, v := range all {
		require.Equal(t, int64(len(got)), i)
		got = append(got, v)
	}
	require.NoError(t, errf())
	require.Equal(t, want, got)
}

func testListErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	l := newList[int](t, rdb, dsName(t))
	_, err := l.Index(ctx, 0)
	require.ErrorIs(t, err, collections.ErrIndexOutOfRange)
	require.ErrorIs(t, l.SetIndex(ctx, 0, 1), collections.ErrIndexOutOfRange)
	_, err = l.Append(ctx, 1)
	require.NoError(t, err)
	require.ErrorIs(t, l.SetIndex(ctx, 5, 1), collections.ErrIndexOutOfRange)

	w := newList[int](t, rdb, dsName(t)+"w")
	dsOccupy(t, rdb, w.Key())
	for name, op := range map[string]func() error{
		"Index":  func() error { _, err := w.Index(ctx, 0); return err },
		"Insert": func() error { _, err := w.Insert(ctx, 1, 1); return err },
		"Pop":    func() error { _, err := w.Pop(ctx, 0); return err },
		"Append": func() error { _, err := w.Append(ctx, 1); return err },
		"Sort":   func() error { return w.Sort(ctx, cmp.Compare[int]) },
		"All": func() error {
			all, errf := w.All(ctx)
			for range all {
			}
			return errf()
		},
		"Clear": func() error { return w.Clear(ctx) },
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorContains(t, err, w.Key(), name)
	}
	dsUntouched(t, rdb, w.Key())

	require.NoError(t, rdb.RPush(ctx, l.Key(), "not json").Err())
	_, err = l.Index(ctx, -1)
	require.ErrorIs(t, err, collections.ErrDecode)
	require.ErrorContains(t, err, l.Key())
	_, err = l.Range(ctx, 0, -1)
	require.ErrorIs(t, err, collections.ErrDecode)

	_, err = l.Len(dsCanceled())
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, l.Sort(dsCanceled(), cmp.Compare[int]), context.Canceled)
}
