package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// A Store keeps what it wrote, and never swallows another's write.
//
// The invalidation stream reports every write of a key, this Store's own
// included, and Redis folds the writes of one key within one pass of its
// event loop into one message: a message that follows an own write may
// stand for that write alone, or also for another client's later write.
// So the echo cannot be told apart from a foreign write, and it is not
// skipped. Instead, the Store registers an own write (the envelope it sent)
// before sending it; a message for the key, after the write's reply, evicts
// the local copy as any invalidation does and queues the write for a check:
// one read of the key from Redis, under a coherence token taken after the
// message. The value is kept again only if Redis still holds exactly the
// bytes this Store wrote and no invalidation of the key arrived since the
// token. Any doubt evicts: a write that failed, timed out or was refused is
// unregistered; two writes of one key in flight at once are neither kept;
// a flush or an outage drops every registration; a registry over its bound
// registers nothing. A foreign write folded into the echo leaves other
// bytes in Redis, and one made after the check's read sends a message of
// its own after the token; either way the copy goes.

// maxOwnWrites bounds the registry; past it, own writes are still kept
// until their echo but not after.
const maxOwnWrites = 1 << 14

// maxOwnRechecks is how many more times a check reads a key whose bytes
// it found but could not keep for a fence on the key's bucket.
const maxOwnRechecks = 3

// ownEchoWait is how long a registered write waits for its echo before the
// registry forgets it (the local copy stays, as any copy does until an
// invalidation).
const ownEchoWait = 10 * time.Second

type ownState uint8

const (
	ownWriting   ownState = iota // sent, no reply yet
	ownWritten                   // Redis has it; waiting for the echo
	ownVerifying                 // echoed: the check is queued or running
)

// ownWrite is one registered write of one Redis key.
type ownWrite struct {
	rkey      string
	raw       []byte            // the envelope as written
	match     func(string) bool // when set, tells Redis' bytes for the write's instead of raw (see renew)
	copy      ownCopy
	state     ownState
	echoed    bool // a message for the key arrived before the reply
	stashed   bool // written, its copy stashed hidden: waiting for the echo to check
	contended bool // another own write of the key overlapped this one
	rechecks  int  // checks that found the bytes but were fenced (see check)
	at        int64
	done      chan struct{} // closed once settled: kept or given up
	finished  bool
}

// finish closes w.done once (under ownWrites.mu).
func (w *ownWrite) finish() {
	if !w.finished {
		w.finished = true
		close(w.done)
	}
}

// holds reports whether s, read from Redis, is what w wrote.
func (w *ownWrite) holds(s string) bool {
	if w.match != nil {
		return w.match(s)
	}
	return s == string(w.raw)
}

// ownWrites is a Store's registry of own writes awaiting their echo.
type ownWrites struct {
	s    *Store
	n    atomic.Int32 // registered writes, for the read path's quick check
	mu   sync.Mutex
	m    map[string]*ownWrite
	q    []*ownWrite // echoed after their reply: to check
	kick chan struct{}
}

func newOwnWrites(s *Store) *ownWrites {
	return &ownWrites{s: s, m: make(map[string]*ownWrite), kick: make(chan struct{}, 1)}
}

// ownCopy is what the registry does to the writer's local copy.
type ownCopy struct {
	keep  func(tok uint64) bool // keeps the written value under token tok, reporting whether it did
	stash func()                // keeps it hidden, whatever the coherence says, for the check to decide
	hide  func() uint32         // hides the copy kept, returning its namespace id (0: none)
	drop  func()                // deletes the copy
}

// register records a write of rkey about to be sent, or returns nil when
// it is not to be kept past its echo (no coherence: no echo comes). The
// check tells the write's bytes in Redis by raw, or by match when set.
func (o *ownWrites) register(rkey string, raw []byte, match func(string) bool, cp ownCopy) *ownWrite {
	if o == nil {
		return nil
	}
	w := &ownWrite{rkey: rkey, raw: raw, match: match, copy: cp, at: time.Now().UnixMilli(), done: make(chan struct{})}
	o.mu.Lock()
	defer o.mu.Unlock()
	if old := o.m[rkey]; old != nil {
		if old.state == ownWriting {
			old.contended, w.contended = true, true
		}
		old.finish()
	} else if len(o.m) >= maxOwnWrites {
		return nil
	}
	o.m[rkey] = w
	o.n.Store(int32(len(o.m)))
	return w
}

// settle ends w's registration (under o.mu).
func (o *ownWrites) settle(w *ownWrite) {
	if o.m[w.rkey] == w {
		delete(o.m, w.rkey)
		o.n.Store(int32(len(o.m)))
	}
	w.finish()
}

