package cache

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// lagRecorder measures invalidation lag: the time from the start of a write
// made through this Store to the arrival of its invalidation, which is when
// every other Store on the same stream evicts its copy too. It samples at
// most maxPending writes at a time and keeps the last len(samples) lags.
type lagRecorder struct {
	npending atomic.Int32

	mu      sync.Mutex
	pending map[string]time.Time
	samples [1024]time.Duration
	n       int // samples recorded in all
}

const maxPending = 256

func (l *lagRecorder) start(rkey string, at time.Time) {
	if l.npending.Load() >= maxPending {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending == nil {
		l.pending = make(map[string]time.Time)
	}
	if _, ok := l.pending[rkey]; !ok && len(l.pending) < maxPending {
		l.pending[rkey] = at
		l.npending.Add(1)
	}
}

// end records the lag of rkey's write, if one was pending, and returns it.
func (l *lagRecorder) end(rkey string) (time.Duration, bool) {
	if l.npending.Load() == 0 {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	at, ok := l.pending[rkey]
	if !ok {
		return 0, false
	}
	delete(l.pending, rkey)
	l.npending.Add(-1)
	d := time.Since(at)
	l.samples[l.n%len(l.samples)] = d
	l.n++
	return d, true
}

// reset forgets the writes in flight: after a lost connection their
// invalidations may never come.
func (l *lagRecorder) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.pending)
	l.npending.Store(0)
}

// quantiles returns the median and the 99th percentile of the kept samples
// and how many samples were recorded in all.
func (l *lagRecorder) quantiles() (p50, p99 time.Duration, n int) {
	l.mu.Lock()
	kept := slices.Clone(l.samples[:min(l.n, len(l.samples))])
	n = l.n
	l.mu.Unlock()
	if len(kept) == 0 {
		return 0, 0, n
	}
	slices.Sort(kept)
	return kept[len(kept)/2], kept[(len(kept)*99)/100], n
}
