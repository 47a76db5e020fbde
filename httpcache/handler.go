package httpcache

import (
	"context"
	"errors"
	"net/http"
	"strconv"
)

// handler is the http.Handler returned by Cache.Handler.
type handler struct {
	c    *Cache
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := h.c
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case r.Header.Get("Upgrade") != "":
			h.next.ServeHTTP(w, r) // a protocol switch: nothing to cache, nothing to wrap
		case bypassed(r):
			c.forward(w, r, h.next, fwdBypass)
		default:
			c.serveSafe(w, r, h.next)
		}
	case http.MethodConnect:
		h.next.ServeHTTP(w, r)
	case http.MethodOptions, http.MethodTrace:
		c.forward(w, r, h.next, fwdMethod)
	default:
		c.serveUnsafe(w, r, h.next)
	}
}

// bypassed reports whether a GET or HEAD carries fields this cache does not
// answer itself: range requests and the preconditions that only an origin
// server evaluates (RFC 9111 §4.3.2). They are forwarded untouched.
func bypassed(r *http.Request) bool {
	h := r.Header
	return len(h["Range"]) > 0 || len(h["If-Range"]) > 0 || len(h["If-Match"]) > 0 || len(h["If-Unmodified-Since"]) > 0
}

// serveSafe answers a GET or HEAD: from a stored response when it may be
// reused (RFC 9111 §4), else by forwarding it, a stored response with a
// validator being revalidated (§4.3).
func (c *Cache) serveSafe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	rq := parseRequest(r)
	key := c.key(r)
	if key == "" {
		c.forward(w, r, next, fwdBypass)
		return
	}
	res := c.lookup(r.Context(), r, key)
	if res.e != nil && rq.auth && res.e.flags&flagShareAuth == 0 {
		// RFC 9111 §3.5: a request with Authorization is answered only by
		// responses that say they may be shared.
		res.e, res.miss = nil, fwdMiss
	}
	fwd := res.miss
	now := c.nowMs()
	if e := res.e; e != nil {
		switch decide(e, rq, now) {
		case reuseFresh:
			c.stats.hits.Add(1)
			c.serveStored(w, r, rq, e, cacheStatus{hit: true})
			return
		case reuseStale:
			c.stats.staleHits.Add(1)
			c.serveStored(w, r, rq, e, cacheStatus{hit: true, detail: "max-stale"})
			return
		case reuseSWR:
			c.stats.staleHits.Add(1)
			c.revalidateInBackground(r, rq, key, res, next)
			c.serveStored(w, r, rq, e, cacheStatus{hit: true, detail: "stale-while-revalidate"})
			return
		}
		fwd = fwdStale
		if e.ttl(now) > 0 {
			fwd = fwdRequest
		}
	}
	if rq.cc.onlyIfCached {
		c.addStatus(w.Header(), cacheStatus{detail: "only-if-cached"})
		w.WriteHeader(http.StatusGatewayTimeout)
		return
	}
	c.stats.misses.Add(1)
	// A stored response is validated when it has a validator, and stands in
	// for an error where stale-if-error allows either way.
	ex := &exchange{c: c, next: next, r: r, rq: rq, key: key, res: res, fwd: fwd, stale: res.e}
	c.forwardCoalesced(w, ex)
}

// forwardCoalesced runs ex, or waits for the exchange already running for
// the same key and serves its stored response. Requests with no-cache (they
// want the origin to answer them) and HEAD requests forward on their own.
func (c *Cache) forwardCoalesced(w http.ResponseWriter, ex *exchange) {
	r, rq := ex.r, ex.rq
	if r.Method != http.MethodGet || rq.cc.noCache {
		ex.run(w)
		return
	}
	fkey := ex.res.storeKey
	f, leader := c.flights.join(fkey)
	if leader {
		ex.flight, ex.fkey = f, fkey
		if ex.stale == nil {
			// The flight this request missed may have ended between its
			// lookup and its join: look again before forwarding.
			if res := c.lookup(r.Context(), r, ex.key); res.e != nil && res.storeKey == fkey &&
				(!rq.auth || res.e.flags&flagShareAuth != 0) && decide(res.e, rq, c.nowMs()) == reuseFresh {
				f.finish(res.e)
				c.flights.leave(fkey, f)
				c.stats.hits.Add(1)
				c.serveStored(w, r, rq, res.e, cacheStatus{hit: true})
				return
			}
		}
		ex.run(w)
		return
	}
	e := f.wait(r.Context())
	if e != nil && variantMatches(e, r) && (!rq.auth || e.flags&flagShareAuth != 0) && decide(e, rq, c.nowMs()) == reuseFresh {
		c.stats.coalesced.Add(1)
		c.serveStored(w, r, rq, e, cacheStatus{fwd: ex.fwd, fwdStatus: e.status, collapsed: true})
		return
	}
	if r.Context().Err() != nil {
		return // the client left while waiting
	}
	ex.run(w)
}

