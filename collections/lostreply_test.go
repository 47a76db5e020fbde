package collections_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
)

// These tests put the fault proxy's lost-reply mode between go-redis
// (default options: 3 resends after a network error) and Redis: the server
// runs the nth command of every connection and its reply never arrives,
// the connection is cut, and go-redis sends the command again on a new
// one. They check that no write is applied twice behind a success and that
// nothing is lost without an error saying so.

// dropEvery is the lost-reply period: with go-redis' 3-command handshake,
// each connection answers 6 commands, then loses the reply of the 7th.
const dropEvery = 10

// putAll puts items 0..n-1 from 8 goroutines and returns those whose Put
// returned nil and the number that returned ErrUncertain.
func putAll(t *testing.T, n int, put func(ctx context.Context, v int) error) (map[int]bool, int) {
	t.Helper()
	const producers = 8
	var mu sync.Mutex
	ok := make(map[int]bool)
	var unsure int
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := p; i < n; i += producers {
				err := put(t.Context(), i)
				mu.Lock()
				switch {
				case err == nil:
					ok[i] = true
				case errors.Is(err, collections.ErrUncertain):
					unsure++
				default:
					t.Errorf("put %d: %v", i, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ok, unsure
}

// lossyBackend is a server or a cluster behind lost-reply proxies.
type lossyBackend struct {
	name   string
	rdb    redis.UniversalClient // through the proxies, default retry options
	direct redis.UniversalClient // straight to the servers
	pxs    []*faultproxy.Proxy
}

// dropped returns the number of replies the proxies dropped.
func (lb lossyBackend) dropped() int64 {
	var n int64
	for _, px := range lb.pxs {
		n += px.Dropped()
	}
	return n
}

// heal ends the lost replies.
func (lb lossyBackend) heal() {
	for _, px := range lb.pxs {
		px.Heal()
	}
}

// lossyOnBoth runs fn on a single server and on a 3-master cluster, each
// behind proxies that lose the reply of every dropEvery-th command of each
// connection.
func lossyOnBoth(t *testing.T, fn func(t *testing.T, lb lossyBackend)) {
	t.Helper()
	t.Parallel()
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	px.DropReplies(dropEvery)
	single := redis.NewClient(&redis.Options{Addr: px.Addr})
	t.Cleanup(func() { _ = single.Close() })

	cl := redistest.StartCluster(t)
	via := make(map[string]string) // server address -> its proxy's
	var pxs []*faultproxy.Proxy
	for _, s := range cl.Servers {
		p := faultproxy.Start(t, s.Addr)
		p.DropReplies(dropEvery)
		via[s.Addr] = p.Addr
		pxs = append(pxs, p)
	}
	var d net.Dialer
	cluster := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: cl.Addrs(),
		// The nodes announce their own addresses: dial them through their proxies.
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if p, ok := via[addr]; ok {
				addr = p
			}
			return d.DialContext(ctx, network, addr)
		},
	})
	t.Cleanup(func() { _ = cluster.Close() })

	for _, lb := range []lossyBackend{
		{name: "single", rdb: single, direct: srv.Client(t), pxs: []*faultproxy.Proxy{px}},
		{name: "cluster", rdb: cluster, direct: cl.Client(t), pxs: pxs},
	} {
		t.Run(lb.name, func(t *testing.T) { fn(t, lb) })
	}
}

// TestLostRepliesCounter: 8 goroutines x 500 Incr of a field each, replies
// lost: the total is exactly the number of calls that returned nil, and no
// call is uncertain (Incr is idempotent under resend).
func TestLostRepliesCounter(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		const workers, calls = 8, 500
		ctr, err := collections.NewCounter(lb.rdb, dsName(t), collections.CounterOptions[string]{Codec: codec.String()})
		require.NoError(t, err)
		var ok, unsure atomic.Int64
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range calls {
					_, err := ctr.Incr(t.Context(), fmt.Sprintf("%d-%d", w, i))
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, collections.ErrUncertain):
						unsure.Add(1)
					default:
						t.Errorf("incr: %v", err)
					}
				}
			})
		}
		wg.Wait()
		lb.heal()
		direct, err := collections.NewCounter(lb.direct, dsName(t), collections.CounterOptions[string]{Codec: codec.String()})
		require.NoError(t, err)
		total, err := direct.Total(t.Context())
		require.NoError(t, err)
		t.Logf("%d calls returned nil, %d uncertain, total %d, %d replies lost", ok.Load(), unsure.Load(), total, lb.dropped())
		require.Positive(t, lb.dropped(), "no reply was lost: the test tested nothing")
		require.GreaterOrEqual(t, total-ok.Load(), int64(0))
		require.LessOrEqual(t, total-ok.Load(), unsure.Load())
		require.Equal(t, ok.Load(), total, "increments applied twice or lost")
		require.Zero(t, unsure.Load())

		// Update (several keys, one script) is idempotent too.
		for i := range 50 {
			require.NoError(t, ctr.Update(t.Context(), map[string]int64{"u": 1, "v": 2}), "update %d", i)
		}
		u, err := direct.Get(t.Context(), "u")
		require.NoError(t, err)
		require.Equal(t, int64(50), u)
	})
}

