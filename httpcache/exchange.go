package httpcache

import (
	"context"
	"net/http"
	"time"
)

// exchange is one request forwarded to the handler: a plain fetch, or the
// revalidation of a stored response (stale != nil), for a client or in the
// background (no client).
type exchange struct {
	c      *Cache
	next   http.Handler
	r      *http.Request // the client's request (a detached clone in the background)
	rq     *request
	key    string       // primary key
	res    lookupResult // what the lookup found
	fwd    string       // Cache-Status fwd reason
	stale  *entry       // the stored response this request would have used (validated when it has validators); nil for a plain fetch
	flight *flight      // the flight this exchange leads, if any
	fkey   string       // its key

	reqTime         time.Time
	cw              *captureWriter
	pol             policy
	sentConditional bool // the request sent carried preconditions
	forwardedPre    bool // they were the client's own, forwarded as they were
	bogus304        bool // a 304 to a request that had no precondition
	unusable304     bool // a 304 whose validator is not the stored one
	failed          bool // an error answering a revalidation, to be replaced by the stale response
}

// run forwards the request and answers the client (w may be nil: nobody
// waits for the answer). A panic in the handler propagates once the flight
// is released; nothing is stored.
func (ex *exchange) run(w http.ResponseWriter) {
	c := ex.c
	up := ex.upstream()
	ex.reqTime = c.now()
	ex.cw = &captureWriter{ex: ex, w: w, hdr: make(http.Header), limit: c.opts.MaxBodySize}
	done := false
	defer func() {
		if !done {
			ex.release()
			ex.leave()
		}
	}()
	ex.next.ServeHTTP(ex.cw, up)
	done = true
	ex.finish()
}

// upstream returns the request to forward: the client's own, or a copy
// without its preconditions (the cache evaluates them itself against what
// it stores) and, for a revalidation, with the stored response's validators
// (RFC 9111 §4.3.1).
func (ex *exchange) upstream() *http.Request {
	r := ex.r
	h := r.Header
	hasPre := len(h["If-None-Match"]) > 0 || len(h["If-Modified-Since"]) > 0
	if r.Method == http.MethodHead && ex.stale == nil {
		ex.sentConditional, ex.forwardedPre = hasPre, hasPre // forwarded as it is
		return r
	}
	if ex.stale == nil && !hasPre {
		return r
	}
	up := r.Clone(r.Context())
	up.Header.Del("If-None-Match")
	up.Header.Del("If-Modified-Since")
	if e := ex.stale; e != nil {
		if et := e.header.Get("ETag"); et != "" {
			up.Header.Set("If-None-Match", quoteETag(et))
			ex.sentConditional = true
		}
		if lm := e.header.Get("Last-Modified"); lm != "" {
			up.Header.Set("If-Modified-Since", lm)
			ex.sentConditional = true
		}
	}
	return up
}

// onHeader decides, at the handler's status line, where the response goes
// and whether it is captured for storing.
func (ex *exchange) onHeader(cw *captureWriter) {
	c := ex.c
	status := cw.status
	if ex.stale != nil {
		switch {
		case status == http.StatusNotModified && ex.sentConditional:
			ex.unusable304 = !validates(ex.stale.header, cw.hdr)
			cw.mode = modeIntercept
			return
		case serverError(status) && c.staleIfError(ex.stale, ex.rq, c.nowMs()):
			ex.failed = true
			cw.mode = modeIntercept
			return
		}
	}
	if status == http.StatusNotModified && !ex.sentConditional {
		// Only a conditional request may get a 304 (RFC 9110 §15.4.5); one
		// to a request without preconditions cannot reach a client.
		ex.bogus304 = true
		cw.mode = modeIntercept
		ex.release()
		return
	}
	if ex.r.Method == http.MethodGet {
		ex.pol = c.responsePolicy(ex.r, ex.rq, status, cw.hdr, cw.respTime)
		cw.capture = ex.pol.store && cw.reservation()
	}
	if !cw.capture {
		ex.release()
	}
	if cw.w == nil {
		cw.mode = modeIntercept
		return
	}
	h := cw.w.Header()
	for k, v := range cw.hdr {
		h[k] = v
	}
	st := cacheStatus{fwd: ex.fwd, fwdStatus: status, stored: cw.capture}
	if ex.r.Method == http.MethodGet && !ex.pol.store {
		st.detail = ex.pol.reason
	}
	c.addStatus(h, st)
	if status == http.StatusOK && ex.rq.conditional() && !ex.forwardedPre && notModified(ex.rq, cw.hdr, cw.respTime.UnixMilli()) {
		cw.mode = modeClient304
		write304(cw.w, h)
		return
	}
	cw.mode = modeClient
	cw.w.WriteHeader(status)
}

