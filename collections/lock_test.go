package collections_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// clientsFor returns one client per server: a "process" that talks to every
// master. Calling it again gives another process its own connections. The
// clients retry little, as the Lock documentation recommends, so that a
// killed master fails fast.
func clientsFor(t testing.TB, servers []*redistest.Server) []redis.UniversalClient {
	t.Helper()
	out := make([]redis.UniversalClient, len(servers))
	for i, s := range servers {
		c := redis.NewClient(&redis.Options{Addr: s.Addr, DialerRetries: 1, MaxRetries: 1, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = c.Close() })
		out[i] = c
	}
	return out
}

// countKeys returns how many servers hold key.
func countKeys(t testing.TB, servers []*redistest.Server, key string) int {
	t.Helper()
	n := 0
	for _, s := range servers {
		c := redis.NewClient(&redis.Options{Addr: s.Addr})
		got, err := c.Exists(context.Background(), key).Result()
		c.Close()
		require.NoError(t, err)
		n += int(got)
	}
	return n
}

func newLock(t testing.TB, masters []redis.UniversalClient, name string, opts collections.LockOptions) *collections.Lock {
	t.Helper()
	l, err := collections.NewLock(masters, name, opts)
	require.NoError(t, err)
	return l
}

func TestNewLockValidates(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed
	defer c.Close()
	ms := []redis.UniversalClient{c}
	for _, tc := range []struct {
		name    string
		masters []redis.UniversalClient
		lock    string
		opts    collections.LockOptions
	}{
		{"no masters", nil, "l", collections.LockOptions{}},
		{"nil master", []redis.UniversalClient{c, nil}, "l", collections.LockOptions{}},
		{"empty name", ms, "", collections.LockOptions{}},
		{"brace in name", ms, "a}b", collections.LockOptions{}},
		{"brace in prefix", ms, "l", collections.LockOptions{Options: collections.Options{Prefix: "x{"}}},
		{"negative TTL", ms, "l", collections.LockOptions{TTL: -time.Second}},
		{"sub-millisecond TTL", ms, "l", collections.LockOptions{TTL: time.Microsecond}},
		{"negative retry delay", ms, "l", collections.LockOptions{RetryDelay: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := collections.NewLock(tc.masters, tc.lock, tc.opts)
			require.ErrorIs(t, err, collections.ErrInvalidArgument)
			require.Nil(t, l)
		})
	}
}

func TestLockBasics(t *testing.T) {
	for _, n := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(n, "masters"), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			servers := redistest.StartMasters(t, n)
			opts := collections.LockOptions{TTL: 5 * time.Second}
			a := newLock(t, clientsFor(t, servers), "basics", opts)
			b := newLock(t, clientsFor(t, servers), "basics", opts)

			fa, err := a.TryLock(ctx)
			require.NoError(t, err)
			assert.Equal(t, uint64(1), fa, "first fencing token")
			assert.Equal(t, fa, a.Fence())
			assert.Equal(t, n, countKeys(t, servers, "tc:{basics}:lock"), "every master holds the key")

			_, err = b.TryLock(ctx)
			require.ErrorIs(t, err, collections.ErrNotObtained, "another value")
			_, err = a.TryLock(ctx)
			require.ErrorIs(t, err, collections.ErrNotObtained, "the holding value itself")
			require.ErrorIs(t, b.Unlock(ctx), collections.ErrNotHeld)
			require.ErrorIs(t, b.Extend(ctx, time.Second), collections.ErrNotHeld)
			assert.Zero(t, b.Validity())
			assert.Zero(t, b.Fence())

			v := a.Validity()
			assert.Positive(t, v)
			assert.LessOrEqual(t, v, opts.TTL)
			left, err := a.Locked(ctx)
			require.NoError(t, err)
			assert.Positive(t, left)
			assert.LessOrEqual(t, left, opts.TTL)

			require.NoError(t, a.Extend(ctx, 20*time.Second))
			assert.Greater(t, a.Validity(), opts.TTL, "validity follows the extension")

			require.NoError(t, a.Unlock(ctx))
			assert.Zero(t, countKeys(t, servers, "tc:{basics}:lock"), "Unlock deletes the key everywhere")
			select {
			case <-a.Lost():
			default:
				t.Fatal("Lost() is not closed after Unlock")
			}
			require.ErrorIs(t, a.Unlock(ctx), collections.ErrNotHeld, "second Unlock")
			left, err = a.Locked(ctx)
			require.NoError(t, err)
			assert.Zero(t, left)

			fb, err := b.Lock(ctx)
			require.NoError(t, err)
			assert.Greater(t, fb, fa, "fencing tokens increase")
			require.NoError(t, b.Unlock(ctx))
		})
	}
}

