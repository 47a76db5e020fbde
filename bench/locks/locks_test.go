// Package locks compares tiercache's collections.Lock with its Go peers,
// go-redsync/redsync (Redlock on N masters) and bsm/redislock (one Redis),
// taking and releasing an uncontended lock on the same local masters.
//
// Groups: LockUnlock1Master (tiercache, redsync, redislock, and the limit:
// a bare SET NX PX and DEL) and LockUnlock3Masters (tiercache, redsync, and
// the limit on three masters in parallel; redislock has no multi-master
// mode). See bench/README.md for how to run them.
package locks

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bsm/redislock"
	"github.com/go-redsync/redsync/v4"
	redsyncredis "github.com/go-redsync/redsync/v4/redis"
	redsyncgoredis "github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// ttl is every lock's time to live; no benchmark holds a lock that long.
const ttl = 10 * time.Second

// masterAddrs are the addresses of the three independent servers TestMain
// starts; the one-master groups use the first.
var masterAddrs []string

func TestMain(m *testing.M) {
	var servers []*redistest.Server
	stop := func() {
		for _, s := range servers {
			s.Close()
		}
	}
	for range 3 {
		s, err := redistest.Launch()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			stop()
			os.Exit(1)
		}
		servers = append(servers, s)
		masterAddrs = append(masterAddrs, s.Addr)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

// clients returns one client per master, closed when b ends.
func clients(b *testing.B, n int) []*redis.Client {
	out := make([]*redis.Client, n)
	for i := range out {
		c := redis.NewClient(&redis.Options{Addr: masterAddrs[i]})
		b.Cleanup(func() { _ = c.Close() })
		out[i] = c
	}
	return out
}

func BenchmarkLockUnlock1Master(b *testing.B) {
	b.Run("limit", func(b *testing.B) { benchLimit(b, clients(b, 1)) })
	b.Run("tiercache", func(b *testing.B) { benchTiercache(b, clients(b, 1)) })
	b.Run("redsync", func(b *testing.B) { benchRedsync(b, clients(b, 1)) })
	b.Run("redislock", func(b *testing.B) {
		ctx := context.Background()
		locker := redislock.New(clients(b, 1)[0])
		b.ReportAllocs()
		for b.Loop() {
			l, err := locker.Obtain(ctx, "bench:redislock", ttl, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := l.Release(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLockUnlock3Masters(b *testing.B) {
	b.Run("limit", func(b *testing.B) { benchLimit(b, clients(b, 3)) })
	b.Run("tiercache", func(b *testing.B) { benchTiercache(b, clients(b, 3)) })
	b.Run("redsync", func(b *testing.B) { benchRedsync(b, clients(b, 3)) })
}

func benchTiercache(b *testing.B, cs []*redis.Client) {
	ctx := context.Background()
	masters := make([]redis.UniversalClient, len(cs))
	for i, c := range cs {
		masters[i] = c
	}
	lock, err := collections.NewLock(masters, "bench", collections.LockOptions{TTL: ttl})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lock.TryLock(ctx); err != nil {
			b.Fatal(err)
		}
		if err := lock.Unlock(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func benchRedsync(b *testing.B, cs []*redis.Client) {
	ctx := context.Background()
	pools := make([]redsyncredis.Pool, len(cs))
	for i, c := range cs {
		pools[i] = redsyncgoredis.NewPool(c)
	}
	rs := redsync.New(pools...)
	mutex := rs.NewMutex("bench:redsync", redsync.WithExpiry(ttl), redsync.WithTries(1))
	b.ReportAllocs()
	for b.Loop() {
		if err := mutex.TryLockContext(ctx); err != nil {
			b.Fatal(err)
		}
		if ok, err := mutex.UnlockContext(ctx); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// benchLimit is what any lock must at least do: SET NX PX on every master,
// then DEL, concurrently on the masters (no token check, no fencing).
func benchLimit(b *testing.B, cs []*redis.Client) {
	ctx := context.Background()
	onAll := func(fn func(c *redis.Client) error) {
		if len(cs) == 1 {
			if err := fn(cs[0]); err != nil {
				b.Fatal(err)
			}
			return
		}
		var wg sync.WaitGroup
		errs := make([]error, len(cs))
		for i, c := range cs {
			wg.Go(func() { errs[i] = fn(c) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		onAll(func(c *redis.Client) error {
			ok, err := c.SetNX(ctx, "bench:limit", "token", ttl).Result()
			if err == nil && !ok {
				err = fmt.Errorf("limit: key already set")
			}
			return err
		})
		onAll(func(c *redis.Client) error { return c.Del(ctx, "bench:limit").Err() })
	}
}
