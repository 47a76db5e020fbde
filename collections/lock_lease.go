package collections

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// lease is one acquisition of a Lock. Its until field is guarded by the
// Lock's mutex; the rest is set once or guarded by tickMu.
type lease struct {
	token string
	fence uint64
	until time.Time // end of validity, on this process's monotonic clock

	lost     chan struct{} // closed when the lease ends: lost or released
	lostOnce sync.Once

	// timer runs Lock.tick when the validity runs out or, with the
	// watchdog, when the next renewal is due; no goroutine waits in between.
	// tickMu serializes ticks with end, after which stopped is set and no
	// tick does anything. Never acquired while holding the Lock's mutex.
	tickMu  sync.Mutex
	timer   *time.Timer
	stopped bool

	// With the watchdog, renewals run under ctx, which end cancels.
	ctx    context.Context
	cancel context.CancelFunc
}

func newLease(ctx context.Context, token string, fence uint64, until time.Time, watchdog bool) *lease {
	ls := &lease{token: token, fence: fence, until: until, lost: make(chan struct{})}
	if watchdog {
		// Renewals outlive the call that took the lock and must not end with
		// its context: they keep its values, and only end cancels them.
		ls.ctx, ls.cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	return ls
}

func (ls *lease) markLost() { ls.lostOnce.Do(func() { close(ls.lost) }) }

// ended reports whether the lease is over. The caller holds the Lock's mutex.
func (ls *lease) ended() bool {
	select {
	case <-ls.lost:
		return true
	default:
		return !time.Now().Before(ls.until)
	}
}

// end stops the timer, interrupts and waits for a renewal in flight, and
// marks the lease over.
func (ls *lease) end() {
	if ls.cancel != nil {
		ls.cancel()
	}
	ls.tickMu.Lock()
	ls.stopped = true
	if ls.timer != nil {
		ls.timer.Stop()
	}
	ls.tickMu.Unlock()
	ls.markLost()
}

// left returns the validity ls has left.
func (l *Lock) left(ls *lease) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Until(ls.until)
}

// renewal is the watchdog's period.
func (l *Lock) renewal() time.Duration { return max(l.opts.TTL/3, time.Millisecond) }

// arm starts ls's timer: due at the end of the validity or, with the
// watchdog, at the first renewal.
func (l *Lock) arm(ls *lease) {
	next := l.left(ls)
	if l.opts.Watchdog {
		next = min(next, l.renewal())
	}
	ls.tickMu.Lock()
	defer ls.tickMu.Unlock()
	if !ls.stopped {
		ls.timer = time.AfterFunc(next, func() { l.tick(ls) })
	}
}

// tick runs on ls's timer: it marks the lease lost once its validity has run
// out and, with the watchdog, extends the lock by TTL and re-arms the timer.
func (l *Lock) tick(ls *lease) {
	ls.tickMu.Lock()
	defer ls.tickMu.Unlock()
	if ls.stopped {
		return
	}
	if l.left(ls) <= 0 {
		ls.markLost()
		return
	}
	period := l.renewal()
	if l.opts.Watchdog {
		switch err := l.extend(ls.ctx, ls, l.opts.TTL); {
		case ls.ctx.Err() != nil:
			return // end is waiting for us
		case errors.Is(err, ErrNotHeld):
			// A quorum answered without our token: the lock is gone.
			ls.markLost()
			return
		case err != nil:
			period /= 4 // try again soon, within the validity left
		}
	}
	next := l.left(ls)
	if l.opts.Watchdog {
		next = min(next, period)
	}
	ls.timer.Reset(max(next, 0))
}

// Unlock releases the lock on every master, if the holder's token is still
// there, and stops the watchdog. It returns nil if a quorum of masters still
// held the token, which also means no one else can have held the lock since
// this value took it. It returns an error matching [ErrNotHeld] if this value
// does not hold the lock or its keys had expired on too many masters, and a
// [*QuorumError] if too few masters answered; that error also matches
// [ErrUncertain] when the masters that may have released it (their reply
// was lost) would make a quorum. A release that go-redis sent again after
// losing its reply answers "released": Unlock never returns ErrNotHeld for
// a lock this value held and released. In every case this value no
// longer holds the lock afterwards.
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	ls := l.cur
	l.cur = nil
	l.mu.Unlock()
	if ls == nil {
		return fmt.Errorf("%w: %q is not held by this Lock value", ErrNotHeld, l.name)
	}
	ls.end()
	deleted, answered, replies := l.release(ctx, ls.token, nil)
	var unsure int // masters whose release may have run, reply lost
	for _, r := range replies {
		if r.err != nil && uncertain(r.err) {
			unsure++
		}
	}
	switch {
	case deleted >= l.quorum:
		return nil
	case deleted+unsure >= l.quorum:
		return fmt.Errorf("%w: unlock %q: %w", ErrUncertain, l.name, newQuorumError("unlock", l.lockKey, replies))
	case answered < l.quorum:
		return newQuorumError("unlock", l.lockKey, replies)
	}
	return fmt.Errorf("%w: %q: token found on %d of %d masters, %d needed", ErrNotHeld, l.name, deleted, len(l.masters), l.quorum)
}

