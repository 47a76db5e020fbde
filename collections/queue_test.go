package collections_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

func newQueue[T any](t testing.TB, rdb redis.UniversalClient, name string) *collections.Queue[T] {
	t.Helper()
	q, err := collections.NewQueue(rdb, name, collections.QueueOptions[T]{})
	require.NoError(t, err)
	return q
}

func newReliable[T any](t testing.TB, rdb redis.UniversalClient, name string, vis time.Duration) *collections.ReliableQueue[T] {
	t.Helper()
	q, err := collections.NewReliableQueue(rdb, name, collections.QueueOptions[T]{VisibilityTimeout: vis})
	require.NoError(t, err)
	return q
}

func TestQueue(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("basics", func(t *testing.T) { testQueueBasics(t, be.rdb) })
		t.Run("every item exactly once", func(t *testing.T) { testQueueExactlyOnce(t, be, false) })
		t.Run("reliable every item exactly once", func(t *testing.T) { testQueueExactlyOnce(t, be, true) })
		t.Run("reliable abandoned delivery", func(t *testing.T) { testReliableAbandoned(t, be) })
		t.Run("reliable consumer killed", func(t *testing.T) { testReliableKilled(t, be) })
		t.Run("errors", func(t *testing.T) { testQueueErrors(t, be.rdb) })
	})
}

func testQueueBasics(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	cars := newQueue[string](t, rdb, dsName(t))
	require.NoError(t, cars.Put(ctx, "a", "b"))
	require.NoError(t, cars.Put(ctx, "c"))
	require.Equal(t, int64(3), dsMust[int64](t)(cars.Len(ctx)))
	require.Equal(t, "a", dsMust[string](t)(cars.Get(ctx)))
	require.Equal(t, "b", dsMust[string](t)(cars.TryGet(ctx)))
	require.Equal(t, "c", dsMust[string](t)(cars.Get(ctx)))
	_, err := cars.TryGet(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)

	// The reliable queue of the same name shares the list.
	rq := newReliable[string](t, rdb, dsName(t), time.Minute)
	require.NoError(t, cars.Put(ctx, "d", "e"))
	d := dsMust[*collections.Delivery[string]](t)(rq.Get(ctx))
	require.Equal(t, "d", d.Value)
	require.Equal(t, int64(1), dsMust[int64](t)(rq.InFlight(ctx)))
	require.NoError(t, d.Nack(ctx))
	require.ErrorIs(t, d.Ack(ctx), collections.ErrDeliveryExpired, "a settled delivery cannot be settled again")
	d = dsMust[*collections.Delivery[string]](t)(rq.TryGet(ctx))
	require.Equal(t, "d", d.Value, "a nacked item is delivered again first")
	require.NoError(t, d.Ack(ctx))
	e := dsMust[*collections.Delivery[string]](t)(rq.TryGet(ctx))
	require.Equal(t, "e", e.Value)
	require.NotEqual(t, d.ID(), e.ID())
	_, err = rq.TryGet(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)
	require.NoError(t, rq.Clear(ctx))
	require.Zero(t, dsMust[int64](t)(rq.InFlight(ctx)))
	require.Zero(t, dsMust[int64](t)(rq.Len(ctx)))
}

