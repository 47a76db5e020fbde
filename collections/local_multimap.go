package collections

import (
	"container/list"
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tiercache/tiercache/cache"
)

// This file holds the local reads of a MultiMapTTL (Options.Local): one
// cache.Whole per map key, the copy of its whole sorted set, for at most
// MultiMapTTLOptions.LocalKeys map keys per MultiMapTTL value (an LRU of
// map keys).
//
// Expiry is judged locally on an estimate of the server's clock, which is
// the authority (every write and the read script use TIME): the read that
// fills a copy returns the server's time too, and a copy's estimate of the
// server's clock now is that time plus the local (monotonic) time elapsed
// since the read was sent, plus a millisecond for TIME's truncation. The
// server read its clock after the send, so the estimate is never behind
// the server's clock, only ahead of it by up to the read's round trip: a
// value is served locally only if its expiry is after the estimate, so a
// local read never returns a value Redis would call expired (it may drop
// one a round trip early). The local wall clock plays no part; only a step
// of the server's clock after a fill can fool the estimate, and LocalTTL
// bounds for how long.

// mmCopy is one map key's live values, soonest expiry first (Redis' order,
// ties by encoding), as one read found them.
type mmCopy[V any] struct {
	vs   []V
	exp  []int64   // each value's expiry, unix ms, ascending
	srv  int64     // the server's time of the read, unix ms
	sent time.Time // when the read was sent (a monotonic reading)
	size int       // the bytes it is charged for the byte budget
}

// live returns the index of the first value of c still live at now (see
// the estimate above).
func (c *mmCopy[V]) live(now time.Time) int {
	est := c.srv + 1 + now.Sub(c.sent).Milliseconds()
	return sort.Search(len(c.exp), func(i int) bool { return c.exp[i] > est })
}

// mmLocal is a MultiMapTTL's local copies: a Whole per map key read
// recently, and a Near that drops the copies of a key this process wrote,
// in every value of the Store (a Near registers nothing: it only
// invalidates).
type mmLocal[V any] struct {
	store *cache.Store
	ttl   time.Duration
	max   int
	inval *cache.Near[struct{}]
	now   func() time.Time // the clock of the local expiry checks (tests move it)

	mu      sync.Mutex
	lru     list.List                // of *mmWhole[V], most recent first
	byKey   map[string]*list.Element // by Redis key
	retired cache.WholeStats         // the counters of the Wholes the LRU dropped
}

// mmWhole is one map key's Whole in the LRU.
type mmWhole[V any] struct {
	rkey string
	w    *cache.Whole[*mmCopy[V]]
}

func newMMLocal[V any](o Options, max int) (*mmLocal[V], error) {
	inval, err := cache.NewNear[struct{}](o.Local, o.LocalTTL)
	if err != nil {
		return nil, err
	}
	return &mmLocal[V]{store: o.Local, ttl: o.LocalTTL, max: max, inval: inval, now: time.Now,
		byKey: make(map[string]*list.Element)}, nil
}

// wrote drops this process's local copies of the sorted sets ks, in every
// MultiMapTTL value of the Store, after a write to them (done, failed or
// uncertain), and keeps the reads of them in flight from keeping what they
// read.
func (m *MultiMapTTL[V]) wrote(ks []string) {
	if m.local == nil {
		return
	}
	for _, rk := range ks {
		m.local.inval.Invalidate(rk)
	}
}

// whole returns rkey's Whole, made (and the least recently used one
// dropped) if the LRU had none and create is set; nil when the Store is
// closed, or for none.
func (l *mmLocal[V]) whole(rkey string, create bool) *cache.Whole[*mmCopy[V]] {
	l.mu.Lock()
	if e, ok := l.byKey[rkey]; ok {
		l.lru.MoveToFront(e)
		l.mu.Unlock()
		return e.Value.(*mmWhole[V]).w
	}
	if !create {
		l.mu.Unlock()
		return nil
	}
	w, err := cache.NewWhole[*mmCopy[V]](l.store, rkey, l.ttl)
	if err != nil {
		l.mu.Unlock()
		return nil // closed: read from Redis
	}
	l.byKey[rkey] = l.lru.PushFront(&mmWhole[V]{rkey, w})
	var out *mmWhole[V]
	if l.lru.Len() > l.max {
		out = l.lru.Remove(l.lru.Back()).(*mmWhole[V])
		delete(l.byKey, out.rkey)
		st := out.w.Stats()
		l.retired.Loads += st.Loads
		l.retired.Kept += st.Kept
		l.retired.OverBudget += st.OverBudget
	}
	l.mu.Unlock()
	if out != nil {
		out.w.Close() // a Load in flight on it keeps nothing
	}
	return w
}

