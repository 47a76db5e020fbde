package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// GetOrLoad returns the value for key: from the local tier, else from Redis,
// else from load, whose result is written to Redis and kept in the local
// tier. Concurrent calls for the same key in this process share one load:
//
//   - The load runs under a context detached from any one caller (values kept,
//     cancellation dropped), bounded by Options.LoadTimeout; a caller whose
//     context ends returns ctx.Err() at once while the load goes on for the
//     others, and a caller that gives up costs nothing once it has returned.
//   - A panic in load is re-raised in every waiting caller; runtime.Goexit in
//     load makes every waiting caller Goexit. The key is not poisoned: the
//     next call loads again.
//   - Loader errors are returned and never cached. A loader's ErrNotFound is
//     returned as is, and cached as a negative entry when
//     Options.NegativeTTL is set.
//   - After a value's TTL, within Options.StaleWhileRevalidate, the stale
//     value is returned at once and refreshed once in the background; within
//     Options.StaleIfError, a failing load returns the stale value.
//   - A load's value never goes back in time: it is written only if nothing
//     wrote or deleted the key since the load began, and under the lease
//     only while the lease is still this load's (see Options.Lease); a
//     negative entry only where the key is still absent. A refused value is
//     returned to the callers, counted in Stats.FillsRefused, and kept
//     nowhere.
//   - When Redis is unavailable the loader's value is returned (and kept out
//     of the local tier, which never holds what Redis lacks); the stats count
//     it. A value too large to store is returned together with an error
//     wrapping ErrTooLarge.
//
// A key holding another Redis type is ErrWrongType and load is not called.
// A done ctx returns ctx.Err() before anything else.
func (c *Cache[V]) GetOrLoad(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	var zero V
	switch {
	case ctx.Err() != nil:
		return zero, ctx.Err()
	case key == "":
		return zero, ErrEmptyKey
	case load == nil:
		return zero, ErrNilLoader
	case c.s.closed.Load():
		return zero, ErrClosed
	}
	if e, ok := c.localEntry(key); ok {
		if c.fresh(e) {
			c.stats.localHits.Inc()
			if e.slide != nil {
				c.touched(ctx, key, e)
			}
			return c.out(valueOf[V](e)), nil
		}
		switch f := c.foundOf(e); {
		case f.state == negative:
			c.stats.negativeHits.Inc()
			return zero, ErrNotFound
		case f.staleWithin(c.opts.StaleWhileRevalidate, c.s.clock.millis()):
			c.stats.staleServed.Add(1)
			c.refresh(ctx, key, load)
			return c.out(f.v), nil
		}
	} else if c.waitOwn(ctx, key) {
		if v, ok := c.GetLocal(key); ok {
			return v, nil
		}
	}
	v, err := c.loadShared(ctx, key, load)
	if err != nil && !errors.Is(err, ErrTooLarge) {
		return zero, err
	}
	return c.out(v), err
}

// waitOwn is called when key missed the local tier. When this Store wrote
// key recently, the miss may be its copy hidden while it is checked after
// its echo (see own.go): waitOwn then waits for the check to settle, so
// that a read right after an own write finds it kept, and reports true (to
// look again) if the copy may be there now.
func (c *Cache[V]) waitOwn(ctx context.Context, key string) bool {
	if c.s.own == nil || c.opts.LocalTTL < 0 {
		return false
	}
	if c.s.own.wait(ctx, c.prefix+key) {
		return true
	}
	e, ok := c.s.local.Get(localKey{c.id, key}) // the check may have just ended
	return ok && !e.hidden()
}

