package collections_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

func newDeque[T any](t testing.TB, rdb redis.UniversalClient, name string, maxLen int) *collections.Deque[T] {
	t.Helper()
	d, err := collections.NewDeque(rdb, name, collections.DequeOptions[T]{MaxLen: maxLen})
	require.NoError(t, err)
	return d
}

func TestDeque(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("basics", func(t *testing.T) { testDequeBasics(t, be.rdb) })
		t.Run("maxlen", func(t *testing.T) { testDequeMaxLen(t, be.rdb) })
		t.Run("rotate matches Go", func(t *testing.T) { testDequeRotate(t, be.rdb) })
		t.Run("blocking pops", func(t *testing.T) { testDequeBlocking(t, be) })
		t.Run("maxlen across processes", func(t *testing.T) { testDequeMaxLenProcesses(t, be) })
		t.Run("errors", func(t *testing.T) { testDequeErrors(t, be.rdb) })
	})
}

func testDequeBasics(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDeque[string](t, rdb, dsName(t), 0)
	_, err := d.Extend(ctx, "g", "h", "i")
	require.NoError(t, err)
	_, err = d.Append(ctx, "j")
	require.NoError(t, err)
	_, err = d.AppendLeft(ctx, "f")
	require.NoError(t, err)
	require.Equal(t, "j", dsMust[string](t)(d.Peek(ctx)))
	require.Equal(t, "f", dsMust[string](t)(d.PeekLeft(ctx)))
	require.Equal(t, "j", dsMust[string](t)(d.Pop(ctx)))
	require.Equal(t, "f", dsMust[string](t)(d.PopLeft(ctx)))
	require.Equal(t, int64(6), dsMust[int64](t)(d.ExtendLeft(ctx, "c", "b", "a")))
	require.Equal(t, []string{"a", "b", "c", "g", "h", "i"}, dsMust[[]string](t)(d.Range(ctx, 0, -1)))
	require.NoError(t, d.Clear(ctx))
	_, err = d.Pop(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)
	_, err = d.PopLeft(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)
	_, err = d.Peek(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)
}

func testDequeMaxLen(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDeque[int](t, rdb, dsName(t), 3)
	require.Equal(t, 3, d.MaxLen())
	require.Equal(t, int64(3), dsMust[int64](t)(d.Extend(ctx, 1, 2, 3, 4, 5)))
	require.Equal(t, []int{3, 4, 5}, dsMust[[]int](t)(d.Range(ctx, 0, -1)))
	require.Equal(t, int64(3), dsMust[int64](t)(d.Append(ctx, 6)))
	require.Equal(t, []int{4, 5, 6}, dsMust[[]int](t)(d.Range(ctx, 0, -1)))
	require.Equal(t, int64(3), dsMust[int64](t)(d.AppendLeft(ctx, 3)))
	require.Equal(t, []int{3, 4, 5}, dsMust[[]int](t)(d.Range(ctx, 0, -1)))
	require.Equal(t, int64(3), dsMust[int64](t)(d.ExtendLeft(ctx, 2, 1, 0)))
	require.Equal(t, []int{0, 1, 2}, dsMust[[]int](t)(d.Range(ctx, 0, -1)))

	_, err := collections.NewDeque(rdb, "x", collections.DequeOptions[int]{MaxLen: -1})
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
}

// rotated is the reference: Python's deque.rotate on a Go slice.
func rotated(s []int, n int) []int {
	out := make([]int, 0, len(s))
	if len(s) == 0 {
		return out
	}
	k := ((n % len(s)) + len(s)) % len(s)
	out = append(out, s[len(s)-k:]...)
	return append(out, s[:len(s)-k]...)
}

func testDequeRotate(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDeque[int](t, rdb, dsName(t), 0)
	for length := range 6 {
		for n := -7; n <= 7; n++ {
			require.NoError(t, d.Clear(ctx))
			ref := make([]int, length)
			for i := range ref {
				ref[i] = i
			}
			if length > 0 {
				_, err := d.Extend(ctx, ref...)
				require.NoError(t, err)
			}
			require.NoError(t, d.Rotate(ctx, int64(n)))
			got := dsMust[[]int](t)(d.Range(ctx, 0, -1))
			require.Equal(t, rotated(ref, n), got, "rotate(%d) of %v", n, ref)
		}
	}
	// n far beyond what a Lua number holds exactly.
	require.NoError(t, d.Clear(ctx))
	_, err := d.Extend(ctx, 0, 1, 2, 3, 4, 5, 6)
	require.NoError(t, err)
	const huge = 1<<62 + 3 // ≡ 4 (mod 7)
	require.NoError(t, d.Rotate(ctx, huge))
	require.Equal(t, rotated([]int{0, 1, 2, 3, 4, 5, 6}, huge%7), dsMust[[]int](t)(d.Range(ctx, 0, -1)))
	require.NoError(t, d.Rotate(ctx, -huge))
	require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6}, dsMust[[]int](t)(d.Range(ctx, 0, -1)))
}

