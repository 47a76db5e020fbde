package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
)

// The fleet: fleetStores Stores; fleetNamespaces namespaces of fleetKeysPerNS
// keys each, all in Redis; Store i holds namespace i. A foreign client
// writes for fleetDuration: fleetWriteRate keys a second in pipelines of
// fleetBatch, and again fleetSingleRate a second one key per command.
const (
	fleetStores     = 32
	fleetNamespaces = 100
	fleetKeysPerNS  = 1000
	fleetMinHeld    = 990 // keys of its namespace each Store must hold after its reads
	fleetWriteRate  = 5000
	fleetBatch      = 50
	fleetSingleRate = 1000 // what one writer sustains here, one round trip each, in every mode
	fleetDuration   = 2 * time.Second
)

// BenchmarkFleetCoherence compares the tracking modes side by side, each on
// a fresh redis-server of its own: 32 Stores (a client each) hold one
// namespace of 1,000 keys each, out of 100 namespaces (100,000 keys), while a
// foreign client (not tiercache) rewrites keys chosen uniformly over all
// 100,000 (a seeded permutation, the same in every mode, so no key is
// written twice and each invalidation belongs to one write) at 5,000 keys/s.
// Per mode it reports:
//
//   - writes/s: the foreign writes per second achieved (the pacing is a
//     ticker: a slow Redis lowers it rather than queueing writes).
//   - msgs/store/s: invalidation messages received per Store per second
//     (every message of its streams, as the heard hook sees them; Redis
//     sends a broadcast prefix's keys of one event loop in one message, and
//     one message per key to key-level tracking).
//   - keys/store/s: keys invalidated per Store per second (Stats'
//     Invalidations, which counts keys, not messages).
//   - held/written: writes of a key some Store held, over writes times
//     Stores: the share of the writes a Store must hear of at the least;
//     about 0.01 here (each holds 1,000 of the 100,000 keys).
//   - keys-vs-bcast: keys/store/s over writes/s, the keys a Store hears
//     relative to broadcast over the Store prefix, which hears every write
//     (1 by definition); a per-key mode should come down to held/written.
//   - redis-cpu-µs/write: Redis' used_cpu_user+used_cpu_sys (INFO cpu)
//     over the write phase and until the last held key's invalidation
//     arrived, less Redis' background CPU at the rate measured over as long
//     an idle time just before, per foreign write: the SETs and their
//     invalidations.
//   - redis-mem-KB: INFO used_memory after the Stores' reads minus before
//     the Stores were opened (keys already loaded): connections included.
//   - redis-clients: INFO connected_clients after the reads (the foreign
//     client, each Store's pool and streams, and whatever else it opens).
//   - tracking-keys, tracking-items, tracking-prefixes: INFO stats
//     tracking_total_keys (keys in the tracking table), _items (key-client
//     pairs) and _prefixes (broadcast prefixes), after the reads.
//   - lag-p50-µs, lag-p99-µs: from the start of a foreign SET's pipeline
//     until the heard hook of the Store that held the key sees its
//     invalidation (after the Store has handled it); only Stores that held
//     the key count. The benchmark fails if one never arrives.
//   - msgs-vs-bcast: messages per write relative to Broadcast's in the
//     same run (per write, not per second, so that a writer slowed down in
//     one mode does not skew it).
//   - mem-over-bcast-KB: redis-mem-KB minus Broadcast's in the same run:
//     the tracking table (keys read, each with the ids of its readers) and
//     any connections the mode adds (see redis-clients). Subtracting
//     INFO's mem_clients_normal instead would be noisy: Redis updates it
//     lazily, in its cron; it swung by 700 KB between runs.
//
// The last two are absent when Broadcast did not run first.
//
// Messages and keys are counted until the last held key's invalidation has
// arrived: those of a last batch that no Store held may still be in flight
// (keys-vs-bcast reads 0.9999 rather than 1 then).
//
// It measures once per call whatever b.N: run it with -benchtime 1x (the
// default benchtime runs it once too, the timed phase lasting 2s). ns/op is
// the write phase's length. A table of all modes is printed at the end.
//
//	go test -run '^$' -bench BenchmarkFleetCoherence -benchtime 1x ./cache/
func BenchmarkFleetCoherence(b *testing.B) {
	rkeys, index := fleetKeyspace()
	env := envelope(b, "v")
	modes := []struct {
		name string
		mode Coherence
	}{{"Broadcast", CoherenceTracking}, {"Namespaces", CoherenceTrackingNamespaces}, {"Keys", CoherenceTrackingKeys}}
	// Redis sends a broadcast prefix's keys of one event loop pass in one
	// message: pipelined writes fold into few messages, single ones do not.
	for _, shape := range []struct{ batch, rate int }{{fleetBatch, fleetWriteRate}, {1, fleetSingleRate}} {
		batch := shape.batch
		results := map[string]fleetResult{}
		var names []string
		for _, m := range modes {
			b.Run(fmt.Sprintf("Batch%d/%s", batch, m.name), func(b *testing.B) {
				r := runFleet(b, m.mode, batch, shape.rate, rkeys, index, env)
				results[m.name] = r
				for _, mt := range r.metrics(results["Broadcast"]) {
					b.ReportMetric(mt.value, mt.unit)
				}
			})
			if _, ok := results[m.name]; ok {
				names = append(names, m.name)
			}
		}
		printFleetTable(fmt.Sprintf("BenchmarkFleetCoherence/Batch%d", batch), names, results)
	}
}

