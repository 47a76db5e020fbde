package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestRFC9111_4_4_Invalidation: a non-error response to an unsafe method
// invalidates the target URI and the same-origin Location and
// Content-Location.
func TestRFC9111_4_4_Invalidation(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	fresh := e.fixed(200, "body", "Cache-Control", "max-age=3600")
	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH", "M-SEARCH"} {
		t.Run(m+" succeeds", func(t *testing.T) {
			e.t = t
			e.origin.set(fresh)
			p := path()
			e.miss(p)
			r := e.do(m, p)
			require.Contains(t, r.header.Get("Cache-Status"), "fwd=method")
			e.miss(p)
		})
		t.Run(m+" fails", func(t *testing.T) {
			e.t = t
			p := path()
			e.origin.set(fresh)
			e.miss(p)
			e.origin.set(e.fixed(500, "error"))
			e.do(m, p)
			e.origin.set(fresh)
			e.hit(p)
		})
	}
	t.Run("safe methods do not invalidate", func(t *testing.T) {
		e.t = t
		e.origin.set(fresh)
		p := path()
		e.miss(p)
		e.do(http.MethodOptions, p)
		e.hit(p)
	})
	for _, field := range []string{"Location", "Content-Location"} {
		t.Run(field+" same origin", func(t *testing.T) {
			e.t = t
			target, other := path(), path()
			e.origin.set(fresh)
			e.miss(target)
			e.miss(other)
			e.origin.set(e.fixed(201, "created", field, other))
			e.do(http.MethodPost, target)
			e.origin.set(fresh)
			e.miss(other)
		})
		t.Run(field+" other origin", func(t *testing.T) {
			e.t = t
			target, other := path(), path()
			e.origin.set(fresh)
			e.miss(target)
			e.miss(other, "Host", "elsewhere.example")
			e.origin.set(e.fixed(201, "created", field, "http://elsewhere.example"+other))
			e.do(http.MethodPost, target)
			e.origin.set(fresh)
			e.hit(other, "Host", "elsewhere.example")
		})
	}
	t.Run("every variant", func(t *testing.T) {
		e.t = t
		e.origin.set(e.fixed(200, "body", "Cache-Control", "max-age=3600", "Vary", "Foo"))
		p := path()
		e.miss(p, "Foo", "1")
		e.miss(p, "Foo", "2")
		e.do(http.MethodPut, p)
		e.miss(p, "Foo", "1")
		e.miss(p, "Foo", "2")
	})
}

// TestRFC9110_9_3_2_Head: HEAD is answered from a stored GET response; a
// HEAD that misses is forwarded as a HEAD and stores nothing; a 200 to a
// HEAD revalidation freshens the stored response (RFC 9111 §4.3.5).
func TestRFC9110_9_3_2_Head(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	t.Run("answered from a stored GET", func(t *testing.T) {
		e.t = t
		e.origin.set(e.fixed(200, "0123456789", "Cache-Control", "max-age=3600"))
		p := path()
		e.miss(p)
		before := e.origin.count()
		r := e.do(http.MethodHead, p)
		require.Equal(t, before, e.origin.count())
		require.Equal(t, http.StatusOK, r.status)
		require.Empty(t, r.body)
		require.Equal(t, "10", r.header.Get("Content-Length"))
		require.Contains(t, r.header.Get("Cache-Status"), "hit")
	})
	t.Run("a miss is forwarded as HEAD", func(t *testing.T) {
		e.t = t
		e.origin.set(e.fixed(200, "0123456789", "Cache-Control", "max-age=3600"))
		p := path()
		e.do(http.MethodHead, p)
		require.Equal(t, http.MethodHead, e.origin.lastMethod())
		e.miss(p)
	})
	t.Run("HEAD freshens a stale GET", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			cc := "max-age=2"
			if r.Method == http.MethodHead {
				cc = "max-age=1000"
			}
			e.fixed(200, "body", "Cache-Control", cc, "ETag", `"e"`, "Template-A", r.Method)(n, w, r)
		})
		p := path()
		e.miss(p)
		e.clock.advance(3 * time.Second)
		before := e.origin.count()
		e.do(http.MethodHead, p)
		require.Equal(t, before+1, e.origin.count())
		r := e.hit(p)
		require.Equal(t, "HEAD", r.header.Get("Template-A"))
		require.Equal(t, "body", r.body)
	})
}
