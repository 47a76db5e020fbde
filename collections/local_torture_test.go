package collections_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/collections"
)

// tortureSteps is the number of own and of foreign writes of a torture.
const tortureSteps = 300

// tortureCase is one structure under the local-reads torture. Writes are
// numbered from 1 (own) and 0 (foreign); the reads answer whether a write
// (or a later one: the writes are monotonic) is seen.
type tortureCase struct {
	// own makes own write k (k >= 1), through a value on the reader's
	// Store; k = 0 is the setup, before the readers start.
	own func(ctx context.Context, k int64) error
	// retire, if set, undoes own write k-1 once own write k returned; a
	// read of own write k-1 may then miss it.
	retire func(ctx context.Context, k int64) error
	// foreign makes foreign write j (j >= 0) from a client without a Store.
	foreign func(ctx context.Context, j int64) error
	// hasOwn and hasForeign read through the reader (Options.Local).
	hasOwn, hasForeign func(ctx context.Context, k int64) (bool, error)
	// reader is the structure they read, whose full reads (under key-level
	// tracking, through the Store's connections, not the reader's client)
	// its Local counters count.
	reader interface{ Local() cache.WholeStats }
}

// tortureClients are what a tortureCase is built on: the reader's client,
// whose commands the torture counts, another client of the deployment for
// the own writes and the foreign ones, and the collection's options with
// the reader's Store.
type tortureClients struct {
	reader, writer, foreign redis.UniversalClient
	name                    string
	opts                    collections.Options
}

// localTorture runs c against one Store's local copy: writers in this
// process and a foreign client write while two readers read. A reader
// never misses an own write that returned before its read started (and
// was not retired when the read ended), and never sees a foreign write
// disappear once seen. Every own write is checked at least once before the
// next one is written, while reads go on. It counts the checked reads served locally and
// fails if there were none: then it exercised nothing. Every structure's
// torture fails with the invalidation of its local copy disabled.
//
// It runs in the default coherence, and on the single server in key-level
// tracking too (the cache package's tortures run that mode on a Cluster;
// these are CPU-bound, and the machine is shared with other packages'
// timing-sensitive tests).
func localTorture(t *testing.T, build func(tc tortureClients) tortureCase) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		modes := []cache.Coherence{cache.CoherenceAuto}
		if !be.cluster {
			modes = append(modes, cache.CoherenceTrackingKeys)
		}
		for _, mode := range modes {
			t.Run(mode.String(), func(t *testing.T) { localTortureIn(t, be, mode, build) })
		}
	})
}

