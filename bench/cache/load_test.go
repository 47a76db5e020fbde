package cachebench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/redis/rueidis/rueidisaside"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

// loadedValue is what every loader of the load benchmarks returns: the
// string value of the other benchmarks.
var loadedValue = jsonValues[0]

// loadTTL is the TTL of the loaded values, in Redis and in the aside cache.
const loadTTL = time.Minute

// coldOp loads one key absent from every tier: it reads key, finds nothing,
// runs the loader and stores its value.
type coldOp func(ctx context.Context, key string) error

// coldImpl is one implementation of a load group: op, and what counts its
// round trips (nil: not counted) and its loads.
type coldImpl struct {
	op     coldOp
	trips  func() int64
	loads  *atomic.Int64
	prefix string // of its keys, so that no two implementations share one
}

// runColdGroup runs each implementation as a sub-benchmark on b.N keys no
// operation read before (generated before the timer starts), after a
// warm-up of warmColdOps keys (scripts loaded, connections open), in a
// random order. It reports round-trips/op (the caller's, see callerCtx)
// and loads/op; every operation must have loaded once.
func runColdGroup(b *testing.B, impls map[string]*coldImpl, perOp func(name string, b *testing.B, loads, n int64)) {
	b.Helper()
	const warmColdOps = 20
	run := 0
	keysFor := func(prefix string, n int) []string {
		run++
		ks := make([]string, n)
		for i := range ks {
			ks[i] = prefix + "cold:" + strconv.Itoa(run) + ":" + strconv.Itoa(i)
		}
		return ks
	}
	for name, im := range impls {
		for _, k := range keysFor(im.prefix, warmColdOps) {
			if err := im.op(callerCtx, k); err != nil {
				b.Fatalf("%s: warm-up: %v", name, err)
			}
		}
	}
	names := make([]string, 0, len(impls))
	for name := range impls {
		names = append(names, name)
	}
	slices.Sort(names)
	rand.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	for _, name := range names {
		im := impls[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			ks := keysFor(im.prefix, b.N)
			var trips int64
			if im.trips != nil {
				trips = im.trips()
			}
			loads := im.loads.Load()
			b.ResetTimer()
			for i := range b.N {
				if err := im.op(callerCtx, ks[i]); err != nil {
					b.Fatalf("%s: %v", name, err)
				}
			}
			b.StopTimer()
			if im.trips != nil {
				b.ReportMetric(float64(im.trips()-trips)/float64(b.N), "round-trips/op")
			}
			n := im.loads.Load() - loads
			b.ReportMetric(float64(n)/float64(b.N), "loads/op")
			perOp(name, b, n, int64(b.N))
		})
	}
}

// countingLoader returns a loader that counts its calls in n and returns
// loadedValue.
func countingLoader(n *atomic.Int64) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		n.Add(1)
		return loadedValue, nil
	}
}

