package cache

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// flight is one load shared by the concurrent GetOrLoad calls of a key in
// this process. The load runs in a goroutine of its own, so that every
// caller, the first one too, can give up when its context ends without
// leaving anything behind: callers wait on done, and the load costs one
// goroutine however many callers come and go.
type flight[V any] struct {
	done     chan struct{} // closed when the load has ended
	v        V
	err      error
	panicked *panicError // the load panicked
	goexit   bool        // the load called runtime.Goexit
}

// panicError is what a waiter re-panics with when the shared load panicked:
// the load's panic value and the stack of the goroutine that panicked, as
// golang.org/x/sync/singleflight reports them.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("%v\n\n%s", p.value, p.stack) }

// Unwrap returns the panic value when it is an error.
func (p *panicError) Unwrap() error {
	err, _ := p.value.(error)
	return err
}

// loadShared runs fill once per key across concurrent callers and waits
// for it, or for ctx to end. A panic in the load is re-raised in every
// waiter, and runtime.Goexit in it makes every waiter Goexit.
func (c *Cache[V]) loadShared(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	c.flightMu.Lock()
	f, shared := c.flights[key]
	if !shared {
		if c.flights == nil {
			c.flights = make(map[string]*flight[V])
		}
		f = &flight[V]{done: make(chan struct{})}
		c.flights[key] = f
	}
	c.flightMu.Unlock()
	if shared {
		c.stats.sharedLoads.Add(1)
	} else {
		go c.fly(context.WithoutCancel(ctx), key, f, load)
	}
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	select {
	case <-f.done:
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
	switch {
	case f.goexit:
		runtime.Goexit()
	case f.panicked != nil:
		panic(f.panicked)
	}
	return f.v, f.err
}

// fly runs the shared load of key and publishes its outcome.
func (c *Cache[V]) fly(ctx context.Context, key string, f *flight[V], load func(context.Context) (V, error)) {
	returned := false
	defer func() {
		if !returned {
			if p := recover(); p != nil {
				f.panicked = &panicError{value: p, stack: debug.Stack()}
				c.s.opts.Logger.Error("tiercache: loader panicked", "namespace", c.ns, "key", key, "panic", p)
			} else {
				f.goexit = true
			}
		}
		c.flightMu.Lock()
		delete(c.flights, key)
		c.flightMu.Unlock()
		close(f.done)
	}()
	f.v, f.err = c.fill(ctx, key, load, true)
	returned = true
}
