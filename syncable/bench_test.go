package syncable_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/syncable"
)

// The in-memory operations against the plain Go map they wrap, and Sync and
// Load of 100 000 fields, with round trips per operation reported. The
// bench module has the same measurements as table groups (bench/syncable).

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "key:" + strconv.Itoa(i)
	}
	return keys
}

// BenchmarkDictSet writes 1000 of the keys of a 10 000-key map, and of a
// Dict of the same keys that was synced ("syncable": its Set also records
// the key for the next Sync) or never was ("unsynced": it records nothing).
func BenchmarkDictSet(b *testing.B) {
	keys := benchKeys(1000)
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		m := make(map[string]string)
		for _, k := range benchKeys(10_000) {
			m[k] = "value"
		}
		for i := 0; b.Loop(); i++ {
			m[keys[i%len(keys)]] = "value"
		}
	})
	b.Run("syncable", func(b *testing.B) {
		b.ReportAllocs()
		d, _, _ := syncBench(b, 10_000)
		for i := 0; b.Loop(); i++ {
			d.Set(keys[i%len(keys)], "value")
		}
	})
	b.Run("unsynced", func(b *testing.B) {
		b.ReportAllocs()
		d, err := syncable.NewDict(redis.NewClient(&redis.Options{}), "bench", strOpts) // never talks to Redis
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range benchKeys(10_000) {
			d.Set(k, "value")
		}
		for i := 0; b.Loop(); i++ {
			d.Set(keys[i%len(keys)], "value")
		}
	})
}

func BenchmarkDictGet(b *testing.B) {
	keys := benchKeys(1000)
	m := make(map[string]string)
	d, err := syncable.NewDict(redis.NewClient(&redis.Options{}), "bench", strOpts)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		m[k] = "value"
		d.Set(k, "value")
	}
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok := m[keys[i%len(keys)]]; !ok {
				b.Fatal("missing")
			}
		}
	})
	b.Run("syncable", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok := d.Get(keys[i%len(keys)]); !ok {
				b.Fatal("missing")
			}
		}
	})
}

func BenchmarkDequeAppendPopLeft(b *testing.B) {
	b.Run("slice", func(b *testing.B) {
		b.ReportAllocs()
		s := make([]int, 0, 1024)
		for i := 0; b.Loop(); i++ {
			s = append(s, i)
			if len(s) > 512 {
				s = append(s[:0], s[1:]...)
			}
		}
	})
	b.Run("syncable", func(b *testing.B) {
		b.ReportAllocs()
		d, err := syncable.NewDeque[int](redis.NewClient(&redis.Options{}), "bench", syncable.DequeOptions[int]{})
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			d.Append(i)
			if d.Len() > 512 {
				d.PopLeft()
			}
		}
	})
}

// benchOpts are the String codecs and a round trip timeout above what a
// 100 000-field Sync takes on a loaded machine; LoadChunk is the default.
var benchOpts = syncable.DictOptions[string, string]{DictOptions: bigOpts.DictOptions}

// syncBench returns a dict of n fields synced to a fresh server, the
// round trip counter of its client, and its keys.
func syncBench(b *testing.B, n int) (*syncable.Dict[string, string], *roundTrips, []string) {
	rdb := redistest.Start(b).Client(b)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	d, err := syncable.NewDict(rdb, "bench", benchOpts)
	if err != nil {
		b.Fatal(err)
	}
	keys := benchKeys(n)
	for _, k := range keys {
		d.Set(k, "a value of some thirty bytes..")
	}
	if err := d.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	return d, rt, keys
}

// BenchmarkSync100k measures a Sync of 100 000 fields: all of them
// (SyncOverwrite, the work of a first Sync), and 100 changed ones (Sync),
// and a Load of them all, in time and round trips per operation.
func BenchmarkSync100k(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	d, rt, keys := syncBench(b, n)
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		before := rt.n.Load()
		for b.Loop() {
			if err := d.SyncOverwrite(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rt.n.Load()-before)/float64(b.N), "roundtrips/op")
	})
	b.Run("100changed", func(b *testing.B) {
		b.ReportAllocs()
		before := rt.n.Load()
		for i := 0; b.Loop(); i++ {
			for j := range 100 {
				d.Set(keys[(i*100+j)%n], "changed "+strconv.Itoa(i))
			}
			if err := d.Sync(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rt.n.Load()-before)/float64(b.N), "roundtrips/op")
	})
	b.Run("load", func(b *testing.B) {
		b.ReportAllocs()
		before := rt.n.Load()
		for b.Loop() {
			if err := d.Load(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rt.n.Load()-before)/float64(b.N), "roundtrips/op")
	})
}