// Four producers put 1000 items each; four consumers take them: each item
// arrives exactly once.
func testQueueExactlyOnce(t *testing.T, be dsBackend, reliable bool) {
	ctx := context.Background()
	name := dsName(t)
	const producers, consumers, each = 4, 4, 1000
	var got sync.Map
	var received atomic.Int64
	done, finish := context.WithCancel(ctx)
	defer finish()
	errs := make(chan error, producers+consumers)
	var wg sync.WaitGroup
	for c := range consumers {
		rdb := be.client(t)
		get := newQueue[string](t, rdb, name).Get
		if reliable {
			rq := newReliable[string](t, rdb, name, time.Minute)
			get = func(ctx context.Context) (string, error) {
				d, err := rq.Get(ctx)
				if err != nil {
					return "", err
				}
				return d.Value, d.Ack(ctx)
			}
		}
		wg.Go(func() {
			for {
				v, err := get(done)
				if errors.Is(err, context.Canceled) {
					return
				}
				if err != nil {
					errs <- fmt.Errorf("consumer %d: %w", c, err)
					return
				}
				if _, dup := got.LoadOrStore(v, c); dup {
					errs <- fmt.Errorf("item %s received twice", v)
				}
				if received.Add(1) == producers*each {
					finish()
				}
			}
		})
	}
	for p := range producers {
		q := newQueue[string](t, be.client(t), name)
		wg.Go(func() {
			for i := range each {
				if err := q.Put(ctx, fmt.Sprintf("%d-%d", p, i)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(producers*each), received.Load())
	for p := range producers {
		for i := range each {
			_, ok := got.Load(fmt.Sprintf("%d-%d", p, i))
			require.True(t, ok, "item %d-%d lost", p, i)
		}
	}
}

// A consumer that takes an item and abandons it: after the visibility
// timeout another consumer gets it, and the late Ack is refused.
func testReliableAbandoned(t *testing.T, be dsBackend) {
	ctx := context.Background()
	q := newReliable[string](t, be.rdb, dsName(t), 200*time.Millisecond)
	require.NoError(t, q.Put(ctx, "job"))
	abandoned := make(chan *collections.Delivery[string], 1)
	go func() {
		d, err := q.Get(ctx)
		if err != nil {
			abandoned <- nil
			return
		}
		abandoned <- d // and never settled by this goroutine
	}()
	first := <-abandoned
	require.NotNil(t, first)

	other := newReliable[string](t, be.client(t), dsName(t), time.Minute)
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	again, err := other.Get(wait) // blocks until the deadline passes
	require.NoError(t, err)
	require.Equal(t, "job", again.Value)
	require.NotEqual(t, first.ID(), again.ID())
	require.ErrorIs(t, first.Ack(ctx), collections.ErrDeliveryExpired)
	require.NoError(t, again.Ack(ctx))
	require.Zero(t, dsMust[int64](t)(other.Len(ctx)))
	require.Zero(t, dsMust[int64](t)(other.InFlight(ctx)))
}

// helperReliableGet is a helper process: it takes one item with a 300ms
// visibility timeout, prints it, and hangs until it is killed.
func helperReliableGet(t *testing.T, rdb redis.UniversalClient, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := newReliable[string](t, rdb, name, 300*time.Millisecond)
	d, err := q.Get(ctx)
	require.NoError(t, err)
	fmt.Printf("got %s\n", d.Value)
	<-ctx.Done() // the parent kills this process first
	t.Fatal("not killed")
}

// A consumer process killed with SIGKILL before its Ack loses nothing: the
// item comes back after the visibility timeout.
func testReliableKilled(t *testing.T, be dsBackend) {
	ctx := context.Background()
	name := dsName(t)
	q := newReliable[string](t, be.rdb, name, time.Minute)
	require.NoError(t, q.Put(ctx, "precious", "second"))

	cmd := be.helperCommand("reliable-get", name)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }) // if the test fails first
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "got "); ok {
				lines <- v
			}
		}
		close(lines)
	}()
	var taken string
	select {
	case taken = <-lines:
	case <-time.After(30 * time.Second): // hang guard
		t.Fatal("the helper took nothing")
	}
	require.Equal(t, "precious", taken)
	require.NoError(t, cmd.Process.Kill()) // SIGKILL: no Ack, no cleanup

	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var values []string
	for range 2 {
		d, err := q.Get(wait)
		require.NoError(t, err)
		values = append(values, d.Value)
		require.NoError(t, d.Ack(ctx))
	}
	require.ElementsMatch(t, []string{"precious", "second"}, values)
	require.Zero(t, dsMust[int64](t)(q.InFlight(ctx)))
}

func testQueueErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	q := newQueue[int](t, rdb, dsName(t))
	rq := newReliable[int](t, rdb, dsName(t), time.Minute)
	dsOccupy(t, rdb, q.Key())
	for name, op := range map[string]func() error{
		"Put":            func() error { return q.Put(ctx, 1) },
		"Get":            func() error { _, err := q.Get(ctx); return err },
		"TryGet":         func() error { _, err := q.TryGet(ctx); return err },
		"reliable Get":   func() error { _, err := rq.Get(ctx); return err },
		"reliable Clear": func() error { return rq.Clear(ctx) },
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorContains(t, err, q.Key(), name)
	}
	dsUntouched(t, rdb, q.Key())

	// Undecodable items go to the dead-letter list, not to oblivion.
	for _, reliable := range []bool{false, true} {
		name := fmt.Sprintf("%s-dead-%v", dsName(t), reliable)
		q := newQueue[int](t, rdb, name)
		rq := newReliable[int](t, rdb, name, time.Minute)
		require.NoError(t, rdb.LPush(ctx, q.Key(), "not json").Err())
		var err error
		if reliable {
			_, err = rq.Get(ctx)
		} else {
			_, err = q.Get(ctx)
		}
		require.ErrorIs(t, err, collections.ErrDecode)
		require.ErrorContains(t, err, q.Key())
		dead, err := rdb.LRange(ctx, q.DeadLetterKey(), 0, -1).Result()
		require.NoError(t, err)
		require.Equal(t, []string{"not json"}, dead)
		require.Zero(t, dsMust[int64](t)(rq.InFlight(ctx)))
	}

	ok := newQueue[int](t, rdb, dsName(t)+"ok")
	require.ErrorIs(t, ok.Put(dsCanceled(), 1), context.Canceled)
	_, err := ok.Get(dsCanceled())
	require.ErrorIs(t, err, context.Canceled)
	require.ErrorIs(t, err, collections.ErrEmpty)
	_, err = collections.NewReliableQueue(rdb, "x", collections.QueueOptions[int]{VisibilityTimeout: time.Microsecond})
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
}
