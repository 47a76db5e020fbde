package cachebench

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

// memEntries is how many entries BenchmarkMemoryPerEntry puts in each
// structure; memKeyLen and memValueLen are their key and value lengths.
const (
	memEntries  = 100_000
	memKeyLen   = 10
	memValueLen = 100
)

// memKey returns the i-th key of the memory benchmark, "m000000042": a
// string of its own, as a key read off the network would be.
func memKey(i int) string {
	k := strconv.AppendInt([]byte("m000000000")[:memKeyLen-len(strconv.Itoa(i))], int64(i), 10)
	return string(k)
}

// memValue returns the i-th value: memValueLen bytes of its own, ending in
// the index.
func memValue(i int) string {
	var sb strings.Builder
	sb.Grow(memValueLen)
	n := strconv.Itoa(i)
	sb.WriteString(strings.Repeat("v", memValueLen-len(n)))
	sb.WriteString(n)
	return sb.String()
}

// memFill builds one structure holding memEntries entries and returns it
// (to keep it alive while the heap is measured) with a function that
// checks it and releases what it runs (goroutines, connections). It calls
// start once what is not the structure's (a client's connections) is set
// up: the heap is measured from there.
type memFill func(b *testing.B, start func()) (kept any, check func() error, release func())

// BenchmarkMemoryPerEntry measures what holding 100,000 entries (a 10-byte
// key, a 100-byte string value, each allocated on its own as a value read
// off the network is) costs the heap: the live heap bytes and objects
// after a fill, less those before, per entry (runtime.GC and
// runtime.ReadMemStats around the fill, the structure kept alive). The
// keys' and values' own bytes count: every structure must keep them.
// Implementations: a plain map[string]string (limit), tiercache's local
// tier (a Cache[string] with the String codec on a local-only Store,
// MaxEntries 200,000), otter (MaximumSize 200,000, a TTL as the others),
// and rueidis' client-side cache, filled by DoMultiCache reads of keys
// set in Redis beforehand (its connections are opened before the
// measurement, so only the cache counts). ns/op is the time of one fill;
// the "× limit" column is taken in heap-B/entry.
func BenchmarkMemoryPerEntry(b *testing.B) {
	ctx := context.Background()
	rdb := newClient(b)
	// rueidis reads the values from Redis: set them there once.
	const chunk = 1000
	for start := 0; start < memEntries; start += chunk {
		pipe := rdb.Pipeline()
		for i := start; i < start+chunk; i++ {
			pipe.Set(ctx, memKey(i), memValue(i), 0)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}

	fills := map[string]memFill{
		"limit": func(_ *testing.B, start func()) (any, func() error, func()) {
			start()
			m := make(map[string]string)
			for i := range memEntries {
				m[memKey(i)] = memValue(i)
			}
			return m, func() error { return checkCount(len(m)) }, func() {}
		},
		"tiercache": func(b *testing.B, start func()) (any, func() error, func()) {
			start()
			store, err := cache.NewStore(nil, cache.StoreOptions{MaxEntries: 2 * memEntries, MaxBytes: 1 << 30, Logger: discardLogger})
			if err != nil {
				b.Fatal(err)
			}
			c, err := cache.New(store, "mem", cache.Options[string]{Codec: codec.String()})
			if err != nil {
				b.Fatal(err)
			}
			for i := range memEntries {
				if err := c.Set(ctx, memKey(i), memValue(i)); err != nil {
					b.Fatal(err)
				}
			}
			check := func() error {
				if err := checkCount(c.LocalLen()); err != nil {
					return err
				}
				v, ok := c.GetLocal(memKey(memEntries - 1))
				if !ok || v != memValue(memEntries-1) {
					return fmt.Errorf("tiercache: the last key is not held locally")
				}
				return nil
			}
			return c, check, func() { _ = store.Close() }
		},
		"otter": func(b *testing.B, start func()) (any, func() error, func()) {
			start()
			c := newOtter[string](b, 2*memEntries, false)
			for i := range memEntries {
				c.Set(memKey(i), memValue(i))
			}
			return c, func() error { return checkCount(c.EstimatedSize()) }, func() { c.StopAllGoroutines() }
		},
		"rueidis": func(b *testing.B, start func()) (any, func() error, func()) {
			c, err := rueidis.NewClient(rueidisOptions(true))
			if err != nil {
				b.Fatal(err)
			}
			ks := make([]string, memEntries)
			for i := range ks {
				ks[i] = memKey(i)
			}
			// Opens the connections, and would grow any per-connection
			// buffer, before the heap is first measured.
			if _, err := rueidis.MGetCache(c, ctx, rueidisTTL, []string{"memwarm:1", "memwarm:2", "memwarm:3", "memwarm:4"}); err != nil {
				b.Fatal(err)
			}
			start()
			for start := 0; start < memEntries; start += chunk {
				cmds := make([]rueidis.CacheableTTL, 0, chunk)
				for _, k := range ks[start : start+chunk] {
					cmds = append(cmds, rueidis.CT(c.B().Get().Key(k).Cache(), rueidisTTL))
				}
				for _, r := range c.DoMultiCache(ctx, cmds...) {
					if err := r.Error(); err != nil {
						b.Fatal(err)
					}
				}
			}
			check := func() error {
				m, err := rueidis.MGetCache(c, ctx, rueidisTTL, ks[memEntries-chunk:])
				if err != nil {
					return err
				}
				for k, msg := range m {
					if !msg.IsCacheHit() {
						return fmt.Errorf("rueidis: %s not in the client-side cache", k)
					}
				}
				return nil
			}
			return c, check, c.Close
		},
	}

	for _, name := range order(memOps(fills)) {
		fill := fills[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var bytes, objs float64
			for range b.N {
				var before heap
				start := func() {
					b.StopTimer()
					before = settledHeap()
					b.StartTimer()
				}
				b.StopTimer() // the fill starts it
				kept, check, release := fill(b, start)
				b.StopTimer()
				after := settledHeap()
				if err := check(); err != nil {
					b.Fatalf("%s: %v", name, err)
				}
				runtime.KeepAlive(kept)
				// Every structure stays alive, and its goroutines
				// running, until the benchmark ends (go test calls this
				// function several times): one released after its
				// measurement would be freed, in part by its goroutines
				// as they wind down, during the next one's (otter's was).
				b.Cleanup(release)
				bytes += float64(after.bytes - before.bytes)
				objs += float64(after.objects - before.objects)
				b.StartTimer()
			}
			b.ReportMetric(bytes/float64(b.N)/memEntries, "heap-B/entry")
			b.ReportMetric(objs/float64(b.N)/memEntries, "heap-objs/entry")
		})
	}
}

// heap is a measure of the live heap.
type heap struct{ bytes, objects int64 }

// heapNow collects garbage and returns the live heap.
func heapNow() heap {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return heap{bytes: int64(ms.HeapAlloc), objects: int64(ms.HeapObjects)}
}

// settledHeap returns the live heap once it stops moving (two readings
// 20ms apart within 64 KiB), or after a second: goroutines that wind down
// (those of a closed client, a stopped cache) free memory a moment after
// their owner was released, which would be counted against the next fill.
func settledHeap() heap {
	h := heapNow()
	for range 50 {
		time.Sleep(20 * time.Millisecond)
		next := heapNow()
		if d := next.bytes - h.bytes; d > -1<<16 && d < 1<<16 {
			return next
		}
		h = next
	}
	return h
}

// checkCount returns an error unless a structure holds memEntries entries.
func checkCount(n int) error {
	if n != memEntries {
		return fmt.Errorf("holds %d entries, want %d", n, memEntries)
	}
	return nil
}

// memOps adapts fills to order, which shuffles the names of a map of ops.
func memOps(fills map[string]memFill) map[string]op {
	ops := make(map[string]op, len(fills))
	for name := range fills {
		ops[name] = nil
	}
	return ops
}
