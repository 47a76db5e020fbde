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
	for i := range tr.nodes.shards {
		s := &tr.nodes.shards[i]
		s.mu.Lock()
		err := listError(s, tr.nodes.hash)
		n, b := s.len(), s.bytes
		s.mu.Unlock()
		switch {
		case err != nil:
			errs[i] = err
		case n > tr.nodes.maxEntries:
			errs[i] = fmt.Errorf("entries = %d, want <= %d", n, tr.nodes.maxEntries)
		case b > tr.nodes.maxBytes:
			errs[i] = fmt.Errorf("bytes = %d, want <= %d", b, tr.nodes.maxBytes)
		}
	}
	return errs
}

// listError checks that s's recency list and table hold the same nodes, each
// under its own hash, and that the count and the byte count match them. The
// caller holds s.mu.
func listError[K comparable](s *shard[K], hash func(K) uint64) error {
	var n, inMap int
	var sum int64
	var newer *Node[K]
	for nd := s.newest; nd != nil; nd = nd.older {
		if nd.newer != newer {
			return fmt.Errorf("node %v: broken newer link", nd.key)
		}
		if s.find(hash(nd.key), nd.key) != nd {
			return fmt.Errorf("node %v: not in the table under its hash", nd.key)
		}
		newer = nd
		n++
		sum += nd.size
	}
	for i := range s.items.arr.Load().s {
		if s.items.arr.Load().s[i].n.Load() != nil {
			inMap++
		}
	}
	switch {
	case newer != s.oldest:
		return fmt.Errorf("oldest is %v, want the list's last node", s.oldest)
	case n != s.len() || inMap != s.len():
		return fmt.Errorf("len = %d, want %d in the list and %d in the table", s.len(), n, inMap)
	case sum != s.bytes:
		return fmt.Errorf("bytes = %d, want sum of sizes %d", s.bytes, sum)
	}
	return nil
}

// keysOf returns the keys of a one-shard tier, least recently used first.
func keysOf[V any](tr *Tier[string, V]) []string {
	s := &tr.nodes.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for nd := s.oldest; nd != nil; nd = nd.newer {
		keys = append(keys, nd.key)
	}
	return keys
}
