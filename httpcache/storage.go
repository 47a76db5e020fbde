package httpcache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// request is what the cache reads from an incoming request, once.
type request struct {
	cc     directives
	auth   bool     // Authorization present (RFC 9111 §3.5)
	cookie bool     // Cookie present (Options.RequestCookie)
	body   bool     // the request has content: its response is not stored
	inm    []string // If-None-Match field lines
	ims    time.Time
	hasIMS bool
	pre    *preconditions // nil unless the request has one of them
}

// preconditions are the request fields the cache evaluates only against a
// stored response (never forwarded to be stored): Range (GET), If-Range,
// If-Match, If-Unmodified-Since. Kept apart so that the common request
// does not carry them.
type preconditions struct {
	rng     string
	ifRange string
	im      []string
	ius     time.Time
	hasIUS  bool
}

func parseRequest(r *http.Request) *request {
	h := r.Header
	rq := &request{auth: len(h["Authorization"]) > 0, cookie: len(h["Cookie"]) > 0, inm: h["If-None-Match"],
		body: r.Body != nil && r.Body != http.NoBody}
	if len(h["Range"]) > 0 || len(h["If-Range"]) > 0 || len(h["If-Match"]) > 0 || len(h["If-Unmodified-Since"]) > 0 {
		rq.parsePreconditions(r)
	}
	if cc := r.Header["Cache-Control"]; len(cc) > 0 {
		rq.cc = parseCacheControl(cc)
	} else {
		rq.cc = newDirectives()
	}
	if len(rq.inm) == 0 {
		if v := r.Header.Get("If-Modified-Since"); v != "" {
			rq.ims, rq.hasIMS = parseHTTPDate(v)
		}
	}
	return rq
}

// parsePreconditions reads the fields of the precondition set the cache
// evaluates only against a stored response.
func (rq *request) parsePreconditions(r *http.Request) {
	h := r.Header
	p := &preconditions{}
	if r.Method == http.MethodGet {
		p.rng = strings.Join(h["Range"], ",")
	}
	p.ifRange = strings.TrimSpace(h.Get("If-Range"))
	p.im = h["If-Match"]
	if len(p.im) == 0 {
		if v := h.Get("If-Unmodified-Since"); v != "" {
			p.ius, p.hasIUS = parseHTTPDate(v)
		}
	}
	rq.pre = p
}

// originOnly reports whether the request carries preconditions the cache
// evaluates only against a stored response: without one, the request is
// forwarded as it is and its response is not stored.
func (rq *request) originOnly() bool {
	return rq.pre != nil && (len(rq.pre.im) > 0 || rq.pre.hasIUS)
}

// rangeReq returns the request's Range ("" when none, or not a GET).
func (rq *request) rangeReq() string {
	if rq.pre == nil {
		return ""
	}
	return rq.pre.rng
}

// conditional reports whether the request carries a precondition a cache
// evaluates (RFC 9111 §4.3.2).
func (rq *request) conditional() bool { return len(rq.inm) > 0 || rq.hasIMS }

// policy is what a response says about being stored and reused by this
// (shared) cache.
type policy struct {
	store    bool
	reason   string // why it is not stored, for Cache-Status detail
	d        directives
	targeted bool // d comes from a targeted field (RFC 9213)
	lifetime time.Duration
	vary     []string
}

// understood reports whether this cache knows how to cache responses with
// this status (for must-understand, RFC 9111 §5.2.2.3). Partial content is
// not stored, so 206 is not understood.
func understood(status int) bool {
	return status >= 200 && status != 206 && status != 304 && http.StatusText(status) != ""
}

// directivesOf returns the cache directives of a response: from the first
// targeted field (Options.CDNCacheControl) present with a valid value, else
// from Cache-Control.
func (c *Cache) directivesOf(h http.Header) (directives, bool) {
	for _, name := range c.opts.targeted {
		if lines := h[name]; len(lines) > 0 {
			if d, ok := parseTargeted(lines); ok {
				return d, true
			}
		}
	}
	return parseCacheControl(h["Cache-Control"]), false
}