// finish stores what was captured and answers the client where the
// handler's response was intercepted.
func (ex *exchange) finish() {
	c, cw := ex.c, ex.cw
	if !cw.committed {
		cw.WriteHeader(http.StatusOK)
	}
	ex.copyTrailers()
	// Storing must not be cut short by the client leaving.
	ctx := context.WithoutCancel(ex.r.Context())
	defer ex.leave()
	switch {
	case ex.bogus304:
		if cw.w != nil {
			c.addStatus(cw.w.Header(), cacheStatus{fwd: ex.fwd, fwdStatus: http.StatusNotModified, detail: "unexpected-304"})
			http.Error(cw.w, "upstream answered 304 to an unconditional request", http.StatusBadGateway)
		}
	case ex.unusable304:
		// The 304 validates another representation than the stored one:
		// fetch the response in full (RFC 9111 §4.3.4).
		ex.release()
		again := &exchange{c: c, next: ex.next, r: ex.r, rq: ex.rq, key: ex.key, res: ex.res, fwd: ex.fwd}
		again.run(cw.w)
	case ex.stale != nil && ex.sentConditional && cw.status == http.StatusNotModified:
		ex.freshened(ctx)
	case ex.failed:
		ex.release()
		if cw.w != nil {
			c.stats.staleHits.Add(1)
			c.serveStored(cw.w, ex.r, ex.rq, ex.stale, cacheStatus{fwd: ex.fwd, fwdStatus: cw.status, detail: "stale-if-error"})
		}
	case cw.capture && cw.clientErr == nil && contentLengthOK(cw.hdr, len(cw.buf)):
		if cw.mode == modeClient {
			_ = cw.FlushError() // the client gets its bytes before the Store write
		}
		e := c.newEntry(ex.r, &ex.pol, cw.status, cw.hdr, cw.buf, ex.reqTime, cw.respTime)
		ex.finishFlight(e)
		c.save(ctx, ex.key, ex.res.marker, e)
	default:
		ex.release()
		ex.outdated(ctx)
	}
}

// freshened handles a 304 answering a revalidation: the stored response is
// updated with its fields (RFC 9111 §4.3.4), stored again, and answers the
// client.
func (ex *exchange) freshened(ctx context.Context) {
	c, cw := ex.c, ex.cw
	e, pol := c.freshen(ex.r, ex.rq, ex.stale, cw.hdr, ex.reqTime, cw.respTime)
	c.stats.revalidated.Add(1)
	if pol.store {
		ex.finishFlight(e)
		c.save(ctx, ex.key, ex.res.marker, e)
	} else {
		ex.release()
		c.remove(ctx, ex.res.storeKey)
	}
	if cw.w != nil {
		c.serveStored(cw.w, ex.r, ex.rq, e, cacheStatus{fwd: ex.fwd, fwdStatus: http.StatusNotModified, stored: pol.store})
	}
}

// outdated drops a stored response that a revalidation found replaced by a
// response that was not stored, so that it is not served again. A 200 to a
// HEAD revalidation freshens the stored response instead when its
// validators still match (RFC 9111 §4.3.5).
func (ex *exchange) outdated(ctx context.Context) {
	c, cw := ex.c, ex.cw
	if ex.stale == nil || cw.status < 200 || cw.status >= 400 {
		return
	}
	if ex.r.Method == http.MethodHead && cw.status == http.StatusOK && sameValidators(ex.stale.header, cw.hdr) {
		if e, pol := c.freshen(ex.r, ex.rq, ex.stale, cw.hdr, ex.reqTime, cw.respTime); pol.store {
			c.save(ctx, ex.key, ex.res.marker, e)
			return
		}
	}
	c.remove(ctx, ex.res.storeKey)
}

// copyTrailers hands the trailer fields the handler set after its body to
// the client.
func (ex *exchange) copyTrailers() {
	cw := ex.cw
	if cw.w == nil || cw.mode != modeClient {
		return
	}
	h := cw.w.Header()
	for _, k := range cw.hdr.Values("Trailer") {
		for _, name := range fieldNames(k) {
			if v, ok := cw.hdr[name]; ok {
				h[name] = v
			}
		}
	}
	for k, v := range cw.hdr {
		if len(k) > len(http.TrailerPrefix) && k[:len(http.TrailerPrefix)] == http.TrailerPrefix {
			h[k] = v
		}
	}
}

// release tells the requests waiting on this exchange to forward on their
// own.
func (ex *exchange) release() {
	if ex.flight != nil {
		ex.flight.finish(nil)
	}
}

// finishFlight hands the stored response to the waiting requests.
func (ex *exchange) finishFlight(e *entry) {
	if ex.flight != nil {
		ex.flight.finish(e)
	}
}

// leave ends the flight, once the response is stored.
func (ex *exchange) leave() {
	if ex.flight != nil {
		ex.c.flights.leave(ex.fkey, ex.flight)
	}
}
