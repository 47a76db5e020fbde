package httpcache

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestSecurity_HostInKey: a response stored for one Host never answers
// another (no cross-host cache poisoning).
func TestSecurity_HostInKey(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
		e.fixed(200, "content of "+r.Host, "Cache-Control", "max-age=3600")(n, w, r)
	})
	p := path()
	require.Equal(t, "content of good.example", e.miss(p, "Host", "good.example").body)
	require.Equal(t, "content of evil.example", e.miss(p, "Host", "evil.example").body)
	require.Equal(t, "content of good.example", e.hit(p, "Host", "good.example").body)
	require.Equal(t, "content of good.example", e.hit(p, "Host", "GOOD.example").body, "host names are case-insensitive")
	require.Equal(t, "content of evil.example", e.hit(p, "Host", "evil.example").body)
}

// TestSecurity_SetCookie: a response setting a cookie is not stored unless
// an option says so; SetCookieStrip stores it without the cookie.
func TestSecurity_SetCookie(t *testing.T) {
	srv := redistest.Start(t)
	fields := []string{"Cache-Control", "max-age=3600", "Set-Cookie", "session=alice"}

	t.Run("default: not stored", func(t *testing.T) {
		e := newEnv(t, srv, Options{})
		e.origin.set(e.fixed(200, "b", fields...))
		p := path()
		require.Equal(t, "session=alice", e.miss(p).header.Get("Set-Cookie"))
		r := e.miss(p)
		require.Contains(t, r.header.Get("Cache-Status"), "detail=set-cookie")
	})
	t.Run("strip", func(t *testing.T) {
		e := newEnv(t, srv, Options{SetCookie: SetCookieStrip})
		e.origin.set(e.fixed(200, "b", fields...))
		p := path()
		require.Equal(t, "session=alice", e.miss(p).header.Get("Set-Cookie"), "the client that fetched it gets its cookie")
		require.Empty(t, e.hit(p).header.Values("Set-Cookie"), "nobody else does")
	})
	t.Run("store", func(t *testing.T) {
		e := newEnv(t, srv, Options{SetCookie: SetCookieStore})
		e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=3600", "Set-Cookie", "lang=en"))
		p := path()
		e.miss(p)
		require.Equal(t, "lang=en", e.hit(p).header.Get("Set-Cookie"))
	})
}

// TestSecurity_Authorization: what one user fetched with credentials is
// not handed to another unless the response says it may be shared.
func TestSecurity_Authorization(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
		e.fixed(200, "account of "+r.Header.Get("Authorization"), "Cache-Control", "max-age=3600")(n, w, r)
	})
	p := path()
	e.miss(p, "Authorization", "alice")
	require.Equal(t, "account of ", e.miss(p).body, "an anonymous request does not get alice's response")
	require.Equal(t, "account of bob", e.miss(p, "Authorization", "bob").body, "nor does bob")
}

// TestSecurity_304OnlyToConditionalClients: a 304 (from the cache, from a
// revalidation, or from a handler that sends one unasked) never reaches a
// client whose request had no matching precondition.
func TestSecurity_304OnlyToConditionalClients(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	t.Run("revalidation 304", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.validatingOrigin("body", []string{"Cache-Control", "max-age=0", "ETag", `"v"`})
		p := path()
		e.miss(p)
		for range 3 {
			r := e.miss(p)
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, "body", r.body)
		}
		require.Equal(t, http.StatusNotModified, e.miss(p, "If-None-Match", `"v"`).status)
		require.Equal(t, http.StatusOK, e.miss(p, "If-None-Match", `"other"`).status)
	})
	t.Run("handler answers 304 unasked", func(t *testing.T) {
		e.t = t
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v"`)
			w.WriteHeader(http.StatusNotModified)
		})
		r := e.miss(path())
		require.Equal(t, http.StatusBadGateway, r.status)
		require.Contains(t, r.header.Get("Cache-Status"), "detail=unexpected-304")
	})
	t.Run("coalesced with a conditional leader", func(t *testing.T) {
		e := newEnv(t, redistest.Start(t), Options{FillOnConditionalMiss: true})
		release := make(chan struct{})
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			<-release
			e.fixed(200, "body", "Cache-Control", "max-age=3600", "ETag", `"v"`)(n, w, r)
		})
		p := path()
		var wg sync.WaitGroup
		results := make([]resp, 4)
		wg.Go(func() { results[0] = e.get(p, "If-None-Match", `"v"`) })
		require.Eventually(t, func() bool { return e.origin.count() == 1 }, waitFor, tick)
		for i := 1; i < 4; i++ {
			wg.Go(func() { results[i] = e.get(p) })
		}
		require.Eventually(t, func() bool { return e.waiting(p) == 3 }, waitFor, tick)
		close(release)
		wg.Wait()
		require.Equal(t, 1, e.origin.count())
		require.Equal(t, http.StatusNotModified, results[0].status)
		for _, r := range results[1:] {
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, "body", r.body)
			require.Contains(t, r.header.Get("Cache-Status"), "collapsed")
		}
	})
}
