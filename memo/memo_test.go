package memo_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/memo"
)

// query is a typical argument struct: several arguments of a function.
type query struct {
	UserID int64
	Lang   string
	Filter map[string][]string
	Since  time.Time
	Limit  *int
}

type result struct {
	Text string
	N    int
}

// newQuery builds a query whose map is filled in a random order and whose
// time is in a random zone: equal queries built by newQuery have one key.
func newQuery(id int64, lang string) query {
	filters := []string{"color", "size", "brand", "price", "rating", "stock", "ship", "sale"}
	rand.Shuffle(len(filters), func(i, j int) { filters[i], filters[j] = filters[j], filters[i] })
	q := query{UserID: id, Lang: lang, Filter: map[string][]string{}}
	for _, f := range filters {
		q.Filter[f] = []string{f + "-a", f + "-b"}
	}
	zone := time.FixedZone("z", rand.IntN(24)*3600-12*3600)
	q.Since = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).In(zone)
	limit := 10
	q.Limit = &limit
	return q
}

// TestSuite runs memo's behaviour on a single server and on a 3-master
// cluster.
func TestSuite(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Run("SharedAcrossStores", func(t *testing.T) { testShared(t, b) })
			t.Run("OnceWhenCold", func(t *testing.T) { testOnce(t, b) })
			t.Run("OncePerFleet", func(t *testing.T) { testFleetOnce(t, b) })
			t.Run("Panic", func(t *testing.T) { testPanic(t, b) })
			t.Run("ErrorsNotCached", func(t *testing.T) { testErrors(t, b) })
			t.Run("CancelledWaiter", func(t *testing.T) { testCancelledWaiter(t, b) })
			t.Run("CancelledLeader", func(t *testing.T) { testCancelledLeader(t, b) })
			t.Run("Operations", func(t *testing.T) { testOperations(t, b) })
			t.Run("StaleWhileRevalidate", func(t *testing.T) { testSWR(t, b) })
			t.Run("Unhashable", func(t *testing.T) { testUnhashable(t, b) })
			t.Run("Keyer", func(t *testing.T) { testKeyer(t, b) })
			t.Run("NoArguments", func(t *testing.T) { testFunc0(t, b) })
		})
	}
}

func testShared(t *testing.T, b backend) {
	ctx := context.Background()
	name := uniqueName()
	var runsA, runsB atomic.Int64
	fA, err := memo.New(newStore(t, b.newClient(t)), name, func(_ context.Context, q query) (result, error) {
		runsA.Add(1)
		return result{Text: "A:" + q.Lang, N: int(q.UserID)}, nil
	}, memo.Options[result]{})
	require.NoError(t, err)
	fB, err := memo.New(newStore(t, b.newClient(t)), name, func(_ context.Context, q query) (result, error) {
		runsB.Add(1)
		return result{Text: "B:" + q.Lang, N: int(q.UserID)}, nil
	}, memo.Options[result]{})
	require.NoError(t, err)

	q1a, q1b := newQuery(1, "fr"), newQuery(1, "fr") // equal, built apart
	kA, err := fA.Key(q1a)
	require.NoError(t, err)
	kB, err := fB.Key(q1b)
	require.NoError(t, err)
	require.Equal(t, kA, kB, "equal arguments have one key in every Store")

	got, err := fA.Call(ctx, q1a)
	require.NoError(t, err)
	require.Equal(t, result{"A:fr", 1}, got)
	got, err = fB.Call(ctx, q1b)
	require.NoError(t, err)
	require.Equal(t, result{"A:fr", 1}, got, "B read A's result")
	require.Zero(t, runsB.Load(), "B did not run its function")
	_, err = fB.Call(ctx, q1b)
	require.NoError(t, err)
	require.Equal(t, memo.Info{Hits: 2}, calls(fB.Info()))
	require.NotZero(t, fB.Info().RemoteHits)

	// And the other way round.
	got, err = fB.Call(ctx, newQuery(2, "de"))
	require.NoError(t, err)
	require.Equal(t, result{"B:de", 2}, got)
	got, err = fA.Call(ctx, newQuery(2, "de"))
	require.NoError(t, err)
	require.Equal(t, result{"B:de", 2}, got)
	require.Equal(t, int64(1), runsA.Load())
	require.Equal(t, memo.Info{Hits: 1, Misses: 1, Loads: 1}, calls(fA.Info()))
	require.Equal(t, uint64(1), fA.Info().RemoteHits)
}

