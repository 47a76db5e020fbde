package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"
)

// GetOrLoad returns the value for key: from the local tier, else from Redis,
// else from load, whose result is stored in both tiers. Concurrent calls for
// the same key in this process share one load (golang.org/x/sync/singleflight):
//
//   - The load runs under a context detached from any one caller (values kept,
//     cancellation dropped), bounded by Options.LoadTimeout; a caller whose
//     context ends returns ctx.Err() at once while the load goes on for the
//     others.
//   - A panic in load is re-raised in every waiting caller; runtime.Goexit in
//     load makes every waiting caller Goexit. The key is not poisoned: the
//     next call loads again.
//   - Loader errors are returned and never cached. A loader's ErrNotFound is
//     returned as is, and cached as a negative entry when
//     Options.NegativeTTL is set.
//   - After a value's TTL, within Options.StaleWhileRevalidate, the stale
//     value is returned at once and refreshed once in the background; within
//     Options.StaleIfError, a failing load returns the stale value.
//   - When Redis is unavailable the loader's value is returned (and kept out
//     of the local tier, which never holds what Redis lacks); the stats count
//     it. A value too large to store is returned together with an error
//     wrapping ErrTooLarge.
//
// A key holding another Redis type is ErrWrongType and load is not called.
func (c *Cache[V]) GetOrLoad(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	var zero V
	switch {
	case key == "":
		return zero, ErrEmptyKey
	case load == nil:
		return zero, ErrNilLoader
	case c.s.closed.Load():
		return zero, ErrClosed
	}
	if e, ok := c.localEntry(key); ok {
		if c.fresh(e) {
			c.stats.localHits.addFor(e)
			return c.out(e.value.(V)), nil
		}
		switch f := c.foundOf(e); {
		case f.state == negative:
			c.stats.negativeHits.addFor(e)
			return zero, ErrNotFound
		case f.staleWithin(c.opts.StaleWhileRevalidate, c.s.clock.millis()):
			c.stats.staleServed.Add(1)
			c.refresh(ctx, key, load)
			return c.out(f.v), nil
		}
	}
	v, err := c.loadShared(ctx, key, load)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return zero, err
	}
	return c.out(v), err
}

// outcome carries a shared load's result, or its panic or Goexit, from the
// goroutine that waits in singleflight to the caller.
type outcome[V any] struct {
	v        V
	err      error
	panicked any
	goexit   bool
}

