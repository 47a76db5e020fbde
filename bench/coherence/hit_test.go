package coherencebench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// hitKeys is the size of the key set the hit benchmarks rotate through.
const hitKeys = 1024

// hitImpls are the implementations of the hit groups, in the order they run.
var hitImpls = []string{implLimit, implTiercache, implGoRedisCSC, implGoRedisGRC}

// hitKeyNames are "item:0000" to "item:1023"; hitValues[i] is keys[i]'s
// value: a JSON-looking string of about 70 bytes, stored as a string by
// every implementation (tiercache's raw string codec, a Redis string for
// go-redis' cache, a msgpack string for go-redis/cache).
var hitKeyNames, hitValues = func() ([]string, []string) {
	ks, vs := make([]string, hitKeys), make([]string, hitKeys)
	for i := range ks {
		ks[i] = fmt.Sprintf("item:%04d", i)
		vs[i] = fmt.Sprintf(`{"id":%d,"name":"item number %d","tags":["red","green","blue"]}`, i, i)
	}
	return ks, vs
}()

// hitSubjects returns every implementation of the hit groups, each with
// every hit key written (by its foreign writer) and held in its local tier.
func hitSubjects(b *testing.B) map[string]*subject {
	b.Helper()
	ctx := setupCtx(b)
	subjects := make(map[string]*subject, len(hitImpls))
	for _, impl := range hitImpls {
		s := newSubject(b, impl)
		for i, k := range hitKeyNames {
			if err := s.put(ctx, k, hitValues[i]); err != nil {
				b.Fatalf("%s: writing %s: %v", impl, k, err)
			}
		}
		warm(b, s, hitKeyNames)
		subjects[impl] = s
	}
	return subjects
}

// onlyLocal fails b unless s answered every read since remote() returned
// before from its local tier: a group that measured Redis round trips would
// claim numbers it did not measure.
func onlyLocal(b *testing.B, s *subject, before uint64) {
	if n := s.remote() - before; n != 0 {
		b.Errorf("%s: %d reads went to Redis, want only local hits", s.impl, n)
	}
}

// hit reads hitKeyNames[i] through s and checks the value.
func hit(ctx context.Context, s *subject, i int) error {
	v, err := s.get(ctx, hitKeyNames[i])
	if err != nil {
		return err
	}
	if v != hitValues[i] {
		return fmt.Errorf("%s: got %q, want %q", hitKeyNames[i], v, hitValues[i])
	}
	return nil
}

// BenchmarkCoherentHit reads a value each implementation holds locally
// while keeping it coherent with Redis: tiercache's Cache.Get (value kept
// decoded), go-redis' client-side cache GET (raw reply kept, parsed on
// every hit), go-redis/cache's Get (msgpack kept, decoded on every hit, no
// coherence) and an RWMutex map (limit). No writes run meanwhile.
func BenchmarkCoherentHit(b *testing.B) {
	ctx := context.Background()
	subjects := hitSubjects(b)
	for _, impl := range hitImpls {
		s := subjects[impl]
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			before := s.remote()
			i := 0
			for b.Loop() {
				if err := hit(ctx, s, i); err != nil {
					b.Fatalf("%s: %v", impl, err)
				}
				i = (i + 1) & (hitKeys - 1)
			}
			onlyLocal(b, s, before)
		})
	}
}

// BenchmarkCoherentHitParallel is BenchmarkCoherentHit from GOMAXPROCS
// goroutines at once (b.RunParallel), each starting at a random key.
func BenchmarkCoherentHitParallel(b *testing.B) {
	ctx := context.Background()
	subjects := hitSubjects(b)
	for _, impl := range hitImpls {
		s := subjects[impl]
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			before := s.remote()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(hitKeys)
				for pb.Next() {
					if err := hit(ctx, s, i); err != nil {
						b.Errorf("%s: %v", impl, err) // not Fatal: not the benchmark's goroutine
						return
					}
					i = (i + 1) & (hitKeys - 1)
				}
			})
			onlyLocal(b, s, before)
		})
	}
}