// stats sums the counters of every Whole the LRU holds or held.
func (l *mmLocal[V]) stats() cache.WholeStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.retired
	for e := l.lru.Front(); e != nil; e = e.Next() {
		s := e.Value.(*mmWhole[V]).w.Stats()
		st.Loads += s.Loads
		st.Kept += s.Kept
		st.OverBudget += s.OverBudget
	}
	return st
}

// Local returns the counters of the map's local copies (Options.Local),
// summed over its map keys: how many times a map key was read in full,
// kept, and found over the local tier's budget (its reads then go to
// Redis). Zero without Options.Local.
func (m *MultiMapTTL[V]) Local() cache.WholeStats {
	if m.local == nil {
		return cache.WholeStats{}
	}
	return m.local.stats()
}

// held returns the valid local copy of key, if there is one; ok is false
// for a nil l (no Options.Local) and an empty key.
func (l *mmLocal[V]) held(m *MultiMapTTL[V], key string) (*mmCopy[V], bool) {
	if l == nil || key == "" {
		return nil, false
	}
	if w := l.whole(m.Key(key), true); w != nil {
		return w.Get()
	}
	return nil, false
}

// read passes the live values of the sorted sets ks to each, from the
// local copies; the map keys without one are read in one round trip, and
// their copies kept where they fit.
func (l *mmLocal[V]) read(ctx context.Context, m *MultiMapTTL[V], ks []string, each func(i int, v V, expiry int64)) error {
	copies := make([]*mmCopy[V], len(ks))
	var missing []string
	keep := len(ks) <= l.max // else load keeps none: make no Wholes for it
	for i, rk := range ks {
		if w := l.whole(rk, keep); w != nil {
			if c, ok := w.Get(); ok {
				copies[i] = c
				continue
			}
		}
		missing = append(missing, rk)
	}
	if len(missing) > 0 {
		got, err := l.load(ctx, m, missing, keep)
		if err != nil {
			return err
		}
		for i, rk := range ks {
			if copies[i] == nil {
				copies[i] = got[rk]
			}
		}
	}
	now := l.now()
	for i, c := range copies {
		for j := c.live(now); j < len(c.vs); j++ {
			each(i, c.vs[j], c.exp[j])
		}
	}
	return nil
}

// load reads the sorted sets rkeys in one round trip and, with keep, keeps
// the copy of each in its Whole where the fill protocol allows (no write overtook
// the read, the copy fits). Each Whole's Load snapshots its key's
// coherence before the read, so the Loads nest: the read runs in the
// innermost, under every Load's snapshot. The Wholes are locked in the
// order of their keys, so that two loads never wait for each other.
func (l *mmLocal[V]) load(ctx context.Context, m *MultiMapTTL[V], rkeys []string, keep bool) (map[string]*mmCopy[V], error) {
	slices.Sort(rkeys)
	rkeys = slices.Compact(rkeys)
	got := make(map[string]*mmCopy[V], len(rkeys))
	var need []string // the keys the round trip reads
	var ran bool
	var readErr error
	roundTrip := func(ctx context.Context) error {
		if ran || len(need) == 0 {
			return readErr
		}
		ran = true
		var cs []*mmCopy[V]
		if cs, readErr = m.readCopies(ctx, need); readErr == nil {
			for i, rk := range need {
				got[rk] = cs[i]
			}
		}
		return readErr
	}
	if !keep || len(rkeys) > l.max { // more than the LRU keeps: read them, keep none
		need = rkeys
		return got, roundTrip(ctx)
	}
	var level func(ctx context.Context, i int) error
	level = func(ctx context.Context, i int) error {
		if i == len(rkeys) {
			return roundTrip(ctx)
		}
		rk := rkeys[i]
		w := l.whole(rk, true)
		if w == nil {
			need = append(need, rk)
			return level(ctx, i+1)
		}
		fetched := false
		c, ok, err := w.Load(ctx, func(ctx context.Context) (*mmCopy[V], int, error) {
			fetched = true
			need = append(need, rk)
			if err := level(ctx, i+1); err != nil {
				return nil, 0, err
			}
			c := got[rk]
			return c, c.size + memberOverhead, nil
		})
		switch {
		case fetched:
			return err
		case ok: // a Load before this one kept it meanwhile
			got[rk] = c
		default: // not to be kept (over budget, the stream down): read it
			need = append(need, rk)
		}
		return level(ctx, i+1)
	}
	return got, level(ctx, 0)
}
