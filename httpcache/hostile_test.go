package httpcache

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
)

// The tests of this file are the findings of a hostile client's run against
// the cache (issue 15): each failed before the fix it names.

// TestHostile_LateSetCookie: a Set-Cookie that arrives after the status
// line, as an announced trailer or set by the handler after it wrote its
// header, keeps the response out of the Store: nobody else gets the first
// client's session.
func TestHostile_LateSetCookie(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	t.Run("trailer", func(t *testing.T) {
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Header().Set("Trailer", "Set-Cookie")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, "page")
			w.Header().Set("Set-Cookie", fmt.Sprintf("session=user%d", n))
		})
		p := path()
		e.miss(p)
		r := e.miss(p)
		require.Empty(t, r.header.Values("Set-Cookie"))
		require.Contains(t, r.header.Get("Cache-Status"), "fwd=uri-miss")
	})
	t.Run("after the header", func(t *testing.T) {
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			w.WriteHeader(200)
			w.Header().Set("Set-Cookie", fmt.Sprintf("session=user%d", n))
			_, _ = io.WriteString(w, "page")
		})
		p := path()
		e.miss(p)
		require.Empty(t, e.miss(p).header.Values("Set-Cookie"))
	})
	t.Run("trailer prefix", func(t *testing.T) {
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			_, _ = io.WriteString(w, "page")
			w.Header().Set(http.TrailerPrefix+"Set-Cookie", fmt.Sprintf("session=user%d", n))
		})
		p := path()
		e.miss(p)
		e.miss(p)
	})
	t.Run("other trailers are stored as sent", func(t *testing.T) {
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Header().Set("Trailer", "X-Checksum")
			_, _ = io.WriteString(w, "page")
			w.Header().Set("X-Checksum", "abc")
		})
		p := path()
		e.miss(p)
		r := e.hit(p)
		require.Empty(t, r.header.Values("X-Checksum"))
	})
}

// TestHostile_CookieRequest: a response to a request with Cookie, cacheable
// only by heuristic freshness, is not stored (web cache deception); it is
// with public or Vary: Cookie, and with CookieIgnore.
func TestHostile_CookieRequest(t *testing.T) {
	srv := redistest.Start(t)
	e := newEnv(t, srv, Options{})
	lm := func(fields ...string) func(int, http.ResponseWriter, *http.Request) {
		return func(n int, w http.ResponseWriter, r *http.Request) {
			e.fixed(200, "profile of "+r.Header.Get("Cookie"), append([]string{"Last-Modified", e.clock.date(-100 * time.Hour)}, fields...)...)(n, w, r)
		}
	}
	e.origin.set(lm())
	p := path() + "/profile.css"
	r := e.miss(p, "Cookie", "sid=victim")
	require.Equal(t, "profile of sid=victim", r.body)
	require.Contains(t, r.header.Get("Cache-Status"), "detail=cookie")
	require.Equal(t, "profile of ", e.miss(p).body, "the victim's page is not served to others")

	e.origin.set(lm("Cache-Control", "public"))
	p = path()
	e.miss(p, "Cookie", "a=1")
	e.hit(p)

	e.origin.set(lm("Vary", "Cookie"))
	p = path()
	e.miss(p, "Cookie", "a=1")
	require.Equal(t, "profile of a=1", e.hit(p, "Cookie", "a=1").body)
	require.Equal(t, "profile of ", e.miss(p).body)

	ig := newEnv(t, srv, Options{RequestCookie: CookieIgnore})
	ig.origin.set(ig.fixed(200, "x", "Cache-Control", "max-age=60"))
	p = path()
	ig.miss(p, "Cookie", "a=1")
	ig.hit(p)

	by := newEnv(t, srv, Options{RequestCookie: CookieBypass})
	by.origin.set(by.fixed(200, "x", "Cache-Control", "public, max-age=60"))
	p = path()
	by.miss(p, "Cookie", "a=1")
	by.miss(p, "Cookie", "a=1")
}

// routed answers as an application that honours routing fields would.
func routed(e *env) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		what := "clean"
		for _, k := range []string{"X-Original-Url", "X-Rewrite-Url", "X-Http-Method-Override", "X-Forwarded-Scheme", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded", "X-Custom-Route"} {
			if v := r.Header.Get(k); v != "" {
				what = k + ": " + v
			}
		}
		e.fixed(200, what, "Cache-Control", "max-age=3600")(n, w, r)
	}
}

