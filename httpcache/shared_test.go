package httpcache

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestSharedAcrossProcesses: two Stores on two clients of one Redis (two
// processes): a response stored by one is served by the other, and purges
// and invalidations in one reach the local tier of the other.
func TestSharedAcrossProcesses(t *testing.T) {
	srv := redistest.Start(t)
	cluster := redistest.StartCluster(t)
	backends := []struct {
		name   string
		client func(t *testing.T) redis.UniversalClient
	}{
		{"single", func(t *testing.T) redis.UniversalClient { return newClient(t, srv.Addr) }},
		{"cluster", func(t *testing.T) redis.UniversalClient {
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
			t.Cleanup(func() { _ = c.Close() })
			return c
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ns := fmt.Sprintf("shared%d", nsSeq.Add(1))
			a := newEnvOn(t, b.client(t), Options{Namespace: ns})
			o := newEnvOn(t, b.client(t), Options{Namespace: ns})
			testShared(t, a, o)
		})
	}
}

// served reports whether a GET through e was answered by its cache.
func served(e *env, p string, fields ...string) bool {
	return strings.Contains(e.get(p, fields...).header.Get("Cache-Status"), "hit")
}

func testShared(t *testing.T, a, b *env) {
	ctx := context.Background()
	for _, e := range []*env{a, b} {
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			e.fixed(200, "v"+fmt.Sprint(n)+" "+r.Header.Get("Foo"), "Cache-Control", "max-age=3600", "Vary", "Foo", "Surrogate-Key", "all "+r.URL.Path)(n, w, r)
		})
	}
	// The servers differ, so the Host does: give both the same one.
	host := []string{"Host", "shared.example"}
	p := path()
	url := "http://shared.example" + p

	t.Run("stored by one, served by the other", func(t *testing.T) {
		a.t, b.t = t, t
		a.miss(p, append(host, "Foo", "1")...)
		a.miss(p, append(host, "Foo", "2")...)
		require.Equal(t, "v1 1", b.hit(p, append(host, "Foo", "1")...).body)
		require.Equal(t, "v2 2", b.hit(p, append(host, "Foo", "2")...).body)
		require.Zero(t, b.origin.count())
	})
	t.Run("PurgeURL in one reaches the other's local tier", func(t *testing.T) {
		a.t, b.t = t, t
		require.NoError(t, a.c.PurgeURL(ctx, url))
		require.Eventually(t, func() bool { return !served(b, p, append(host, "Foo", "1")...) }, waitFor, tick)
		require.Eventually(t, func() bool { return !served(b, p, append(host, "Foo", "2")...) }, waitFor, tick)
	})
	t.Run("PurgeTag in one reaches the other", func(t *testing.T) {
		a.t, b.t = t, t
		p1, p2, p3 := path(), path(), path()
		for _, q := range []string{p1, p2, p3} {
			b.get(q, host...)
			require.True(t, served(a, q, host...), "a reads what b stored")
		}
		require.NoError(t, b.c.PurgeTag(ctx, p2))
		require.Eventually(t, func() bool { return !served(a, p2, host...) }, waitFor, tick)
		require.True(t, served(a, p1, host...), "other tags stay")
		require.NoError(t, a.c.PurgeTag(ctx, "all"))
		for _, q := range []string{p1, p3} {
			require.Eventually(t, func() bool { return !served(b, q, host...) }, waitFor, tick)
		}
	})
	t.Run("an unsafe method in one invalidates in the other", func(t *testing.T) {
		a.t, b.t = t, t
		q := path()
		a.get(q, host...)
		require.True(t, served(b, q, host...))
		b.do(http.MethodPost, q, host...)
		require.Eventually(t, func() bool { return !served(a, q, host...) }, waitFor, tick)
	})
}

// TestPurgeLocalOnly: without Redis, purges work on the process's own
// responses, and bad input is refused.
func TestPurgeLocalOnly(t *testing.T) {
	e := newEnvOn(t, nil, Options{})
	ctx := context.Background()
	e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=60", "Surrogate-Key", "red blue"))
	p1, p2 := path(), path()
	e.miss(p1)
	e.miss(p2)
	require.NoError(t, e.c.PurgeURL(ctx, e.srv.URL+p1))
	e.miss(p1)
	e.hit(p2)
	require.NoError(t, e.c.PurgeTag(ctx, "blue"))
	e.miss(p1)
	e.miss(p2)
	require.NoError(t, e.c.PurgeTag(ctx, "never-used"))
	require.ErrorIs(t, e.c.PurgeTag(ctx, ""), ErrEmptyTag)
	for _, bad := range []string{"", "/relative", "ftp://x/y", "http://", "://"} {
		require.ErrorIs(t, e.c.PurgeURL(ctx, bad), ErrInvalidURL, bad)
	}
}

// TestPurgeAfterResponse: a client has its response in full only once the
// response is stored and indexed by its tags, so a purge the client sends
// next removes it, however slow the Store's write. The Store's write is
// held until the client has been given the time to read its response.
func TestPurgeAfterResponse(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		name, body string
		fields     []string
	}{
		{"declared length", "body", []string{"Content-Length", "4"}},
		{"declared length 0", "", []string{"Content-Length", "0"}},
		{"unknown length", "body", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, srv, Options{})
			ctx := context.Background()
			e.origin.set(e.fixed(200, tc.body, append([]string{"Cache-Control", "max-age=60", "Surrogate-Key", "t"}, tc.fields...)...))
			entered, release := make(chan struct{}), make(chan struct{})
			var once, released sync.Once
			free := func() { released.Do(func() { close(release) }) }
			defer free() // a failed check must not leave the handler held
			e.c.beforeSave = func() {
				once.Do(func() { close(entered); <-release })
			}
			p := path()
			got := make(chan string, 1)
			go func() {
				res, err := e.client.Get(e.srv.URL + p)
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				b, err := io.ReadAll(res.Body)
				_ = res.Body.Close()
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				got <- string(b)
			}()
			<-entered
			select {
			case b := <-got:
				t.Fatalf("the client had its whole response %q before it was stored", b)
			case <-time.After(200 * time.Millisecond): // the absence of an event has no signal
			}
			free()
			require.Equal(t, tc.body, <-got)
			require.NoError(t, e.c.PurgeTag(ctx, "t"))
			e.miss(p)
			require.NoError(t, e.c.PurgeURL(ctx, e.srv.URL+p))
			e.miss(p)
		})
	}
}
