package collections_test

import (
	"context"
	"testing"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// BenchmarkSetContainsMany checks 100 members, half of them present, in a
// set of 1000: Set.ContainsMany (String codec) against the limit, a raw
// go-redis SMISMEMBER of the same members.
func BenchmarkSetContainsMany(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	s, err := collections.NewSet(rdb, "bench", collections.SetOptions[string]{Codec: codec.String()})
	if err != nil {
		b.Fatal(err)
	}
	members := make([]string, 1000)
	for i := range members {
		members[i] = benchKey(i)
	}
	if _, err := s.Add(ctx, members...); err != nil {
		b.Fatal(err)
	}
	probe := make([]string, 100)
	raw := make([]any, 100)
	for i := range probe {
		probe[i] = benchKey(950 + i) // 950..999 present, 1000.. absent
		if i >= 50 {
			probe[i] = "absent" + benchKey(i)
		}
		raw[i] = probe[i]
	}
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.ContainsMany(ctx, probe...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rdb.SMIsMember(ctx, s.Key(), raw...).Result(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