// TestLostRepliesQueue: a plain Queue loses no item without an error, and
// delivers none twice.
func TestLostRepliesQueue(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		const items, consumers = 2000, 8
		q, err := collections.NewQueue(lb.rdb, dsName(t), collections.QueueOptions[int]{})
		require.NoError(t, err)
		put, putUnsure := putAll(t, items, func(ctx context.Context, v int) error { return q.Put(ctx, v) })
		var mu sync.Mutex
		got := make(map[int]int)
		var getUnsure int
		var wg sync.WaitGroup
		for range consumers {
			wg.Go(func() {
				for {
					ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
					v, err := q.Get(ctx)
					cancel()
					mu.Lock()
					switch {
					case err == nil:
						got[v]++
					case errors.Is(err, collections.ErrUncertain):
						getUnsure++
					case errors.Is(err, collections.ErrEmpty):
						mu.Unlock()
						return // drained
					default:
						t.Errorf("get: %v", err)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		var lost, dups int
		for i := range put {
			if got[i] == 0 {
				lost++
			}
		}
		for _, n := range got {
			dups += max(n-1, 0)
		}
		t.Logf("%d put (%d uncertain), %d got (%d uncertain), %d lost, %d duplicates, %d replies lost",
			len(put), putUnsure, len(got), getUnsure, lost, dups, lb.dropped())
		require.Positive(t, lb.dropped())
		require.LessOrEqual(t, lost, getUnsure, "items lost without an error")
		require.Zero(t, lost)
		require.Zero(t, dups)
		// A Get whose context ends while a step is in flight is uncertain;
		// the steps themselves survive the lost replies.
		require.Zero(t, putUnsure)
		require.Len(t, put, items)
	})
}

// TestLostRepliesReliableQueue: 2,000 items, one in eight consumers'
// first claims abandoned (a crash before the ack), lost replies on every
// step: every item is delivered and acked exactly once, duplicates are at
// most the abandoned claims, nothing is lost.
func TestLostRepliesReliableQueue(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		const items, consumers = 2000, 8
		q, err := collections.NewReliableQueue(lb.rdb, dsName(t), collections.QueueOptions[int]{
			VisibilityTimeout: time.Second,
		})
		require.NoError(t, err)
		put, putUnsure := putAll(t, items, func(ctx context.Context, v int) error { return q.Put(ctx, v) })
		require.Zero(t, putUnsure)
		require.Len(t, put, items)
		var mu sync.Mutex
		delivered := make(map[int]int)
		acked := make(map[int]int)
		var crashed, extended, claimUnsure int
		var wg sync.WaitGroup
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		for range consumers {
			wg.Go(func() {
				for {
					mu.Lock()
					done := len(acked) == items
					mu.Unlock()
					if done {
						return
					}
					wait, stop := context.WithTimeout(ctx, 300*time.Millisecond)
					d, err := q.Get(wait)
					stop()
					if errors.Is(err, collections.ErrEmpty) && ctx.Err() == nil {
						continue // the abandoned ones come back after their timeout
					}
					if errors.Is(err, collections.ErrUncertain) && ctx.Err() == nil {
						// The wait ended while a claim was in flight: if it
						// took an item, the item comes back after its timeout.
						mu.Lock()
						claimUnsure++
						mu.Unlock()
						continue
					}
					if err != nil {
						t.Errorf("get: %v", err)
						return
					}
					mu.Lock()
					delivered[d.Value]++
					crash := d.Value%8 == 0 && delivered[d.Value] == 1
					if crash {
						crashed++
					}
					mu.Unlock()
					if crash {
						continue // never settled: redelivered after the timeout
					}
					if d.Value%5 == 0 {
						if err := d.Extend(ctx, time.Second); err != nil {
							t.Errorf("extend %d: %v", d.Value, err)
						}
						mu.Lock()
						extended++
						mu.Unlock()
					}
					if err := d.Ack(ctx); err != nil {
						t.Errorf("ack %d: %v", d.Value, err)
						return
					}
					mu.Lock()
					acked[d.Value]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		var dups int
		for i := range put {
			require.Equal(t, 1, acked[i], "item %d acked %d times", i, acked[i])
			dups += delivered[i] - 1
		}
		t.Logf("%d items, %d crashed claims, %d extends, %d uncertain claims (wait ended), %d duplicate deliveries, %d replies lost",
			items, crashed, extended, claimUnsure, dups, lb.dropped())
		require.Positive(t, lb.dropped())
		require.GreaterOrEqual(t, crashed, items/10)
		require.LessOrEqual(t, dups, crashed)
		lb.heal()
		direct, err := collections.NewReliableQueue(lb.direct, dsName(t), collections.QueueOptions[int]{})
		require.NoError(t, err)
		require.Zero(t, dsMust[int64](t)(direct.Len(t.Context())))
		require.Zero(t, dsMust[int64](t)(direct.InFlight(t.Context())))
	})
}

// TestLostRepliesLock: Unlock after a lost reply releases and returns nil,
// or returns ErrUncertain; never ErrNotHeld while this value held the lock.
func TestLostRepliesLock(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		lock, err := collections.NewLock([]redis.UniversalClient{lb.rdb}, dsName(t), collections.LockOptions{})
		require.NoError(t, err)
		var unsure int
		for i := range 300 {
			_, err := lock.TryLock(t.Context())
			if errors.Is(err, collections.ErrNotObtained) {
				// An uncertain Unlock may have left the key: it expires.
				continue
			}
			require.NoError(t, err, "lock %d", i)
			switch err := lock.Unlock(t.Context()); {
			case err == nil:
			case errors.Is(err, collections.ErrUncertain):
				unsure++
			default:
				t.Fatalf("unlock %d: %v", i, err)
			}
		}
		t.Logf("%d uncertain unlocks, %d replies lost", unsure, lb.dropped())
		require.Positive(t, lb.dropped())
	})
}

// TestLostRepliesDeque: pushes and pops of a bounded Deque and a List
// under lost replies: no element doubled, none lost.
func TestLostRepliesDeque(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		d, err := collections.NewDeque(lb.rdb, dsName(t), collections.DequeOptions[string]{Codec: codec.String()})
		require.NoError(t, err)
		const n = 300
		for i := range n {
			_, err := d.Append(t.Context(), strconv.Itoa(i))
			require.NoError(t, err)
		}
		require.Equal(t, int64(n), dsMust[int64](t)(d.Len(t.Context())))
		for i := range n {
			v, err := d.PopLeft(t.Context())
			require.NoError(t, err)
			require.Equal(t, strconv.Itoa(i), v)
		}
		_, err = d.Pop(t.Context())
		require.ErrorIs(t, err, collections.ErrEmpty)
		require.Positive(t, lb.dropped())
	})
}

// TestClearAndExpireCoverSyncVersion: the version key package syncable
// keeps next to a collection's key goes with Clear and takes Expire's TTL,
// so that clearing a collection leaves nothing behind.
func TestClearAndExpireCoverSyncVersion(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t).Client(t)
	ctx := t.Context()
	d, err := collections.NewDict(rdb, "synced", collections.DictOptions[string, string]{KeyCodec: codec.String(), Codec: codec.String()})
	require.NoError(t, err)
	ver := d.Key() + ":syncver"
	require.NoError(t, d.Set(ctx, "a", "1"))
	require.NoError(t, rdb.Set(ctx, ver, "token", 0).Err())
	ok, err := d.Expire(ctx, time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	require.Greater(t, rdb.PTTL(ctx, ver).Val(), 59*time.Minute, "the version key takes the TTL")
	require.NoError(t, d.Clear(ctx))
	require.Zero(t, rdb.Exists(ctx, d.Key(), ver).Val(), "both keys gone")
}

// TestLostRepliesSentOnce: writes that are sent without transport retries
// (SortedSet.IncrScore, Set.Pop) report a lost reply as ErrUncertain and
// are never applied twice: the score is the sum of the increments that
// returned nil plus some of the uncertain ones, and no member is popped
// twice.
func TestLostRepliesSentOnce(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		ctx := t.Context()
		z, err := collections.NewSortedSet(lb.rdb, dsName(t), collections.SortedSetOptions[string]{Codec: codec.String()})
		require.NoError(t, err)
		var ok, unsure int
		for range 200 {
			switch _, err := z.IncrScore(ctx, "m", 1); {
			case err == nil:
				ok++
			case errors.Is(err, collections.ErrUncertain):
				unsure++
			default:
				t.Fatalf("incr score: %v", err)
			}
		}
		score, err := z.Score(ctx, "m")
		require.NoError(t, err)
		t.Logf("IncrScore: %d nil, %d uncertain, score %v", ok, unsure, score)
		require.Positive(t, unsure, "no lost reply reached IncrScore")
		require.GreaterOrEqual(t, int(score), ok)
		require.LessOrEqual(t, int(score), ok+unsure)

		s, err := collections.NewSet(lb.rdb, dsName(t), collections.SetOptions[int]{})
		require.NoError(t, err)
		const members = 200
		all := make([]int, members)
		for i := range all {
			all[i] = i
		}
		_, err = s.Add(ctx, all...)
		require.NoError(t, err)
		popped := make(map[int]bool)
		unsure = 0
		for {
			v, err := s.Pop(ctx)
			if errors.Is(err, collections.ErrEmpty) {
				break
			}
			if errors.Is(err, collections.ErrUncertain) {
				unsure++
				continue
			}
			require.NoError(t, err)
			require.False(t, popped[v], "member %d popped twice", v)
			popped[v] = true
		}
		t.Logf("Set.Pop: %d popped, %d uncertain (those members are gone: the error said so)", len(popped), unsure)
		require.LessOrEqual(t, members-len(popped), unsure)
	})
}