// TestHostile_UnkeyedInputs: a request with a routing field, or a GET with
// content, does not poison the clean URL: the fields are stripped before
// the handler (RoutingStrip), or keyed (RoutingKey), and a GET with
// content is not stored.
func TestHostile_UnkeyedInputs(t *testing.T) {
	srv := redistest.Start(t)
	e := newEnv(t, srv, Options{})
	e.origin.set(routed(e))
	for _, f := range []string{"X-Original-URL", "X-Rewrite-URL", "X-HTTP-Method-Override", "X-Forwarded-Scheme", "X-Forwarded-Host", "X-Forwarded-Proto", "Forwarded"} {
		p := path()
		require.Equal(t, "clean", e.miss(p, f, "/admin").body, f)
		require.Equal(t, "clean", e.hit(p).body, f)
	}

	t.Run("GET with content", func(t *testing.T) {
		p := path()
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+p, strings.NewReader("x=1"))
		require.NoError(t, err)
		res, err := e.client.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		require.Contains(t, res.Header.Get("Cache-Status"), "detail=request-content")
		e.miss(p)
		e.hit(p)
	})

	t.Run("RoutingKey", func(t *testing.T) {
		k := newEnv(t, srv, Options{Routing: RoutingKey, RoutingFields: append(DefaultRoutingFields, "X-Custom-Route")})
		k.origin.set(routed(k))
		p := path()
		require.Equal(t, "X-Original-Url: /admin", k.miss(p, "X-Original-URL", "/admin").body)
		require.Equal(t, "clean", k.miss(p).body)
		require.Equal(t, "X-Original-Url: /admin", k.hit(p, "X-Original-URL", "/admin").body)
		require.Equal(t, "X-Custom-Route: a", k.miss(p, "X-Custom-Route", "a").body)
		require.Equal(t, "clean", k.hit(p).body)
	})
	t.Run("own fields stripped", func(t *testing.T) {
		s := newEnv(t, srv, Options{RoutingFields: []string{"X-Custom-Route"}})
		s.origin.set(routed(s))
		p := path()
		require.Equal(t, "clean", s.miss(p, "X-Custom-Route", "a").body)
		require.Equal(t, "X-Forwarded-Host: evil", s.miss(path(), "X-Forwarded-Host", "evil").body, "only the fields listed")
	})
}

// storm sends n concurrent requests for p with the fields, the first to
// reach the origin (answered by script) held until the n-1 others wait on
// the flight flightKey (or, where they do not coalesce, reached the origin
// too), and returns how many reached the origin and the responses.
func storm(t *testing.T, e *env, n int, method, p, flightKey string, script func(int, http.ResponseWriter, *http.Request), fields ...string) (int, []resp) {
	t.Helper()
	e.origin.set(func(k int, w http.ResponseWriter, r *http.Request) {
		if k == 1 {
			deadline := time.Now().Add(waitFor)
			for e.c.flights.waiting(flightKey) < n-1 && e.origin.count() < n && time.Now().Before(deadline) {
				time.Sleep(tick) // a hang guard around the flight's waiter count, the signal
			}
		}
		script(k, w, r)
	})
	out := make([]resp, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = e.do(method, p, fields...) })
	}
	wg.Wait()
	return e.origin.count(), out
}

// TestHostile_BypassStorm: concurrent no-cache, max-age=0 and Pragma
// requests for a cached page are one revalidation; Range, If-Match,
// If-Unmodified-Since, If-Range and a stray Upgrade are served from the
// stored response; HEAD requests on a cold URL are one HEAD upstream.
func TestHostile_BypassStorm(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	const n = 30
	for _, fields := range [][]string{{"Cache-Control", "no-cache"}, {"Pragma", "no-cache"}, {"Cache-Control", "max-age=0"}} {
		p := path()
		e.origin.set(e.fixed(200, "0123456789", "Cache-Control", "max-age=3600", "ETag", `"v1"`))
		e.miss(p)
		e.clock.advance(time.Second)
		got, rs := storm(t, e, n, http.MethodGet, p, e.srv.URL+p, e.fixed(200, "0123456789", "Cache-Control", "max-age=3600", "ETag", `"v1"`), fields...)
		require.Equal(t, 1, got, "%v: one request reaches the origin", fields)
		for _, r := range rs {
			require.Equal(t, 200, r.status)
			require.Equal(t, "0123456789", r.body)
		}
	}
	p := path()
	e.origin.set(e.fixed(200, "0123456789", "Cache-Control", "max-age=3600", "ETag", `"v1"`, "Last-Modified", e.clock.date(-time.Hour)))
	e.miss(p)
	for _, fields := range [][]string{
		{"Range", "bytes=2-4"}, {"If-Match", `"v1"`}, {"If-Unmodified-Since", e.clock.date(0)},
		{"If-Range", `"v1"`, "Range", "bytes=0-0"}, {"Upgrade", "h2c"},
	} {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { e.hit(p, fields...) })
		}
		wg.Wait()
	}
	p = path()
	got, rs := storm(t, e, n, http.MethodHead, p, e.srv.URL+p+"\x00HEAD", e.fixed(200, "0123456789", "Cache-Control", "max-age=3600", "Content-Length", "10"))
	require.Equal(t, 1, got, "HEAD on a cold URL: one request reaches the origin")
	for _, r := range rs {
		require.Equal(t, 200, r.status)
		require.Equal(t, "10", r.header.Get("Content-Length"))
	}
}