// revalidateInBackground starts one revalidation of a stale response
// (stale-while-revalidate, RFC 5861 §3) unless one is running for its key.
// It runs detached from the request, bounded by Options.RevalidateTimeout.
func (c *Cache) revalidateInBackground(r *http.Request, rq *request, key string, res lookupResult, next http.Handler) {
	f, leader := c.flights.join(res.storeKey)
	if !leader {
		return
	}
	c.bgMu.Lock()
	if c.closed.Load() {
		c.bgMu.Unlock()
		f.finish(nil)
		c.flights.leave(res.storeKey, f)
		return
	}
	c.bg.Add(1)
	c.bgMu.Unlock()
	// Detached: the request that triggered it has its answer already.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.opts.RevalidateTimeout)
	br := r.Clone(ctx)
	br.Method, br.Body, br.ContentLength = http.MethodGet, http.NoBody, 0
	ex := &exchange{c: c, next: next, r: br, rq: rq, key: key, res: res, fwd: fwdStale, stale: res.e, flight: f, fkey: res.storeKey}
	go func() {
		defer c.bg.Done()
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					c.opts.Logger.Debug("tiercache/httpcache: background revalidation aborted", "key", key)
					return
				}
				c.opts.Logger.Error("tiercache/httpcache: handler panicked in a background revalidation", "key", key, "panic", p)
			}
		}()
		ex.run(nil)
	}()
}

// serveStored answers r from the stored response e (RFC 9111 §4): its
// fields, an Age (§5.1), this cache's Cache-Status, and its body unless r is
// a HEAD. A client whose If-None-Match or If-Modified-Since matches a
// stored 200 gets a 304 (§4.3.2); nobody else ever does.
func (c *Cache) serveStored(w http.ResponseWriter, r *http.Request, rq *request, e *entry, st cacheStatus) {
	now := c.nowMs()
	h := w.Header()
	copyStored(h, e.header)
	h["Age"] = []string{strconv.FormatInt(e.currentAge(now)/1000, 10)}
	st.ttl, st.hasTTL = msToSeconds(e.ttl(now)), true
	c.addStatus(h, st)
	if e.status == http.StatusOK && rq.conditional() && notModified(rq, e.header, e.respTime) {
		write304(w, h)
		return
	}
	if e.status != http.StatusNoContent && len(h["Content-Length"]) == 0 {
		h["Content-Length"] = []string{strconv.Itoa(len(e.body))}
	}
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead && len(e.body) > 0 {
		_, _ = w.Write(e.body) // a client that left is none of the cache's business
	}
}

// copyStored copies stored fields into dst, replacing fields of the same
// name, with one allocation for all the value slices (so that nothing
// downstream can write into the stored response's slices).
func copyStored(dst, src http.Header) {
	n := 0
	for _, vs := range src {
		n += len(vs)
	}
	all := make([]string, n)
	i := 0
	for k, vs := range src {
		j := i + copy(all[i:], vs)
		dst[k] = all[i:j:j]
		i = j
	}
}

// forward passes a request the cache does not answer to next, untouched
// but for this cache's Cache-Status.
func (c *Cache) forward(w http.ResponseWriter, r *http.Request, next http.Handler, fwd string) {
	pw := &passWriter{w: w, onHeader: func(h http.Header, status int) {
		c.addStatus(h, cacheStatus{fwd: fwd, fwdStatus: status})
	}}
	next.ServeHTTP(pw, r)
}

// serveUnsafe forwards a request with an unsafe method (or one whose safety
// is unknown) and, when it succeeds (2xx or 3xx), invalidates its target
// URI and the same-origin URIs of its Location and Content-Location
// (RFC 9111 §4.4).
func (c *Cache) serveUnsafe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	pw := &passWriter{w: w, onHeader: func(h http.Header, status int) {
		c.addStatus(h, cacheStatus{fwd: fwdMethod, fwdStatus: status})
	}}
	next.ServeHTTP(pw, r)
	status := pw.status
	if status == 0 {
		status = http.StatusOK // the handler wrote nothing: net/http sends a 200
	}
	if status >= 200 && status < 400 {
		c.invalidate(r, w.Header())
	}
}
