package lrutier

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestOnEvictOutsideLock proves that OnEvict runs without the shard lock: the
// callback uses the same one-shard tier, which would deadlock on sync.Mutex
// if it ran under the lock. Each path that reports (Set, Get, Sweep) is
// covered, and the Set from the callback evicts in turn.
func TestOnEvictOutsideLock(t *testing.T) {
	var clock fakeClock
	var log evictLog
	var tr *Tier[string, int]
	tr = New(Options[string, int]{Shards: 1, MaxEntries: 2, Now: clock.Now,
		OnEvict: func(k string, v int, r Reason) {
			log.OnEvict(k, v, r)
			tr.Get(k)
			tr.Stats()
			if v == 0 {
				tr.Set(k, 1, 1, 0) // re-insert once
			}
		}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Set("a", 0, 1, 0)
		tr.Set("b", 1, 1, 0)
		tr.Set("c", 1, 1, 0) // evicts a, whose callback re-inserts a, evicting b
		tr.Purge()

		tr.Set("b", 0, 1, 1)
		clock.Advance(1)
		tr.Get("b") // expired: reported by Get
		tr.Purge()

		tr.Set("d", 0, 1, 2)
		clock.Advance(1)
		tr.Sweep() // expired: reported by Sweep
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: OnEvict ran under the shard lock")
	}
	assert.Equal(t, []string{"a:evicted", "b:evicted", "b:expired", "d:expired"}, log.Calls())
	checkInvariants(t, tr)
}

func TestConcurrent(t *testing.T) {
	var clock fakeClock
	var tr *Tier[string, int]
	var evictCalls, cbGets atomic.Uint64
	tr = New(Options[string, int]{Shards: 8, MaxEntries: 256, MaxBytes: 16 << 10, Now: clock.Now,
		OnEvict: func(k string, _ int, _ Reason) {
			evictCalls.Add(1)
			tr.Get(k) // re-entrant use from the callback
			cbGets.Add(1)
		}})
	const workers, ops = 16, 4000
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	var gets atomic.Uint64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	checkerErrs := make(chan map[int]error, 1)
	go func() { // checks the invariants while the workers run
		for {
			select {
			case <-stop:
				checkerErrs <- nil
				return
			default:
			}
			if errs := invariantErrors(tr); len(errs) > 0 {
				checkerErrs <- errs
				return
			}
			runtime.Gosched()
		}
	}()
	for w := range workers {
		wg.Go(func() {
			rnd := uint64(w)*0x9e3779b97f4a7c15 + 1
			for i := range ops {
				rnd ^= rnd << 13
				rnd ^= rnd >> 7
				rnd ^= rnd << 17
				k := keys[rnd%uint64(len(keys))]
				switch (rnd >> 32) % 10 {
				case 0, 1, 2, 3:
					exp := int64(0)
					if i%3 == 0 {
						exp = clock.Now() + int64(rnd>>40%5)
					}
					tr.Set(k, i, int64(rnd>>20%3000), exp) // some exceed the 2 KiB shard budget
				case 4:
					tr.Delete(k)
				case 5:
					clock.Advance(1)
					fallthrough
				default:
					tr.Get(k)
					gets.Add(1)
				}
				if i%1000 == 999 && w == 0 {
					tr.Sweep()
					tr.DeleteFunc(func(_ string, v int) bool { return v%97 == 0 })
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	assert.Empty(t, <-checkerErrs, "invariants broken while running")
	checkInvariants(t, tr)

	st := tr.Stats()
	assert.LessOrEqual(t, st.Entries, 256)
	assert.LessOrEqual(t, st.Bytes, int64(16<<10))
	assert.Equal(t, gets.Load()+cbGets.Load(), st.Hits+st.Misses, "every Get is a hit or a miss")
	assert.Equal(t, evictCalls.Load(), st.Evictions+st.Expirations, "one OnEvict per eviction and expiration")
	assert.Positive(t, st.Evictions)
	assert.Positive(t, st.Expirations)
}

type structKey struct {
	a uint64
	b string
}

func TestGetDoesNotAllocate(t *testing.T) {
	var clock fakeClock
	t.Run("string key", func(t *testing.T) {
		tr := New(Options[string, []byte]{})
		key := fmt.Sprint("key-", 42) // not a constant
		tr.Set(key, []byte("v"), 10, 0)
		tr.Set("exp", []byte("v"), 10, 1<<62)
		assert.Zero(t, testing.AllocsPerRun(1000, func() {
			tr.Get(key)
			tr.Get("exp")
			tr.Get("absent")
		}))
	})
	t.Run("struct key with custom hash", func(t *testing.T) {
		tr := New(Options[structKey, string]{
			Now:  clock.Now,
			Hash: func(k structKey) uint64 { return k.a * 0x9e3779b97f4a7c15 },
		})
		key := structKey{7, fmt.Sprint("ns-", 1)}
		tr.Set(key, "v", 10, 100)
		assert.Zero(t, testing.AllocsPerRun(1000, func() {
			tr.Get(key)
			tr.Get(structKey{8, "x"})
		}))
	})
	t.Run("struct key with default hash", func(t *testing.T) {
		tr := New(Options[structKey, string]{})
		key := structKey{7, fmt.Sprint("ns-", 1)}
		tr.Set(key, "v", 10, 0)
		assert.Zero(t, testing.AllocsPerRun(1000, func() { tr.Get(key) }))
	})
}

// TestGetWithoutLock races lock-free Gets against the writers of their own
// shard: a writer that overwrites the keys the readers read with rising
// values, and one that inserts and deletes other keys, so that slots move
// back under the readers (backward-shift deletion) and the table grows. A
// key that is always present must always be found, with a value never older
// than one already seen; and the readers must have met the writers (probes
// retried), or the test proved nothing.
func TestGetWithoutLock(t *testing.T) {
	tr := New(Options[int, int]{Shards: 1, MaxEntries: 1 << 20, MaxBytes: 1 << 40,
		Hash: func(k int) uint64 { return uint64(k % 13) }}) // long probe runs
	const stay = 16
	for k := range stay {
		tr.Set(k, 0, 1, 0)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() { // overwrites
		for v := 1; !stop.Load(); v++ {
			for k := range stay {
				tr.Set(k, v, 1, 0)
			}
		}
	})
	wg.Go(func() { // churn
		for i := 0; !stop.Load(); i++ {
			k := stay + i%64
			tr.Set(k, 0, 1, 0)
			if i%3 != 0 {
				tr.Delete(stay + (i*7)%64)
			}
		}
	})
	var readers sync.WaitGroup
	errs := make(chan error, 2)
	for r := range 2 {
		readers.Go(func() {
			var last [stay]int
			for i := range 200_000 {
				k := (i + r) % stay
				v, ok := tr.Get(k)
				if !ok {
					errs <- fmt.Errorf("Get(%d) missed a key that is always present", k)
					return
				}
				if v < last[k] {
					errs <- fmt.Errorf("Get(%d) = %d after %d: went back in time", k, v, last[k])
					return
				}
				last[k] = v
			}
		})
	}
	readers.Wait()
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	retries := tr.nodes.shards[0].retries.Load()
	t.Logf("%d lookups probed again", retries)
	assert.NotZero(t, retries, "no Get met a writer: the race was not run")
	checkInvariants(t, tr)
}
