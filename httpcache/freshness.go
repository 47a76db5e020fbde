package httpcache

import (
	"net/http"
	"strings"
	"time"
)

// heuristicFraction is the share of the time since Last-Modified given as
// heuristic freshness (RFC 9111 §4.2.2 suggests 10%).
const heuristicFraction = 10

// heuristicStatus reports whether responses with this status are
// heuristically cacheable (RFC 9110 §15.1).
func heuristicStatus(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// lifetime computes the freshness lifetime of a response for a shared cache
// (RFC 9111 §4.2.1): s-maxage, else max-age, else Expires minus Date
// (unless a targeted field replaced Cache-Control and Expires), else a
// heuristic for heuristically cacheable or public responses with
// Last-Modified. An invalid directive or Expires means stale (0).
// date is the response's Date (or the time it was received).
func (c *Cache) lifetime(status int, h http.Header, d directives, targeted bool, date time.Time) (time.Duration, bool) {
	switch {
	case d.sMaxAge != absent:
		return seconds(d.sMaxAge), true
	case d.maxAge != absent:
		return seconds(d.maxAge), true
	case !targeted && len(h["Expires"]) > 0:
		// Expires is a singleton: several different lines are invalid.
		lines := h["Expires"]
		exp, ok := parseHTTPDate(lines[0])
		for _, l := range lines[1:] {
			ok = ok && strings.Trim(l, " \t") == strings.Trim(lines[0], " \t")
		}
		if !ok {
			return 0, true // invalid dates, "0" above all, are in the past (§5.3)
		}
		return max(0, exp.Sub(date)), true
	}
	if c.opts.MaxHeuristic < 0 || !(heuristicStatus(status) || d.public) {
		return 0, false
	}
	lm, ok := parseHTTPDate(h.Get("Last-Modified"))
	if !ok || !lm.Before(date) {
		return 0, false
	}
	return min(date.Sub(lm)/heuristicFraction, c.opts.MaxHeuristic), false
}

// seconds converts a parsed delta-seconds value; invalid is 0 (stale).
func seconds(v int64) time.Duration {
	if v < 0 {
		return 0
	}
	return time.Duration(v) * time.Second
}

// responseDate returns the Date of a response, or received when it has none
// or an invalid one (RFC 9110 §6.6.1).
func responseDate(h http.Header, received time.Time) time.Time {
	if d, ok := parseHTTPDate(h.Get("Date")); ok {
		return d
	}
	return received
}

// initialAge is corrected_initial_age (RFC 9111 §4.2.3) for a response
// received at respTime to a request sent at reqTime.
func initialAge(h http.Header, date, reqTime, respTime time.Time) time.Duration {
	apparent := max(0, respTime.Sub(date))
	ageValue, _ := parseAge(h)
	corrected := seconds(ageValue) + max(0, respTime.Sub(reqTime))
	return max(apparent, corrected)
}

// reuse is how a stored response may answer a request.
type reuse uint8

const (
	reuseFresh    reuse = iota // fresh enough for the request: serve it
	reuseStale                 // stale, but the request or response allows serving it now
	reuseSWR                   // stale within stale-while-revalidate: serve it and revalidate in the background
	reuseValidate              // must be validated before use
)

// decide applies RFC 9111 §4.2 and §5.2.1 to a stored response and a
// request: its freshness at now (unix ms) against the request's max-age,
// min-fresh, max-stale and no-cache, and the response's no-cache,
// must-revalidate and stale-while-revalidate. An invalid request max-age
// or min-fresh makes the stored response unacceptable.
func decide(e *entry, rq *request, now int64) reuse {
	age := e.currentAge(now)
	ttl := e.lifetime - age
	switch {
	case e.flags&flagNoCache != 0:
		return reuseValidate
	case rq.cc.noCache:
		return reuseValidate
	}
	// A reload (request max-age=0) does not revalidate a fresh immutable
	// response (RFC 8246 §2); a forced reload (no-cache) does.
	requestOK := true
	if rq.cc.maxAge != absent && !(e.flags&flagImmutable != 0 && ttl > 0) {
		requestOK = rq.cc.maxAge >= 0 && age <= rq.cc.maxAge*1000
	}
	if rq.cc.minFresh != absent && (rq.cc.minFresh < 0 || ttl < rq.cc.minFresh*1000) {
		requestOK = false
	}
	if ttl > 0 {
		if requestOK {
			return reuseFresh
		}
		return reuseValidate
	}
	if !requestOK || e.flags&flagNoStale != 0 {
		return reuseValidate
	}
	if rq.cc.maxStaleAny || (rq.cc.maxStale >= 0 && -ttl <= rq.cc.maxStale*1000) {
		return reuseStale
	}
	if e.swr > 0 && -ttl <= e.swr {
		return reuseSWR
	}
	return reuseValidate
}

// staleIfError reports whether a stale stored response may stand in for an
// error from the handler at now (RFC 5861 §4): within the request's
// stale-if-error window when it has one, else the response's, else
// Options.StaleIfError; never when the response forbids stale use.
func (c *Cache) staleIfError(e *entry, rq *request, now int64) bool {
	if e.flags&(flagNoStale|flagNoCache) != 0 || serverError(e.status) {
		return false // a stored error is no better than a new one
	}
	stale := -e.ttl(now)
	if rq != nil && rq.cc.sie != absent {
		// The client says how stale it accepts: that bounds it either way.
		return rq.cc.sie >= 0 && stale <= rq.cc.sie*1000
	}
	window := e.sie
	if window == 0 {
		window = c.opts.StaleIfError.Milliseconds()
	}
	return window > 0 && stale <= window
}

// serverError reports whether a status counts as an error for
// stale-if-error.
func serverError(status int) bool {
	return status == 500 || status == 502 || status == 503 || status == 504
}
