// Package memobench compares tiercache's memo package with the limit (a
// hand-written sync.Map memo) and with go-redis/cache v9's Once, on a Call
// whose result is in the process's local tier.
//
// Benchmarks are named Benchmark<Group>/<impl>; see bench/README.md.
package memobench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	rediscache "github.com/go-redis/cache/v9"
	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/bench/internal/redisproc"
	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/memo"
)

// redisAddr is the address of the redis-server TestMain started.
var redisAddr string

func TestMain(m *testing.M) { os.Exit(redisproc.Main(m, &redisAddr)) }

// numArgs is how many distinct arguments the benchmarks rotate through.
const numArgs = 1024

// Args are the memoized function's arguments: a small struct.
type Args struct {
	ID   int64
	Lang string
}

// KeyedArgs are Args that name their own key, computed when they are
// built: the zero-allocation path of memo.
type KeyedArgs struct {
	ID   int64
	Lang string
	key  string
}

func (a KeyedArgs) MemoKey() string { return a.key }

// Profile is the memoized function's result.
type Profile struct {
	ID   int64    `json:"id" msgpack:"id"`
	Name string   `json:"name" msgpack:"name"`
	Tags []string `json:"tags" msgpack:"tags"`
}

func profile(a Args) Profile {
	return Profile{ID: a.ID, Name: fmt.Sprint("user ", a.ID, " (", a.Lang, ")"), Tags: []string{"red", "green", "blue"}}
}

var (
	args  = make([]Args, numArgs)
	keyed = make([]KeyedArgs, numArgs)
)

func init() {
	langs := []string{"en", "fr", "de", "it"}
	for i := range args {
		args[i] = Args{ID: int64(i), Lang: langs[i%len(langs)]}
		keyed[i] = KeyedArgs{ID: args[i].ID, Lang: args[i].Lang, key: peerKey(args[i])}
	}
}

// peerKey is the key a caller of go-redis/cache builds for a: the peer has
// no key derivation of its own.
func peerKey(a Args) string { return "profile:" + strconv.FormatInt(a.ID, 10) + ":" + a.Lang }

var errWrong = errors.New("wrong result")

func check(p Profile, i int) error {
	if p.ID != int64(i) {
		return fmt.Errorf("%w: got ID %d, want %d", errWrong, p.ID, i)
	}
	return nil
}

// syncMapMemo is the limit: a hand-written memo of a comparable argument,
// in process, without expiry, bounds or sharing.
type syncMapMemo struct {
	m  sync.Map // Args -> Profile
	fn func(Args) Profile
}

func (s *syncMapMemo) Call(a Args) Profile {
	if v, ok := s.m.Load(a); ok {
		return v.(Profile)
	}
	v, _ := s.m.LoadOrStore(a, s.fn(a))
	return v.(Profile)
}

// BenchmarkMemoCall measures a memoized call whose result is in the local
// tier (every implementation is warmed first, and checked at the end to
// have answered every call locally).
func BenchmarkMemoCall(b *testing.B) {
	ctx := context.Background()
	rdb := newClient(b)
	store, err := cache.NewStore(rdb, cache.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := store.WaitCoherent(wctx); err != nil {
		b.Fatal(err)
	}
	fn := func(_ context.Context, a Args) (Profile, error) { return profile(a), nil }

	b.Run("limit", func(b *testing.B) {
		lim := &syncMapMemo{fn: profile}
		run(b, func(i int) error { return check(lim.Call(args[i]), i) })
	})
	b.Run("tiercache", func(b *testing.B) {
		f, err := memo.New(store, "bench-args", fn, memo.Options[Profile]{})
		if err != nil {
			b.Fatal(err)
		}
		warm(b, f.Info, func(i int) error { _, err := f.Call(ctx, args[i]); return err })
		run(b, func(i int) error {
			p, err := f.Call(ctx, args[i])
			if err != nil {
				return err
			}
			return check(p, i)
		})
	})
	b.Run("tiercache-memokey", func(b *testing.B) {
		f, err := memo.New(store, "bench-keyed", func(ctx context.Context, a KeyedArgs) (Profile, error) {
			return fn(ctx, Args{a.ID, a.Lang})
		}, memo.Options[Profile]{})
		if err != nil {
			b.Fatal(err)
		}
		warm(b, f.Info, func(i int) error { _, err := f.Call(ctx, keyed[i]); return err })
		run(b, func(i int) error {
			p, err := f.Call(ctx, keyed[i])
			if err != nil {
				return err
			}
			return check(p, i)
		})
	})
	b.Run("goredis-cache-once", func(b *testing.B) {
		peer := rediscache.New(&rediscache.Options{
			Redis:        rdb,
			LocalCache:   rediscache.NewTinyLFU(2*numArgs, time.Hour),
			StatsEnabled: true,
		})
		once := func(i int) (Profile, error) {
			a := args[i]
			var p Profile
			err := peer.Once(&rediscache.Item{
				Ctx: ctx, Key: peerKey(a), Value: &p,
				Do: func(*rediscache.Item) (any, error) { return profile(a), nil },
			})
			return p, err
		}
		for i := range numArgs {
			if _, err := once(i); err != nil {
				b.Fatal(err)
			}
		}
		before := *peer.Stats()
		b.Cleanup(func() {
			if st := peer.Stats(); st.Hits+st.Misses != before.Hits+before.Misses {
				b.Errorf("go-redis/cache: %d Redis reads, want only local hits", st.Hits+st.Misses-before.Hits-before.Misses)
			}
		})
		run(b, func(i int) error {
			p, err := once(i)
			if err != nil {
				return err
			}
			return check(p, i)
		})
	})
}

// run calls call with the argument indexes in turn, b.N times.
func run(b *testing.B, call func(i int) error) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := call(i); err != nil {
			b.Fatal(err)
		}
		if i++; i == numArgs {
			i = 0
		}
	}
}

// warm calls every argument until every one is answered by the local
// tier (with CLIENT TRACKING a Store hears of its own write and drops its
// copy; the next read from Redis is kept), and checks at the end that the
// benchmark's calls were all local hits.
func warm(b *testing.B, info func() memo.Info, call func(i int) error) {
	for round := 0; ; round++ {
		before := info().LocalHits
		for i := range numArgs {
			if err := call(i); err != nil {
				b.Fatal(err)
			}
		}
		if info().LocalHits-before == numArgs {
			break
		}
		if round > 100 {
			b.Fatal("the results never all reached the local tier")
		}
	}
	before := info()
	b.Cleanup(func() {
		after := info()
		if n := after.RemoteHits + after.Misses - before.RemoteHits - before.Misses; n != 0 {
			b.Errorf("tiercache: %d calls were not local hits", n)
		}
	})
}

// newClient returns a go-redis client for the benchmark server, flushed so
// that every benchmark starts from an empty database.
func newClient(b *testing.B) *redis.Client {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	b.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		b.Fatalf("FLUSHDB: %v", err)
	}
	return rdb
}
