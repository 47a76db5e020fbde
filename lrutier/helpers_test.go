package lrutier

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeClock is an injectable Options.Now.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() int64      { return c.ns.Load() }
func (c *fakeClock) Advance(d int64) { c.ns.Add(d) }

// evictLog records OnEvict calls.
type evictLog struct {
	mu    sync.Mutex
	calls []string // "key:reason"
}

func (l *evictLog) OnEvict(k string, _ int, r Reason) {
	l.mu.Lock()
	l.calls = append(l.calls, k+":"+r.String())
	l.mu.Unlock()
}

func (l *evictLog) Calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

// checkInvariants verifies, shard by shard, that the byte count equals the
// sum of the stored sizes and that neither budget is exceeded.
func checkInvariants[K comparable, V any](t testing.TB, tr *Tier[K, V]) {
	t.Helper()
	for i, err := range invariantErrors(tr) {
		t.Errorf("shard %d: %v", i, err)
	}
}

func invariantErrors[K comparable, V any](tr *Tier[K, V]) map[int]error {
	errs := map[int]error{}
	for i := range tr.shards {
		s := &tr.shards[i]
		s.mu.Lock()
		var sum int64
		for _, k := range s.lru.Keys() {
			e, _ := s.lru.Peek(k)
			sum += e.size
		}
		n, b := s.lru.Len(), s.bytes
		s.mu.Unlock()
		switch {
		case sum != b:
			errs[i] = fmt.Errorf("bytes = %d, want sum of sizes %d", b, sum)
		case n > tr.maxEntries:
			errs[i] = fmt.Errorf("entries = %d, want <= %d", n, tr.maxEntries)
		case b > tr.maxBytes:
			errs[i] = fmt.Errorf("bytes = %d, want <= %d", b, tr.maxBytes)
		}
	}
	return errs
}

// keysOf returns the keys of a one-shard tier, least recently used first.
func keysOf[V any](tr *Tier[string, V]) []string {
	s := &tr.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lru.Keys()
}
