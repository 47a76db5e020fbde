package httpcache

import (
	"net/http"
	"strconv"
	"strings"
)

// Preconditions and ranges evaluated against a stored response
// (RFC 9110 §13.2.2 order: If-Match, If-Unmodified-Since, If-None-Match,
// If-Modified-Since, then If-Range with Range). Only a 2xx stored response
// is subject to them; only a 200 has ranges taken from it.

// precondition is the outcome of the request's preconditions against a
// stored response.
type precondition uint8

const (
	preNone        precondition = iota // serve the response as it is
	preFailed                          // 412 Precondition Failed
	preNotModified                     // 304 Not Modified
)

// evalPreconditions evaluates rq's preconditions against a stored response
// with status and header h received at respTime (unix ms).
func evalPreconditions(rq *request, status int, h http.Header, respTime int64) precondition {
	if status < 200 || status > 299 {
		return preNone
	}
	switch p := rq.pre; {
	case p == nil:
	case len(p.im) > 0:
		if !strongMatch(p.im, h.Get("ETag")) {
			return preFailed
		}
	case p.hasIUS:
		if lm, ok := parseHTTPDate(h.Get("Last-Modified")); ok && lm.After(p.ius) {
			return preFailed
		}
	}
	if status == http.StatusOK && rq.conditional() && notModified(rq, h, respTime) {
		return preNotModified
	}
	return preNone
}

// strongMatch reports whether If-Match field lines match etag with the
// strong comparison (RFC 9110 §8.8.3.2): "*" matches any current
// representation, a weak tag never matches.
func strongMatch(lines []string, etag string) bool {
	for _, line := range lines {
		for rest := line; rest != ""; {
			var tag string
			tag, rest = nextETag(rest)
			if tag == "*" {
				return true
			}
			if tag != "" && etag != "" && !isWeak(tag) && !isWeak(etag) && opaqueTag(tag) == opaqueTag(etag) {
				return true
			}
		}
	}
	return false
}

func isWeak(t string) bool {
	t = strings.TrimSpace(t)
	return len(t) >= 2 && (t[0] == 'W' || t[0] == 'w') && t[1] == '/'
}

// ifRangeHolds evaluates If-Range (RFC 9110 §13.1.5) against a stored
// response: an entity tag must match the stored one strongly, a date must
// equal the stored Last-Modified. No If-Range holds.
func ifRangeHolds(v string, h http.Header) bool {
	if v == "" {
		return true
	}
	if strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "W/") {
		et := h.Get("ETag")
		return et != "" && !isWeak(v) && !isWeak(et) && opaqueTag(v) == opaqueTag(et)
	}
	d, ok := parseHTTPDate(v)
	if !ok {
		return false
	}
	lm, ok := parseHTTPDate(h.Get("Last-Modified"))
	return ok && lm.Equal(d)
}

// byteRange is a satisfiable range: [start, end] inclusive.
type byteRange struct{ start, end int64 }

// parseRange parses a Range field value against a representation of size
// bytes (RFC 9110 §14.1.2). ok false: the field is to be ignored (invalid,
// another unit, or several ranges, which this cache answers with the whole
// representation as RFC 9110 §14.2 allows). ok true with unsat: 416.
func parseRange(v string, size int64) (r byteRange, unsat, ok bool) {
	unit, set, found := strings.Cut(strings.TrimSpace(v), "=")
	if !found || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return r, false, false
	}
	set = strings.TrimSpace(set)
	if set == "" || strings.Contains(set, ",") {
		return r, false, false
	}
	first, last, found := strings.Cut(set, "-")
	if !found {
		return r, false, false
	}
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 18 || strings.Trim(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	if first == "" { // suffix-range: the last n bytes
		n, ok := num(last)
		if !ok {
			return r, false, false
		}
		if n == 0 || size == 0 {
			return r, true, true
		}
		return byteRange{max(0, size-n), size - 1}, false, true
	}
	a, ok := num(first)
	if !ok {
		return r, false, false
	}
	b := size - 1
	if last != "" {
		if b, ok = num(last); !ok || b < a {
			return r, false, false
		}
	}
	if a >= size {
		return r, true, true
	}
	return byteRange{a, min(b, size-1)}, false, true
}
