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
		if isUpgrade(r) {
			h.next.ServeHTTP(w, r) // a protocol switch: nothing to cache, nothing to wrap
			return
		}
		c.serveSafe(w, r, h.next)
	case http.MethodConnect:
		h.next.ServeHTTP(w, r)
	case http.MethodOptions, http.MethodTrace:
		c.forward(w, r, h.next, fwdMethod)
	default:
		c.serveUnsafe(w, r, h.next)
	}
}

// isUpgrade reports whether a request asks to switch protocols: Upgrade
// listed in Connection (RFC 9110 §7.8). An Upgrade field without it is
// hop-by-hop noise the request is served without.
func isUpgrade(r *http.Request) bool {
	if len(r.Header["Upgrade"]) == 0 {
		return false
	}
	for _, f := range connectionFields(r.Header) {
		if f == "Upgrade" {
			return true
		}
	}
	return false
}

// serveSafe answers a GET or HEAD: from a stored response when it may be
// reused (RFC 9111 §4), else by forwarding it, a stored response with a
// validator being revalidated (§4.3).
func (c *Cache) serveSafe(w http.ResponseWriter, r *http.Request, next http.Handler) {
	key := c.key(r)
	if key == "" {
		c.forward(w, r, next, fwdBypass)
		return
	}
	rq := parseRequest(r)
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
	if rq.originOnly() {
		// If-Match and If-Unmodified-Since without a usable stored
		// response are for the origin (RFC 9111 §4.3.2): forwarded as they
		// are, the response not stored.
		c.stats.misses.Add(1)
		c.forward(w, r, next, fwd)
		return
	}
	c.stats.misses.Add(1)
	// A stored response is validated when it has a validator, and stands in
	// for an error where stale-if-error allows either way.
	ex := &exchange{c: c, next: next, r: r, rq: rq, key: key, res: res, fwd: fwd, stale: res.e}
	c.forwardCoalesced(w, ex)
}

// forwardCoalesced runs ex, or waits for the exchange already running for
// the same key and serves its response. GET requests share one flight per
// key (no-cache and max-age=0 requests too: the response the flight
// fetches is as new as one they would fetch on their own), HEAD requests
// another. Requests with content or a Range on a URL with nothing stored
// forward on their own.
func (c *Cache) forwardCoalesced(w http.ResponseWriter, ex *exchange) {
	r, rq := ex.r, ex.rq
	if rq.body || (rq.rangeReq() != "" && ex.stale == nil) {
		ex.run(w)
		return
	}
	fkey := ex.res.storeKey
	if r.Method == http.MethodHead {
		fkey += "\x00HEAD"
	}
	f, leader := c.flights.join(fkey)
	if leader {
		ex.flight, ex.fkey = f, fkey
		if ex.stale == nil {
			// The flight this request missed may have ended between its
			// lookup and its join: look again before forwarding.
			if res := c.lookup(r.Context(), r, ex.key); res.e != nil && res.storeKey == ex.res.storeKey &&
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
	if e != nil && collapsible(e, r, rq) {
		c.stats.coalesced.Add(1)
		c.serveStored(w, r, rq, e, cacheStatus{fwd: ex.fwd, fwdStatus: e.status, collapsed: true})
		return
	}
	if r.Context().Err() != nil {
		return // the client left while waiting
	}
	ex.run(w)
}

// collapsible reports whether the response a flight just fetched (or
// validated) may answer a request that waited for it: the same variant,
// shareable with it (RFC 9111 §3.5), and fresh enough for it; the
// request's no-cache and max-age are met by the fetch itself, which
// started no earlier than the wait.
func collapsible(e *entry, r *http.Request, rq *request) bool {
	if !variantMatches(e, r) || (rq.auth && e.flags&flagShareAuth == 0) {
		return false
	}
	if rq.cc.minFresh != absent && (rq.cc.minFresh < 0 || e.lifetime-e.initialAge < rq.cc.minFresh*1000) {
		return false
	}
	return true
}

// revalidateInBackground starts one revalidation of a stale response
// (stale-while-revalidate, RFC 5861 §3) unless one is running for its key.
// It runs detached from the request, bounded by Options.RevalidateTimeout.
func (c *Cache) revalidateInBackground(r *http.Request, rq *request, key string, res lookupResult, next http.Handler) {
	if c.beforeSWRJoin != nil {
		c.beforeSWRJoin()
	}
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
		// The revalidation this request saw running may have ended
		// between its lookup and its join: look again before forwarding.
		if again := c.lookup(ctx, br, key); again.e != nil && again.storeKey == res.storeKey &&
			(!rq.auth || again.e.flags&flagShareAuth != 0) && decide(again.e, rq, c.nowMs()) == reuseFresh {
			f.finish(again.e)
			c.flights.leave(res.storeKey, f)
			return
		}
		ex.run(nil)
	}()
}

// serveStored answers r from the stored response e (RFC 9111 §4): its
// fields, an Age (§5.1), this cache's Cache-Status, and its body unless r is
// a HEAD. The request's preconditions are evaluated against it: a failed
// If-Match or If-Unmodified-Since gets a 412, a client whose
// If-None-Match or If-Modified-Since matches a stored 200 gets a 304
// (§4.3.2; nobody else ever does), and a GET with a Range a 206 or a 416
// taken from a stored 200 (RFC 9110 §14).
func (c *Cache) serveStored(w http.ResponseWriter, r *http.Request, rq *request, e *entry, st cacheStatus) {
	now := c.nowMs()
	h := w.Header()
	copyStored(h, e.header)
	h["Age"] = []string{strconv.FormatInt(e.currentAge(now)/1000, 10)}
	st.ttl, st.hasTTL = msToSeconds(e.ttl(now)), true
	c.addStatus(h, st)
	if rq.conditional() || rq.originOnly() {
		switch evalPreconditions(rq, e.status, e.header, e.respTime) {
		case preFailed:
			for _, k := range representationFields {
				delete(h, k)
			}
			h["Content-Length"] = []string{"0"}
			w.WriteHeader(http.StatusPreconditionFailed)
			return
		case preNotModified:
			write304(w, h)
			return
		}
	}
	body := e.body
	status := e.status
	if rng := rq.rangeReq(); rng != "" && status == http.StatusOK && e.flags&flagHeadOnly == 0 && len(h["Content-Range"]) == 0 && ifRangeHolds(rq.pre.ifRange, e.header) {
		size := int64(len(body))
		if br, unsat, ok := parseRange(rng, size); ok {
			if unsat {
				delete(h, "Content-Type")
				h["Content-Range"] = []string{"bytes */" + strconv.FormatInt(size, 10)}
				h["Content-Length"] = []string{"0"}
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return
			}
			body, status = body[br.start:br.end+1], http.StatusPartialContent
			h["Content-Range"] = []string{"bytes " + strconv.FormatInt(br.start, 10) + "-" + strconv.FormatInt(br.end, 10) + "/" + strconv.FormatInt(size, 10)}
			h["Content-Length"] = []string{strconv.Itoa(len(body))}
		}
	}
	if e.status != http.StatusNoContent && len(h["Content-Length"]) == 0 && e.flags&flagHeadOnly == 0 {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead && len(body) > 0 {
		_, _ = w.Write(body) // a client that left is none of the cache's business
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
