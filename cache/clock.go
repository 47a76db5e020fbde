package cache

import (
	"sync/atomic"
	"time"
)

// clockTick is the resolution of a Store's coarse clock. Local expiries are
// set one tick early, so that a clock read up to a tick late never keeps a
// local copy past its Redis entry.
const clockTick = time.Millisecond

// coarseClock is the time in unix nanoseconds, refreshed every clockTick by
// one goroutine. A local hit reads it (an atomic load) instead of calling
// time.Now, which costs around 200ns on some virtual machines, several times
// the rest of a hit.
type coarseClock struct {
	ns   atomic.Int64
	skew atomic.Int64 // nanoseconds added to the time, set by tests (see advance)
	stop chan struct{}
	done chan struct{}
}

func startClock() *coarseClock {
	c := &coarseClock{stop: make(chan struct{}), done: make(chan struct{})}
	c.ns.Store(time.Now().UnixNano())
	go func() {
		defer close(c.done)
		t := time.NewTicker(clockTick)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				c.ns.Store(time.Now().UnixNano() + c.skew.Load())
			case <-c.stop:
				return
			}
		}
	}()
	return c
}

// nanos returns the time in unix nanoseconds, at most about a tick old.
func (c *coarseClock) nanos() int64 { return c.ns.Load() }

// millis returns the time in unix milliseconds, at most about a tick old.
func (c *coarseClock) millis() int64 { return c.ns.Load() / int64(time.Millisecond) }

// advance moves the clock d ahead of the wall clock, for tests: local
// copies expire, and local freshness is judged, as if d had passed. Calls
// to Redis and the times written to envelopes do not move.
func (c *coarseClock) advance(d time.Duration) {
	c.skew.Add(int64(d))
	c.ns.Store(time.Now().UnixNano() + c.skew.Load())
}

func (c *coarseClock) close() {
	close(c.stop)
	<-c.done
}