// Extend sets the lock's time to live to ttl on every master that still
// holds this value's token, and the validity to ttl minus drift minus the
// time the call took. It returns an error matching [ErrNotHeld] if this value
// does not hold the lock or fewer than a quorum of masters extended it, and a
// [*QuorumError] if too few masters answered. A failed Extend leaves the
// current validity as it was.
func (l *Lock) Extend(ctx context.Context, ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("%w: lock TTL %v is under a millisecond", ErrInvalidArgument, ttl)
	}
	l.mu.Lock()
	ls := l.cur
	held := ls != nil && !ls.ended()
	l.mu.Unlock()
	if !held {
		return fmt.Errorf("%w: %q is not held by this Lock value", ErrNotHeld, l.name)
	}
	return l.extend(ctx, ls, ttl)
}

func (l *Lock) extend(ctx context.Context, ls *lease, ttl time.Duration) error {
	keys := []string{l.lockKey}
	start := time.Now()
	replies := onMasters(ctx, l.opts.Options, l.masters, nil, func(ctx context.Context, m redis.UniversalClient) (int64, error) {
		return lockExtend.Run(ctx, m, keys, ls.token, ttl.Milliseconds()).Int64()
	})
	var answered, extended int
	for _, r := range replies {
		if r.err == nil {
			answered++
			if r.val == 1 {
				extended++
			}
		}
	}
	validUntil := start.Add(ttl - drift(ttl))
	switch {
	case extended >= l.quorum && time.Now().Before(validUntil):
		l.mu.Lock()
		ls.until = validUntil
		l.mu.Unlock()
		return nil
	case answered < l.quorum:
		return newQuorumError("extend", l.lockKey, replies)
	}
	return fmt.Errorf("%w: %q: extended on %d of %d masters, %d needed", ErrNotHeld, l.name, extended, len(l.masters), l.quorum)
}

// Locked asks the masters how long this value will still hold the lock: the
// time a quorum of them keep its token, minus the drift allowance and the
// time the call took. It returns 0 and a nil error if this value does not hold
// the lock, and a [*QuorumError] if too few masters answered.
func (l *Lock) Locked(ctx context.Context) (time.Duration, error) {
	l.mu.Lock()
	ls := l.cur
	l.mu.Unlock()
	if ls == nil {
		return 0, nil
	}
	keys := []string{l.lockKey}
	start := time.Now()
	replies := onMasters(ctx, l.opts.Options, l.masters, nil, func(ctx context.Context, m redis.UniversalClient) (int64, error) {
		return lockTTL.Run(ctx, m, keys, ls.token).Int64()
	})
	var answered int
	var ttls []int64
	for _, r := range replies {
		if r.err == nil {
			answered++
			if r.val > 0 {
				ttls = append(ttls, r.val)
			}
		}
	}
	if answered < l.quorum {
		return 0, newQuorumError("locked", l.lockKey, replies)
	}
	if len(ttls) < l.quorum {
		return 0, nil
	}
	slices.Sort(ttls)
	slices.Reverse(ttls)
	ttl := time.Duration(ttls[l.quorum-1]) * time.Millisecond
	return max(0, ttl-drift(l.opts.TTL)-time.Since(start)), nil
}

// Validity returns how long this value's acquisition remains valid by the
// local clock (no round trip): 0 if it does not hold the lock.
func (l *Lock) Validity() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil || l.cur.ended() {
		return 0
	}
	return time.Until(l.cur.until)
}

// Fence returns the fencing token of this value's current acquisition, or 0
// if it does not hold the lock. Tokens start at 1.
func (l *Lock) Fence() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return 0
	}
	return l.cur.fence
}

// closedChan is returned by Lost when there is nothing to wait for.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Lost returns a channel that is closed when this value's current
// acquisition ends: its validity ran out without an extension (or the
// watchdog found the token gone), or Unlock released it. If the value does
// not hold the lock, the channel is already closed.
func (l *Lock) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cur == nil {
		return closedChan
	}
	return l.cur.lost
}

// Synchronize runs fn while holding lock, like pottery's synchronize: it
// takes the lock with [Lock.Lock], calls fn with a context that is canceled
// (with cause [ErrNotHeld]) if the lock is lost before fn returns, and
// releases the lock, even if ctx has ended or fn panics. It returns fn's
// error joined with Unlock's; fn is not called if the lock is not obtained.
//
// Use a lock with the watchdog for sections that may outlast the TTL. The
// fencing token is lock.Fence().
func Synchronize(ctx context.Context, lock *Lock, fn func(ctx context.Context) error) (err error) {
	if _, err := lock.Lock(ctx); err != nil {
		return err
	}
	fctx, cancel := context.WithCancelCause(ctx)
	lost := lock.Lost()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-lost:
			cancel(fmt.Errorf("%w: %q was lost", ErrNotHeld, lock.name))
		case <-fctx.Done():
		}
	}()
	defer func() {
		cancel(nil)
		<-watched
		// Release even if the caller's context has ended.
		err = errors.Join(err, lock.Unlock(context.WithoutCancel(ctx)))
	}()
	return fn(fctx)
}
