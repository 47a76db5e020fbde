package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

var quiet = slog.New(slog.DiscardHandler)

// upstream is an origin whose behaviour a test sets; it counts requests.
type upstream struct {
	srv *httptest.Server
	n   atomic.Int64
	fn  atomic.Value // http.HandlerFunc
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{}
	u.set(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "hello") })
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.n.Add(1)
		u.fn.Load().(http.HandlerFunc)(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) set(fn http.HandlerFunc) { u.fn.Store(fn) }

// startProxy serves the proxy's handler for the upstream on a test server.
func startProxy(t *testing.T, u *upstream, extra ...string) *httptest.Server {
	t.Helper()
	c, err := parseFlags(append([]string{"-upstream", u.srv.URL}, extra...), io.Discard)
	require.NoError(t, err)
	p, err := newProxy(c, quiet)
	require.NoError(t, err)
	srv := httptest.NewServer(p.handler)
	t.Cleanup(func() {
		srv.Close()
		p.close()
	})
	return srv
}

func fetch(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, res.Header, string(b)
}

func TestProxyCaches(t *testing.T) {
	u := newUpstream(t)
	px := startProxy(t, u)

	u.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "cached ", r.Host)
	})
	_, _, body := fetch(t, px.URL+"/a")
	_, h, body2 := fetch(t, px.URL+"/a")
	require.Equal(t, body, body2)
	require.Equal(t, "cached "+strings.TrimPrefix(px.URL, "http://"), body, "the upstream sees the client's Host")
	require.Contains(t, h.Get("Cache-Status"), "hit")
	require.EqualValues(t, 1, u.n.Load())

	t.Run("no default TTL", func(t *testing.T) {
		u.set(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "plain") })
		before := u.n.Load()
		fetch(t, px.URL+"/plain")
		fetch(t, px.URL+"/plain")
		require.Equal(t, before+2, u.n.Load(), "a response without freshness or validator is not stored")
	})
	t.Run("Surrogate-Control is obeyed", func(t *testing.T) {
		u.set(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Surrogate-Control", "no-store")
		})
		before := u.n.Load()
		fetch(t, px.URL+"/sc")
		fetch(t, px.URL+"/sc")
		require.Equal(t, before+2, u.n.Load())
	})
}

func TestProxyInterimResponses(t *testing.T) {
	u := newUpstream(t)
	px := startProxy(t, u)
	u.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "final")
	})
	var mu sync.Mutex
	var got []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		mu.Lock()
		defer mu.Unlock()
		if h.Get("Link") != "" {
			got = append(got, code)
		}
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, px.URL+"/hints", nil)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, "final", string(b))
	mu.Lock()
	require.Equal(t, []int{http.StatusEarlyHints}, got)
	mu.Unlock()
	_, h, body := fetch(t, px.URL+"/hints")
	require.Equal(t, "final", body)
	require.Contains(t, h.Get("Cache-Status"), "hit", "the final response was stored")
}

// TestProxyUpstreamDrops: an upstream that drops connections gets a 502
// (or, for a stored response, the stale copy), and the proxy recovers with
// it.
func TestProxyUpstreamDrops(t *testing.T) {
	u := newUpstream(t)
	px := startProxy(t, u, "-stale-if-error", "0")
	var dropping atomic.Bool
	u.set(func(w http.ResponseWriter, r *http.Request) {
		if dropping.Load() {
			conn, _, err := http.NewResponseController(w).Hijack()
			if assert.NoError(t, err) {
				_ = conn.Close()
			}
			return
		}
		fmt.Fprint(w, "up")
	})
	status, _, _ := fetch(t, px.URL+"/x")
	require.Equal(t, http.StatusOK, status)
	dropping.Store(true)
	for range 3 {
		status, _, _ = fetch(t, px.URL+"/x")
		require.Equal(t, http.StatusBadGateway, status)
	}
	dropping.Store(false)
	status, _, body := fetch(t, px.URL+"/x")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "up", body)

	t.Run("stale within -stale-if-error", func(t *testing.T) {
		px := startProxy(t, u) // default -stale-if-error 1h
		u.set(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1")
			w.Header().Set("Date", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)) // stale on arrival, by its Date
			w.Header().Set("ETag", `"v"`)
			if dropping.Load() {
				conn, _, _ := http.NewResponseController(w).Hijack()
				_ = conn.Close()
				return
			}
			fmt.Fprint(w, "good")
		})
		fetch(t, px.URL+"/s")
		dropping.Store(true)
		defer dropping.Store(false)
		status, h, body := fetch(t, px.URL+"/s")
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "good", body)
		require.Contains(t, h.Get("Cache-Status"), "detail=stale-if-error")
	})
}

// TestProxySharedRedis: two proxies on one Redis share what either stored.
func TestProxySharedRedis(t *testing.T) {
	r := redistest.Start(t)
	u := newUpstream(t)
	u.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "shared")
	})
	a := startProxy(t, u, "-redis", r.URL(), "-preserve-host=false")
	b := startProxy(t, u, "-redis", r.URL(), "-preserve-host=false")
	req := func(srv *httptest.Server) http.Header {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/shared", nil)
		req.Host = "site.example" // the same site behind both proxies
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.ReadAll(res.Body)
		res.Body.Close()
		return res.Header
	}
	req(a)
	// A stores the response after sending it: wait for the entry to reach
	// Redis before asking B.
	rdb := r.Client(t)
	require.Eventually(t, func() bool { return rdb.DBSize(context.Background()).Val() > 0 },
		10*time.Second, time.Millisecond, "proxy A never stored the response")
	require.Contains(t, req(b).Get("Cache-Status"), "hit")
	require.EqualValues(t, 1, u.n.Load())
}

func TestParseFlags(t *testing.T) {
	for _, bad := range [][]string{
		{},
		{"-upstream", "ftp://x"},
		{"-upstream", "http://x", "-set-cookie", "eat"},
		{"-upstream", "http://x", "extra"},
	} {
		_, err := parseFlags(bad, io.Discard)
		require.Error(t, err, "%q", bad)
	}
	_, err := newProxy(config{redisURL: "nope://"}, quiet)
	require.Error(t, err)
}

// TestBinary builds the command, runs it against an upstream, and stops it
// with SIGTERM.
func TestBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "tiercache-proxy")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	require.NoError(t, build.Run())

	u := newUpstream(t)
	u.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "from the binary")
	})
	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-upstream", u.srv.URL)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The log line names the address it listens on.
	addrc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`listening\S* addr=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				addrc <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy did not say where it listens")
	}
	for range 2 {
		status, _, body := fetch(t, "http://"+addr+"/bin")
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, "from the binary", body)
	}
	require.EqualValues(t, 1, u.n.Load())

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "a graceful shutdown exits 0")
	case <-time.After(30 * time.Second):
		t.Fatal("the proxy did not stop on SIGTERM")
	}
}
