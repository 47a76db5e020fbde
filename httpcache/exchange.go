package httpcache

import (
	"context"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync/atomic"
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

	// The fill of a flight outlives its client: the handler's context is
	// detached from the client's and canceled only once nobody needs the
	// response (the client left and it is not being stored).
	needed     atomic.Bool
	clientGone atomic.Bool
	cancel     context.CancelFunc
}

// run forwards the request and answers the client (w may be nil: nobody
// waits for the answer). A panic in the handler propagates once the flight
// is released; nothing is stored.
func (ex *exchange) run(w http.ResponseWriter) {
	c := ex.c
	up := ex.upstream()
	if ex.flight != nil && w != nil {
		up = ex.detach(up)
		defer ex.cancel()
	}
	ex.reqTime = c.now()
	ex.cw = &captureWriter{ex: ex, w: w, hdr: make(http.Header), limit: c.opts.MaxBodySize}
	done := false
	defer func() {
		if !done {
			ex.cw.stopPump()
			ex.release()
			ex.leave()
		}
	}()
	ex.next.ServeHTTP(ex.cw, up)
	done = true
	if up.Context().Err() != nil {
		// The handler's context ended (its client left, or the detached
		// fill timed out): it may have cut its response short, which
		// without a Content-Length looks complete. Not stored.
		ex.cw.capture, ex.cw.buf = false, nil
	}
	ex.finish()
}