func localTortureIn(t *testing.T, be dsBackend, mode cache.Coherence, build func(tc tortureClients) tortureCase) {
	ctx := context.Background()
	store := localStore(t, be, cache.StoreOptions{Coherence: mode})
	cmds := &dsCommands{}
	c := build(tortureClients{reader: countedClient(t, be, cmds), writer: be.client(t), foreign: be.client(t),
		name: dsName(t), opts: collections.Options{Local: store}})

	var state atomic.Int64    // the last own write that returned
	var retiring atomic.Int64 // the last own write whose retirement started
	retiring.Store(-1)
	var seenForeign, checked, local atomic.Int64
	// Each own write is checked by at least one read that started
	// after it returned before the next is written: the readers
	// signal progress, and a reader that stops releases the writer.
	var checkedUpTo atomic.Int64
	progress, stop := make(chan struct{}, 1), make(chan struct{})
	var stopOnce sync.Once
	require.NoError(t, c.own(ctx, 0))
	var wg sync.WaitGroup
	wg.Go(func() {
		defer state.Store(tortureSteps + 1) // stops the readers
		for k := int64(1); k <= tortureSteps; k++ {
			if err := c.own(ctx, k); err != nil {
				t.Error(err)
				return
			}
			state.Store(k)
			for checkedUpTo.Load() < k {
				select {
				case <-progress:
				case <-stop:
					return
				}
			}
			if c.retire != nil {
				retiring.Store(k - 1)
				if err := c.retire(ctx, k); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	wg.Go(func() {
		for j := range int64(tortureSteps) {
			if err := c.foreign(ctx, j); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 2 {
		wg.Go(func() {
			defer stopOnce.Do(func() { close(stop) })
			for {
				k := state.Load()
				if k > tortureSteps {
					return
				}
				before, loads := cmds.n.Load(), c.reader.Local().Loads
				in, err := c.hasOwn(ctx, k)
				if err != nil {
					t.Error(err)
					return
				}
				if retiring.Load() < k { // own write k was not retired
					if !in {
						t.Errorf("own write %d missed after it returned", k)
						return
					}
					checked.Add(1)
					if cmds.n.Load() == before && c.reader.Local().Loads == loads {
						local.Add(1)
					}
					if checkedUpTo.Load() < k {
						checkedUpTo.Store(k)
						select {
						case progress <- struct{}{}:
						default:
						}
					}
				}
				j := seenForeign.Load()
				if in, err = c.hasForeign(ctx, j); err != nil {
					t.Error(err)
					return
				}
				if in {
					seenForeign.CompareAndSwap(j, j+1)
				} else if j > 0 {
					if in, err = c.hasForeign(ctx, j-1); err != nil || !in {
						t.Errorf("foreign write %d disappeared after it was seen (%v)", j-1, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("checked %d reads, %d local; %d foreign writes seen", checked.Load(), local.Load(), seenForeign.Load())
	require.Positive(t, local.Load(), "no checked read was served locally")
	require.Eventually(t, func() bool { in, err := c.hasForeign(ctx, tortureSteps-1); return err == nil && in },
		10*time.Second, time.Millisecond, "the last foreign write was never seen")
}

// itoa names write k.
func itoa(prefix string, k int64) string { return prefix + strconv.FormatInt(k, 10) }

// atLeast turns a read of a monotonic number into "write k is seen".
func atLeast(n, k int64, err error) (bool, error) { return err == nil && n >= k, err }

// found turns a read that fails with ErrNotFound for a missing element into
// "it is there".
func found(err error) (bool, error) {
	if errors.Is(err, collections.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func TestLocalSetTorture(t *testing.T) {
	localTorture(t, func(tc tortureClients) tortureCase {
		reader := dsMust[*collections.Set[string]](t)(collections.NewSet(tc.reader, tc.name, collections.SetOptions[string]{Options: tc.opts}))
		writer := dsMust[*collections.Set[string]](t)(collections.NewSet(tc.writer, tc.name, collections.SetOptions[string]{Options: tc.opts}))
		foreign := dsMust[*collections.Set[string]](t)(collections.NewSet(tc.foreign, tc.name, collections.SetOptions[string]{}))
		return tortureCase{
			reader:     reader,
			own:        func(ctx context.Context, k int64) error { _, err := writer.Add(ctx, itoa("own-", k)); return err },
			retire:     func(ctx context.Context, k int64) error { return writer.Remove(ctx, itoa("own-", k-1)) },
			foreign:    func(ctx context.Context, j int64) error { _, err := foreign.Add(ctx, itoa("foreign-", j)); return err },
			hasOwn:     func(ctx context.Context, k int64) (bool, error) { return reader.Contains(ctx, itoa("own-", k)) },
			hasForeign: func(ctx context.Context, j int64) (bool, error) { return reader.Contains(ctx, itoa("foreign-", j)) },
		}
	})
}

func TestLocalDictTorture(t *testing.T) {
	localTorture(t, func(tc tortureClients) tortureCase {
		o := collections.DictOptions[string, int64]{Options: tc.opts}
		reader := dsMust[*collections.Dict[string, int64]](t)(collections.NewDict(tc.reader, tc.name, o))
		writer := dsMust[*collections.Dict[string, int64]](t)(collections.NewDict(tc.writer, tc.name, o))
		foreign := dsMust[*collections.Dict[string, int64]](t)(collections.NewDict(tc.foreign, tc.name, collections.DictOptions[string, int64]{}))
		return tortureCase{
			reader:  reader,
			own:     func(ctx context.Context, k int64) error { return writer.Set(ctx, "own", k) },
			foreign: func(ctx context.Context, j int64) error { return foreign.Set(ctx, itoa("foreign-", j), j) },
			hasOwn: func(ctx context.Context, k int64) (bool, error) {
				v, err := reader.Get(ctx, "own")
				return atLeast(v, k, err)
			},
			hasForeign: func(ctx context.Context, j int64) (bool, error) { return reader.Has(ctx, itoa("foreign-", j)) },
		}
	})
}

func TestLocalCounterTorture(t *testing.T) {
	localTorture(t, func(tc tortureClients) tortureCase {
		o := collections.CounterOptions[string]{Options: tc.opts}
		reader := dsMust[*collections.Counter[string]](t)(collections.NewCounter(tc.reader, tc.name, o))
		writer := dsMust[*collections.Counter[string]](t)(collections.NewCounter(tc.writer, tc.name, o))
		foreign := dsMust[*collections.Counter[string]](t)(collections.NewCounter(tc.foreign, tc.name, collections.CounterOptions[string]{}))
		return tortureCase{
			reader: reader,
			own: func(ctx context.Context, k int64) error {
				if k == 0 {
					return nil
				}
				_, err := writer.Incr(ctx, "own") // the k-th: "own" counts k
				return err
			},
			foreign: func(ctx context.Context, j int64) error { _, err := foreign.Incr(ctx, "foreign"); return err },
			hasOwn: func(ctx context.Context, k int64) (bool, error) {
				n, err := reader.Get(ctx, "own")
				return atLeast(n, k, err)
			},
			hasForeign: func(ctx context.Context, j int64) (bool, error) {
				n, err := reader.Get(ctx, "foreign")
				return atLeast(n, j+1, err)
			},
		}
	})
}

func TestLocalSortedSetTorture(t *testing.T) {
	localTorture(t, func(tc tortureClients) tortureCase {
		o := collections.SortedSetOptions[string]{Options: tc.opts}
		reader := dsMust[*collections.SortedSet[string]](t)(collections.NewSortedSet(tc.reader, tc.name, o))
		writer := dsMust[*collections.SortedSet[string]](t)(collections.NewSortedSet(tc.writer, tc.name, o))
		foreign := dsMust[*collections.SortedSet[string]](t)(collections.NewSortedSet(tc.foreign, tc.name, collections.SortedSetOptions[string]{}))
		return tortureCase{
			reader: reader,
			own:    func(ctx context.Context, k int64) error { return writer.SetScore(ctx, "own", float64(k)) },
			foreign: func(ctx context.Context, j int64) error {
				return foreign.SetScore(ctx, itoa("foreign-", j), float64(j))
			},
			hasOwn: func(ctx context.Context, k int64) (bool, error) {
				s, err := reader.Score(ctx, "own")
				return atLeast(int64(s), k, err)
			},
			hasForeign: func(ctx context.Context, j int64) (bool, error) {
				_, err := reader.Score(ctx, itoa("foreign-", j))
				return found(err)
			},
		}
	})
}

// listTorture is the torture of a List or a Deque: appends, and a read of
// the whole.
func listTorture(reader interface{ Local() cache.WholeStats }, own, foreign func(ctx context.Context, v string) error, all func(ctx context.Context) ([]string, error)) tortureCase {
	has := func(prefix string) func(ctx context.Context, k int64) (bool, error) {
		return func(ctx context.Context, k int64) (bool, error) {
			vs, err := all(ctx)
			return slices.Contains(vs, itoa(prefix, k)), err
		}
	}
	return tortureCase{
		own:        func(ctx context.Context, k int64) error { return own(ctx, itoa("own-", k)) },
		foreign:    func(ctx context.Context, j int64) error { return foreign(ctx, itoa("foreign-", j)) },
		hasOwn:     has("own-"),
		hasForeign: has("foreign-"),
		reader:     reader,
	}
}

func TestLocalListTorture(t *testing.T) {
	localTorture(t, func(tc tortureClients) tortureCase {
		o := collections.ListOptions[string]{Options: tc.opts}
		reader := dsMust[*collections.List[string]](t)(collections.NewList(tc.reader, tc.name, o))
		writer := dsMust[*collections.List[string]](t)(collections.NewList(tc.writer, tc.name, o))
		foreign := dsMust[*collections.List[string]](t)(collections.NewList(tc.foreign, tc.name, collections.ListOptions[string]{}))
		return listTorture(reader,
			func(ctx context.Context, v string) error { _, err := writer.Append(ctx, v); return err },
			func(ctx context.Context, v string) error { _, err := foreign.Append(ctx, v); return err },
			func(ctx context.Context) ([]string, error) { return reader.Range(ctx, 0, -1) })
	})
}

func TestLocalDequeTorture(t *testing.T) {
	localTorture(t, func(tc tortureClients) tortureCase {
		o := collections.DequeOptions[string]{Options: tc.opts}
		reader := dsMust[*collections.Deque[string]](t)(collections.NewDeque(tc.reader, tc.name, o))
		writer := dsMust[*collections.Deque[string]](t)(collections.NewDeque(tc.writer, tc.name, o))
		foreign := dsMust[*collections.Deque[string]](t)(collections.NewDeque(tc.foreign, tc.name, collections.DequeOptions[string]{}))
		return listTorture(reader,
			func(ctx context.Context, v string) error { _, err := writer.AppendLeft(ctx, v); return err },
			func(ctx context.Context, v string) error { _, err := foreign.Append(ctx, v); return err },
			func(ctx context.Context) ([]string, error) { return reader.Range(ctx, 0, -1) })
	})
}

func TestLocalBloomTorture(t *testing.T) {
	localTorture(t, func(tc tortureClients) tortureCase {
		bloom := func(rdb redis.UniversalClient, o collections.Options) *collections.BloomFilter[string] {
			return dsMust[*collections.BloomFilter[string]](t)(collections.NewBloomFilter(rdb, tc.name, 10_000, 0.001,
				collections.BloomOptions[string]{Options: o}))
		}
		reader, writer, foreign := bloom(tc.reader, tc.opts), bloom(tc.writer, tc.opts), bloom(tc.foreign, collections.Options{})
		return tortureCase{
			reader:     reader,
			own:        func(ctx context.Context, k int64) error { _, err := writer.Add(ctx, itoa("own-", k)); return err },
			foreign:    func(ctx context.Context, j int64) error { _, err := foreign.Add(ctx, itoa("foreign-", j)); return err },
			hasOwn:     func(ctx context.Context, k int64) (bool, error) { return reader.Contains(ctx, itoa("own-", k)) },
			hasForeign: func(ctx context.Context, j int64) (bool, error) { return reader.Contains(ctx, itoa("foreign-", j)) },
		}
	})
}

// TestLocalHyperLogLogTorture: each add also goes to a shadow HyperLogLog
// of its writer's elements alone, on a client without a Store, and the
// writer records the shadow's count; a local Len that starts after the add
// returned is at least that count: the union's registers are at least the
// shadow's, and an estimate never falls as registers grow. (A count of the
// shared HyperLogLog would include the other writer's adds, which the local
// copy may rightly not show yet.)
func TestLocalHyperLogLogTorture(t *testing.T) {
	localTorture(t, func(tc tortureClients) tortureCase {
		hll := func(rdb redis.UniversalClient, name string, o collections.Options) *collections.HyperLogLog[string] {
			return dsMust[*collections.HyperLogLog[string]](t)(collections.NewHyperLogLog(rdb, name,
				collections.HyperLogLogOptions[string]{Options: o}))
		}
		reader, writer, foreign := hll(tc.reader, tc.name, tc.opts), hll(tc.writer, tc.name, tc.opts), hll(tc.foreign, tc.name, collections.Options{})
		ownShadow, foreignShadow := hll(tc.foreign, tc.name+"-own", collections.Options{}), hll(tc.foreign, tc.name+"-foreign", collections.Options{})
		var ownCount, foreignCount [tortureSteps + 1]atomic.Int64
		write := func(h, shadow *collections.HyperLogLog[string], counts []atomic.Int64, prefix string) func(ctx context.Context, k int64) error {
			return func(ctx context.Context, k int64) error {
				if _, err := h.Add(ctx, itoa(prefix, k)); err != nil {
					return err
				}
				if _, err := shadow.Add(ctx, itoa(prefix, k)); err != nil {
					return err
				}
				n, err := shadow.Len(ctx)
				counts[k].Store(n + 1) // 0: not written yet
				return err
			}
		}
		seen := func(counts []atomic.Int64) func(ctx context.Context, k int64) (bool, error) {
			return func(ctx context.Context, k int64) (bool, error) {
				want := counts[k].Load() - 1
				if want < 0 {
					return false, nil // not written yet
				}
				n, err := reader.Len(ctx)
				return atLeast(n, want, err)
			}
		}
		return tortureCase{
			reader:     reader,
			own:        write(writer, ownShadow, ownCount[:], "own-"),
			foreign:    write(foreign, foreignShadow, foreignCount[:], "foreign-"),
			hasOwn:     seen(ownCount[:]),
			hasForeign: seen(foreignCount[:]),
		}
	})
}

// TestLocalMultiMapTTLTorture: own and foreign writes add values to one
// map key (one local copy, as for the other structures); Get reads the own
// values, GetMany the foreign ones. Map keys apart are in
// TestLocalMultiMapTTL.
func TestLocalMultiMapTTLTorture(t *testing.T) {
	localTorture(t, func(tc tortureClients) tortureCase {
		mm := func(rdb redis.UniversalClient, o collections.Options) *collections.MultiMapTTL[string] {
			return dsMust[*collections.MultiMapTTL[string]](t)(collections.NewMultiMapTTL(rdb, tc.name,
				collections.MultiMapTTLOptions[string]{Options: o}))
		}
		reader, writer, foreign := mm(tc.reader, tc.opts), mm(tc.writer, tc.opts), mm(tc.foreign, collections.Options{})
		return tortureCase{
			reader: reader,
			own:    func(ctx context.Context, k int64) error { return writer.Add(ctx, "k", time.Hour, itoa("own-", k)) },
			foreign: func(ctx context.Context, j int64) error {
				return foreign.Add(ctx, "k", time.Hour, itoa("foreign-", j))
			},
			hasOwn: func(ctx context.Context, k int64) (bool, error) {
				vs, err := reader.Get(ctx, "k")
				return slices.Contains(vs, itoa("own-", k)), err
			},
			hasForeign: func(ctx context.Context, j int64) (bool, error) {
				got, err := reader.GetMany(ctx, "k")
				return slices.Contains(got["k"], itoa("foreign-", j)), err
			},
		}
	})
}