func testOnce(t *testing.T, b backend) {
	ctx := context.Background()
	const n = 1000
	release := make(chan struct{})
	var runs atomic.Int64
	f, err := memo.New(newStore(t, b.newClient(t)), uniqueName(), func(_ context.Context, q query) (result, error) {
		runs.Add(1)
		<-release
		return result{Text: q.Lang}, nil
	}, memo.Options[result]{})
	require.NoError(t, err)

	base := inFlight()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			got, err := f.Call(ctx, newQuery(7, "en"))
			if err == nil && got.Text != "en" {
				err = fmt.Errorf("got %+v, want Text en", got)
			}
			errs <- err
		})
	}
	eventually(t, func() bool { return inFlight()-base == n }, "every caller waits on the one run")
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), runs.Load(), "the function ran once")
	require.Equal(t, memo.Info{Misses: 1, Loads: 1, SharedLoads: n - 1}, calls(f.Info()))
}

// testFleetOnce runs cold Calls in two Stores (two processes): the
// function runs once in all, the second Store waiting on the first's lease.
func testFleetOnce(t *testing.T, b backend) {
	ctx := context.Background()
	name := uniqueName()
	release := make(chan struct{})
	var runs atomic.Int64
	fn := func(_ context.Context, q query) (result, error) {
		runs.Add(1)
		<-release
		return result{Text: q.Lang}, nil
	}
	fA, err := memo.New(newStore(t, b.newClient(t)), name, fn, memo.Options[result]{})
	require.NoError(t, err)
	fB, err := memo.New(newStore(t, b.newClient(t)), name, fn, memo.Options[result]{})
	require.NoError(t, err)

	const n = 100
	errs := make(chan error, 2*n)
	var wg sync.WaitGroup
	start := func(f *memo.Func[query, result]) {
		for range n {
			wg.Go(func() {
				got, err := f.Call(ctx, newQuery(5, "fleet"))
				if err == nil && got.Text != "fleet" {
					err = fmt.Errorf("got %+v", got)
				}
				errs <- err
			})
		}
	}
	start(fA)
	eventually(t, func() bool { return runs.Load() == 1 }, "A runs the function")
	start(fB)
	eventually(t, func() bool { return fB.Info().LeaseWaits > 0 }, "B waits on A's lease")
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(1), runs.Load(), "the function ran once in the fleet")
	require.Zero(t, fB.Info().Loads)
}

func testPanic(t *testing.T, b backend) {
	ctx := context.Background()
	const n = 50
	release := make(chan struct{})
	var runs atomic.Int64
	f, err := memo.New(newStore(t, b.newClient(t)), uniqueName(), func(_ context.Context, q query) (result, error) {
		if runs.Add(1) == 1 {
			<-release
			panic("boom")
		}
		return result{Text: "recovered"}, nil
	}, memo.Options[result]{})
	require.NoError(t, err)

	base := inFlight()
	panics := make(chan any, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			defer func() { panics <- recover() }()
			_, _ = f.Call(ctx, newQuery(1, "en"))
		})
	}
	eventually(t, func() bool { return inFlight()-base == n }, "every caller waits on the one run")
	close(release)
	wg.Wait()
	close(panics)
	for p := range panics {
		// Re-raised as singleflight does: wrapped with the original stack.
		require.NotNil(t, p, "a waiter returned instead of panicking")
		require.Contains(t, fmt.Sprint(p), "boom", "every waiter gets the panic")
	}
	require.Equal(t, int64(1), runs.Load())

	// Nothing was cached: the next call runs the function again.
	got, err := f.Call(ctx, newQuery(1, "en"))
	require.NoError(t, err)
	require.Equal(t, "recovered", got.Text)
	require.Equal(t, int64(2), runs.Load())
	info := f.Info()
	require.Equal(t, uint64(2), info.Loads)
	require.Equal(t, uint64(1), info.Errors, "the panic is counted as an error")
}