// fleetResult is what one mode's run measured.
type fleetResult struct {
	writes, heldWrites int           // foreign writes; writes of a key a Store held
	phase              time.Duration // the write phase
	msgs, invalidated  float64       // messages and keys the Stores heard, summed
	cpu                float64       // Redis CPU seconds
	mem                float64       // bytes
	clients            float64       // connected_clients
	trackKeys          float64       // INFO stats tracking_total_*
	trackItems         float64
	trackPrefixes      float64
	lagP50, lagP99     time.Duration
}

type fleetMetric struct {
	unit  string
	value float64
}

// metrics returns r's figures as reported; base is Broadcast's run (zero
// when it did not run).
func (r fleetResult) metrics(base fleetResult) []fleetMetric {
	secs := r.phase.Seconds()
	perStore := func(n float64) float64 { return n / fleetStores / secs }
	ms := []fleetMetric{
		{"writes/s", float64(r.writes) / secs},
		{"msgs/store/s", perStore(r.msgs)},
		{"keys/store/s", perStore(r.invalidated)},
		{"held/written", float64(r.heldWrites) / float64(r.writes) / fleetStores},
		{"keys-vs-bcast", perStore(r.invalidated) / (float64(r.writes) / secs)},
		{"redis-cpu-µs/write", r.cpu / float64(r.writes) * 1e6},
		{"redis-mem-KB", r.mem / 1024},
		{"redis-clients", r.clients},
		{"tracking-keys", r.trackKeys},
		{"tracking-items", r.trackItems},
		{"tracking-prefixes", r.trackPrefixes},
		{"lag-p50-µs", float64(r.lagP50.Microseconds())},
		{"lag-p99-µs", float64(r.lagP99.Microseconds())},
	}
	if base.writes == 0 {
		return ms
	}
	return append(ms,
		fleetMetric{"msgs-vs-bcast", r.msgs / float64(r.writes) / (base.msgs / float64(base.writes))},
		fleetMetric{"mem-over-bcast-KB", (r.mem - base.mem) / 1024})
}

// fleetKeyspace returns the Redis keys of the fleet, key g being key
// g%fleetKeysPerNS of namespace g/fleetKeysPerNS, and the index g of each.
func fleetKeyspace() ([]string, map[string]int) {
	rkeys := make([]string, fleetNamespaces*fleetKeysPerNS)
	index := make(map[string]int, len(rkeys))
	for g := range rkeys {
		rkeys[g] = DefaultPrefix + fleetNamespace(g/fleetKeysPerNS) + ":" + fleetKey(g%fleetKeysPerNS)
		index[rkeys[g]] = g
	}
	return rkeys, index
}

func fleetNamespace(i int) string { return fmt.Sprintf("ns%03d", i) }
func fleetKey(k int) string       { return fmt.Sprintf("k%04d", k) }

// fleet is one mode's foreign client and Stores; Store i holds namespace i.
type fleet struct {
	foreign *redis.Client
	batch   int // the foreign writes per command (a pipeline)
	rate    int // the foreign writes per second
	stores  []*Store
	caches  []*Cache[string]
}

