package lrutier

import (
	"strconv"
	"sync/atomic"
	"testing"
)

const benchKeys = 1 << 16

func benchTier(b *testing.B) (*Tier[string, []byte], []string) {
	b.Helper()
	tr := New(Options[string, []byte]{MaxEntries: 2 * benchKeys, MaxBytes: 1 << 30})
	keys := make([]string, benchKeys)
	val := make([]byte, 64)
	for i := range keys {
		keys[i] = "bench:key:" + strconv.Itoa(i)
		tr.Set(keys[i], val, 100, 0)
	}
	return tr, keys
}

func BenchmarkGetHit(b *testing.B) {
	b.Run("serial", func(b *testing.B) {
		tr, keys := benchTier(b)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, ok := tr.Get(keys[i&(benchKeys-1)]); !ok {
				b.Fatal("miss")
			}
			i++
		}
	})
	b.Run("expiring", func(b *testing.B) { // one clock read per Get
		tr, keys := benchTier(b)
		for _, k := range keys {
			tr.Set(k, nil, 100, 1<<62)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tr.Get(keys[i&(benchKeys-1)])
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		tr, keys := benchTier(b)
		var seq atomic.Int64 // gives each goroutine its own starting key
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1) * 9973)
			for pb.Next() {
				tr.Get(keys[i&(benchKeys-1)])
				i += 7
			}
		})
	})
}

func BenchmarkSet(b *testing.B) {
	b.Run("overwrite", func(b *testing.B) {
		tr, keys := benchTier(b)
		val := make([]byte, 64)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tr.Set(keys[i&(benchKeys-1)], val, 100, 0)
			i++
		}
	})
	b.Run("evicting", func(b *testing.B) { // every Set inserts and evicts one
		tr := New(Options[string, []byte]{MaxEntries: benchKeys / 4, MaxBytes: 1 << 30})
		_, keys := benchTier(b)
		val := make([]byte, 64)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tr.Set(keys[i&(benchKeys-1)], val, 100, 0)
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		tr, keys := benchTier(b)
		val := make([]byte, 64)
		var seq atomic.Int64 // gives each goroutine its own starting key
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1) * 9973)
			for pb.Next() {
				tr.Set(keys[i&(benchKeys-1)], val, 100, 0)
				i += 7
			}
		})
	})
}