// TestRanges: ranges and the preconditions a cache evaluates itself are
// answered from a stored 200 (RFC 9110 §13.2.2, §14).
func TestRanges(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	lm := e.clock.date(-time.Hour)
	e.origin.set(e.fixed(200, "0123456789", "Cache-Control", "max-age=3600", "ETag", `"v1"`, "Last-Modified", lm, "Content-Type", "text/plain"))
	p := path()
	e.miss(p)
	for _, c := range []struct {
		fields []string
		status int
		body   string
		crange string
	}{
		{[]string{"Range", "bytes=2-4"}, 206, "234", "bytes 2-4/10"},
		{[]string{"Range", "bytes=7-"}, 206, "789", "bytes 7-9/10"},
		{[]string{"Range", "bytes=-2"}, 206, "89", "bytes 8-9/10"},
		{[]string{"Range", "bytes=5-100"}, 206, "56789", "bytes 5-9/10"},
		{[]string{"Range", "bytes=10-"}, 416, "", "bytes */10"},
		{[]string{"Range", "bytes=0-1,3-4"}, 200, "0123456789", ""},
		{[]string{"Range", "items=0-1"}, 200, "0123456789", ""},
		{[]string{"Range", "bytes=4-2"}, 200, "0123456789", ""},
		{[]string{"Range", "bytes=1-1", "If-Range", `"v1"`}, 206, "1", "bytes 1-1/10"},
		{[]string{"Range", "bytes=1-1", "If-Range", `"v2"`}, 200, "0123456789", ""},
		{[]string{"Range", "bytes=1-1", "If-Range", `W/"v1"`}, 200, "0123456789", ""},
		{[]string{"Range", "bytes=1-1", "If-Range", lm}, 206, "1", "bytes 1-1/10"},
		{[]string{"Range", "bytes=1-1", "If-Range", e.clock.date(0)}, 200, "0123456789", ""},
		{[]string{"If-Match", `"v1"`}, 200, "0123456789", ""},
		{[]string{"If-Match", `"v2", "v1"`}, 200, "0123456789", ""},
		{[]string{"If-Match", "*"}, 200, "0123456789", ""},
		{[]string{"If-Match", `"v2"`}, 412, "", ""},
		{[]string{"If-Match", `W/"v1"`}, 412, "", ""},
		{[]string{"If-Unmodified-Since", e.clock.date(-2 * time.Hour)}, 412, "", ""},
		{[]string{"If-Unmodified-Since", lm}, 200, "0123456789", ""},
		{[]string{"If-Match", `"v2"`, "If-None-Match", `"v1"`}, 412, "", ""},
		{[]string{"If-None-Match", `"v1"`, "Range", "bytes=1-1"}, 304, "", ""},
	} {
		r := e.hit(p, c.fields...)
		require.Equal(t, c.status, r.status, "%v", c.fields)
		require.Equal(t, c.body, r.body, "%v", c.fields)
		require.Equal(t, c.crange, r.header.Get("Content-Range"), "%v", c.fields)
	}
	require.Equal(t, "", e.do(http.MethodHead, p, "Range", "bytes=1-1").header.Get("Content-Range"), "HEAD ignores Range")

	// Without a stored response, they are the origin's.
	e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
		e.fixed(206, "2", "Content-Range", "bytes 2-2/10", "Cache-Control", "max-age=60")(n, w, r)
	})
	p = path()
	require.Equal(t, 206, e.miss(p, "Range", "bytes=2-2").status)
	e.miss(p, "Range", "bytes=2-2")
	e.origin.set(e.fixed(412, "", "Cache-Control", "max-age=60"))
	require.Equal(t, 412, e.miss(p, "If-Match", `"x"`).status)
	require.Equal(t, "x", e.origin.lastHeader().Get("If-Match")[1:2], "forwarded as it was")
}

