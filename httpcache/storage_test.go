package httpcache

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// storeCase is a first GET (fields req1) answered by the origin with status
// and fields, then a plain GET: answered by the cache (stored) or not.
type storeCase struct {
	name   string
	status int
	req1   []string
	fields []string
	stored bool
	check  func(t *testing.T, second resp)
}

func runStore(t *testing.T, e *env, cases []storeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.clock.reset()
			status := tc.status
			if status == 0 {
				status = http.StatusOK
			}
			e.origin.set(e.fixed(status, "body", tc.fields...))
			p := path()
			e.miss(p, tc.req1...)
			var second resp
			if tc.stored {
				second = e.hit(p)
				require.Equal(t, status, second.status)
			} else {
				second = e.miss(p)
			}
			if tc.check != nil {
				tc.check(t, second)
			}
		})
	}
}

// TestRFC9111_3_Storing: which responses a shared cache may store.
func TestRFC9111_3_Storing(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	runStore(t, e, []storeCase{
		{name: "explicit freshness", fields: []string{"Cache-Control", "max-age=60"}, stored: true},
		{name: "no-store", fields: []string{"Cache-Control", "no-store, max-age=60"}},
		{name: "no-store case-insensitive", fields: []string{"Cache-Control", "No-StOrE, max-age=60"}},
		{name: "must-understand overrides no-store for an understood status", fields: []string{"Cache-Control", "no-store, must-understand, max-age=60"}, stored: true},
		{name: "must-understand with a status not understood", status: 299, fields: []string{"Cache-Control", "must-understand, max-age=60"}},
		{name: "unknown status with explicit freshness", status: 299, fields: []string{"Cache-Control", "max-age=60"}, stored: true},
		{name: "500 with explicit freshness", status: 500, fields: []string{"Cache-Control", "max-age=60"}, stored: true},
		{name: "201 with explicit freshness", status: 201, fields: []string{"Cache-Control", "max-age=60"}, stored: true},
		{name: "206 is not stored", status: 206, fields: []string{"Cache-Control", "max-age=60", "Content-Range", "bytes 0-3/10"}},
		{name: "private", fields: []string{"Cache-Control", "private, max-age=60"}},
		{name: "request no-store", req1: []string{"Cache-Control", "no-store"}, fields: []string{"Cache-Control", "max-age=60"}},
		{name: "Vary star", fields: []string{"Cache-Control", "max-age=60", "Vary", "*"}},
		{name: "Vary star among names", fields: []string{"Cache-Control", "max-age=60", "Vary", "Accept, *"}},
		{name: "nothing to go by", fields: nil},
		{name: "stale on arrival without validator", fields: []string{"Cache-Control", "max-age=0"}},
		{name: "no-cache without validator", fields: []string{"Cache-Control", "no-cache, max-age=60"}},
		{name: "validator only, revalidated on use", fields: []string{"ETag", `"v1"`}},
		{name: "public without freshness uses the heuristic", fields: []string{"Cache-Control", "public", "Last-Modified", "Sat, 22 Dec 2029 03:04:05 GMT"}, stored: true},
	})
}

// TestRFC9111_3_1_StoredFields: hop-by-hop fields, the fields Connection
// names, and the fields named by qualified no-cache and private are not
// stored; the rest is, unrecognized fields included.
func TestRFC9111_3_1_StoredFields(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	missing := func(names ...string) func(*testing.T, resp) {
		return func(t *testing.T, r resp) {
			for _, n := range names {
				require.Empty(t, r.header.Values(n), "field %s must not be stored", n)
			}
		}
	}
	runStore(t, e, []storeCase{
		{name: "unrecognized fields kept", fields: []string{"Cache-Control", "max-age=60", "X-Test-Header", "abc", "Content-Type", "text/plain"}, stored: true,
			check: func(t *testing.T, r resp) {
				require.Equal(t, "abc", r.header.Get("X-Test-Header"))
				require.Equal(t, "text/plain", r.header.Get("Content-Type"))
			}},
		{name: "Connection and the fields it names", fields: []string{"Cache-Control", "max-age=60", "Connection", "a, b", "A", "1", "B", "2", "C", "3"}, stored: true,
			check: func(t *testing.T, r resp) {
				missing("A", "B")(t, r)
				require.Equal(t, "3", r.header.Get("C"))
			}},
		{name: "proxy fields", fields: []string{"Cache-Control", "max-age=60", "Proxy-Authenticate", "Basic", "Keep-Alive", "timeout=5"}, stored: true,
			check: missing("Proxy-Authenticate", "Keep-Alive")},
		{name: "qualified no-cache fields dropped", fields: []string{"Cache-Control", `no-cache="a, b"`, "Cache-Control", "max-age=60", "A", "1", "B", "2", "C", "3"}, stored: true,
			check: func(t *testing.T, r resp) {
				missing("A", "B")(t, r)
				require.Equal(t, "3", r.header.Get("C"))
			}},
		{name: "qualified private fields dropped", fields: []string{"Cache-Control", `private="X-Secret", max-age=60`, "X-Secret", "s", "X-Public", "p"}, stored: true,
			check: func(t *testing.T, r resp) {
				missing("X-Secret")(t, r)
				require.Equal(t, "p", r.header.Get("X-Public"))
			}},
	})
}

