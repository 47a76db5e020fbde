package httpcache

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestCoalescing: concurrent requests for one key make one request to the
// handler; when its response turns out not to be stored, the others are
// released at once to forward on their own.
func TestCoalescing(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	const n = 8

	t.Run("one request to the handler", func(t *testing.T) {
		e.t = t
		release := make(chan struct{})
		e.origin.set(func(i int, w http.ResponseWriter, r *http.Request) {
			<-release
			e.fixed(200, "shared", "Cache-Control", "max-age=60")(i, w, r)
		})
		p := path()
		var wg sync.WaitGroup
		results := make([]resp, n)
		for i := range n {
			wg.Go(func() { results[i] = e.get(p) })
		}
		require.Eventually(t, func() bool { return e.origin.count() == 1 && e.waiting(p) == n-1 }, waitFor, tick)
		close(release)
		wg.Wait()
		require.Equal(t, 1, e.origin.count())
		collapsed := 0
		for _, r := range results {
			require.Equal(t, "shared", r.body)
			if strings.Contains(r.header.Get("Cache-Status"), "collapsed") {
				collapsed++
			}
		}
		require.Equal(t, n-1, collapsed)
		require.Equal(t, uint64(n-1), e.c.Stats().Coalesced)
	})
	t.Run("released when not stored", func(t *testing.T) {
		e.t = t
		release := make(chan struct{})
		e.origin.set(func(i int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			_, _ = io.WriteString(w, "part 1;")
			w.(http.Flusher).Flush()
			if i == 1 {
				<-release // the leader's response is still streaming
			}
			_, _ = io.WriteString(w, "part 2")
		})
		p := path()
		first := make(chan resp)
		go func() { first <- e.get(p) }()
		require.Eventually(t, func() bool { return e.origin.count() == 1 }, waitFor, tick)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { require.Equal(t, "part 1;part 2", e.get(p).body) })
		}
		wg.Wait() // they did not wait for the leader
		require.Equal(t, 4, e.origin.count())
		close(release)
		require.Equal(t, "part 1;part 2", (<-first).body)
	})
	t.Run("a waiter whose client leaves", func(t *testing.T) {
		e.t = t
		release := make(chan struct{})
		e.origin.set(func(i int, w http.ResponseWriter, r *http.Request) {
			<-release
			e.fixed(200, "late", "Cache-Control", "max-age=60")(i, w, r)
		})
		p := path()
		leader := make(chan resp)
		go func() { leader <- e.get(p) }()
		require.Eventually(t, func() bool { return e.origin.count() == 1 }, waitFor, tick)
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+p, nil)
		errc := make(chan error)
		go func() {
			res, err := e.client.Do(req)
			if err == nil {
				res.Body.Close()
			}
			errc <- err
		}()
		require.Eventually(t, func() bool { return e.waiting(p) == 1 }, waitFor, tick)
		cancel()
		require.Error(t, <-errc)
		require.Eventually(t, func() bool { return e.waiting(p) == 0 }, waitFor, tick)
		close(release)
		require.Equal(t, "late", (<-leader).body)
	})
}

// TestStreaming: responses stream through as the handler writes them:
// flushes reach the client at once (server-sent events), the
// ResponseController works, 1xx interim responses pass through, and
// trailers arrive.
func TestStreaming(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	for _, cc := range []string{"no-cache", "max-age=60"} { // not stored, and stored
		t.Run("server-sent events "+cc, func(t *testing.T) {
			next := make(chan struct{})
			e.origin.set(func(i int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				w.Header().Set("Cache-Control", cc)
				rc := http.NewResponseController(w)
				assert.NoError(t, rc.SetWriteDeadline(time.Now().Add(time.Minute)), "deadlines reach the connection through Unwrap")
				for ev := range 3 {
					fmt.Fprintf(w, "data: %d\n\n", ev)
					assert.NoError(t, rc.Flush())
					<-next // the client read the event before the next one is written
				}
			})
			res, err := e.client.Get(e.srv.URL + path())
			require.NoError(t, err)
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			for ev := range 3 {
				line, err := br.ReadString('\n')
				require.NoError(t, err)
				require.Equal(t, fmt.Sprintf("data: %d\n", ev), line)
				_, _ = br.ReadString('\n')
				next <- struct{}{}
			}
		})
	}
	t.Run("103 Early Hints pass through", func(t *testing.T) {
		e.origin.set(func(i int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			e.fixed(200, "final", "Cache-Control", "max-age=60")(i, w, r)
		})
		var mu sync.Mutex
		var got []string
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			mu.Lock()
			got = append(got, fmt.Sprint(code, " ", h.Get("Link")))
			mu.Unlock()
			return nil
		}}
		p := path()
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, e.srv.URL+p, nil)
		res, err := e.client.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, "final", string(b))
		require.Empty(t, res.Header.Get("Link"), "the interim fields stay on the interim response")
		mu.Lock()
		require.Equal(t, []string{"103 </style.css>; rel=preload; as=style"}, got)
		mu.Unlock()
		e.t = t
		require.Equal(t, "final", e.hit(p).body, "the final response was stored")
	})
	t.Run("trailers", func(t *testing.T) {
		e.origin.set(func(i int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "X-Checksum")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = io.WriteString(w, "data")
			w.Header().Set("X-Checksum", "abc")
		})
		res, err := e.client.Get(e.srv.URL + path())
		require.NoError(t, err)
		_, _ = io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, "abc", res.Trailer.Get("X-Checksum"))
	})
}