// written records the outcome of w's write: ok when Redis took it, kept
// when the writer could keep its copy (not when anything else fenced the
// key's bucket meanwhile: the check then decides).
func (o *ownWrites) written(w *ownWrite, ok, kept bool) {
	if w == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.m[w.rkey] != w:
	case !ok:
		o.settle(w)
	case w.echoed || o.s.coh.kt != nil:
		// The echo (or another message for the key) came before the
		// reply, so the writer kept nothing: stash the value, hidden, for
		// the check. Under key-level tracking no echo may come (no
		// connection may track the key): the check's read tracks it.
		w.copy.stash()
		o.queue(w)
	case !kept:
		// A fence on the key's bucket (another key's message shares it)
		// kept the writer from keeping its copy, and the echo is still to
		// come: stash the value, hidden, and check once it has come. A
		// check now could keep the value before the echo, which would
		// then evict it as a foreign write.
		w.copy.stash()
		w.state, w.stashed = ownWritten, true
	default:
		w.state = ownWritten
	}
}

// echo is called for every invalidated Redis key, after the fence and
// before the local copies are dropped. For an own write whose reply came,
// it hides the writer's copy (which the check then replaces or deletes)
// and returns the id of the namespace whose copy it hid: every other copy
// is dropped as usual.
func (o *ownWrites) echo(rkey string) uint32 {
	if o == nil || o.n.Load() == 0 {
		return 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	w := o.m[rkey]
	switch {
	case w == nil:
	case w.state == ownWriting:
		w.echoed = true
	case w.state == ownWritten:
		o.queue(w)
		return w.copy.hide()
	}
	return 0
}

// queue hands w to the checker (under o.mu).
func (o *ownWrites) queue(w *ownWrite) {
	w.state = ownVerifying
	o.q = append(o.q, w)
	o.wake()
}

// wake tells the checker that writes are queued.
func (o *ownWrites) wake() {
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// forgetAll drops every registration: after a flush nothing may be kept
// on an echo that may never come, or came from before it.
func (o *ownWrites) forgetAll() {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, w := range o.m {
		w.finish()
	}
	clear(o.m)
	o.n.Store(0)
}

// wait blocks until the registered write of rkey, if one is being
// checked, is settled, or ctx ends, and reports whether there was one; a
// read that misses the local tier calls it so that a read right after an
// own write sees the kept value.
func (o *ownWrites) wait(ctx context.Context, rkey string) bool {
	if o == nil || o.n.Load() == 0 {
		return false
	}
	o.mu.Lock()
	w := o.m[rkey]
	checking := w != nil && (w.state == ownVerifying || w.echoed || w.stashed)
	o.mu.Unlock()
	if !checking {
		return false
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-w.done:
	case <-ctx.Done():
	case <-t.C:
	}
	return true
}

// run checks echoed writes until ctx ends: one batch read per round, under
// a token taken before it.
func (o *ownWrites) run(ctx context.Context) {
	sweep := time.NewTicker(time.Second)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			o.mu.Lock()
			for _, w := range o.q {
				w.copy.drop()
				o.settle(w)
			}
			o.q = nil
			o.mu.Unlock()
			return
		case <-sweep.C:
			o.sweep()
			continue
		case <-o.kick:
		}
		o.mu.Lock()
		batch := o.q
		o.q = nil
		o.mu.Unlock()
		if len(batch) > 0 {
			o.check(ctx, batch)
		}
	}
}

// check reads the keys of batch and keeps each value whose bytes Redis
// still holds.
func (o *ownWrites) check(ctx context.Context, batch []*ownWrite) {
	rks := make([]string, len(batch))
	for i, w := range batch {
		rks[i] = w.rkey
	}
	tok := o.s.coh.token()
	vals, err := o.s.mget(ctx, DefaultTimeout, rks)
	o.mu.Lock()
	defer o.mu.Unlock()
	requeued := false
	for i, w := range batch {
		if o.m[w.rkey] != w {
			w.copy.drop() // replaced or forgotten meanwhile
			w.finish()
			continue
		}
		var s string
		if err == nil {
			s, _ = vals[i].(string)
		}
		switch {
		case err != nil || w.contended || !w.holds(s): // another write is in Redis, or may be
			w.copy.drop()
			o.settle(w)
		case w.copy.keep(tok):
			if o.s.coh.kt == nil {
				o.settle(w)
				break
			}
			// Under key-level tracking the check may come before the
			// echo (of a key read before the write): the write stays
			// registered until the sweep, so that the echo checks again
			// instead of evicting the copy.
			w.state = ownWritten
			w.finish()
		case w.rechecks >= maxOwnRechecks:
			w.copy.drop()
			o.settle(w)
		default:
			// Redis holds our bytes, but a message fenced the key's
			// bucket since the token: a write of this key after the
			// read, or of another key sharing the bucket (own echoes of
			// a batch do). Read again under a new token.
			w.rechecks++
			o.q = append(o.q, w)
			requeued = true
		}
	}
	if requeued {
		o.wake()
	}
}

// sweep forgets writes whose echo is overdue.
func (o *ownWrites) sweep() {
	old := time.Now().Add(-ownEchoWait).UnixMilli()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, w := range o.m {
		if w.state == ownWritten && w.at < old {
			if w.stashed {
				w.copy.drop()
			}
			o.settle(w)
		}
	}
}