func testDequeBlocking(t *testing.T, be dsBackend) {
	ctx := context.Background()
	d := newDeque[string](t, be.rdb, dsName(t), 0)

	// An empty deque: the wait ends with the context.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := d.PopWait(short)
	require.ErrorIs(t, err, collections.ErrEmpty)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// Cancellation without a deadline.
	cctx, cancelNow := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { _, err := d.PopLeftWait(cctx); errc <- err }()
	cancelNow()
	err = <-errc
	require.ErrorIs(t, err, collections.ErrEmpty)
	require.ErrorIs(t, err, context.Canceled)

	// A value pushed by another client while waiting.
	other := newDeque[string](t, be.client(t), dsName(t), 0)
	got := make(chan string, 2)
	var wg sync.WaitGroup
	for _, left := range []bool{false, true} {
		wg.Go(func() {
			wait, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			pop := d.PopWait
			if left {
				pop = d.PopLeftWait
			}
			v, err := pop(wait)
			if err != nil {
				v = err.Error()
			}
			got <- v
		})
	}
	_, err = other.Extend(ctx, "x", "y")
	require.NoError(t, err)
	wg.Wait()
	close(got)
	var all []string
	for v := range got {
		all = append(all, v)
	}
	require.ElementsMatch(t, []string{"x", "y"}, all)
}

// helperDequePush is a helper process: it appends 300 values to the deque
// (maxlen 100) and checks after each push that it is no longer than 100.
func helperDequePush(t *testing.T, rdb redis.UniversalClient, name string) {
	ctx := context.Background()
	d := newDeque[string](t, rdb, name, 100)
	for i := range 300 {
		n, err := d.Append(ctx, fmt.Sprintf("%d:%d", os.Getpid(), i))
		require.NoError(t, err)
		require.LessOrEqual(t, n, int64(100), "length after a push")
		n, err = d.Len(ctx)
		require.NoError(t, err)
		require.LessOrEqual(t, n, int64(100), "Len after a push")
	}
}

// Four processes push to one deque of maxlen 100 while a watcher reads its
// length: nobody ever sees more than 100.
func testDequeMaxLenProcesses(t *testing.T, be dsBackend) {
	ctx := context.Background()
	name := dsName(t)
	watched := newDeque[string](t, be.client(t), name, 100)
	stop := make(chan struct{})
	watcher := make(chan error, 1)
	var longest, reads int64
	go func() {
		for {
			select {
			case <-stop:
				watcher <- nil
				return
			default:
			}
			n, err := watched.Len(ctx)
			if err != nil {
				watcher <- err
				return
			}
			longest = max(longest, n)
			reads++
		}
	}()
	var wg sync.WaitGroup
	outs := make([][]byte, 4)
	errs := make([]error, 4)
	for i := range 4 {
		wg.Go(func() { outs[i], errs[i] = be.helperCommand("deque-push", name).CombinedOutput() })
	}
	wg.Wait()
	close(stop)
	require.NoError(t, <-watcher)
	for i := range 4 {
		require.NoError(t, errs[i], "helper %d:\n%s", i, outs[i])
	}
	require.LessOrEqual(t, longest, int64(100), "the watcher saw the deque longer than its maxlen")
	require.Positive(t, reads)
	require.Equal(t, int64(100), dsMust[int64](t)(watched.Len(ctx)))
}

func testDequeErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	d := newDeque[int](t, rdb, dsName(t), 5)
	dsOccupy(t, rdb, d.Key())
	for name, op := range map[string]func() error{
		"Append":  func() error { _, err := d.Append(ctx, 1); return err },
		"Rotate":  func() error { return d.Rotate(ctx, 1) },
		"PopWait": func() error { _, err := d.PopWait(ctx); return err },
		"Peek":    func() error { _, err := d.Peek(ctx); return err },
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorContains(t, err, d.Key(), name)
	}
	dsUntouched(t, rdb, d.Key())

	bad := newDeque[int](t, rdb, dsName(t)+"bad", 0)
	require.NoError(t, rdb.RPush(ctx, bad.Key(), "x").Err())
	_, err := bad.PopWait(ctx)
	require.ErrorIs(t, err, collections.ErrDecode)
	require.ErrorContains(t, err, bad.Key())
	_, err = bad.Append(dsCanceled(), 1)
	require.ErrorIs(t, err, context.Canceled)
}
