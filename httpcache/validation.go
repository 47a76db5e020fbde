package httpcache

import (
	"net/http"
	"slices"
	"time"
)

// validates reports whether a 304 with header h answers the validation of
// a stored response with header stored (RFC 9111 §4.3.4): its entity tag,
// when it has one, must be the stored one. A 304 without any validator
// answers the one conditional request the cache sent for that response.
func validates(stored, h http.Header) bool {
	et := h.Get("ETag")
	if et == "" {
		return true
	}
	old := stored.Get("ETag")
	return old != "" && opaqueTag(et) == opaqueTag(old)
}

// sameValidators reports whether a full response (to a HEAD) provably
// describes the same representation as a stored one (RFC 9111 §4.3.5), so
// that its fields may update it: it has a validator (a strong ETag or a
// Last-Modified), every validator it has equals the stored one, and its
// Content-Length, Content-Type and Content-Encoding, when present, equal
// the stored ones. Without validators nothing ties the two together: the
// stored response is dropped rather than updated.
func sameValidators(stored, h http.Header) bool {
	et, lm := h.Get("ETag"), h.Get("Last-Modified")
	if (et == "" || isWeak(et)) && lm == "" {
		return false
	}
	if (et != "" && et != stored.Get("ETag")) || (lm != "" && lm != stored.Get("Last-Modified")) {
		return false
	}
	for _, k := range []string{"Content-Length", "Content-Type", "Content-Encoding"} {
		if v, ok := h[k]; ok && !slices.Equal(v, stored[k]) {
			return false
		}
	}
	return true
}

// freshen returns a copy of the stored response old updated with the
// fields of a 304 (or of a matching 200 to a HEAD) received at respTime for
// a request sent at reqTime (RFC 9111 §3.2, §4.3.4): every field replaces
// the stored one, except those never stored and Content-Length. Freshness,
// age and reuse rules are computed again from the result, along with
// whether it may still be stored.
func (c *Cache) freshen(r *http.Request, rq *request, old *entry, h http.Header, reqTime, respTime time.Time) (*entry, policy) {
	n := *old
	merged := old.header.Clone()
	skip := connectionFields(h)
	for k, vs := range h {
		if k == "Content-Length" || slices.Contains(unstoredFields, k) || slices.Contains(skip, k) {
			continue
		}
		merged[k] = slices.Clone(vs)
	}
	if _, ok := parseHTTPDate(h.Get("Date")); !ok {
		// The stored Date is the old exchange's; this exchange's is now.
		merged.Set("Date", respTime.UTC().Format(http.TimeFormat))
	}
	// The response stays what it was stored as: a Cookie or content on the
	// request that revalidated it does not make it unstorable.
	view := *rq
	view.cookie, view.body = false, false
	pol := c.responsePolicy(r, &view, old.status, merged, respTime)
	n.header = c.storedHeader(merged, &pol, respTime)
	if !slices.Equal(pol.vary, old.vary) {
		// The validation changed what the response varies on: it is now
		// the variant of the request that validated it (RFC 9111 §4.1).
		n.vary, n.varyValues = pol.vary, nil
		if len(pol.vary) > 0 {
			n.varyValues = varyValues(r, pol.vary)
		}
	}
	n.key, n.gen = "", ""
	c.setTiming(&n, h, &pol, reqTime, respTime)
	n.tags = splitTags(n.header["Surrogate-Key"])
	return &n, pol
}

// notModified evaluates the request's If-None-Match, or else its
// If-Modified-Since, against a 200 response with header h received at
// respTime (unix ms), as a cache does (RFC 9111 §4.3.2): If-None-Match with
// the weak comparison; If-Modified-Since against Last-Modified, else Date,
// else the time the response was received.
func notModified(rq *request, h http.Header, respTime int64) bool {
	if len(rq.inm) > 0 {
		return etagMatch(rq.inm, h.Get("ETag"))
	}
	if !rq.hasIMS {
		return false
	}
	if lm, ok := parseHTTPDate(h.Get("Last-Modified")); ok {
		return !lm.After(rq.ims)
	}
	if d, ok := parseHTTPDate(h.Get("Date")); ok {
		return !d.After(rq.ims)
	}
	return respTime <= rq.ims.UnixMilli()
}

// representationFields are left out of a 304 (RFC 9110 §15.4.5: it carries
// the validators and caching fields, not the metadata of a body it does not
// have).
var representationFields = []string{"Content-Length", "Content-Type", "Content-Encoding", "Content-Language", "Content-Range", "Transfer-Encoding"}

// write304 sends a 304 with the header map h of w, pruned of the fields
// describing the body.
func write304(w http.ResponseWriter, h http.Header) {
	for _, k := range representationFields {
		delete(h, k)
	}
	w.WriteHeader(http.StatusNotModified)
}