// newAside returns a rueidisaside client for the benchmark server whose
// rueidis client counts its round trips.
func newAside(b *testing.B) (rueidisaside.CacheAsideClient, *rueidisRoundTrips) {
	b.Helper()
	var counted *rueidisRoundTrips
	c, err := rueidisaside.NewClient(rueidisaside.ClientOption{
		ClientOption: rueidisOptions(true),
		ClientBuilder: func(opt rueidis.ClientOption) (rueidis.Client, error) {
			c, err := rueidis.NewClient(opt)
			if err != nil {
				return nil, err
			}
			counted = &rueidisRoundTrips{Client: c}
			return counted, nil
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c, counted
}

// newCountedClient returns a go-redis client for the benchmark server (not
// flushed) with a round-trip counter.
func newCountedClient(b *testing.B) (*redis.Client, *redisRoundTrips) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	b.Cleanup(func() { _ = rdb.Close() })
	rt := &redisRoundTrips{}
	rdb.AddHook(rt)
	return rdb, rt
}

// BenchmarkColdLoad loads a key absent from Redis and from every local
// tier, with a loader that returns a constant string: a go-redis GET that
// misses then a SET of the loaded value (limit), tiercache's GetOrLoad
// (String codec, default options: the fleet-wide lease, the fenced fill,
// a local copy kept), rueidisaside's Get (a DoCache GET, a SET NX lock,
// the loader, a script that swaps the lock for the value). Each operation
// reads a key no operation read before, so that every one is cold and
// loads once (checked); round-trips/op counts each implementation's
// commands and pipelines sent for its caller.
func BenchmarkColdLoad(b *testing.B) {
	limitRdb := newClient(b) // flushes the database
	limitTrips := &redisRoundTrips{}
	limitRdb.AddHook(limitTrips)
	tcRdb, tcTrips := newCountedClient(b)
	tc := newTiercache(b, tcRdb, cache.Options[string]{Codec: codec.String(), TTL: loadTTL})
	aside, asideTrips := newAside(b)

	var limitLoads, tcLoads, asideLoads atomic.Int64
	limitLoad, tcLoad := countingLoader(&limitLoads), countingLoader(&tcLoads)
	asideLoad := func(ctx context.Context, _ string) (string, error) { return countingLoader(&asideLoads)(ctx) }
	impls := map[string]*coldImpl{
		"limit": {
			prefix: "limit:", trips: limitTrips.n.Load, loads: &limitLoads,
			op: func(ctx context.Context, key string) error {
				if err := limitRdb.Get(ctx, key).Err(); !errors.Is(err, redis.Nil) {
					return fmt.Errorf("GET %s: got %v, want a miss", key, err)
				}
				v, err := limitLoad(ctx)
				if err != nil {
					return err
				}
				return limitRdb.Set(ctx, key, v, loadTTL).Err()
			},
		},
		"tiercache": {
			trips: tcTrips.n.Load, loads: &tcLoads,
			op: func(ctx context.Context, key string) error {
				v, err := tc.GetOrLoad(ctx, key, tcLoad)
				return checkLoaded(v, err)
			},
		},
		"rueidisaside": {
			prefix: "ra:", trips: asideTrips.n.Load, loads: &asideLoads,
			op: func(ctx context.Context, key string) error {
				v, err := aside.Get(ctx, loadTTL, key, asideLoad)
				return checkLoaded(v, err)
			},
		},
	}
	runColdGroup(b, impls, func(name string, b *testing.B, loads, n int64) {
		if loads != n {
			b.Errorf("%s: %d loads for %d cold keys, want one each", name, loads, n)
		}
	})
}

// checkLoaded returns an error unless a load returned loadedValue.
func checkLoaded(v string, err error) error {
	if err != nil {
		return err
	}
	if v != loadedValue {
		return fmt.Errorf("got %q, want the loaded value", v)
	}
	return nil
}

// stampedeCallers is how many callers of BenchmarkStampede1000 ask for the
// same cold key at once, half on each of two clients.
const stampedeCallers = 1000

// BenchmarkStampede1000 has 1,000 callers ask for one cold key at once,
// 500 on each of two clients (two processes of a fleet), with the loader
// of BenchmarkColdLoad: tiercache's GetOrLoad on two Stores (singleflight
// in each, the fleet-wide lease between them: exactly one load, checked)
// and rueidisaside's Get on two clients (a flight per client, a lock in
// Redis between them). An operation is the whole stampede: starting the
// 1,000 goroutines, releasing them together once all wait, and the last
// caller's value (the start costs both implementations the same);
// loads/op says how many loads each stampede ran.
func BenchmarkStampede1000(b *testing.B) {
	newClient(b) // flushes the database
	tcRdbs := [2]*redis.Client{}
	var tcs [2]*cache.Cache[string]
	for i := range tcs {
		tcRdbs[i], _ = newCountedClient(b)
		store, err := cache.NewStore(tcRdbs[i], cache.StoreOptions{Logger: discardLogger})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = store.Close() })
		if tcs[i], err = cache.New(store, "bench", cache.Options[string]{Codec: codec.String(), TTL: loadTTL}); err != nil {
			b.Fatal(err)
		}
	}
	var asides [2]rueidisaside.CacheAsideClient
	for i := range asides {
		asides[i], _ = newAside(b)
	}

	var tcLoads, asideLoads atomic.Int64
	tcLoad := countingLoader(&tcLoads)
	asideLoad := func(ctx context.Context, _ string) (string, error) { return countingLoader(&asideLoads)(ctx) }
	impls := map[string]*coldImpl{
		"tiercache": {
			loads: &tcLoads,
			op: func(ctx context.Context, key string) error {
				return stampede(func(i int) error {
					v, err := tcs[i%2].GetOrLoad(ctx, key, tcLoad)
					return checkLoaded(v, err)
				})
			},
		},
		"rueidisaside": {
			prefix: "ra:", loads: &asideLoads,
			op: func(ctx context.Context, key string) error {
				return stampede(func(i int) error {
					v, err := asides[i%2].Get(ctx, loadTTL, key, asideLoad)
					return checkLoaded(v, err)
				})
			},
		},
	}
	runColdGroup(b, impls, func(name string, b *testing.B, loads, n int64) {
		if name == "tiercache" && loads != n {
			b.Errorf("tiercache: %d loads for %d stampedes, want exactly one each", loads, n)
		}
	})
}

// stampede runs get(i) for i in [0, stampedeCallers) on as many goroutines,
// released together once all are started, and returns the first error.
func stampede(get func(i int) error) error {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, stampedeCallers)
	ready.Add(stampedeCallers)
	done.Add(stampedeCallers)
	for i := range stampedeCallers {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = get(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errors.Join(errs...)
}