// TestLockPurge: Purge deletes the fencing counter unless the lock is held.
func TestLockPurge(t *testing.T) {
	t.Parallel()
	rdb := redistest.Start(t).Client(t)
	ctx := t.Context()
	lock, err := collections.NewLock([]redis.UniversalClient{rdb}, "purged", collections.LockOptions{})
	require.NoError(t, err)
	_, err = lock.TryLock(ctx)
	require.NoError(t, err)
	require.ErrorIs(t, lock.Purge(ctx), collections.ErrNotObtained, "held: nothing purged")
	require.Equal(t, int64(1), rdb.Exists(ctx, "tc:{purged}:fence").Val())
	require.NoError(t, lock.Unlock(ctx))
	require.NoError(t, lock.Purge(ctx))
	require.Zero(t, rdb.Exists(ctx, "tc:{purged}:fence", "tc:{purged}:lock").Val())
	fence, err := lock.TryLock(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), fence, "tokens start again from 1")
	require.NoError(t, lock.Unlock(ctx))
}

// TestLostRepliesNextID: a proposal that go-redis sends again is refused
// (the counter already holds it), so Next proposes a higher id: ids stay
// strictly increasing, never repeated.
func TestLostRepliesNextID(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		ids, err := collections.NewNextID([]redis.UniversalClient{lb.rdb}, dsName(t), collections.NextIDOptions{})
		require.NoError(t, err)
		var last int64
		for range 300 {
			id, err := ids.Next(t.Context())
			require.NoError(t, err)
			require.Greater(t, id, last)
			last = id
		}
		t.Logf("last id %d after 300 calls, %d replies lost", last, lb.dropped())
		require.Positive(t, lb.dropped())
	})
}

