package httpcache

import (
	"net/http"
	"strconv"
	"strings"
)

// cacheStatus is this cache's member of the Cache-Status field (RFC 9211):
// "name; hit; ttl=42" or "name; fwd=uri-miss; fwd-status=200; stored".
type cacheStatus struct {
	hit       bool
	fwd       string // bypass, method, uri-miss, vary-miss, miss, request, stale
	fwdStatus int
	ttl       int64 // seconds of freshness left (negative: stale)
	hasTTL    bool
	stored    bool
	collapsed bool
	detail    string
}

// fwd reasons beyond uriMiss and varyMiss.
const (
	fwdBypass  = "bypass"
	fwdMethod  = "method"
	fwdRequest = "request"
	fwdStale   = "stale"
	fwdMiss    = "miss"
)

func (s cacheStatus) format(name string) string {
	var b strings.Builder
	b.Grow(64)
	b.WriteString(name)
	if s.hit {
		b.WriteString("; hit")
	}
	if s.fwd != "" {
		b.WriteString("; fwd=")
		b.WriteString(s.fwd)
	}
	if s.fwdStatus != 0 {
		b.WriteString("; fwd-status=")
		b.WriteString(strconv.Itoa(s.fwdStatus))
	}
	if s.hasTTL {
		b.WriteString("; ttl=")
		b.WriteString(strconv.FormatInt(s.ttl, 10))
	}
	if s.stored {
		b.WriteString("; stored")
	}
	if s.collapsed {
		b.WriteString("; collapsed")
	}
	if s.detail != "" {
		b.WriteString("; detail=")
		b.WriteString(s.detail)
	}
	return b.String()
}

// addStatus appends this cache's member to the Cache-Status of h, after the
// members of the caches closer to the origin (RFC 9211 §2).
func (c *Cache) addStatus(h http.Header, s cacheStatus) {
	h["Cache-Status"] = append(h["Cache-Status"], s.format(c.opts.Name))
}

// msToSeconds converts a ttl in ms to whole seconds, rounding toward
// negative infinity so that a response stale by 1ms shows a negative ttl.
func msToSeconds(ms int64) int64 {
	if ms >= 0 {
		return ms / 1000
	}
	return -((-ms + 999) / 1000)
}