// refresh reloads key in the background unless a refresh of it is already
// running or the Store is closing. It runs under a context detached from
// the caller's, which has its answer already.
func (c *Cache[V]) refresh(ctx context.Context, key string, load func(context.Context) (V, error)) {
	if _, running := c.refreshing.LoadOrStore(key, struct{}{}); running {
		return
	}
	if !c.s.startBackground() {
		c.refreshing.Delete(key)
		return
	}
	go func() {
		defer c.s.bg.Done()
		defer c.refreshing.Delete(key)
		defer func() {
			if p := recover(); p != nil {
				c.stats.loadErrors.Add(1)
				c.s.opts.Logger.Error("tiercache: background refresh panicked", "namespace", c.ns, "key", key, "panic", p)
			}
		}()
		if _, err := c.fill(context.WithoutCancel(ctx), key, load, false); err != nil && !errors.Is(err, ErrNotFound) {
			c.s.opts.Logger.Warn("tiercache: background refresh failed", "namespace", c.ns, "key", key, "error", err)
		}
	}()
}

// fill reads Redis, then loads under the key's fence and writes what it
// loaded (see fence.go). With serveStale, a value in its
// stale-while-revalidate window is returned and refreshed in the
// background instead of being loaded now.
func (c *Cache[V]) fill(ctx context.Context, key string, load func(context.Context) (V, error), serveStale bool) (V, error) {
	var zero V
	var fallback found[V] // a stale value for stale-if-error
	if f, ok := c.localGet(key); ok && f.state == stale {
		fallback = f
	}
	if !c.s.hasRedis() {
		c.stats.misses.Add(1)
		v, err := c.runLoader(ctx, load)
		return c.loaded(ctx, key, v, err, fallback, nil)
	}
	if c.s.closed.Load() {
		return zero, ErrClosed
	}
	claim := ticketFence(newToken())
	if c.opts.Lease > 0 {
		claim = leaseFence(newToken())
	}
	rkey := c.prefix + key
	missed, force := false, false
	var waited leaseWait // how long this load waited on another's lease
	defer waited.end(c.s, c.ns)
	for {
		var wake <-chan struct{}
		stop := func() {}
		if claim.field == fenceField {
			wake, stop = c.s.coh.watch(rkey, c.s.fenceKey(rkey))
		}
		tok := c.s.coh.token()
		raw, present, taken, err := c.readOrFence(ctx, key, claim, c.fenceTTL(), force)
		if err != nil {
			stop()
			if errors.Is(err, ErrWrongType) {
				return zero, err
			}
			c.countErr(err)
			// Redis unavailable: load without it; nothing is written or kept.
			if c.s.closed.Load() {
				return zero, ErrClosed // nothing starts after Close
			}
			if !missed {
				c.stats.misses.Add(1)
			}
			v, err := c.runLoader(ctx, load)
			if err == nil {
				c.stats.degraded.Add(1)
			}
			return c.loaded(ctx, key, v, err, fallback, nil)
		}
		var f found[V]
		if present {
			f = c.decodeAndKeep(key, raw, tok, time.Now().UnixMilli())
		}
		switch {
		case f.state == fresh || f.state == negative:
			stop()
			if taken { // the server's clock saw it stale, ours does not
				c.releaseFence(ctx, key, claim)
			}
			if f.state == negative {
				c.stats.negativeHits.Add(1)
				return zero, ErrNotFound
			}
			c.stats.remoteHits.Add(1)
			return f.v, nil
		case f.state == stale && serveStale && f.staleWithin(c.opts.StaleWhileRevalidate, time.Now().UnixMilli()):
			stop()
			if taken {
				c.releaseFence(ctx, key, claim)
			}
			c.stats.staleServed.Add(1)
			c.refresh(ctx, key, load)
			return f.v, nil
		case f.state == stale:
			fallback = f
		}
		if !missed {
			missed = true
			c.stats.misses.Add(1)
		}
		if taken {
			stop()
			waited.end(c.s, c.ns)
			if c.s.closed.Load() {
				c.releaseFence(ctx, key, claim)
				return zero, ErrClosed // nothing starts after Close
			}
			claim.absent = !present
			return c.loadFenced(ctx, key, load, claim, fallback)
		}
		if present && !force {
			// Settled for the server's clock, stale or unreadable here:
			// take the fence anyway.
			stop()
			force = true
			continue
		}
		// Another process holds the lease: wait for its value, or for the
		// lease to end.
		c.stats.leaseWaits.Add(1)
		waited.begin()
		t := time.NewTimer(leasePoll)
		select {
		case <-wake:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			stop()
			return zero, ctx.Err()
		}
		t.Stop()
		stop()
	}
}