// loadShared runs fill once per key across concurrent callers. Each caller
// waits for the shared call in a goroutine of its own so that it can give up
// when its context ends; that goroutine catches the panic or Goexit that
// singleflight re-raises in waiters and hands it to the caller.
func (c *Cache[V]) loadShared(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	ch := make(chan outcome[V], 1)
	go func() {
		returned := false
		defer func() {
			if !returned {
				p := recover() // nil when load called runtime.Goexit
				ch <- outcome[V]{panicked: p, goexit: p == nil}
			}
		}()
		ran := false
		c.waiting.Add(1)
		defer c.waiting.Add(-1)
		res, err, _ := c.group.Do(key, func() (any, error) {
			ran = true
			return c.fill(ctx, key, load, true)
		})
		if !ran {
			c.stats.sharedLoads.Add(1)
		}
		v, _ := res.(V)
		returned = true
		ch <- outcome[V]{v: v, err: err}
	}()
	select {
	case o := <-ch:
		if o.goexit {
			runtime.Goexit()
		}
		if o.panicked != nil {
			panic(o.panicked)
		}
		return o.v, o.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// refresh reloads key in the background unless a refresh of it is already
// running. It runs under a context detached from the caller's, which has
// its answer already.
func (c *Cache[V]) refresh(ctx context.Context, key string, load func(context.Context) (V, error)) {
	if _, running := c.refreshing.LoadOrStore(key, struct{}{}); running {
		return
	}
	c.s.bg.Add(1)
	go func() {
		defer c.s.bg.Done()
		defer c.refreshing.Delete(key)
		defer func() {
			if p := recover(); p != nil {
				c.stats.loadErrors.Add(1)
				c.s.opts.Logger.Error("tiercache: background refresh panicked", "namespace", c.ns, "key", key, "panic", p)
			}
		}()
		if _, err := c.fill(ctx, key, load, false); err != nil && !errors.Is(err, ErrNotFound) {
			c.s.opts.Logger.Warn("tiercache: background refresh failed", "namespace", c.ns, "key", key, "error", err)
		}
	}()
}

// fill checks Redis, then loads and stores. With serveStale, a value in
// its stale-while-revalidate window is returned and refreshed in the
// background instead of being loaded now.
func (c *Cache[V]) fill(ctx context.Context, key string, load func(context.Context) (V, error), serveStale bool) (V, error) {
	var zero V
	// Detached: this call serves every waiter, not only the one whose
	// context started it.
	ctx = context.WithoutCancel(ctx)
	var fallback found[V] // a stale value for stale-if-error
	degraded := false
	if c.s.hasRedis() {
		f, err := c.remoteGet(ctx, key)
		now := time.Now().UnixMilli()
		switch {
		case errors.Is(err, ErrWrongType):
			return zero, err
		case err != nil:
			degraded = true // Redis unavailable: load without it
		case f.state == fresh:
			c.stats.remoteHits.Add(1)
			return f.v, nil
		case f.state == negative:
			c.stats.negativeHits.Add(1)
			return zero, ErrNotFound
		case serveStale && f.staleWithin(c.opts.StaleWhileRevalidate, now):
			c.stats.staleServed.Add(1)
			c.refresh(ctx, key, load)
			return f.v, nil
		case f.state == stale:
			fallback = f
		}
	}
	if fallback.state != stale {
		if f, ok := c.localGet(key); ok && f.state == stale {
			fallback = f
		}
	}
	c.stats.misses.Add(1)
	if c.opts.Lease > 0 && c.s.hasRedis() && !degraded {
		r, err := c.loadWithLease(ctx, key, load)
		switch r.how {
		case leaseFound:
			if err != nil {
				return zero, err
			}
			if r.found.state == negative {
				c.stats.negativeHits.Add(1)
				return zero, ErrNotFound
			}
			c.stats.remoteHits.Add(1)
			return r.found.v, nil
		case leaseLoaded:
			defer r.release() // after the value is stored: waiters then find it
			return c.loaded(ctx, key, r.v, err, fallback)
		}
	}
	v, err := c.runLoader(ctx, load)
	return c.loaded(ctx, key, v, err, fallback)
}

// loaded turns a load's outcome into fill's answer: a value is stored, a
// loader's ErrNotFound becomes a negative entry (with NegativeTTL), and
// other errors may be answered with a stale value (StaleIfError).
func (c *Cache[V]) loaded(ctx context.Context, key string, v V, err error, fallback found[V]) (V, error) {
	var zero V
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			if c.opts.NegativeTTL > 0 {
				_ = c.put(ctx, []string{key}, []V{zero}, 0) // failure counted; the answer stands
			}
			return zero, err
		}
		c.stats.loadErrors.Add(1)
		if fallback.staleWithin(c.opts.StaleIfError, time.Now().UnixMilli()) {
			c.stats.staleServed.Add(1)
			return fallback.v, nil
		}
		return zero, err
	}
	return v, c.storeLoaded(ctx, []string{key}, []V{v}, 1)
}

// runLoader runs a loader under Options.LoadTimeout and counts it.
func (c *Cache[V]) runLoader(ctx context.Context, load func(context.Context) (V, error)) (V, error) {
	ctx, cancel := c.loadContext(ctx)
	defer cancel()
	c.stats.loads.Add(1)
	start := time.Now()
	v, err := load(ctx)
	c.s.observeLoad(c.ns, start, err)
	return v, err
}