// TestLockMutualExclusion runs 8 goroutines on 4 client sets ("processes"),
// 100 critical sections each, on 5 masters. Each section reads and writes a
// counter in a separate Redis; an atomic flag detects overlaps, and the
// fencing tokens must increase from one section to the next.
func TestLockMutualExclusion(t *testing.T) {
	const processes, perProcess, sections = 4, 2, 100
	ctx := context.Background()
	servers := redistest.StartMasters(t, 5)
	resource := redistest.Start(t).Client(t)

	var inside atomic.Bool
	var lastFence atomic.Uint64
	var overlaps, stale atomic.Int64
	var wg sync.WaitGroup
	for p := range processes {
		masters := clientsFor(t, servers)
		for g := range perProcess {
			lock := newLock(t, masters, "mutex", collections.LockOptions{
				// A generous per-call timeout: a hang guard on a loaded machine.
				Options: collections.Options{Timeout: 10 * time.Second},
				TTL:     30 * time.Second, RetryDelay: time.Millisecond, MaxRetryDelay: 4 * time.Millisecond,
			})
			wg.Go(func() {
				for i := range sections {
					fence, err := lock.Lock(ctx)
					if !assert.NoError(t, err, "process %d goroutine %d section %d", p, g, i) {
						return
					}
					if !inside.CompareAndSwap(false, true) {
						overlaps.Add(1)
					}
					if prev := lastFence.Swap(fence); fence <= prev {
						stale.Add(1)
					}
					v, err := resource.Get(ctx, "counter").Int()
					if errors.Is(err, redis.Nil) {
						err = nil
					}
					assert.NoError(t, err)
					assert.NoError(t, resource.Set(ctx, "counter", v+1, 0).Err())
					inside.Store(false)
					assert.NoError(t, lock.Unlock(ctx))
				}
			})
		}
	}
	wg.Wait()
	assert.Zero(t, overlaps.Load(), "critical sections overlapped")
	assert.Zero(t, stale.Load(), "a section's fencing token was not above the previous one")
	got, err := resource.Get(ctx, "counter").Int()
	require.NoError(t, err)
	assert.Equal(t, processes*perProcess*sections, got, "lost updates")
	assert.GreaterOrEqual(t, lastFence.Load(), uint64(got), "one token per section at least")
}

func TestLockWithMinorityDown(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 5)
	lock := newLock(t, clientsFor(t, servers), "minority", collections.LockOptions{})
	servers[1].Kill()
	servers[3].Kill()
	var last uint64
	for range 5 {
		fence, err := lock.Lock(ctx)
		require.NoError(t, err)
		require.Greater(t, fence, last)
		last = fence
		require.NoError(t, lock.Unlock(ctx))
	}
	assert.Zero(t, countKeys(t, servers[:1], "tc:{minority}:lock"))
}

func TestLockWithoutQuorumLeavesNoKeys(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 5)
	lock := newLock(t, clientsFor(t, servers), "noquorum", collections.LockOptions{
		TTL: 30 * time.Second, RetryDelay: 5 * time.Millisecond,
	})
	for _, i := range []int{0, 2, 4} {
		servers[i].Kill()
	}
	_, err := lock.TryLock(ctx)
	require.ErrorIs(t, err, collections.ErrQuorum)
	var qe *collections.QuorumError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, 2, qe.Answered)
	assert.Equal(t, 3, qe.Need)
	assert.Equal(t, 5, qe.Total)
	assert.Len(t, qe.Errs, 3)
	assert.Contains(t, err.Error(), "2 of 5 masters answered")

	lctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = lock.Lock(lctx)
	require.ErrorIs(t, err, collections.ErrNotObtained)
	require.ErrorIs(t, err, collections.ErrQuorum)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// The two live masters granted the key on every attempt; each failed
	// attempt must have released it, although the TTL is 30s.
	assert.Zero(t, countKeys(t, []*redistest.Server{servers[1], servers[3]}, "tc:{noquorum}:lock"))
	for _, i := range []int{0, 2, 4} {
		servers[i].Restart()
	}
	assert.Zero(t, countKeys(t, servers, "tc:{noquorum}:lock"), "stray lock keys after recovery")
	fence, err := lock.Lock(ctx)
	require.NoError(t, err, "the lock works again after recovery")
	assert.Positive(t, fence)
	require.NoError(t, lock.Unlock(ctx))
}