// runFleet measures one mode on a redis-server of its own.
func runFleet(b *testing.B, mode Coherence, batch, rate int, rkeys []string, index map[string]int, env []byte) fleetResult {
	b.StopTimer()
	srv := redistest.Start(b)
	f := &fleet{foreign: srv.Client(b), batch: batch, rate: rate}
	order := rand.New(rand.NewPCG(1, 2)).Perm(len(rkeys)) // the foreign writes' keys, in order
	for chunk := range slices.Chunk(order, 1000) {
		f.set(b, rkeys, chunk, env)
	}
	before := redisInfo(b, f.foreign)
	f.open(b, srv, mode)
	held := f.fill(b)
	after := redisInfo(b, f.foreign)
	r := fleetResult{
		mem:           after("used_memory") - before("used_memory"),
		clients:       after("connected_clients"),
		trackKeys:     after("tracking_total_keys"),
		trackItems:    after("tracking_total_items"),
		trackPrefixes: after("tracking_total_prefixes"),
	}
	f.writePhase(b, rkeys, index, order, held, env, &r)
	return r
}

// open opens the Stores, each on a client of its own with its namespace's
// Cache, and waits until they are coherent. The Cache is opened before the
// wait: in a per-namespace mode, a namespace opened later restarts the
// streams.
func (f *fleet) open(b *testing.B, srv *redistest.Server, mode Coherence) {
	for i := range fleetStores {
		s, err := NewStore(srv.Client(b), StoreOptions{Coherence: mode, MaxStaleness: time.Hour})
		require.NoError(b, err)
		b.Cleanup(func() { _ = s.Close() })
		c, err := New(s, fleetNamespace(i), Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
		require.NoError(b, err)
		f.stores = append(f.stores, s)
		f.caches = append(f.caches, c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, s := range f.stores {
		require.NoError(b, s.WaitCoherent(ctx))
	}
}

// fill has every Store read its namespace's keys once, checks (by the
// local hits of a GetLocal of each) that each holds at least fleetMinHeld of
// them, and returns held: held[g] when key g's Store holds it.
func (f *fleet) fill(b *testing.B) []bool {
	ctx := context.Background()
	errs := make([]error, len(f.caches))
	var wg sync.WaitGroup
	for i, c := range f.caches {
		wg.Go(func() {
			for k := range fleetKeysPerNS {
				if _, err := c.Get(ctx, fleetKey(k)); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(b, errors.Join(errs...))
	held := make([]bool, fleetNamespaces*fleetKeysPerNS)
	for i, c := range f.caches {
		hits := c.Stats().LocalHits
		for k := range fleetKeysPerNS {
			_, held[i*fleetKeysPerNS+k] = c.GetLocal(fleetKey(k))
		}
		if n := c.Stats().LocalHits - hits; n < fleetMinHeld {
			b.Fatalf("Store %d holds %d of its %d keys after reading them, want at least %d", i, n, fleetKeysPerNS, fleetMinHeld)
		}
	}
	return held
}

// writePhase runs the foreign writes, of keys order[0], order[1] and on,
// waits until every Store that held a key written has heard of it, and
// records the figures of the phase in r.
func (f *fleet) writePhase(b *testing.B, rkeys []string, index map[string]int, order []int, held []bool, env []byte, r *fleetResult) {
	t0 := time.Now()
	var (
		starts  = make([]atomic.Int64, len(rkeys)) // since t0 (+1) of the write of held key g, until its Store hears of it
		pending atomic.Int64                       // writes of held keys not heard yet
		drained = make(chan struct{}, 1)           // pending fell to 0
		msgs    atomic.Int64
		mu      sync.Mutex
		lags    []time.Duration
	)
	for i, s := range f.stores {
		heard := func(k string) {
			g, ok := index[k]
			if !ok || !held[g] || g/fleetKeysPerNS != i {
				return
			}
			if t := starts[g].Swap(0); t != 0 {
				mu.Lock()
				lags = append(lags, time.Since(t0)-time.Duration(t-1))
				mu.Unlock()
				if pending.Add(-1) == 0 {
					select {
					case drained <- struct{}{}:
					default:
					}
				}
			}
		}
		h := func(_ string, m *redis.Message) {
			msgs.Add(1)
			if m.Payload != "" {
				heard(m.Payload)
			}
			for _, k := range m.PayloadSlice {
				heard(k)
			}
		}
		s.coh.heard.Store(&h)
	}
	defer func() {
		for _, s := range f.stores {
			s.coh.heard.Store(nil)
		}
	}()
	inv0, resyncs0 := f.counts()
	// Redis' own background (its cron, the streams' health pings) over as
	// long a time with no writes, to take out of the write phase's CPU.
	cpu := func(info func(string) float64) float64 { return info("used_cpu_user") + info("used_cpu_sys") }
	idle0, idleStart := cpu(redisInfo(b, f.foreign)), time.Now()
	time.Sleep(fleetDuration) // the measurement window, not a wait for a signal
	idleRate := (cpu(redisInfo(b, f.foreign)) - idle0) / time.Since(idleStart).Seconds()
	cpu0, cpuStart := cpu(redisInfo(b, f.foreign)), time.Now()

	tick := time.NewTicker(time.Second * time.Duration(f.batch) / time.Duration(f.rate))
	defer tick.Stop()
	b.StartTimer()
	phase := time.Now()
	for time.Since(phase) < fleetDuration && r.writes+f.batch <= len(order) {
		<-tick.C
		batch := order[r.writes : r.writes+f.batch]
		now := int64(time.Since(t0)) + 1
		for _, g := range batch {
			if held[g] {
				r.heldWrites++
				pending.Add(1)
				starts[g].Store(now)
			}
		}
		f.set(b, rkeys, batch, env)
		r.writes += len(batch)
	}
	r.phase = time.Since(phase)
	b.StopTimer()

	hang := time.After(10 * time.Second) // a hang guard
	for pending.Load() > 0 {
		select {
		case <-drained:
		case <-hang:
			b.Fatalf("%d writes of held keys never reached the Store that held them", pending.Load())
		}
	}
	cpu1, cpuEnd := cpu(redisInfo(b, f.foreign)), time.Now()
	inv1, resyncs1 := f.counts()
	if resyncs1 != resyncs0 {
		b.Fatalf("%d streams restarted during the write phase: the figures are void", resyncs1-resyncs0)
	}
	r.msgs = float64(msgs.Load())
	r.invalidated = float64(inv1 - inv0)
	r.cpu = cpu1 - cpu0 - idleRate*cpuEnd.Sub(cpuStart).Seconds()
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(b, lags)
	slices.Sort(lags)
	r.lagP50, r.lagP99 = lags[len(lags)/2], lags[len(lags)*99/100]
}

// set writes the envelope env to keys g of rkeys in one pipeline.
func (f *fleet) set(b *testing.B, rkeys []string, gs []int, env []byte) {
	ctx := context.Background()
	_, err := f.foreign.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, g := range gs {
			p.Set(ctx, rkeys[g], env, time.Hour)
		}
		return nil
	})
	require.NoError(b, err)
}

// counts sums the Stores' invalidated keys and resyncs.
func (f *fleet) counts() (invalidations, resyncs uint64) {
	for _, s := range f.stores {
		invalidations += s.coh.invalidations.Load()
		resyncs += s.coh.resyncs.Load()
	}
	return invalidations, resyncs
}

// redisInfo reads the memory, clients, cpu and stats sections of INFO and returns
// a lookup of their numeric fields that fails b on a missing one.
func redisInfo(b *testing.B, rdb *redis.Client) func(field string) float64 {
	s, err := rdb.Info(context.Background(), "memory", "clients", "cpu", "stats").Result()
	require.NoError(b, err)
	fields := map[string]float64{}
	for line := range strings.Lines(s) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if x, err := strconv.ParseFloat(v, 64); err == nil {
			fields[k] = x
		}
	}
	return func(field string) float64 {
		x, ok := fields[field]
		if !ok {
			b.Fatalf("INFO has no numeric %s", field)
		}
		return x
	}
}

// printFleetTable prints the modes' figures side by side, one metric a row.
func printFleetTable(title string, names []string, results map[string]fleetResult) {
	if len(names) == 0 {
		return
	}
	cols := make([]map[string]float64, len(names))
	var units []string
	for i, name := range names {
		cols[i] = map[string]float64{}
		for _, m := range results[name].metrics(results["Broadcast"]) {
			if !slices.Contains(units, m.unit) {
				units = append(units, m.unit)
			}
			cols[i][m.unit] = m.value
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\t%s\t\n", title, strings.Join(names, "\t"))
	for _, u := range units {
		fmt.Fprintf(tw, "%s\t", u)
		for _, col := range cols {
			switch v, ok := col[u]; {
			case !ok:
				fmt.Fprint(tw, "-\t")
			case v >= 100:
				fmt.Fprintf(tw, "%.0f\t", v)
			default:
				fmt.Fprintf(tw, "%.4g\t", v)
			}
		}
		fmt.Fprintln(tw)
	}
	_ = tw.Flush()
}