// TestLostRepliesTakeRecovers: with go-redis' resends off, every lost
// reply of a pop (Queue, Dict) reaches the collection, which asks Redis for
// the request's record: the element it took is returned, not lost, and no
// call is uncertain.
func TestLostRepliesTakeRecovers(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	px.DropReplies(dropEvery)
	noResend := redis.NewClient(&redis.Options{Addr: px.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = noResend.Close() })
	ctx := t.Context()
	const items = 300
	direct, err := collections.NewQueue(srv.Client(t), "recover", collections.QueueOptions[int]{})
	require.NoError(t, err)
	for i := range items {
		require.NoError(t, direct.Put(ctx, i))
	}
	q, err := collections.NewQueue(noResend, "recover", collections.QueueOptions[int]{})
	require.NoError(t, err)
	for i := range items {
		v, err := q.TryGet(ctx)
		require.NoError(t, err, "get %d", i)
		require.Equal(t, i, v)
	}
	_, err = q.TryGet(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)
	t.Logf("%d items, %d replies lost and recovered", items, px.Dropped())
	require.Positive(t, px.Dropped())

	// Dict.Pop does the same.
	opts := collections.DictOptions[int, int]{}
	dd, err := collections.NewDict(srv.Client(t), "recover", opts)
	require.NoError(t, err)
	for i := range items {
		require.NoError(t, dd.Set(ctx, i, i*10))
	}
	d, err := collections.NewDict(noResend, "recover", opts)
	require.NoError(t, err)
	before := px.Dropped()
	for i := range items {
		v, err := d.Pop(ctx, i)
		require.NoError(t, err, "pop %d", i)
		require.Equal(t, i*10, v)
	}
	require.Zero(t, dsMust[int64](t)(dd.Len(ctx)))
	require.Greater(t, px.Dropped(), before)
}