func testErrors(t *testing.T, b backend) {
	ctx := context.Background()
	rdb := b.newClient(t)
	errDown := errors.New("backend down")
	var runs atomic.Int64
	fn := func(_ context.Context, q query) (result, error) {
		if runs.Add(1) == 1 {
			return result{}, errDown
		}
		return result{Text: "fine"}, nil
	}
	f, err := memo.New(newStore(t, rdb), uniqueName(), fn, memo.Options[result]{})
	require.NoError(t, err)
	_, err = f.Call(ctx, newQuery(1, "en"))
	require.ErrorIs(t, err, errDown)
	require.Empty(t, redisKeys(t, rdb, f.Namespace()), "the error is not in Redis")
	require.Equal(t, memo.Info{Misses: 1, Loads: 1, Errors: 1}, calls(f.Info()))
	require.Zero(t, f.Info().Size)

	got, err := f.Call(ctx, newQuery(1, "en"))
	require.NoError(t, err, "the error was not cached")
	require.Equal(t, "fine", got.Text)
	require.Equal(t, int64(2), runs.Load())
}

func testCancelledWaiter(t *testing.T, b backend) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	var runs atomic.Int64
	var loadCtxErr atomic.Value
	f, err := memo.New(newStore(t, b.newClient(t)), uniqueName(), func(ctx context.Context, q query) (result, error) {
		runs.Add(1)
		started <- struct{}{}
		<-release
		loadCtxErr.Store(fmt.Sprint(ctx.Err()))
		return result{Text: q.Lang}, nil
	}, memo.Options[result]{})
	require.NoError(t, err)

	base := inFlight()
	const others = 5
	results := make(chan result, others+1)
	call := func(ctx context.Context) {
		got, err := f.Call(ctx, newQuery(3, "it"))
		if err != nil {
			got.Text = err.Error()
		}
		results <- got
	}
	go call(context.Background())
	<-started
	wctx, cancel := context.WithCancel(context.Background())
	waiterDone := make(chan error, 1)
	go func() { _, err := f.Call(wctx, newQuery(3, "it")); waiterDone <- err }()
	for range others {
		go call(context.Background())
	}
	eventually(t, func() bool { return inFlight()-base == others+2 }, "every caller waits on the one run")

	cancel()
	// The waiter returns while the function is still held: it did not wait.
	require.ErrorIs(t, <-waiterDone, context.Canceled)
	close(release)
	for range others + 1 {
		require.Equal(t, result{Text: "it"}, <-results, "the others get the result")
	}
	require.Equal(t, int64(1), runs.Load())
	require.Equal(t, "<nil>", loadCtxErr.Load(), "the run's context was not cancelled")
	eventually(t, func() bool { return f.Info().SharedLoads == others+1 }, "the waiters shared the run")
}

// testCancelledLeader checks that the per-call state memo reuses is not
// reused while a run started by a caller that gave up is still going.
func testCancelledLeader(t *testing.T, b backend) {
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan struct{})
	var runsOf1 atomic.Int64
	f, err := memo.New(newStore(t, b.newClient(t)), uniqueName(), func(_ context.Context, q query) (result, error) {
		if q.UserID == 1 {
			runsOf1.Add(1)
			close(started)
			<-release
		}
		return result{Text: q.Lang, N: int(q.UserID)}, nil
	}, memo.Options[result]{})
	require.NoError(t, err)

	lctx, cancel := context.WithCancel(ctx)
	leaderDone := make(chan error, 1)
	go func() { _, err := f.Call(lctx, newQuery(1, "one")); leaderDone <- err }()
	<-started
	cancel()
	require.ErrorIs(t, <-leaderDone, context.Canceled)

	// Meanwhile, many calls with other arguments.
	for i := int64(2); i < 200; i++ {
		got, err := f.Call(ctx, newQuery(i, "many"))
		require.NoError(t, err)
		require.Equal(t, result{"many", int(i)}, got)
	}
	close(release)
	got, err := f.Call(ctx, newQuery(1, "one"))
	require.NoError(t, err)
	require.Equal(t, result{"one", 1}, got, "the run went on with its own argument")
	require.Equal(t, int64(1), runsOf1.Load())
}

