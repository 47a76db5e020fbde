package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestRFC9111_5_2_1_RequestDirectives: max-age, max-stale, min-fresh,
// no-cache, no-store and only-if-cached in requests.
func TestRFC9111_5_2_1_RequestDirectives(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	runReuse(t, e, []reuseCase{
		{name: "max-age=0 on a fresh response", fields: []string{"Cache-Control", "max-age=3600"}, wait: time.Second, req2: []string{"Cache-Control", "max-age=0"}},
		{name: "max-age older than the response", fields: []string{"Cache-Control", "max-age=3600"}, wait: 10 * time.Minute, req2: []string{"Cache-Control", "max-age=600"}, cached: true},
		{name: "max-age younger than the response's Age", fields: []string{"Cache-Control", "max-age=3600", "Age", "1800"}, req2: []string{"Cache-Control", "max-age=600"}},
		{name: "max-stale within", fields: []string{"Cache-Control", "max-age=1"}, wait: 10 * time.Second, req2: []string{"Cache-Control", "max-stale=1000"}, cached: true},
		{name: "max-stale without a value", fields: []string{"Cache-Control", "max-age=1"}, wait: time.Hour, req2: []string{"Cache-Control", "max-stale"}, cached: true},
		{name: "max-stale exceeded", fields: []string{"Cache-Control", "max-age=1"}, wait: 10 * time.Second, req2: []string{"Cache-Control", "max-stale=5"}},
		{name: "max-stale on an Age'd response", fields: []string{"Cache-Control", "max-age=1500", "Age", "2000"}, req2: []string{"Cache-Control", "max-stale=1000"}, cached: true},
		{name: "min-fresh not met", fields: []string{"Cache-Control", "max-age=1500"}, req2: []string{"Cache-Control", "min-fresh=2000"}},
		{name: "min-fresh met", fields: []string{"Cache-Control", "max-age=1500"}, req2: []string{"Cache-Control", "min-fresh=1000"}, cached: true},
		{name: "min-fresh on an Age'd response", fields: []string{"Cache-Control", "max-age=1500", "Age", "1000"}, req2: []string{"Cache-Control", "min-fresh=1000"}},
		{name: "no-cache on a fresh response", fields: []string{"Cache-Control", "max-age=3600"}, req2: []string{"Cache-Control", "no-cache"}},
		{name: "no-store may be answered from the cache", fields: []string{"Cache-Control", "max-age=3600"}, req2: []string{"Cache-Control", "no-store"}, cached: true},
		// net/http's server turns a lone Pragma: no-cache into Cache-Control: no-cache.
		{name: "Pragma no-cache without Cache-Control", fields: []string{"Cache-Control", "max-age=3600"}, req2: []string{"Pragma", "no-cache"}},
		{name: "Pragma extension is ignored", fields: []string{"Cache-Control", "max-age=3600"}, req2: []string{"Pragma", "unrecognised-extension"}, cached: true},
		{name: "immutable answers a reload", fields: []string{"Cache-Control", "max-age=3600, immutable"}, wait: time.Second, req2: []string{"Cache-Control", "max-age=0"}, cached: true},
		{name: "immutable does not answer a forced reload", fields: []string{"Cache-Control", "max-age=3600, immutable"}, req2: []string{"Cache-Control", "no-cache"}},
		{name: "immutable once stale", fields: []string{"Cache-Control", "max-age=2, immutable"}, wait: 3 * time.Second, req2: []string{"Cache-Control", "max-age=0"}},
	})

	t.Run("no-cache validates a stored response", func(t *testing.T) {
		e.t = t
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			e.fixed(200, "stored body", "Cache-Control", "max-age=3600", "ETag", `"v1"`)(n, w, r)
		})
		p := path()
		e.miss(p)
		r := e.miss(p, "Cache-Control", "no-cache")
		require.Equal(t, `"v1"`, e.origin.lastHeader().Get("If-None-Match"))
		require.Equal(t, http.StatusOK, r.status, "an unconditional client never gets the 304")
		require.Equal(t, "stored body", r.body)
		require.Contains(t, r.header.Get("Cache-Status"), "fwd=request; fwd-status=304")
	})
	t.Run("only-if-cached", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=60"))
		p := path()
		r := e.get(p, "Cache-Control", "only-if-cached")
		require.Equal(t, http.StatusGatewayTimeout, r.status)
		require.Zero(t, e.origin.count(), "only-if-cached never reaches the origin")
		e.miss(p)
		require.Equal(t, http.StatusOK, e.hit(p, "Cache-Control", "only-if-cached").status)
		e.clock.advance(2 * time.Minute)
		require.Equal(t, http.StatusGatewayTimeout, e.hit(p, "Cache-Control", "only-if-cached").status, "a stale response does not do")
	})
}

// TestRFC9111_5_2_2_ResponseDirectives: no-cache, must-revalidate,
// proxy-revalidate and s-maxage forbid stale use; no-cache validates every
// use.
func TestRFC9111_5_2_2_ResponseDirectives(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{StaleIfError: time.Hour})
	for _, cc := range []string{"must-revalidate", "proxy-revalidate", "no-cache", "s-maxage=2"} {
		t.Run(cc+" is never served stale", func(t *testing.T) {
			e.t = t
			e.clock.reset()
			e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=2, "+cc, "ETag", `"x"`))
			p := path()
			e.miss(p)
			e.clock.advance(time.Minute)
			e.miss(p, "Cache-Control", "max-stale=3600")
			e.clock.advance(time.Minute)
			e.origin.set(e.fixed(503, "down"))
			r := e.miss(p)
			require.Equal(t, 503, r.status, "stale-if-error does not apply")
		})
	}
	t.Run("no-cache with a validator is validated on every use", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("If-None-Match") == `"abcd"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			e.fixed(200, "body", "Cache-Control", "max-age=10000, no-cache", "ETag", `"abcd"`)(n, w, r)
		})
		p := path()
		e.miss(p)
		for range 2 {
			r := e.miss(p)
			require.Equal(t, `"abcd"`, e.origin.lastHeader().Get("If-None-Match"))
			require.Equal(t, "body", r.body)
		}
	})
	t.Run("must-revalidate fresh is reused", func(t *testing.T) {
		e.t = t
		e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=10000, must-revalidate", "ETag", `"x"`))
		p := path()
		e.miss(p)
		e.hit(p)
	})
}