// responsePolicy applies the storage rules of RFC 9111 §3 to a response to a
// GET request.
func (c *Cache) responsePolicy(r *http.Request, rq *request, status int, h http.Header, received time.Time) policy {
	var p policy
	p.d, p.targeted = c.directivesOf(h)
	d := &p.d
	names, star := parseVary(h["Vary"])
	p.vary = names
	explicit := false
	p.lifetime, explicit = c.lifetime(status, h, *d, p.targeted, responseDate(h, received))
	switch {
	case status < 200 || status == 206 || status == 304:
		p.reason = "status"
	case d.mustUnderstand && !understood(status):
		p.reason = "must-understand"
	case d.noStore && !d.mustUnderstand:
		p.reason = "no-store"
	case rq.cc.noStore:
		p.reason = "request-no-store"
	case d.private:
		p.reason = "private"
	case rq.auth && !(d.public || d.mustRevalidate || d.sMaxAge != absent):
		p.reason = "authorization"
	case star:
		p.reason = "vary-star"
	case rq.body:
		p.reason = "request-content"
	case rq.cookie && c.opts.RequestCookie == CookieBypass,
		rq.cookie && c.opts.RequestCookie == CookieRequireShared && !(d.public || d.mustRevalidate || d.sMaxAge != absent || slices.Contains(names, "Cookie")):
		// A response to a request with Cookie may be personalised by it:
		// shared only when it says so or is keyed by the cookie.
		p.reason = "cookie"
	case len(h["Set-Cookie"]) > 0 && c.opts.SetCookie == SetCookieBypass:
		p.reason = "set-cookie"
	case !explicit && !d.public && !heuristicStatus(status):
		p.reason = "no-freshness"
	case (p.lifetime <= 0 || d.noCache) && h.Get("ETag") == "" && h.Get("Last-Modified") == "" && !staleUsable(d):
		// Stale on arrival (or to be validated on every use), nothing to
		// validate it with, and no stale-if-error or stale-while-revalidate
		// to serve it under: storing it could not serve anyone.
		p.reason = "no-validator"
	case c.opts.Storable != nil && !c.opts.Storable(r, status, h):
		p.reason = "storable-hook"
	default:
		p.store = true
	}
	return p
}

// staleUsable reports whether a response's directives let it be served
// stale (stale-if-error, stale-while-revalidate) and nothing forbids it.
func staleUsable(d *directives) bool {
	forbidden := d.noCache || d.mustRevalidate || d.proxyRevalidate || d.sMaxAge != absent
	return !forbidden && (d.sie > 0 || d.swr > 0)
}

// unstoredFields are never stored (RFC 9111 §3.1): hop-by-hop fields,
// fields about the proxy connection, and Age, which the cache recomputes.
var unstoredFields = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Te", "Transfer-Encoding", "Upgrade", "Trailer",
	"Proxy-Authenticate", "Proxy-Authentication-Info", "Proxy-Authorization", "Age",
}

// storedHeader returns the header fields of a response as they are stored:
// without the unstored fields, the fields named in Connection, the fields
// named by qualified no-cache and private directives (RFC 9111 §5.2.2.4,
// §5.2.2.7: this cache never reuses them, it drops them), and Set-Cookie
// under SetCookieStrip; with a Date when the response had none (RFC 9110
// §6.6.1).
func (c *Cache) storedHeader(h http.Header, p *policy, received time.Time) http.Header {
	out := h.Clone()
	for _, k := range connectionFields(h) {
		delete(out, k)
	}
	for _, k := range unstoredFields {
		delete(out, k)
	}
	for _, k := range p.d.noCacheFields {
		delete(out, k)
	}
	for _, k := range p.d.privateFields {
		delete(out, k)
	}
	if c.opts.SetCookie == SetCookieStrip {
		delete(out, "Set-Cookie")
	}
	if _, ok := parseHTTPDate(out.Get("Date")); !ok {
		out.Set("Date", received.UTC().Format(http.TimeFormat))
	}
	return out
}

// newEntry builds the stored form of a response received at respTime to r,
// sent at reqTime. body is kept, not copied.
func (c *Cache) newEntry(r *http.Request, p *policy, status int, h http.Header, body []byte, reqTime, respTime time.Time) *entry {
	e := &entry{
		kind:     kindResponse,
		status:   status,
		header:   c.storedHeader(h, p, respTime),
		body:     body,
		reqTime:  unixMilli(reqTime),
		respTime: unixMilli(respTime),
		vary:     p.vary,
		tags:     splitTags(h["Surrogate-Key"]),
	}
	c.setTiming(e, h, p, reqTime, respTime)
	if len(p.vary) > 0 {
		e.varyValues = varyValues(r, p.vary)
	}
	return e
}

// setTiming fills an entry's age, lifetime and reuse rules from the header
// h of the exchange (reqTime, respTime) that produced or validated it.
func (c *Cache) setTiming(e *entry, h http.Header, p *policy, reqTime, respTime time.Time) {
	date := responseDate(e.header, respTime)
	e.reqTime, e.respTime = unixMilli(reqTime), unixMilli(respTime)
	e.initialAge = initialAge(h, date, reqTime, respTime).Milliseconds()
	e.lifetime = p.lifetime.Milliseconds()
	d := &p.d
	e.flags = 0
	if d.noCache {
		e.flags |= flagNoCache
	}
	if d.mustRevalidate || d.proxyRevalidate || d.sMaxAge != absent {
		e.flags |= flagNoStale
	}
	if d.public || d.mustRevalidate || d.sMaxAge != absent {
		e.flags |= flagShareAuth
	}
	if d.immutable {
		e.flags |= flagImmutable
	}
	e.swr = max(0, d.swr) * 1000
	e.sie = max(0, d.sie) * 1000
}

// contentLengthOK reports whether the body captured matches the
// Content-Length the handler declared, if any: a mismatch means the
// response is incomplete and must not be stored (RFC 9111 §3.3).
func contentLengthOK(h http.Header, n int) bool {
	cl := h.Get("Content-Length")
	if cl == "" {
		return true
	}
	v, err := strconv.ParseInt(cl, 10, 64)
	return err == nil && v == int64(n)
}