// TestHostile_SlowClient: a client that does not read the response it
// fetched does not hold up the requests that waited for it.
func TestHostile_SlowClient(t *testing.T) {
	e := newEnvOn(t, nil, Options{MaxBodySize: 64 << 20})
	const size, waiters = 24 << 20, 5
	body := strings.Repeat("x", size)
	p := path()
	arrived := make(chan struct{})
	e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			close(arrived)
			require.Eventually(t, func() bool { return e.waiting(p) == waiters }, waitFor, tick)
		}
		e.fixed(200, body, "Cache-Control", "max-age=3600", "Content-Length", fmt.Sprint(size))(n, w, r)
	})
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", p, e.srv.Listener.Addr())
	require.NoError(t, err)
	<-arrived
	done := make(chan resp, waiters)
	for range waiters {
		go func() { done <- e.get(p) }()
	}
	for range waiters {
		select {
		case r := <-done:
			require.Equal(t, size, len(r.body))
			require.Contains(t, r.header.Get("Cache-Status"), "collapsed")
		case <-time.After(time.Minute): // a hang guard: 5 copies of 24 MiB under -race on a loaded 2-core machine took over 10s
			t.Fatal("the waiters are held up by the client that does not read")
		}
	}
	require.Equal(t, 1, e.origin.count())
	// The slow client gets its response in full once it reads.
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, size, len(b))
}

// TestHostile_FillOutlivesClient: a client that leaves while its response
// is being fetched and stored does not take the fill down with it.
func TestHostile_FillOutlivesClient(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	p := path()
	release := make(chan struct{})
	handlerCtx := make(chan context.Context, 1)
	e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
		handlerCtx <- r.Context()
		w.Header().Set("Cache-Control", "max-age=3600")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "part1 ")
		w.(http.Flusher).Flush()
		<-release
		if r.Context().Err() != nil {
			return
		}
		_, _ = io.WriteString(w, "part2")
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+p, nil)
	res, err := e.client.Do(req)
	require.NoError(t, err)
	buf := make([]byte, 6)
	_, err = io.ReadFull(res.Body, buf)
	require.NoError(t, err)
	hctx := <-handlerCtx
	cancel()
	_ = res.Body.Close()
	// The server noticed the client left: the flight says so (or, were the
	// handler's context the client's, it would end).
	require.Eventually(t, func() bool { return flightCtxGone(e, p) || hctx.Err() != nil }, waitFor, tick)
	close(release)
	require.Eventually(t, func() bool { return e.c.Stats().Stored == 1 }, waitFor, tick)
	require.Equal(t, "part1 part2", e.hit(p).body)
}

// flightCtxGone reports whether the flight of p lost its client.
func flightCtxGone(e *env, p string) bool {
	e.c.flights.mu.Lock()
	defer e.c.flights.mu.Unlock()
	f := e.c.flights.m[e.srv.URL+p]
	return f != nil && f.clientGone()
}

// TestHostile_VariantCap: one URL keeps at most MaxVariants variants.
func TestHostile_VariantCap(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	e.origin.set(e.fixed(200, "x", "Cache-Control", "max-age=3600", "Vary", "User-Agent"))
	p := path()
	for i := range DefaultMaxVariants + 10 {
		e.miss(p, "User-Agent", fmt.Sprint("agent-", i))
	}
	require.Equal(t, uint64(DefaultMaxVariants), e.c.Stats().Stored)
	r := e.miss(p, "User-Agent", "one more")
	require.Contains(t, r.header.Get("Cache-Status"), "detail=vary-limit")
	e.hit(p, "User-Agent", "agent-1")
}