func testSWR(t *testing.T, b backend) {
	ctx := context.Background()
	var mu sync.Mutex
	gen := map[string]int{}
	f, err := memo.New(newStore(t, b.newClient(t)), uniqueName(), func(_ context.Context, q query) (result, error) {
		mu.Lock()
		defer mu.Unlock()
		gen[q.Lang]++
		return result{Text: q.Lang, N: gen[q.Lang]}, nil
	}, memo.Options[result]{Cache: cache.Options[result]{TTL: 100 * time.Millisecond, StaleWhileRevalidate: time.Minute}})
	require.NoError(t, err)

	langs := []string{"a", "b", "c", "d"}
	for _, l := range langs {
		got, err := f.Call(ctx, newQuery(1, l))
		require.NoError(t, err)
		require.Equal(t, result{l, 1}, got)
	}
	// Past the TTL, calls return the stale result at once and refresh it
	// in the background, each with its own argument.
	var wrong atomic.Value // a result for another argument, or an error
	for _, l := range langs {
		eventually(t, func() bool {
			got, err := f.Call(ctx, newQuery(1, l))
			if err != nil || got.Text != l {
				wrong.Store(fmt.Sprintf("Call(%s) = %+v, %v", l, got, err))
			}
			return got.N >= 2
		}, "%s was refreshed", l)
	}
	require.Nil(t, wrong.Load())
	require.NotZero(t, f.Info().Stale)
}

func testUnhashable(t *testing.T, b backend) {
	ctx := context.Background()
	s := newStore(t, b.newClient(t))
	_, err := memo.New(s, uniqueName(), func(context.Context, func()) (int, error) { return 0, nil }, memo.Options[int]{})
	require.ErrorIs(t, err, memo.ErrUnhashableArgument, "a func argument type fails at New")

	var runs atomic.Int64
	f, err := memo.New(s, uniqueName(), func(context.Context, any) (int, error) { runs.Add(1); return 1, nil }, memo.Options[int]{})
	require.NoError(t, err)
	for _, arg := range []any{func() {}, make(chan int), []any{1, map[string]any{"f": func() {}}}} {
		require.NotPanics(t, func() {
			_, err = f.Call(ctx, arg)
			require.ErrorIs(t, err, memo.ErrUnhashableArgument)
			_, err = f.Bypass(ctx, arg)
			require.ErrorIs(t, err, memo.ErrUnhashableArgument)
			require.ErrorIs(t, f.Forget(ctx, arg), memo.ErrUnhashableArgument)
		})
	}
	require.Zero(t, runs.Load(), "the function never ran")
	got, err := f.Call(ctx, map[string]any{"ok": []int{1}})
	require.NoError(t, err)
	require.Equal(t, 1, got)

	// A custom key makes any argument type usable.
	fk, err := memo.NewKeyed(s, uniqueName(), func(_ context.Context, cb func() int) (int, error) { return cb(), nil },
		func(func() int) (string, error) { return "the-callback", nil }, memo.Options[int]{})
	require.NoError(t, err)
	got, err = fk.Call(ctx, func() int { return 5 })
	require.NoError(t, err)
	require.Equal(t, 5, got)
	errKey := errors.New("no key")
	fe, err := memo.NewKeyed(s, uniqueName(), func(context.Context, int) (int, error) { return 0, nil },
		func(int) (string, error) { return "", errKey }, memo.Options[int]{})
	require.NoError(t, err)
	_, err = fe.Call(ctx, 1)
	require.ErrorIs(t, err, errKey)

	// Bad names and functions.
	for _, name := range []string{"", "a:b", "a b", "a*"} {
		_, err := memo.New(s, name, func(context.Context, int) (int, error) { return 0, nil }, memo.Options[int]{})
		require.ErrorIs(t, err, memo.ErrInvalidName, "%q", name)
	}
	_, err = memo.New[int, int](s, "ok", nil, memo.Options[int]{})
	require.ErrorIs(t, err, memo.ErrNilFunc)
	_, err = memo.NewKeyed(s, "ok", func(context.Context, int) (int, error) { return 0, nil }, nil, memo.Options[int]{})
	require.ErrorIs(t, err, memo.ErrNilFunc)
	_, err = memo.New(s, "ok", func(context.Context, int) (int, error) { return 0, nil }, memo.Options[int]{Cache: cache.Options[int]{Jitter: 2}})
	require.ErrorIs(t, err, cache.ErrInvalidOptions)
}