// loadFenced runs the loader under claim, already taken on key's fence,
// and writes its outcome under the fence. A panic or Goexit in the loader
// gives the claim back on the way out.
func (c *Cache[V]) loadFenced(ctx context.Context, key string, load func(context.Context) (V, error), claim fence, fallback found[V]) (V, error) {
	returned := false
	defer func() {
		if !returned {
			c.releaseFence(ctx, key, claim)
		}
	}()
	v, err := c.runLoader(ctx, load)
	returned = true
	return c.loaded(ctx, key, v, err, fallback, &claim)
}

// loaded turns a load's outcome into fill's answer: a value is written
// under the load's claim on the fence (nil: no Redis to write to, or none
// to use), a loader's ErrNotFound becomes a negative entry (with
// NegativeTTL), and other errors may be answered with a stale value
// (StaleIfError). A claim not used for a write is given back.
func (c *Cache[V]) loaded(ctx context.Context, key string, v V, err error, fallback found[V], claim *fence) (V, error) {
	var zero V
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			switch {
			case c.opts.NegativeTTL > 0 && claim != nil:
				neg := *claim
				neg.absent = true // a negative entry goes only where nothing is
				_ = c.storeLoaded(ctx, []string{key}, []V{zero}, 0, []fence{neg}, true)
			case c.opts.NegativeTTL > 0:
				_ = c.storeLoaded(ctx, []string{key}, []V{zero}, 0, nil, false)
			case claim != nil:
				c.releaseFence(ctx, key, *claim)
			}
			return zero, err
		}
		if claim != nil {
			c.releaseFence(ctx, key, *claim)
		}
		c.stats.loadErrors.Add(1)
		if fallback.staleWithin(c.opts.StaleIfError, time.Now().UnixMilli()) {
			c.stats.staleServed.Add(1)
			return fallback.v, nil
		}
		return zero, err
	}
	if claim == nil {
		return v, c.storeLoaded(ctx, []string{key}, []V{v}, 1, nil, false)
	}
	return v, c.storeLoaded(ctx, []string{key}, []V{v}, 1, []fence{*claim}, true)
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
// on) under their claims, or, with fenced false, only keeps them locally:
// a local-only Store, or Redis unavailable. Redis being unavailable or the
// Store closing is not the caller's error (the values are good; the stats
// count the degradation); anything else, such as ErrTooLarge, is returned.
func (c *Cache[V]) storeLoaded(ctx context.Context, ks []string, vs []V, nvals int, claims []fence, fenced bool) error {
	var err error
	switch {
	case fenced:
		err = c.putFenced(ctx, ks, vs, nvals, claims)
	case !c.s.hasRedis():
		err = c.put(ctx, ks, vs, nvals)
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrClosed) {
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
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if load == nil {
		return nil, ErrNilLoader
	}
	out := make(map[string]V, len(ks))
	var missing []string
	stales := make(map[string]found[V])
	_, err := c.lookupMany(ctx, ks, false, func(k string, f found[V]) {
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
	// The fence: a ticket on every missing key before the load runs.
	fenced := err == nil && c.s.hasRedis()
	token := newToken()
	if fenced {
		if terr := c.takeTickets(ctx, missing, token); terr != nil {
			c.countErr(terr)
			fenced = false
		}
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
	if !fenced && c.s.hasRedis() {
		c.stats.degraded.Add(uint64(nvals))
		return out, nil
	}
	claims := make([]fence, len(wks))
	for i, k := range wks {
		claims[i] = ticketFence(token)
		_, wasStale := stales[k]
		claims[i].absent = !wasStale || i >= nvals
	}
	return out, c.storeLoaded(ctx, wks, wvs, nvals, claims, fenced)
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