// TestHostile_HeadMerge: a 200 to a HEAD revalidation updates a stored GET
// only when validators tie them together; else the GET is dropped.
func TestHostile_HeadMerge(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	e.origin.set(e.fixed(200, "<html>", "Cache-Control", "max-age=1", "Content-Type", "text/html"))
	p := path()
	e.miss(p)
	e.clock.advance(2 * time.Second)
	e.origin.set(e.fixed(200, "", "Cache-Control", "max-age=600", "Content-Type", "application/json", "Content-Encoding", "gzip"))
	e.do(http.MethodHead, p)
	e.origin.set(e.fixed(200, "<html>", "Cache-Control", "max-age=1", "Content-Type", "text/html"))
	r := e.miss(p)
	require.Equal(t, "text/html", r.header.Get("Content-Type"))
	require.Empty(t, r.header.Get("Content-Encoding"))

	// With a matching validator, it updates.
	e.clock.reset()
	e.origin.set(e.fixed(200, "<html>", "Cache-Control", "max-age=1", "Content-Type", "text/html", "ETag", `"a"`))
	p = path()
	e.miss(p)
	e.clock.advance(2 * time.Second)
	e.origin.set(e.fixed(200, "", "Cache-Control", "max-age=600", "ETag", `"a"`, "X-New", "1"))
	e.do(http.MethodHead, p)
	require.Equal(t, "1", e.hit(p).header.Get("X-New"))
}

// TestHostile_VaryAddedBy304: a 304 that adds Vary makes the stored
// response the variant of the request that validated it.
func TestHostile_VaryAddedBy304(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	e.validatingOrigin("english", []string{"Cache-Control", "max-age=1", "ETag", `"a"`}, "Cache-Control", "max-age=600", "ETag", `"a"`, "Vary", "Accept-Language")
	p := path()
	e.miss(p, "Accept-Language", "en")
	e.clock.advance(2 * time.Second)
	r := e.miss(p, "Accept-Language", "en")
	require.Equal(t, "Accept-Language", r.header.Get("Vary"))
	e.hit(p, "Accept-Language", "en")
	e.miss(p, "Accept-Language", "fr")
}

// TestHostile_TamperedEntries: entries in Redis that this package cannot
// have written (or, with an IntegrityKey, that were not written by a holder
// of the key, or were moved to another key) are misses, never served, never
// a panic.
func TestHostile_TamperedEntries(t *testing.T) {
	srv := redistest.Start(t)
	ns := fmt.Sprintf("tamper%d", time.Now().UnixNano()%1e9)
	writer := func(t *testing.T) *cache.Cache[[]byte] {
		st, err := cache.NewStore(newClient(t, srv.Addr), cache.StoreOptions{Logger: quiet})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		c, err := cache.New(st, ns, cache.Options[[]byte]{Codec: codec.Bytes(), TTL: time.Hour})
		require.NoError(t, err)
		return c
	}(t)
	good := func(key string, mod func(*entry)) []byte {
		e := &entry{kind: kindResponse, key: key, status: 200, header: http.Header{"Cache-Control": {"max-age=3600"}, "Content-Length": {"4"}},
			body: []byte("evil"), reqTime: clockBase.UnixMilli(), respTime: clockBase.UnixMilli(), lifetime: 3600_000}
		mod(e)
		b, err := entryCodec{}.Append(nil, e)
		require.NoError(t, err)
		return b
	}
	e := newEnv(t, srv, Options{Namespace: ns})
	e.origin.set(e.fixed(200, "good", "Cache-Control", "max-age=3600"))
	for name, mod := range map[string]func(*entry){
		"status 0":          func(e *entry) { e.status = 0 },
		"status 101":        func(e *entry) { e.status = 101 },
		"status 2^40":       func(e *entry) { e.status = 1 << 40 },
		"long length":       func(e *entry) { e.header["Content-Length"] = []string{"400"} },
		"control bytes":     func(e *entry) { e.header["X-A"] = []string{"a\r\nSet-Cookie: s=1"} },
		"bad name":          func(e *entry) { e.header["X A"] = []string{"a"} },
		"transfer-coding":   func(e *entry) { e.header["Transfer-Encoding"] = []string{"chunked"} },
		"negative lifetime": func(e *entry) { e.lifetime = -1 },
		"other key":         func(e *entry) { e.key = "http://elsewhere/" },
	} {
		p := path()
		key := e.srv.URL + p
		require.NoError(t, writer.Set(context.Background(), key, good(key, mod)), name)
		r := e.miss(p)
		require.Equal(t, "good", r.body, name)
	}
	// Sanity: an untampered entry written the same way is served.
	p := path()
	key := e.srv.URL + p
	require.NoError(t, writer.Set(context.Background(), key, good(key, func(*entry) {})))
	require.Equal(t, "evil", e.hit(p).body)

	t.Run("integrity", func(t *testing.T) {
		k := []byte("0123456789abcdef0123456789abcdef")
		ns2 := ns + "i"
		a := newEnv(t, srv, Options{Namespace: ns2, IntegrityKey: k})
		b := newEnv(t, srv, Options{Namespace: ns2, IntegrityKey: k})
		a.origin.set(a.fixed(200, "good", "Cache-Control", "max-age=3600"))
		b.origin.set(b.fixed(200, "good", "Cache-Control", "max-age=3600"))
		// b's server has another URL: share keys through a fixed Key.
		p := path()
		a.c.opts.Key = func(r *http.Request) string { return "k" + r.URL.Path }
		b.c.opts.Key = a.c.opts.Key
		a.miss(p)
		b.hit(p)
		// An entry without the MAC (written by someone without the key) is a miss.
		w2 := func() *cache.Cache[[]byte] {
			st, err := cache.NewStore(newClient(t, srv.Addr), cache.StoreOptions{Logger: quiet})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Close() })
			c, err := cache.New(st, ns2, cache.Options[[]byte]{Codec: codec.Bytes(), TTL: time.Hour})
			require.NoError(t, err)
			return c
		}()
		p2 := path()
		require.NoError(t, w2.Set(context.Background(), "k"+p2, good("k"+p2, func(*entry) {})))
		require.Equal(t, "good", b.miss(p2).body)
		// An authentic entry copied to another key is a miss.
		p3 := path()
		raw, err := b.rdb.Get(context.Background(), w2.RedisKey("k"+p)).Bytes()
		require.NoError(t, err)
		require.NoError(t, b.rdb.Set(context.Background(), w2.RedisKey("k"+p3), raw, time.Hour).Err())
		require.Equal(t, "good", b.miss(p3).body)
	})
}

