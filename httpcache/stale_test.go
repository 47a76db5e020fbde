package httpcache

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestRFC5861_StaleWhileRevalidate: within the window, the stale response
// is served at once and revalidated once in the background.
func TestRFC5861_StaleWhileRevalidate(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	e.validatingOrigin("body", []string{"Cache-Control", "max-age=1, stale-while-revalidate=60", "ETag", `"abc"`},
		"Cache-Control", "max-age=3600", "X-Updated", "yes")
	p := path()
	e.miss(p)
	e.clock.advance(5 * time.Second)
	r := e.get(p) // the background revalidation may reach the origin before the answer reaches us
	require.Equal(t, "body", r.body)
	require.Contains(t, r.header.Get("Cache-Status"), "detail=stale-while-revalidate")
	require.Eventually(t, func() bool { return e.c.Stats().Revalidated == 1 }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 2, e.origin.count(), "one background revalidation")
	require.Equal(t, `"abc"`, e.origin.lastHeader().Get("If-None-Match"))
	require.Eventually(t, func() bool { return e.get(p).header.Get("X-Updated") == "yes" }, 10*time.Second, 5*time.Millisecond)
	require.Equal(t, 2, e.origin.count())

	t.Run("window passed", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		p := path()
		e.miss(p)
		e.clock.advance(2 * time.Minute)
		r := e.miss(p)
		require.Contains(t, r.header.Get("Cache-Status"), "fwd=stale; fwd-status=304")
	})
	t.Run("must-revalidate wins", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.validatingOrigin("body", []string{"Cache-Control", "max-age=1, stale-while-revalidate=60, must-revalidate", "ETag", `"abc"`})
		p := path()
		e.miss(p)
		e.clock.advance(5 * time.Second)
		e.miss(p)
	})
}

// TestRFC5861_StaleWhileRevalidateOnce: a request that read the stale
// response while its revalidation was running, and joins the key's flight
// only after that revalidation stored the fresh response and left, does
// not revalidate again (the interleaving is forced: the revalidation waits
// at the origin until the second request has read, and the second request
// joins only once the flight has left).
func TestRFC5861_StaleWhileRevalidateOnce(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	e.validatingOrigin("body", []string{"Cache-Control", "max-age=1, stale-while-revalidate=60", "ETag", `"abc"`},
		"Cache-Control", "max-age=3600")
	p := path()
	e.miss(p)
	e.clock.advance(5 * time.Second)

	validate := e.origin.fn
	release := make(chan struct{})
	e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
		<-release // the second request reads the stale response meanwhile
		validate(n, w, r)
	})
	var joins atomic.Int32
	e.c.beforeSWRJoin = func() {
		if joins.Add(1) == 2 {
			close(release)
			assert.Eventually(t, func() bool { return e.c.Stats().Revalidated == 1 && !e.flying(p) }, waitFor, tick)
		}
	}
	r := e.get(p) // starts the revalidation, which waits at the origin
	require.Contains(t, r.header.Get("Cache-Status"), "detail=stale-while-revalidate")
	r = e.get(p) // read while it waits; joins after it ended
	require.Contains(t, r.header.Get("Cache-Status"), "detail=stale-while-revalidate")
	require.NoError(t, e.c.Close()) // waits for background revalidations
	require.Equal(t, int32(2), joins.Load(), "both requests reached the join")
	require.Equal(t, 1, e.origin.count(), "one background revalidation")
}

// TestRFC5861_StaleIfError: within the window, an error from the handler
// is replaced by the stale response.
func TestRFC5861_StaleIfError(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	cases := []struct {
		name   string
		cc     string
		req    []string
		status int
		wait   time.Duration
		stale  bool
	}{
		{"response directive", "max-age=1, stale-if-error=60", nil, 503, 10 * time.Second, true},
		{"response directive 500", "max-age=1, stale-if-error=60", nil, 500, 10 * time.Second, true},
		{"response window passed", "max-age=1, stale-if-error=60", nil, 503, 2 * time.Minute, false},
		{"not for a 404", "max-age=1, stale-if-error=60", nil, 404, 10 * time.Second, false},
		{"request directive", "max-age=1", []string{"Cache-Control", "stale-if-error=60"}, 500, 10 * time.Second, true},
		{"request window passed", "max-age=1", []string{"Cache-Control", "stale-if-error=5"}, 500, 10 * time.Second, false},
		{"no directive", "max-age=1", nil, 503, 10 * time.Second, false},
		{"must-revalidate wins", "max-age=1, stale-if-error=60, must-revalidate", nil, 503, 10 * time.Second, false},
		{"stored stale on arrival for it", "max-age=0, stale-if-error=60", nil, 500, 10 * time.Second, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.clock.reset()
			e.origin.set(e.fixed(200, "good", "Cache-Control", tc.cc))
			p := path()
			e.miss(p)
			e.clock.advance(tc.wait)
			e.origin.set(e.fixed(tc.status, "bad"))
			r := e.miss(p, tc.req...)
			if tc.stale {
				require.Equal(t, http.StatusOK, r.status)
				require.Equal(t, "good", r.body)
				require.Contains(t, r.header.Get("Cache-Status"), "detail=stale-if-error")
			} else {
				require.Equal(t, tc.status, r.status)
				require.Equal(t, "bad", r.body)
			}
		})
	}

	t.Run("a stored error does not stand in for a new one", func(t *testing.T) {
		d := newEnv(t, redistest.Start(t), Options{StaleIfError: time.Hour})
		d.origin.set(d.fixed(503, "old error", "Cache-Control", "max-age=1"))
		p := path()
		d.miss(p)
		d.clock.advance(10 * time.Second)
		d.origin.set(d.fixed(503, "new error"))
		require.Equal(t, "new error", d.miss(p).body)
	})
	t.Run("Options.StaleIfError", func(t *testing.T) {
		d := newEnv(t, redistest.Start(t), Options{StaleIfError: time.Minute})
		d.origin.set(d.fixed(200, "good", "Cache-Control", "max-age=1"))
		p := path()
		d.miss(p)
		d.clock.advance(10 * time.Second)
		d.origin.set(d.fixed(502, "bad gateway"))
		require.Equal(t, "good", d.miss(p).body)
		require.Equal(t, 502, d.miss(p, "Cache-Control", "stale-if-error=5").status, "the request's window bounds it")
		d.clock.advance(time.Minute)
		require.Equal(t, 502, d.miss(p).status)
	})
}