// userKey names its own key: Calls skip the canonical encoding.
type userKey struct {
	ID  int64
	key string
}

func (u userKey) MemoKey() string { return u.key }

func newUserKey(id int64) userKey { return userKey{ID: id, key: fmt.Sprint("user:", id)} }

func testKeyer(t *testing.T, b backend) {
	ctx := context.Background()
	rdb := b.newClient(t)
	name := uniqueName()
	fn := func(_ context.Context, u userKey) (int64, error) { return u.ID * 10, nil }
	f1, err := memo.New(newStore(t, rdb), name, fn, memo.Options[int64]{})
	require.NoError(t, err)
	f2, err := memo.New(newStore(t, b.newClient(t)), name, fn, memo.Options[int64]{})
	require.NoError(t, err)
	got, err := f1.Call(ctx, newUserKey(4))
	require.NoError(t, err)
	require.Equal(t, int64(40), got)
	require.Equal(t, []string{cache.DefaultPrefix + f1.Namespace() + ":user:4"}, redisKeys(t, rdb, f1.Namespace()),
		"MemoKey is the key")
	got, err = f2.Call(ctx, newUserKey(4))
	require.NoError(t, err)
	require.Equal(t, int64(40), got)
	require.Equal(t, uint64(1), f2.Info().RemoteHits)

	// A nil pointer whose MemoKey has a value receiver is an error, not
	// the panic calling the method would be.
	fp, err := memo.New(newStore(t, rdb), uniqueName(), func(_ context.Context, u *userKey) (int64, error) { return 1, nil }, memo.Options[int64]{})
	require.NoError(t, err)
	require.NotPanics(t, func() {
		_, err = fp.Call(ctx, nil)
	})
	require.ErrorIs(t, err, memo.ErrUnhashableArgument)
	u := newUserKey(5)
	_, err = fp.Call(ctx, &u)
	require.NoError(t, err)
	k, err := fp.Key(&u)
	require.NoError(t, err)
	require.Equal(t, "user:5", k)
}

func testFunc0(t *testing.T, b backend) {
	ctx := context.Background()
	name := uniqueName()
	var runs atomic.Int64
	fn := func(context.Context) (string, error) { return fmt.Sprint("config-", runs.Add(1)), nil }
	f1, err := memo.New0(newStore(t, b.newClient(t)), name, fn, memo.Options[string]{})
	require.NoError(t, err)
	f2, err := memo.New0(newStore(t, b.newClient(t)), name, fn, memo.Options[string]{})
	require.NoError(t, err)
	for _, f := range []*memo.Func0[string]{f1, f2, f1} {
		got, err := f.Call(ctx)
		require.NoError(t, err)
		require.Equal(t, "config-1", got)
	}
	require.NoError(t, f2.Forget(ctx))
	got, err := f2.Call(ctx)
	require.NoError(t, err)
	require.Equal(t, "config-2", got)
	got, err = f2.Bypass(ctx)
	require.NoError(t, err)
	require.Equal(t, "config-3", got)
	require.Equal(t, memo.Info{Hits: 1, Misses: 1, Loads: 1, Bypasses: 1}, calls(f2.Info()))
	require.NoError(t, f1.Clear(ctx))
	_, err = memo.New0[int](newStore(t, nil), "x", nil, memo.Options[int]{})
	require.ErrorIs(t, err, memo.ErrNilFunc)
	require.Equal(t, "config-4", must(f1.Unwrap()(ctx)))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