// detach returns up with a context that outlives the client: the flight's
// waiters and the Store need the response even when the client that
// fetches it leaves. It is canceled when the client has left and the
// response is not (or no longer) being stored, or RevalidateTimeout after
// the client left.
func (ex *exchange) detach(up *http.Request) *http.Request {
	parent := up.Context()
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	ex.needed.Store(true)
	f := ex.flight
	stop := context.AfterFunc(parent, func() {
		ex.clientGone.Store(true)
		f.leaderGone.Store(true)
		if !ex.needed.Load() {
			cancel()
			return
		}
		t := time.AfterFunc(ex.c.opts.RevalidateTimeout, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	ex.cancel = func() { stop(); cancel() }
	return up.WithContext(ctx)
}

// upstream returns the request to forward: without the routing fields
// (Options.Routing); the client's own preconditions when nothing is
// stored; for a revalidation, the stored response's validators instead of
// the client's (the cache evaluates the client's against what it stores,
// RFC 9111 §4.3.1) and no Range or If-Range (the range is served from the
// validated response).
func (ex *exchange) upstream() *http.Request {
	r := ex.r
	h := r.Header
	hasPre := len(h["If-None-Match"]) > 0 || len(h["If-Modified-Since"]) > 0
	strip := ex.c.routingPresent(h)
	if ex.stale == nil && (!hasPre || !ex.c.opts.FillOnConditionalMiss || r.Method == http.MethodHead) {
		// Nothing stored: the client's own validators go to the origin,
		// whose 304 answers them (and is not stored).
		ex.sentConditional, ex.forwardedPre = hasPre, hasPre
		if !strip {
			return r
		}
		up := r.Clone(r.Context())
		ex.c.stripRouting(up.Header)
		return up
	}
	up := r.Clone(r.Context())
	if strip {
		ex.c.stripRouting(up.Header)
	}
	up.Header.Del("If-None-Match")
	up.Header.Del("If-Modified-Since")
	if e := ex.stale; e != nil {
		up.Header.Del("Range")
		up.Header.Del("If-Range")
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

// routingPresent reports whether h has a routing field to strip.
func (c *Cache) routingPresent(h http.Header) bool {
	if c.opts.Routing != RoutingStrip {
		return false
	}
	for _, k := range c.opts.routing {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

func (c *Cache) stripRouting(h http.Header) {
	for _, k := range c.opts.routing {
		delete(h, k)
	}
}

// onHeader decides, at the handler's status line, where the response goes
// and whether it is captured for storing.
func (ex *exchange) onHeader(cw *captureWriter) {
	c := ex.c
	status := cw.status
	// What the client and the Store get is the header as it is now: fields
	// set later only reach the client as announced trailers, and count when
	// storage is decided again at the end.
	cw.sent = cw.hdr.Clone()
	if ex.stale != nil {
		switch {
		case status == http.StatusNotModified && ex.sentConditional:
			ex.unusable304 = !validates(ex.stale.header, cw.sent)
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
	headShared := false
	switch ex.r.Method {
	case http.MethodGet:
		ex.pol = c.responsePolicy(ex.r, ex.rq, status, cw.sent, cw.respTime)
		ex.variantLimit()
		cw.capture = ex.pol.store && cw.reservation()
	case http.MethodHead:
		if ex.flight != nil {
			// Shared with the HEAD requests waiting, not stored: only when
			// it could have been stored.
			ex.pol = c.responsePolicy(ex.r, ex.rq, status, cw.sent, cw.respTime)
			headShared = ex.pol.store
		}
	}
	if !cw.capture && !headShared {
		ex.release()
	}
	if cw.w == nil {
		cw.mode = modeIntercept
		return
	}
	h := cw.w.Header()
	for k, v := range cw.sent {
		h[k] = v
	}
	st := cacheStatus{fwd: ex.fwd, fwdStatus: status, stored: cw.capture}
	if ex.r.Method == http.MethodGet && !ex.pol.store {
		st.detail = ex.pol.reason
	}
	c.addStatus(h, st)
	if status == http.StatusOK && ex.rq.conditional() && !ex.forwardedPre && notModified(ex.rq, cw.sent, cw.respTime.UnixMilli()) {
		cw.mode = modeClient304
		write304(cw.w, h)
		return
	}
	cw.mode = modeClient
	cw.w.WriteHeader(status)
	if cw.capture {
		cw.startPump()
	}
}

// variantLimit keeps a response for a new variant out of the Store when
// its URL has Options.MaxVariants variants already.
func (ex *exchange) variantLimit() {
	m := ex.res.marker
	if ex.pol.store && ex.res.e == nil && ex.stale == nil && ex.c.variantsFull(m) && slices.Equal(m.vary, ex.pol.vary) {
		ex.pol.store, ex.pol.reason = false, "vary-limit"
	}
}

// finish stores what was captured and answers the client where the
// handler's response was intercepted.
func (ex *exchange) finish() {
	c, cw := ex.c, ex.cw
	if !cw.committed {
		cw.WriteHeader(http.StatusOK)
	}
	// Storing must not be cut short by the client leaving.
	ctx := context.WithoutCancel(ex.r.Context())
	defer ex.leave()
	defer ex.copyTrailers()
	defer cw.stopPump()
	if cw.capture && !ex.stillStorable() {
		cw.capture, cw.buf = false, nil
	}
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
	case cw.capture && contentLengthOK(cw.sent, len(cw.buf)):
		cw.pumpFlush() // the client gets its bytes, all but the end, while the Store is written
		e := c.newEntry(ex.r, &ex.pol, cw.status, cw.sent, cw.buf, ex.reqTime, cw.respTime)
		newVariant := ex.res.marker != nil && ex.res.e == nil && ex.stale == nil
		c.prepare(ex.key, ex.res.marker, e)
		ex.finishFlight(e)
		c.save(ctx, ex.key, ex.res.marker, e, newVariant)
	case ex.r.Method == http.MethodHead && ex.flight != nil && ex.pol.store && cw.status < 300:
		e := c.newEntry(ex.r, &ex.pol, cw.status, cw.sent, nil, ex.reqTime, cw.respTime)
		e.flags |= flagHeadOnly
		ex.finishFlight(e)
		ex.outdated(ctx)
	default:
		ex.release()
		ex.outdated(ctx)
	}
}

// stillStorable decides storage again on the final field set: the header
// as sent with the fields the handler set after the status line (trailers
// announced or not, RFC 9110 §6.5) merged in, so that a Set-Cookie, a
// Cache-Control: private or no-store arriving late keeps the response out
// of the Store.
func (ex *exchange) stillStorable() bool {
	cw := ex.cw
	final, late := cw.sent, false
	for k, vs := range cw.hdr {
		name := k
		if strings.HasPrefix(k, http.TrailerPrefix) {
			name = textproto.CanonicalMIMEHeaderKey(k[len(http.TrailerPrefix):])
		}
		if name == k && slices.Equal(cw.sent[k], vs) {
			continue
		}
		if !late {
			final, late = cw.sent.Clone(), true
		}
		final[name] = append(final[name], vs...)
	}
	if !late {
		return true
	}
	pol := ex.c.responsePolicy(ex.r, ex.rq, cw.status, final, cw.respTime)
	if !pol.store {
		ex.pol.reason = pol.reason
		return false
	}
	return true
}

// freshened handles a 304 answering a revalidation: the stored response is
// updated with its fields (RFC 9111 §4.3.4), stored again, and answers the
// client.
func (ex *exchange) freshened(ctx context.Context) {
	c, cw := ex.c, ex.cw
	e, pol := c.freshen(ex.r, ex.rq, ex.stale, cw.sent, ex.reqTime, cw.respTime)
	c.stats.revalidated.Add(1)
	if pol.store {
		c.prepare(ex.key, ex.res.marker, e)
		ex.finishFlight(e)
		c.save(ctx, ex.key, ex.res.marker, e, false)
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
// HEAD revalidation freshens the stored response instead when it provably
// describes the same representation (RFC 9111 §4.3.5: sameValidators).
func (ex *exchange) outdated(ctx context.Context) {
	c, cw := ex.c, ex.cw
	if ex.stale == nil || cw.status < 200 || cw.status >= 400 {
		return
	}
	if ex.r.Method == http.MethodHead && cw.status == http.StatusOK && sameValidators(ex.stale.header, cw.sent) {
		if e, pol := c.freshen(ex.r, ex.rq, ex.stale, cw.sent, ex.reqTime, cw.respTime); pol.store {
			c.prepare(ex.key, ex.res.marker, e)
			c.save(ctx, ex.key, ex.res.marker, e, false)
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
	for _, k := range cw.sent.Values("Trailer") {
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
// own; the fill is no longer needed by anyone but its client.
func (ex *exchange) release() {
	if ex.flight != nil {
		ex.flight.finish(nil)
	}
	ex.notNeeded()
}

// notNeeded cancels a detached fill whose client has left.
func (ex *exchange) notNeeded() {
	if ex.cancel != nil {
		ex.needed.Store(false)
		if ex.clientGone.Load() {
			ex.cancel()
		}
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
