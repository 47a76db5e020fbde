package httpcache

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
)

// clock is a settable clock shared by the cache and the origin, so that
// tests move time instead of sleeping.
type clock struct{ ns atomic.Int64 }

// clockBase is where every clock starts: Wed, 02 Jan 2030 03:04:05 GMT.
var clockBase = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newClock() *clock {
	c := &clock{}
	c.reset()
	return c
}

// reset sets the clock back to clockBase, so that a table's dates, built
// once, hold for each case (each case uses its own URL).
func (c *clock) reset() { c.ns.Store(clockBase.UnixNano()) }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) date(offset time.Duration) string {
	return c.now().Add(offset).UTC().Format(http.TimeFormat)
}

// origin is a scripted handler standing behind the cache. It counts the
// requests that reach it and keeps the last one's header.
type origin struct {
	mu    sync.Mutex
	fn    func(n int, w http.ResponseWriter, r *http.Request)
	n     atomic.Int64
	last  http.Header
	lastM string
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(o.n.Add(1))
	o.mu.Lock()
	o.last, o.lastM = r.Header.Clone(), r.Method
	fn := o.fn
	o.mu.Unlock()
	fn(n, w, r)
}

// set replaces the script and resets the count.
func (o *origin) set(fn func(n int, w http.ResponseWriter, r *http.Request)) {
	o.mu.Lock()
	o.fn = fn
	o.mu.Unlock()
	o.n.Store(0)
}

func (o *origin) count() int { return int(o.n.Load()) }

func (o *origin) lastMethod() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastM
}

func (o *origin) lastHeader() http.Header {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// env is a Cache on a Store backed by a real redis-server, in front of a
// scripted origin, behind a real httptest.Server.
type env struct {
	t      testing.TB
	rdb    redis.UniversalClient
	store  *cache.Store
	c      *Cache
	clock  *clock
	origin *origin
	srv    *httptest.Server
	client *http.Client
}

var nsSeq atomic.Int64

// quiet drops the Store's and the Cache's log lines.
var quiet = slog.New(slog.DiscardHandler)

// newEnv builds an env on srv with a namespace no other env uses.
func newEnv(t testing.TB, srv *redistest.Server, opts Options) *env {
	t.Helper()
	return newEnvOn(t, newClient(t, srv.Addr), opts)
}

// newClient returns a client of the server at addr, closed in t.Cleanup.
func newClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newEnvOn builds an env on rdb; nil makes a local-only Store.
func newEnvOn(t testing.TB, rdb redis.UniversalClient, opts Options) *env {
	t.Helper()
	store, err := cache.NewStore(rdb, cache.StoreOptions{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	if opts.Namespace == "" {
		opts.Namespace = fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e9, nsSeq.Add(1))
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.Redis == nil && rdb != nil {
		opts.Redis = rdb
	}
	c, err := New(store, opts)
	require.NoError(t, err)
	e := &env{t: t, rdb: rdb, store: store, c: c, clock: newClock(), origin: &origin{}}
	c.now = e.clock.now
	e.origin.set(e.fixed(200, "body"))
	e.srv = httptest.NewServer(c.Handler(e.origin))
	t.Cleanup(func() {
		e.srv.Close()
		_ = c.Close()
	})
	e.client = e.srv.Client()
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return e
}

// fixed returns a script answering status and body with the given header
// fields (name, value pairs), a Date of now unless one is given, and the
// request number in X-N.
func (e *env) fixed(status int, body string, fields ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Date", e.clock.date(0))
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i] == "Date" {
				h.Del("Date")
			}
		}
		for i := 0; i+1 < len(fields); i += 2 {
			h.Add(fields[i], fields[i+1])
		}
		h.Set("X-N", fmt.Sprint(n))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// resp is a response as the client saw it.
type resp struct {
	status int
	header http.Header
	body   string
}

// do sends a request with header fields (name, value pairs) to path.
func (e *env) do(method, path string, fields ...string) resp {
	e.t.Helper()
	var body io.Reader
	if method != http.MethodGet && method != http.MethodHead {
		body = strings.NewReader("request body")
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	require.NoError(e.t, err)
	for i := 0; i+1 < len(fields); i += 2 {
		if strings.EqualFold(fields[i], "Host") {
			req.Host = fields[i+1]
			continue
		}
		req.Header.Add(fields[i], fields[i+1])
	}
	res, err := e.client.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (e *env) get(path string, fields ...string) resp {
	e.t.Helper()
	return e.do(http.MethodGet, path, fields...)
}

// hit asserts that a GET was answered by the cache (the origin saw
// nothing) and returns it.
func (e *env) hit(path string, fields ...string) resp {
	e.t.Helper()
	before := e.origin.count()
	r := e.get(path, fields...)
	require.Equal(e.t, before, e.origin.count(), "GET %s %v: want a cache hit, the origin was asked (Cache-Status %q)", path, fields, r.header.Get("Cache-Status"))
	return r
}

// miss asserts that a GET reached the origin and returns it.
func (e *env) miss(path string, fields ...string) resp {
	e.t.Helper()
	before := e.origin.count()
	r := e.get(path, fields...)
	require.Equal(e.t, before+1, e.origin.count(), "GET %s %v: want the origin asked once (Cache-Status %q)", path, fields, r.header.Get("Cache-Status"))
	return r
}

// waitFor and tick bound require.Eventually: a hang guard, not a speed goal.
const (
	waitFor = 10 * time.Second
	tick    = 2 * time.Millisecond
)

// waiting returns how many requests for path wait on another's fetch.
func (e *env) waiting(path string) int { return e.c.flights.waiting(e.srv.URL + path) }

// flying reports whether a fetch or revalidation for path is in flight.
func (e *env) flying(path string) bool {
	g := &e.c.flights
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.m[e.srv.URL+path]
	return ok
}

var pathSeq atomic.Int64

// path returns a URL path no other test uses.
func path() string { return fmt.Sprintf("/p%d", pathSeq.Add(1)) }
