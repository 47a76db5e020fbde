package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// get sends a GET with header fields (name, value pairs) through srv and
// returns the response with its body read.
func get(t *testing.T, srv *httptest.Server, path string, fields ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i] == "Host" {
			req.Host = fields[i+1]
			continue
		}
		req.Header.Add(fields[i], fields[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// TestProxyLateSetCookie: a session cookie the upstream sends as a trailer
// is never handed to another client.
func TestProxyLateSetCookie(t *testing.T) {
	u := newUpstream(t)
	u.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Trailer", "Set-Cookie")
		w.WriteHeader(200)
		fmt.Fprint(w, "page")
		w.Header().Set("Set-Cookie", fmt.Sprintf("session=%d", u.n.Load()))
	})
	px := startProxy(t, u)
	res, _ := get(t, px, "/late")
	require.Equal(t, "session=1", res.Trailer.Get("Set-Cookie"), "the client that fetched it gets its cookie")
	res, _ = get(t, px, "/late")
	require.Empty(t, res.Header.Values("Set-Cookie"), "not the first client's session")
	require.Equal(t, "session=2", res.Trailer.Get("Set-Cookie"), "the next client got its own, from the upstream")
	require.EqualValues(t, 2, u.n.Load())
}

// TestProxyUnkeyedInputs: routing fields do not reach the upstream on
// cached requests, and a GET with content is not stored.
func TestProxyUnkeyedInputs(t *testing.T) {
	u := newUpstream(t)
	u.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprintf(w, "url=%q override=%q", r.Header.Get("X-Original-URL"), r.Header.Get("X-HTTP-Method-Override"))
	})
	px := startProxy(t, u)
	_, body := get(t, px, "/a", "X-Original-URL", "/admin", "X-HTTP-Method-Override", "DELETE")
	require.Equal(t, `url="" override=""`, body)
	_, body = get(t, px, "/a")
	require.Equal(t, `url="" override=""`, body)

	keyed := startProxy(t, u, "-routing", "key")
	_, body = get(t, keyed, "/b", "X-Original-URL", "/admin")
	require.Equal(t, `url="/admin" override=""`, body)
	_, body = get(t, keyed, "/b")
	require.Equal(t, `url="" override=""`, body)

	req, _ := http.NewRequest(http.MethodGet, px.URL+"/c", strings.NewReader("q=1"))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	before := u.n.Load()
	get(t, px, "/c")
	require.Equal(t, before+1, u.n.Load(), "the response to a GET with content was not stored")
}

// TestProxyAbsoluteForm: a request in absolute form for https over plain
// HTTP does not fill the http URL's entry.
func TestProxyAbsoluteForm(t *testing.T) {
	u := newUpstream(t)
	u.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		fmt.Fprintf(w, "n=%d", u.n.Load())
	})
	px := startProxy(t, u)
	addr := px.Listener.Addr().String()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "GET https://%s/abs HTTP/1.1\r\nHost: %s\r\n\r\n", addr, addr)
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	_, _ = io.ReadAll(res.Body)
	_, body := get(t, px, "/abs")
	require.Equal(t, "n=2", body)
}

// TestProxySlowClient: a client that does not read does not hold up the
// others waiting for the same response.
func TestProxySlowClient(t *testing.T) {
	u := newUpstream(t)
	const size = 24 << 20
	payload := strings.Repeat("x", size)
	arrived := make(chan struct{})
	var once sync.Once
	proceed := make(chan struct{})
	u.set(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived); <-proceed })
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Length", fmt.Sprint(size))
		_, _ = io.WriteString(w, payload)
	})
	c, err := parseFlags([]string{"-upstream", u.srv.URL, "-max-body", fmt.Sprint(64 << 20)}, io.Discard)
	require.NoError(t, err)
	p, err := newProxy(c, quiet)
	require.NoError(t, err)
	px := httptest.NewServer(p.handler)
	t.Cleanup(func() { px.Close(); p.close() })

	conn, err := net.Dial("tcp", px.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	<-arrived
	const waiters = 5
	done := make(chan int, waiters)
	for range waiters {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, px.URL+"/big", nil)
			req.Host = "x"
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				done <- -1
				return
			}
			b, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			done <- len(b)
		}()
	}
	// Let the upstream answer once the others missed too: they wait on the
	// slow client's fetch (or, joining as it ends, find its response stored).
	require.Eventually(t, func() bool { return p.cache.Stats().Misses >= 1+waiters }, 10*time.Second, time.Millisecond)
	close(proceed)
	for range waiters {
		select {
		case n := <-done:
			require.Equal(t, size, n)
		case <-time.After(20 * time.Second):
			t.Fatal("the others are held up by the client that does not read") // a hang guard
		}
	}
	require.EqualValues(t, 1, u.n.Load())
}