// loadContext bounds a load by Options.LoadTimeout, if set.
func (c *Cache[V]) loadContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.opts.LoadTimeout > 0 {
		return context.WithTimeout(ctx, c.opts.LoadTimeout)
	}
	return ctx, func() {}
}

// storeLoaded writes loaded values (and negative entries from index nvals
// on). Redis being unavailable is not the caller's error (the values are
// good; the stats count the degradation); anything else, such as
// ErrTooLarge, is returned.
func (c *Cache[V]) storeLoaded(ctx context.Context, ks []string, vs []V, nvals int) error {
	err := c.put(ctx, ks, vs, nvals)
	if errors.Is(err, ErrUnavailable) {
		c.stats.degraded.Add(1)
		return nil
	}
	return err
}

// GetManyOrLoad returns the values of keys: hits from the local tier, then
// from Redis in one round trip (one per node on Cluster), then one call of
// load with every missing key (stale ones included), whose results are
// written in one round trip. Keys that load does not return are absent from
// the result, and cached as negative entries when Options.NegativeTTL is
// set; keys it returns that were not asked for are ignored.
//
// When load fails, the result holds the hits (and, within
// Options.StaleIfError, the stale values) and the error is load's; if every
// missing key could be served stale the error is nil. When Redis is
// unavailable the batch degrades to load as GetOrLoad does. Batch loads are
// not shared between concurrent calls.
func (c *Cache[V]) GetManyOrLoad(ctx context.Context, ks []string, load func(ctx context.Context, missing []string) (map[string]V, error)) (map[string]V, error) {
	if load == nil {
		return nil, ErrNilLoader
	}
	out := make(map[string]V, len(ks))
	var missing []string
	stales := make(map[string]found[V])
	_, err := c.lookupMany(ctx, ks, func(k string, f found[V]) {
		switch f.state {
		case fresh:
			out[k] = c.out(f.v)
		case negative:
		case stale:
			stales[k] = f
			missing = append(missing, k)
		default:
			missing = append(missing, k)
		}
	})
	if err != nil && !errors.Is(err, ErrUnavailable) {
		return nil, err
	}
	if len(missing) == 0 {
		return out, nil
	}
	loaded, err := c.runLoaderMany(ctx, missing, load)
	if err != nil {
		c.stats.loadErrors.Add(1)
		now, served := time.Now().UnixMilli(), 0
		for k, f := range stales {
			if f.staleWithin(c.opts.StaleIfError, now) {
				out[k] = c.out(f.v)
				served++
			}
		}
		c.stats.staleServed.Add(uint64(served))
		if served == len(missing) {
			return out, nil
		}
		return out, err
	}
	// Values first, then (with NegativeTTL) negative entries: one write.
	wks := make([]string, 0, len(missing))
	wvs := make([]V, 0, len(missing))
	for _, k := range missing {
		if v, ok := loaded[k]; ok {
			wks, wvs = append(wks, k), append(wvs, v)
			out[k] = c.out(v)
		}
	}
	nvals := len(wks)
	if c.opts.NegativeTTL > 0 {
		for _, k := range missing {
			if _, ok := loaded[k]; !ok {
				wks, wvs = append(wks, k), append(wvs, *new(V))
			}
		}
	}
	return out, c.storeLoaded(ctx, wks, wvs, nvals)
}

func (c *Cache[V]) runLoaderMany(ctx context.Context, missing []string, load func(context.Context, []string) (map[string]V, error)) (map[string]V, error) {
	ctx, cancel := c.loadContext(ctx)
	defer cancel()
	c.stats.loads.Add(1)
	start := time.Now()
	m, err := load(ctx, missing)
	c.s.observeLoad(c.ns, start, err)
	if err != nil {
		return nil, fmt.Errorf("loading %d keys: %w", len(missing), err)
	}
	return m, nil
}
