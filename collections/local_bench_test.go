package collections_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// localBenchStore returns a server's client and a coherent Store on it.
func localBenchStore(b *testing.B) (*redistest.Server, *cache.Store) {
	srv := redistest.Start(b)
	store, err := cache.NewStore(srv.Client(b), cache.StoreOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := store.WaitCoherent(ctx); err != nil {
		b.Fatal(err)
	}
	return srv, store
}

// sideBySide runs one read three ways as sub-benchmarks of name: served
// by the local copy, from Redis, and the limit (the same read on a Go
// value under an RWMutex). Each func reads for iteration i.
func sideBySide(b *testing.B, name string, local, redis, limit func(i int) error) {
	for _, r := range []struct {
		how  string
		read func(i int) error
	}{{"local", local}, {"redis", redis}, {"limit", limit}} {
		b.Run(name+"/"+r.how, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if err := r.read(i); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// errWrong is a benchmark read's wrong answer.
var errWrong = errors.New("wrong answer")

// check turns a read's answer into its error.
func check(ok bool, err error) error {
	if err == nil && !ok {
		return errWrong
	}
	return err
}

// BenchmarkLocalReads: one read of each structure served by its local copy
// (Options.Local), the same read from Redis, and the limit, the same read
// on a Go value under an RWMutex, side by side: Set.Contains in a
// 1000-member set, Dict.Get of a 1000-key dict, Counter.Get, SortedSet.Score in a 1000-member set, List.Range and
// Deque.Range of 100 elements, Deque.Peek, BloomFilter.Contains (1000
// elements at 1%), MultiMapTTL.Get of a map key with 10 values (100 map
// keys) and HyperLogLog.Len.
func BenchmarkLocalReads(b *testing.B) {
	ctx := context.Background()
	srv, store := localBenchStore(b)
	rdb := srv.Client(b)
	local := collections.Options{Local: store, LocalTTL: time.Hour}
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	var mu sync.RWMutex
	must := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	// both opens a structure plain, and fills it, then with Options.Local.
	both := func(open func(o collections.Options) error) {
		must(open(collections.Options{}))
		must(open(local))
	}
	// kept are the local copies' counters: each copy whose rows ran is
	// read want times (once, or once per map key), or some "local" reads
	// were not.
	type keptCopy struct {
		st   func() cache.WholeStats
		want uint64
	}
	var kept []keptCopy
	defer func() {
		for i, k := range kept {
			if s := k.st(); s.Loads != 0 && s.Kept != k.want { // Loads 0: its rows did not run (-bench filter)
				b.Errorf("local copy %d kept %d times, want %d: not all reads were local", i, s.Kept, k.want)
			}
		}
	}()
	keptOnce := func(st func() cache.WholeStats) { kept = append(kept, keptCopy{st, 1}) }

	items := make(map[string]string, len(keys))
	counts := make(map[string]int64, len(keys))
	scores := make(map[string]float64, len(keys))
	zs := make([]collections.Scored[string], len(keys))
	for i, k := range keys {
		items[k] = "value of " + k
		counts[k] = int64(i)
		scores[k] = float64(i)
		zs[i] = collections.Scored[string]{Value: k, Score: float64(i)}
	}

	var sets []*collections.Set[string]
	both(func(o collections.Options) error {
		s, err := collections.NewSet(rdb, "bench-set", collections.SetOptions[string]{Options: o})
		sets = append(sets, s)
		if err == nil && o.Local == nil {
			_, err = s.Add(ctx, keys...)
		}
		return err
	})
	setContains := func(s *collections.Set[string]) func(int) error {
		return func(i int) error { return check(s.Contains(ctx, keys[i%1000])) }
	}
	keptOnce(sets[1].Local)
	sideBySide(b, "set-contains", setContains(sets[1]), setContains(sets[0]), func(i int) error {
		mu.RLock()
		_, ok := items[keys[i%1000]]
		mu.RUnlock()
		return check(ok, nil)
	})

	var dicts []*collections.Dict[string, string]
	both(func(o collections.Options) error {
		d, err := collections.NewDict(rdb, "bench-dict", collections.DictOptions[string, string]{Options: o})
		dicts = append(dicts, d)
		if err == nil && o.Local == nil {
			err = d.SetMany(ctx, items)
		}
		return err
	})
	dictGet := func(d *collections.Dict[string, string]) func(int) error {
		return func(i int) error { _, err := d.Get(ctx, keys[i%1000]); return err }
	}
	keptOnce(dicts[1].Local)
	sideBySide(b, "dict-get", dictGet(dicts[1]), dictGet(dicts[0]), func(i int) error {
		mu.RLock()
		_, ok := items[keys[i%1000]]
		mu.RUnlock()
		return check(ok, nil)
	})

	var counters []*collections.Counter[string]
	both(func(o collections.Options) error {
		c, err := collections.NewCounter(rdb, "bench-counter", collections.CounterOptions[string]{Options: o})
		counters = append(counters, c)
		if err == nil && o.Local == nil {
			err = c.SetMany(ctx, counts)
		}
		return err
	})
	counterGet := func(c *collections.Counter[string]) func(int) error {
		return func(i int) error { n, err := c.Get(ctx, keys[i%1000]); return check(n == int64(i%1000), err) }
	}
	keptOnce(counters[1].Local)
	sideBySide(b, "counter-get", counterGet(counters[1]), counterGet(counters[0]), func(i int) error {
		mu.RLock()
		n := counts[keys[i%1000]]
		mu.RUnlock()
		return check(n == int64(i%1000), nil)
	})

	var zsets []*collections.SortedSet[string]
	both(func(o collections.Options) error {
		z, err := collections.NewSortedSet(rdb, "bench-zset", collections.SortedSetOptions[string]{Options: o})
		zsets = append(zsets, z)
		if err == nil && o.Local == nil {
			err = z.SetScores(ctx, zs...)
		}
		return err
	})
	zsetScore := func(z *collections.SortedSet[string]) func(int) error {
		return func(i int) error { _, err := z.Score(ctx, keys[i%1000]); return err }
	}
	keptOnce(zsets[1].Local)
	sideBySide(b, "zset-score", zsetScore(zsets[1]), zsetScore(zsets[0]), func(i int) error {
		mu.RLock()
		_, ok := scores[keys[i%1000]]
		mu.RUnlock()
		return check(ok, nil)
	})

	var lists []*collections.List[string]
	both(func(o collections.Options) error {
		l, err := collections.NewList(rdb, "bench-list", collections.ListOptions[string]{Options: o})
		lists = append(lists, l)
		if err == nil && o.Local == nil {
			_, err = l.Extend(ctx, keys...)
		}
		return err
	})
	listRange := func(l *collections.List[string]) func(int) error {
		return func(i int) error {
			start := int64(i % 900)
			vs, err := l.Range(ctx, start, start+99)
			return check(len(vs) == 100, err)
		}
	}
	rangeLimit := func(i int) error {
		start := i % 900
		mu.RLock()
		vs := slices.Clone(keys[start : start+100])
		mu.RUnlock()
		return check(len(vs) == 100, nil)
	}
	keptOnce(lists[1].Local)
	sideBySide(b, "list-range100", listRange(lists[1]), listRange(lists[0]), rangeLimit)

	var deques []*collections.Deque[string]
	both(func(o collections.Options) error {
		d, err := collections.NewDeque(rdb, "bench-deque", collections.DequeOptions[string]{Options: o})
		deques = append(deques, d)
		if err == nil && o.Local == nil {
			_, err = d.Extend(ctx, keys...)
		}
		return err
	})
	dequeRange := func(d *collections.Deque[string]) func(int) error {
		return func(i int) error {
			start := int64(i % 900)
			vs, err := d.Range(ctx, start, start+99)
			return check(len(vs) == 100, err)
		}
	}
	keptOnce(deques[1].Local)
	sideBySide(b, "deque-range100", dequeRange(deques[1]), dequeRange(deques[0]), rangeLimit)
	dequePeek := func(d *collections.Deque[string]) func(int) error {
		return func(int) error { v, err := d.Peek(ctx); return check(v == keys[999], err) }
	}
	sideBySide(b, "deque-peek", dequePeek(deques[1]), dequePeek(deques[0]), func(int) error {
		mu.RLock()
		v := keys[len(keys)-1]
		mu.RUnlock()
		return check(v == keys[999], nil)
	})

	var blooms []*collections.BloomFilter[string]
	both(func(o collections.Options) error {
		f, err := collections.NewBloomFilter(rdb, "bench-bloom", 1000, 0.01, collections.BloomOptions[string]{Options: o, Codec: codec.String()})
		blooms = append(blooms, f)
		if err == nil && o.Local == nil {
			_, err = f.AddMany(ctx, keys)
		}
		return err
	})
	limitBloom := newGoBloom(blooms[0].Bits(), blooms[0].Hashes())
	for _, k := range keys {
		limitBloom.add(k)
	}
	bloomContains := func(f *collections.BloomFilter[string]) func(int) error {
		return func(i int) error { return check(f.Contains(ctx, keys[i%1000])) }
	}
	keptOnce(blooms[1].Local)
	sideBySide(b, "bloom-contains", bloomContains(blooms[1]), bloomContains(blooms[0]), func(i int) error {
		mu.RLock()
		ok := limitBloom.contains(keys[i%1000])
		mu.RUnlock()
		return check(ok, nil)
	})

	// MultiMapTTL.Get of one of 100 map keys, 10 values each.
	var mms []*collections.MultiMapTTL[string]
	mmItems := make(map[string][]string, 100)
	for i, k := range keys[:100] {
		mmItems[k] = slices.Clone(keys[10*i : 10*i+10])
	}
	both(func(o collections.Options) error {
		m, err := collections.NewMultiMapTTL(rdb, "bench-mm", collections.MultiMapTTLOptions[string]{Options: o})
		mms = append(mms, m)
		if err == nil && o.Local == nil {
			err = m.AddMany(ctx, time.Hour, mmItems)
		}
		return err
	})
	mmGet := func(m *collections.MultiMapTTL[string]) func(int) error {
		return func(i int) error { vs, err := m.Get(ctx, keys[i%100]); return check(len(vs) == 10, err) }
	}
	kept = append(kept, keptCopy{mms[1].Local, 100}) // one copy per map key
	sideBySide(b, "multimap-get10", mmGet(mms[1]), mmGet(mms[0]), func(i int) error {
		mu.RLock()
		vs := slices.Clone(mmItems[keys[i%100]])
		mu.RUnlock()
		return check(len(vs) == 10, nil)
	})

	var hlls []*collections.HyperLogLog[string]
	both(func(o collections.Options) error {
		h, err := collections.NewHyperLogLog(rdb, "bench-hll", collections.HyperLogLogOptions[string]{Options: o})
		hlls = append(hlls, h)
		if err == nil && o.Local == nil {
			_, err = h.AddMany(ctx, keys)
		}
		return err
	})
	count, err := hlls[0].Len(ctx)
	must(err)
	hllLen := func(h *collections.HyperLogLog[string]) func(int) error {
		return func(int) error { n, err := h.Len(ctx); return check(n == count, err) }
	}
	keptOnce(hlls[1].Local)
	sideBySide(b, "hll-len", hllLen(hlls[1]), hllLen(hlls[0]), func(int) error {
		mu.RLock()
		n := count
		mu.RUnlock()
		return check(n > 0, nil)
	})
}

// goBloom is the limit of a Bloom filter's membership test: the filter's
// hashing (SHA-256 of the encoding, enhanced double hashing) on a Go bit
// array.
type goBloom struct {
	bits []uint64
	m    uint64
	k    int
}

func newGoBloom(m uint64, k int) *goBloom {
	return &goBloom{bits: make([]uint64, (m+63)/64), m: m, k: k}
}

// probe calls fn with each of v's bit positions until fn returns false.
func (f *goBloom) probe(v string, fn func(pos uint64) bool) bool {
	var buf [64]byte
	sum := sha256.Sum256(append(buf[:0], v...))
	x := binary.BigEndian.Uint64(sum[0:8]) % f.m
	y := binary.BigEndian.Uint64(sum[8:16]) % f.m
	for j := range f.k {
		if !fn(x) {
			return false
		}
		x = (x + y) % f.m
		y = (y + uint64(j) + 1) % f.m
	}
	return true
}

func (f *goBloom) add(v string) {
	f.probe(v, func(p uint64) bool { f.bits[p/64] |= 1 << (p % 64); return true })
}

func (f *goBloom) contains(v string) bool {
	return f.probe(v, func(p uint64) bool { return f.bits[p/64]&(1<<(p%64)) != 0 })
}