// TestProxyTimeouts: the server the proxy runs has header, body, write and
// idle timeouts, from the flags.
func TestProxyTimeouts(t *testing.T) {
	c, err := parseFlags([]string{"-upstream", "http://x", "-read-header-timeout", "3s", "-read-timeout", "4s", "-write-timeout", "5s", "-idle-timeout", "6s"}, io.Discard)
	require.NoError(t, err)
	srv := newServer(c, http.NotFoundHandler(), quiet)
	require.Equal(t, 3*time.Second, srv.ReadHeaderTimeout)
	require.Equal(t, 4*time.Second, srv.ReadTimeout)
	require.Equal(t, 5*time.Second, srv.WriteTimeout)
	require.Equal(t, 6*time.Second, srv.IdleTimeout)
	d, err := parseFlags([]string{"-upstream", "http://x"}, io.Discard)
	require.NoError(t, err)
	srv = newServer(d, http.NotFoundHandler(), quiet)
	for _, v := range []time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout} {
		require.Positive(t, v, "every timeout is on by default")
	}

	// A client that never finishes its header is cut off.
	u := newUpstream(t)
	c.upstream = mustURL(t, u.srv.URL)
	c.readHeaderTimeout = 50 * time.Millisecond
	p, err := newProxy(c, quiet)
	require.NoError(t, err)
	t.Cleanup(p.close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := newServer(c, p.handler, quiet)
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(func() { _ = s.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	fmt.Fprint(conn, "GET / HTTP/1.1\r\nHost: x\r\n") // and nothing more
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = io.ReadAll(conn)
	require.NoError(t, err, "the server closed the connection (not our read deadline)")
}

// TestProxyAdmin: the admin listener's health, readiness, metrics and
// purge endpoints; purge needs the bearer token.
func TestProxyAdmin(t *testing.T) {
	r := redistest.Start(t)
	u := newUpstream(t)
	u.set(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Surrogate-Key", "t1")
		fmt.Fprintf(w, "n=%d", u.n.Load())
	})
	t.Setenv("TIERCACHE_ADMIN_TOKEN", "s3cret")
	c, err := parseFlags([]string{"-upstream", u.srv.URL, "-redis", r.URL(), "-admin", "127.0.0.1:0", "-preserve-host=false"}, io.Discard)
	require.NoError(t, err)
	p, err := newProxy(c, quiet)
	require.NoError(t, err)
	px := httptest.NewServer(p.handler)
	adm := httptest.NewServer(p.admin)
	t.Cleanup(func() { px.Close(); adm.Close(); p.close() })

	res, body := get(t, adm, "/healthz")
	require.Equal(t, 200, res.StatusCode, body)
	require.NoError(t, p.store.WaitCoherent(context.Background()))
	res, body = get(t, adm, "/readyz")
	require.Equal(t, 200, res.StatusCode, body)

	_, body = get(t, px, "/x")
	require.Equal(t, "n=1", body)
	_, body = get(t, px, "/x")
	require.Equal(t, "n=1", body)
	res, body = get(t, adm, "/metrics")
	require.Equal(t, 200, res.StatusCode)
	require.Contains(t, body, "# TYPE tiercache_http_hits_total counter\ntiercache_http_hits_total{otel_scope_name=")
	require.Regexp(t, `(?m)^tiercache_http_hits_total\{[^}]*\} 1$`, body)
	require.Regexp(t, `(?m)^tiercache_coherent\{[^}]*\} 1$`, body)
	require.Regexp(t, `(?m)^tiercache_hits_total\{[^}]*tiercache_tier="local"[^}]*\} 1$`, body)

	purge := func(query, token string) int {
		req, _ := http.NewRequest(http.MethodPost, adm.URL+"/purge?"+query, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		return res.StatusCode
	}
	target := px.URL + "/x" // the key is the URL the client asked the proxy for
	require.Equal(t, 401, purge("url="+target, ""))
	require.Equal(t, 401, purge("url="+target, "wrong"))
	require.Equal(t, 400, purge("url=ftp://x", "s3cret"))
	require.Equal(t, 400, purge("", "s3cret"))
	require.Equal(t, 200, purge("url="+target, "s3cret"))
	_, body = get(t, px, "/x")
	require.Equal(t, "n=2", body, "purged by URL")
	require.Equal(t, 200, purge("tag=t1", "s3cret"))
	_, body = get(t, px, "/x")
	require.Equal(t, "n=3", body, "purged by tag")

	// Without a token, purge is refused.
	t.Setenv("TIERCACHE_ADMIN_TOKEN", "")
	c2, err := parseFlags([]string{"-upstream", u.srv.URL, "-admin", "127.0.0.1:0"}, io.Discard)
	require.NoError(t, err)
	p2, err := newProxy(c2, quiet)
	require.NoError(t, err)
	adm2 := httptest.NewServer(p2.admin)
	t.Cleanup(func() { adm2.Close(); p2.close() })
	req, _ := http.NewRequest(http.MethodPost, adm2.URL+"/purge?tag=t1", nil)
	req.Header.Set("Authorization", "Bearer ")
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	require.Equal(t, 401, res.StatusCode)

	// Off by default.
	c3, err := parseFlags([]string{"-upstream", u.srv.URL}, io.Discard)
	require.NoError(t, err)
	p3, err := newProxy(c3, quiet)
	require.NoError(t, err)
	t.Cleanup(p3.close)
	require.Nil(t, p3.admin)
}

// TestProxyReadyzNotCoherent: /readyz says 503 while the Store's
// invalidation connections are down.
func TestProxyReadyzNotCoherent(t *testing.T) {
	r := redistest.Start(t)
	u := newUpstream(t)
	c, err := parseFlags([]string{"-upstream", u.srv.URL, "-redis", r.URL(), "-admin", "127.0.0.1:0"}, io.Discard)
	require.NoError(t, err)
	p, err := newProxy(c, quiet)
	require.NoError(t, err)
	adm := httptest.NewServer(p.admin)
	t.Cleanup(func() { adm.Close(); p.close() })
	require.NoError(t, p.store.WaitCoherent(context.Background()))
	r.Kill()
	require.Eventually(t, func() bool {
		res, _ := get(t, adm, "/readyz")
		return res.StatusCode == http.StatusServiceUnavailable
	}, 20*time.Second, 5*time.Millisecond)
	r.Restart()
	require.NoError(t, p.store.WaitCoherent(context.Background()))
	res, _ := get(t, adm, "/readyz")
	require.Equal(t, 200, res.StatusCode)
}

// TestProxyRedisURLs: -redis takes a server, a Cluster and a Sentinel URL.
func TestProxyRedisURLs(t *testing.T) {
	for _, bad := range []string{"nope://x", "redis+ring://x:1", "redis+sentinel://127.0.0.1:1", "redis+cluster://x:1?bogus=1", "x"} {
		_, err := redisClient(bad)
		require.Error(t, err, bad)
	}
	cl := redistest.StartCluster(t)
	addrs := cl.Addrs()
	m := redistest.Start(t)
	sn := redistest.StartSentinel(t, m)
	for name, url := range map[string]string{
		"cluster":  "redis+cluster://" + addrs[0] + "?addr=" + addrs[1],
		"sentinel": "redis+sentinel://" + sn.Addr + "?master_name=" + sn.MasterName,
	} {
		t.Run(name, func(t *testing.T) {
			u := newUpstream(t)
			u.set(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				fmt.Fprint(w, "shared")
			})
			a := startProxy(t, u, "-redis", url, "-preserve-host=false")
			b := startProxy(t, u, "-redis", url, "-preserve-host=false")
			get(t, a, "/r", "Host", "site.example")
			require.Eventually(t, func() bool {
				res, _ := get(t, b, "/r", "Host", "site.example", "Cache-Control", "only-if-cached")
				return res.StatusCode == 200
			}, 10*time.Second, 5*time.Millisecond, "B serves what A stored, through %s", name)
			require.EqualValues(t, 1, u.n.Load())
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

// TestProxyUnknownTransferCoding: a response with a transfer coding Go's
// client does not know (the body lasts until the connection closes) is
// served and stored, not a 502, and its Transfer-Encoding is not stored.
func TestProxyUnknownTransferCoding(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	var mu sync.Mutex
	requests := 0
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				mu.Lock()
				requests++
				mu.Unlock()
				fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nTransfer-Encoding: x-foo\r\nCache-Control: max-age=3600\r\nContent-Type: text/plain\r\n\r\n")
				if req.Method != http.MethodHead {
					fmt.Fprint(conn, "raw body")
				}
			}()
		}
	}()
	u := &upstream{srv: &httptest.Server{URL: "http://" + ln.Addr().String()}}
	px := startProxy(t, u)
	res, body := get(t, px, "/te")
	require.Equal(t, 200, res.StatusCode)
	require.Equal(t, "raw body", body)
	res, body = get(t, px, "/te")
	require.Equal(t, "raw body", body)
	require.Contains(t, res.Header.Get("Cache-Status"), "hit")
	require.Empty(t, res.Header.Values("Transfer-Encoding"))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, requests, "sent once, read once")
}