// TestRFC9111_3_3_Incomplete: responses cut short are not stored; large
// ones stream through whole and are not stored.
func TestRFC9111_3_3_Incomplete(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{MaxBodySize: 1024})
	get := func(t *testing.T, p string) (int, error) {
		res, err := e.client.Get(e.srv.URL + p)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		return len(b), err
	}

	t.Run("short of Content-Length", func(t *testing.T) {
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Content-Length", "10")
			_, _ = io.WriteString(w, "12345")
		})
		p := path()
		_, err := get(t, p)
		require.Error(t, err, "the client sees a truncated body")
		_, _ = get(t, p)
		require.Equal(t, 2, e.origin.count(), "the truncated response was not stored")
	})
	t.Run("handler panics mid-body", func(t *testing.T) {
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		})
		p := path()
		_, err := get(t, p)
		require.Error(t, err)
		_, _ = get(t, p)
		require.Equal(t, 2, e.origin.count(), "the aborted response was not stored")
	})
	t.Run("over MaxBodySize streams whole and is not stored", func(t *testing.T) {
		big := strings.Repeat("x", 5000)
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			for i := 0; i < 5; i++ {
				_, _ = io.WriteString(w, big[:1000])
			}
		})
		p := path()
		n, err := get(t, p)
		require.NoError(t, err)
		require.Equal(t, 5000, n)
		n, err = get(t, p)
		require.NoError(t, err)
		require.Equal(t, 5000, n)
		require.Equal(t, 2, e.origin.count())
		require.Positive(t, e.c.Stats().NotStoredBig)
	})
	t.Run("declared over MaxBodySize", func(t *testing.T) {
		e.origin.set(e.fixed(200, strings.Repeat("y", 2000), "Cache-Control", "max-age=60"))
		p := path()
		e.miss(p)
		e.miss(p)
	})
}

// TestRFC9111_3_5_Authorization: a response to a request with
// Authorization is stored only with public, must-revalidate or s-maxage,
// and only such responses answer requests with Authorization.
func TestRFC9111_3_5_Authorization(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	auth := []string{"Authorization", "Bearer secret"}
	runStore(t, e, []storeCase{
		{name: "max-age alone", req1: auth, fields: []string{"Cache-Control", "max-age=60"}},
		{name: "Expires alone", req1: auth, fields: []string{"Expires", "Wed, 02 Jan 2030 04:04:05 GMT"}},
		{name: "public", req1: auth, fields: []string{"Cache-Control", "public, max-age=60"}, stored: true},
		{name: "must-revalidate", req1: auth, fields: []string{"Cache-Control", "max-age=60, must-revalidate"}, stored: true},
		{name: "s-maxage", req1: auth, fields: []string{"Cache-Control", "s-maxage=60"}, stored: true},
	})

	t.Run("a shared response answers an authorized request", func(t *testing.T) {
		e.t = t
		e.origin.set(e.fixed(200, "b", "Cache-Control", "public, max-age=60"))
		p := path()
		e.miss(p)
		e.hit(p, auth...)
	})
	t.Run("an unshared response does not answer an authorized request", func(t *testing.T) {
		e.t = t
		e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=60"))
		p := path()
		e.miss(p)
		e.hit(p)
		r := e.miss(p, auth...)
		require.Equal(t, "Bearer secret", e.origin.lastHeader().Get("Authorization"), "the request went to the origin with its credentials")
		require.Contains(t, r.header.Get("Cache-Status"), "fwd=miss")
	})
}
