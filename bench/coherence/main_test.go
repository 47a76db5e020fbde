// Package coherencebench compares how local tiers in front of Redis behave
// when another client writes: tiercache (CLIENT TRACKING in broadcast mode,
// values kept decoded), go-redis v9.23's built-in client-side cache
// (ClientSideCacheConfig: RESP3 tracking, raw replies kept and parsed on
// every hit) and go-redis/cache v9 with its TinyLFU local cache (no
// invalidation: local copies live until their TTL).
//
//   - BenchmarkCoherentHit and BenchmarkCoherentHitParallel: a local hit,
//     against an RWMutex map (limit).
//   - BenchmarkForeignWriteLag and TestInvalidationLag: from the start of a
//     write by another client until the local copy is gone.
//   - BenchmarkStaleRead and TestStaleReads: readers read while a foreign
//     writer overwrites the keys; a read is stale when it returns a version
//     older than one whose write had completed before the read began.
//
// See README.md in this directory for the method and the numbers.
package coherencebench

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/bench/internal/redisproc"
)

// redisAddr is the address of the redis-server TestMain started.
var redisAddr string

func TestMain(m *testing.M) { os.Exit(redisproc.Main(m, &redisAddr)) }

var (
	studyDuration = flag.Duration("coherence.duration", 2*time.Second,
		"how long TestStaleReads runs its writer and readers for each implementation")
	lagSamples = flag.Int("coherence.lagsamples", 200,
		"how many writes TestInvalidationLag times for each implementation")
)

// runs numbers the subjects made by this process, so that each one works on
// Redis keys (and tiercache namespaces) of its own.
var runs atomic.Int64

// discard is the logger of the tiercache Stores: their one INFO line per
// start would clutter the benchmark output.
var discard = slog.New(slog.DiscardHandler)

// newClient returns a plain go-redis client (no client-side cache) for the
// server TestMain started, closed when tb ends.
func newClient(tb testing.TB) *redis.Client {
	tb.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	tb.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// waitFor polls cond until it holds or timeout passes; it reports whether
// cond held. It is for states that announce themselves by no signal (a peer
// library's local copy), never a substitute for one.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// setupCtx returns a context for setup calls, bounded so that a hung
// server fails the run instead of stalling it.
func setupCtx(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// us formats d in microseconds with one decimal.
func us(d time.Duration) string {
	return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
}
