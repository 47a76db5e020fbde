package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestRFC9211_CacheStatus: every response says how this cache handled it,
// after the members of the caches before it.
func TestRFC9211_CacheStatus(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{Name: "edge"})
	e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=60", "Vary", "Foo", "Cache-Status", "origin-cache; hit"))
	p := path()
	require.Equal(t, []string{"origin-cache; hit", "edge; fwd=uri-miss; fwd-status=200; stored"}, e.miss(p, "Foo", "1").header.Values("Cache-Status"))
	e.clock.advance(10 * time.Second)
	require.Equal(t, []string{"origin-cache; hit", "edge; hit; ttl=50"}, e.hit(p, "Foo", "1").header.Values("Cache-Status"))
	require.Equal(t, "edge; fwd=vary-miss; fwd-status=200; stored", e.miss(p, "Foo", "2").header.Values("Cache-Status")[1])

	e.origin.set(e.fixed(200, "b", "Cache-Control", "no-store"))
	require.Equal(t, "edge; fwd=uri-miss; fwd-status=200; detail=no-store", e.miss(path()).header.Get("Cache-Status"))
	require.Equal(t, "edge; fwd=method; fwd-status=200", e.do(http.MethodPost, path()).header.Get("Cache-Status"))
	require.Equal(t, "edge; fwd=uri-miss; fwd-status=200; detail=no-store", e.do(http.MethodGet, path(), "Range", "bytes=0-1").header.Get("Cache-Status"), "a range of a URL with nothing stored is forwarded")
	require.Equal(t, "edge; fwd=method; fwd-status=200", e.do(http.MethodOptions, path()).header.Get("Cache-Status"))

	e.clock.reset()
	e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=1"))
	p = path()
	e.miss(p)
	e.clock.advance(3 * time.Second)
	require.Equal(t, "edge; hit; ttl=-2; detail=max-stale", e.hit(p, "Cache-Control", "max-stale").header.Get("Cache-Status"))
	require.Equal(t, "edge; fwd=stale; fwd-status=200; stored", e.miss(p).header.Get("Cache-Status"))
}

// TestRFC9213_TargetedFields: with Options.CDNCacheControl, the first
// targeted field present with a valid value replaces Cache-Control and
// Expires; it is still forwarded.
func TestRFC9213_TargetedFields(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{CDNCacheControl: "Edge-Cache-Control, CDN-Cache-Control"})
	runReuse(t, e, []reuseCase{
		{name: "max-age", fields: []string{"CDN-Cache-Control", "max-age=3600"}, wait: time.Minute, cached: true},
		{name: "beyond 2^31", fields: []string{"CDN-Cache-Control", "max-age=99999999999"}, wait: time.Hour, cached: true},
		{name: "longer than Cache-Control", fields: []string{"Cache-Control", "max-age=1", "CDN-Cache-Control", "max-age=3600"}, wait: time.Minute, cached: true},
		{name: "shorter than Cache-Control", fields: []string{"Cache-Control", "max-age=3600", "CDN-Cache-Control", "max-age=1"}, wait: 2 * time.Second},
		{name: "Expires ignored", fields: []string{"CDN-Cache-Control", "max-age=3600", "Expires", "0"}, wait: time.Minute, cached: true},
		{name: "max-age=0 with a future Expires", fields: []string{"CDN-Cache-Control", "max-age=0", "Expires", "Thu, 03 Jan 2030 00:00:00 GMT"}},
		{name: "Age beyond max-age", fields: []string{"CDN-Cache-Control", "max-age=3600", "Age", "7200"}},
		{name: "no-store over Cache-Control", fields: []string{"Cache-Control", "max-age=10000", "CDN-Cache-Control", "no-store"}},
		{name: "stored despite Cache-Control no-store", fields: []string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=10000"}, wait: time.Minute, cached: true},
		{name: "private", fields: []string{"CDN-Cache-Control", "private", "Cache-Control", "max-age=10000"}},
		{name: "no-cache", fields: []string{"CDN-Cache-Control", "no-cache", "Cache-Control", "max-age=10000"}},
		{name: "invalid field ignored", fields: []string{"CDN-Cache-Control", "max-age=10000, &&&&&", "Cache-Control", "no-store"}},
		{name: "uppercase key is invalid", fields: []string{"CDN-Cache-Control", "MaX-aGe=3600", "Cache-Control", "max-age=1"}, wait: 2 * time.Second},
		{name: "wrong type ignored", fields: []string{"CDN-Cache-Control", `max-age="10000"`, "Cache-Control", "no-store"}},
		{name: "precedence", fields: []string{"CDN-Cache-Control", "max-age=1", "Edge-Cache-Control", "max-age=3600"}, wait: time.Minute, cached: true},
		{name: "extension", fields: []string{"CDN-Cache-Control", "foobar, max-age=3600"}, wait: time.Minute, cached: true},
	})
	t.Run("forwarded", func(t *testing.T) {
		e.t = t
		e.origin.set(e.fixed(200, "b", "CDN-Cache-Control", "max-age=60"))
		p := path()
		require.Equal(t, "max-age=60", e.miss(p).header.Get("CDN-Cache-Control"))
		require.Equal(t, "max-age=60", e.hit(p).header.Get("CDN-Cache-Control"))
	})
	t.Run("ignored without the option", func(t *testing.T) {
		plain := newEnv(t, redistest.Start(t), Options{})
		plain.origin.set(plain.fixed(200, "b", "CDN-Cache-Control", "max-age=3600"))
		p := path()
		plain.miss(p)
		plain.miss(p)
	})
}
