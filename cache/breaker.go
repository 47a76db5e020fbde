package cache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// BreakerState is the state of a Store's circuit breaker around Redis.
type BreakerState int32

const (
	// BreakerClosed: Redis is used.
	BreakerClosed BreakerState = iota
	// BreakerOpen: Redis is skipped until the cool-down ends.
	BreakerOpen
	// BreakerHalfOpen: one probe call is using Redis; its outcome closes or
	// reopens the breaker.
	BreakerHalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerOpen:
		return "open"
	case BreakerHalfOpen:
		return "half-open"
	}
	return "unknown"
}

// breaker skips Redis after threshold consecutive failures, for coolDown,
// then lets one probe through. Safe for concurrent use; allow is lock-free
// while closed.
type breaker struct {
	threshold int
	coolDown  time.Duration
	log       *slog.Logger

	state atomic.Int32 // BreakerState

	failures atomic.Int32 // consecutive failures

	mu       sync.Mutex // guards state changes, openedAt and probing
	openedAt time.Time
	probing  bool // half-open and the probe is out
}

func newBreaker(threshold int, coolDown time.Duration, log *slog.Logger) *breaker {
	return &breaker{threshold: threshold, coolDown: coolDown, log: log}
}

// allow reports whether a call may use Redis now, and whether the call is
// the half-open breaker's probe. When ok, the caller must report the
// outcome with done.
func (b *breaker) allow() (ok, probe bool) {
	if BreakerState(b.state.Load()) == BreakerClosed {
		return true, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch BreakerState(b.state.Load()) {
	case BreakerClosed:
		return true, false
	case BreakerOpen:
		if time.Since(b.openedAt) < b.coolDown {
			return false, false
		}
		b.setState(BreakerHalfOpen, nil)
	}
	if b.probing { // half-open: one probe at a time
		return false, false
	}
	b.probing = true
	return true, true
}

// done records the outcome of a call that allow let through. Only failures
// of Redis itself count (see isFailure); a miss or a server error reply is
// a success for the breaker. A call its caller cancelled before Redis
// answered proves nothing either way: a probe that ends so lets the next
// call probe. A call that reached a deadline (the caller's or the Store's
// timeout) is a failure: Redis did not answer in time, and counting it is
// what lets the breaker open while Redis hangs.
func (b *breaker) done(ctx context.Context, err error, probe bool) {
	if probe {
		defer func() {
			b.mu.Lock()
			b.probing = false
			b.mu.Unlock()
		}()
	}
	if err != nil && callerCancelled(ctx) {
		return // inconclusive
	}
	if !isFailure(ctx, err) {
		if b.failures.Load() != 0 {
			b.failures.Store(0)
		}
		if BreakerState(b.state.Load()) != BreakerClosed {
			b.mu.Lock()
			b.setState(BreakerClosed, nil)
			b.mu.Unlock()
		}
		return
	}
	n := b.failures.Add(1)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch BreakerState(b.state.Load()) {
	case BreakerHalfOpen:
		b.openedAt = time.Now()
		b.setState(BreakerOpen, err)
	case BreakerClosed:
		if int(n) >= b.threshold {
			b.openedAt = time.Now()
			b.setState(BreakerOpen, err)
		}
	}
}

// callerCancelled reports whether the caller cancelled ctx (rather than
// letting its deadline pass).
func callerCancelled(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// setState changes the state and logs the change; b.mu is held.
func (b *breaker) setState(s BreakerState, cause error) {
	old := BreakerState(b.state.Swap(int32(s)))
	if old == s {
		return
	}
	attrs := []any{"from", old.String(), "to", s.String(), "consecutive_failures", b.failures.Load()}
	if cause != nil {
		attrs = append(attrs, "error", cause.Error())
	}
	b.log.Warn("tiercache: redis circuit breaker", attrs...)
}

// isFailure reports whether err says Redis (or the path to it) failed, as
// opposed to a miss, a reply error such as WRONGTYPE, or the caller
// cancelling its call. Reaching a deadline is a failure: Redis did not
// answer in time.
func isFailure(ctx context.Context, err error) bool {
	if err == nil || errors.Is(err, redis.Nil) {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		return false
	}
	if callerCancelled(ctx) && errors.Is(err, context.Canceled) {
		return false
	}
	return true
}