// TestHostile_AbsoluteFormScheme: a request in absolute form naming https
// over plain HTTP is not stored under the http URL.
func TestHostile_AbsoluteFormScheme(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
		e.fixed(200, "scheme="+r.URL.Scheme, "Cache-Control", "max-age=3600")(n, w, r)
	})
	p := path()
	host := e.srv.Listener.Addr().String()
	conn, err := net.Dial("tcp", host)
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "GET https://%s%s HTTP/1.1\r\nHost: %s\r\n\r\n", host, p, host)
	require.NoError(t, err)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	require.Equal(t, "scheme=https", string(b))
	require.Equal(t, "scheme=", e.miss(p).body)
	require.Equal(t, "scheme=", e.hit(p).body)
}

// TestCookieRevalidationKeepsSharedEntry: a client with a cookie whose
// request revalidates a shared response (stored from a request without
// one) freshens it; it does not evict it.
func TestCookieRevalidationKeepsSharedEntry(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	e.validatingOrigin("shared", []string{"Cache-Control", "max-age=1", "ETag", `"s"`}, "Cache-Control", "max-age=600", "ETag", `"s"`)
	p := path()
	e.miss(p)
	e.clock.advance(2 * time.Second)
	r := e.miss(p, "Cookie", "sid=1")
	require.Equal(t, "shared", r.body)
	require.Contains(t, r.header.Get("Cache-Status"), "stored")
	e.hit(p)
}

// TestCutShortNotStored: a handler that stops early because its client
// left (its context ended) leaves a response that is not stored, even
// without a Content-Length to show it is short.
func TestCutShortNotStored(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	p := path()
	release := make(chan struct{})
	handlerCtx := make(chan context.Context, 1)
	e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "part1 ")
		w.(http.Flusher).Flush()
		handlerCtx <- r.Context()
		<-release
		if r.Context().Err() == nil {
			_, _ = io.WriteString(w, "part2")
		}
	})
	// The cache's handler on a server of this test's, which says when it
	// has returned (the exchange has finished, stored or not).
	served := make(chan struct{}, 1)
	h := e.c.Handler(e.origin)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		served <- struct{}{}
	}))
	defer srv.Close()
	// A range request on a cold URL is forwarded on its own (no flight to
	// detach it from its client).
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+p, nil)
	req.Header.Set("Range", "bytes=0-")
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	buf := make([]byte, 6)
	_, err = io.ReadFull(res.Body, buf)
	require.NoError(t, err)
	hctx := <-handlerCtx
	cancel()
	_ = res.Body.Close()
	<-hctx.Done()
	close(release)
	<-served
	require.Equal(t, uint64(0), e.c.Stats().Stored, "the response cut short was not stored")
}