// TestLostRepliesClaimRecovers: with go-redis' resends off, a claim whose
// reply is lost asks for its delivery once more and a settlement is sent
// once more: every item is delivered and acked, none uncertain, none left
// in flight.
func TestLostRepliesClaimRecovers(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	px.DropReplies(dropEvery)
	noResend := redis.NewClient(&redis.Options{Addr: px.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = noResend.Close() })
	ctx := t.Context()
	const items = 300
	direct, err := collections.NewReliableQueue(srv.Client(t), "recover", collections.QueueOptions[int]{})
	require.NoError(t, err)
	for i := range items {
		require.NoError(t, direct.Put(ctx, i))
	}
	q, err := collections.NewReliableQueue(noResend, "recover", collections.QueueOptions[int]{})
	require.NoError(t, err)
	for i := range items {
		d, err := q.TryGet(ctx)
		require.NoError(t, err, "get %d", i)
		require.Equal(t, i, d.Value)
		require.NoError(t, d.Ack(ctx), "ack %d", i)
	}
	_, err = q.TryGet(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)
	require.Zero(t, dsMust[int64](t)(direct.InFlight(ctx)))
	t.Logf("%d items, %d replies lost and recovered", items, px.Dropped())
	require.Positive(t, px.Dropped())
}

// TestLostRepliesSentAgain: with go-redis' resends off, every write that
// carries a request id (Queue.Put, Deque.Append, Counter.Incr and Update)
// and loses its reply is sent once more, while ctx is live: the record
// answers for one that ran, so every call returns nil and is applied once.
// (With go-redis' resends on, the same happens when all of them are lost.)
func TestLostRepliesSentAgain(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	px.DropReplies(dropEvery)
	noResend := redis.NewClient(&redis.Options{Addr: px.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = noResend.Close() })
	ctx := t.Context()
	const n = 300

	q, err := collections.NewQueue(noResend, "again", collections.QueueOptions[int]{})
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, q.Put(ctx, i), "put %d", i)
	}
	direct, err := collections.NewQueue(srv.Client(t), "again", collections.QueueOptions[int]{})
	require.NoError(t, err)
	require.Equal(t, int64(n), dsMust[int64](t)(direct.Len(ctx)))

	d, err := collections.NewDeque(noResend, "again-deque", collections.DequeOptions[int]{})
	require.NoError(t, err)
	for i := range n {
		_, err := d.Append(ctx, i)
		require.NoError(t, err, "append %d", i)
	}
	directDeque, err := collections.NewDeque(srv.Client(t), "again-deque", collections.DequeOptions[int]{})
	require.NoError(t, err)
	require.Equal(t, int64(n), dsMust[int64](t)(directDeque.Len(ctx)))

	ctr, err := collections.NewCounter(noResend, "again", collections.CounterOptions[string]{Codec: codec.String()})
	require.NoError(t, err)
	for i := range n {
		_, err := ctr.Incr(ctx, "a")
		require.NoError(t, err, "incr %d", i)
		require.NoError(t, ctr.Update(ctx, map[string]int64{"b": 2}), "update %d", i)
	}
	directCtr, err := collections.NewCounter(srv.Client(t), "again", collections.CounterOptions[string]{Codec: codec.String()})
	require.NoError(t, err)
	require.Equal(t, int64(n), dsMust[int64](t)(directCtr.Get(ctx, "a")))
	require.Equal(t, int64(2*n), dsMust[int64](t)(directCtr.Get(ctx, "b")))

	t.Logf("%d replies lost, each write sent again", px.Dropped())
	require.Greater(t, px.Dropped(), int64(4*n/dropEvery), "the proxy lost too few replies: the test tested nothing")
}