// TestLockExpiresWithoutRenewal: a holder that neither extends nor releases
// loses the lock after its TTL, and the next holder gets a larger token.
func TestLockExpiresWithoutRenewal(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 3)
	opts := collections.LockOptions{TTL: 600 * time.Millisecond, RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond}
	a := newLock(t, clientsFor(t, servers), "expiry", opts)
	b := newLock(t, clientsFor(t, servers), "expiry", opts)

	fa, err := a.TryLock(ctx)
	require.NoError(t, err)
	_, err = b.TryLock(ctx)
	require.ErrorIs(t, err, collections.ErrNotObtained)

	<-a.Lost() // closed when a's validity runs out
	assert.Zero(t, a.Validity())
	fb, err := b.Lock(ctx) // succeeds once the keys expire on a quorum
	require.NoError(t, err)
	assert.Greater(t, fb, fa)

	require.ErrorIs(t, a.Extend(ctx, time.Second), collections.ErrNotHeld)
	require.ErrorIs(t, a.Unlock(ctx), collections.ErrNotHeld)
	assert.Positive(t, b.Validity(), "a's late Unlock must not release b's lock")
	assert.GreaterOrEqual(t, countKeys(t, servers, "tc:{expiry}:lock"), 2, "b holds a quorum")
	require.NoError(t, b.Unlock(ctx))
}

// TestLockWatchdog: with the watchdog, a lock outlives many TTLs until
// Unlock, which stops the renewals.
func TestLockWatchdog(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 3)
	// Long enough that a renewal delayed by a loaded machine is still in time.
	const ttl = time.Second
	a := newLock(t, clientsFor(t, servers), "watchdog", collections.LockOptions{TTL: ttl, Watchdog: true})
	b := newLock(t, clientsFor(t, servers), "watchdog", collections.LockOptions{TTL: ttl})

	_, err := a.TryLock(ctx)
	require.NoError(t, err)
	// Hold for two and a half TTLs, checking that the lock stays taken.
	for deadline := time.Now().Add(5 * ttl / 2); time.Now().Before(deadline); {
		_, err := b.TryLock(ctx)
		require.ErrorIs(t, err, collections.ErrNotObtained)
		time.Sleep(ttl / 10) // sampling a state that has no change signal
	}
	select {
	case <-a.Lost():
		t.Fatal("the watchdog let the lock lapse")
	default:
	}
	left, err := a.Locked(ctx)
	require.NoError(t, err)
	assert.Positive(t, left)

	require.NoError(t, a.Unlock(ctx))
	_, err = b.TryLock(ctx)
	require.NoError(t, err, "Unlock released the lock")
	require.NoError(t, b.Unlock(ctx))
	assert.Zero(t, countKeys(t, servers, "tc:{watchdog}:lock"), "no renewal after Unlock")
}

// TestLockFencingRejectsPausedHolder: a holder paused past its lease comes
// back with a token lower than the new holder's, and the resource rejects it.
func TestLockFencingRejectsPausedHolder(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 5)
	opts := collections.LockOptions{TTL: 500 * time.Millisecond, RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond}
	paused := newLock(t, clientsFor(t, servers), "fenced", opts)
	next := newLock(t, clientsFor(t, servers), "fenced", opts)
	var resource collections.FenceChecker
	var value string

	write := func(fence uint64, v string) error {
		if err := resource.Admit(fence); err != nil {
			return err
		}
		value = v
		return nil
	}

	oldFence, err := paused.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, write(oldFence, "from the first holder"))

	<-paused.Lost() // the first holder is "paused" past its validity
	newFence, err := next.Lock(ctx)
	require.NoError(t, err)
	require.NoError(t, write(newFence, "from the second holder"))

	err = write(oldFence, "from the paused holder, too late")
	require.ErrorIs(t, err, collections.ErrStaleFence)
	assert.Equal(t, "from the second holder", value)
	require.NoError(t, next.Unlock(ctx))
}

// TestLockFenceAfterCountersDiverge: masters' counters drift apart when
// attempts fail; the token must still exceed every earlier token when the
// next quorum is made of the lagging masters.
func TestLockFenceAfterCountersDiverge(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 3)
	masters := clientsFor(t, servers)
	require.NoError(t, masters[0].Set(ctx, "tc:{drift}:fence", 10, 0).Err())
	lock := newLock(t, masters, "drift", collections.LockOptions{})

	first, err := lock.TryLock(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(11), first, "the largest counter of the quorum")
	require.NoError(t, lock.Unlock(ctx))

	servers[0].Kill() // the next quorum is the two masters that were behind
	second, err := lock.TryLock(ctx)
	require.NoError(t, err)
	assert.Greater(t, second, first)
	require.NoError(t, lock.Unlock(ctx))
}

func TestLockWrongType(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 3)
	masters := clientsFor(t, servers)
	require.NoError(t, masters[1].HSet(ctx, "tc:{typed}:lock", "f", "v").Err())
	lock := newLock(t, masters, "typed", collections.LockOptions{})

	_, err := lock.Lock(ctx) // returns at once: retrying cannot help
	require.ErrorIs(t, err, collections.ErrWrongType)
	assert.Contains(t, err.Error(), "tc:{typed}:lock")
	got, err := masters[1].HGet(ctx, "tc:{typed}:lock", "f").Result()
	require.NoError(t, err)
	assert.Equal(t, "v", got, "the hash is untouched")
	assert.Zero(t, countKeys(t, []*redistest.Server{servers[0], servers[2]}, "tc:{typed}:lock"), "the other masters were released")

	// A fencing counter that is not an integer: the script undoes its SET.
	require.NoError(t, masters[0].Set(ctx, "tc:{counter}:fence", "abc", 0).Err())
	lock = newLock(t, masters, "counter", collections.LockOptions{})
	_, err = lock.Lock(ctx)
	require.ErrorIs(t, err, collections.ErrWrongType)
	assert.Zero(t, countKeys(t, servers, "tc:{counter}:lock"), "no lock key left on any master")
}

func TestSynchronize(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 3)
	lock := newLock(t, clientsFor(t, servers), "sync", collections.LockOptions{})
	other := newLock(t, clientsFor(t, servers), "sync", collections.LockOptions{})

	boom := errors.New("boom")
	err := collections.Synchronize(ctx, lock, func(ctx context.Context) error {
		_, err := other.TryLock(ctx)
		assert.ErrorIs(t, err, collections.ErrNotObtained, "fn runs under the lock")
		assert.Positive(t, lock.Fence())
		return boom
	})
	require.ErrorIs(t, err, boom)
	assert.Zero(t, countKeys(t, servers, "tc:{sync}:lock"), "released after fn")

	t.Run("lost lock cancels fn's context", func(t *testing.T) {
		short := newLock(t, clientsFor(t, servers), "sync-short", collections.LockOptions{TTL: 400 * time.Millisecond})
		err := collections.Synchronize(ctx, short, func(ctx context.Context) error {
			<-ctx.Done()
			return context.Cause(ctx)
		})
		require.ErrorIs(t, err, collections.ErrNotHeld)
	})

	t.Run("not obtained", func(t *testing.T) {
		_, err := other.TryLock(ctx)
		require.NoError(t, err)
		defer other.Unlock(ctx)
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		called := false
		err = collections.Synchronize(cctx, lock, func(context.Context) error { called = true; return nil })
		require.ErrorIs(t, err, collections.ErrNotObtained)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, called)
	})
}

func TestFenceChecker(t *testing.T) {
	var f collections.FenceChecker
	require.ErrorIs(t, f.Admit(0), collections.ErrStaleFence, "0 is never issued")
	require.NoError(t, f.Admit(3))
	require.NoError(t, f.Admit(3), "the same holder writes again")
	require.NoError(t, f.Admit(7))
	err := f.Admit(5)
	require.ErrorIs(t, err, collections.ErrStaleFence)
	assert.Contains(t, err.Error(), "5")
	assert.Contains(t, err.Error(), "7")
}
