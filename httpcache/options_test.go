package httpcache

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
)

func TestNewRejectsBadOptions(t *testing.T) {
	store, err := cache.NewStore(nil, cache.StoreOptions{Logger: quiet})
	require.NoError(t, err)
	defer store.Close()
	_, err = New(nil, Options{})
	require.ErrorIs(t, err, ErrInvalidOptions)
	for _, o := range []Options{
		{MaxBodySize: -1}, {MaxTTL: -time.Second}, {MaxTTL: time.Millisecond}, {StaleIfError: -1},
		{SetCookie: 7}, {Name: "two words"}, {CDNCacheControl: " , "}, {Namespace: "bad:ns"},
		{RequestCookie: 3}, {RequestCookie: -1}, {Routing: 2}, {IntegrityKey: []byte("short")},
		{RoutingFields: []string{"bad field"}},
	} {
		_, err := New(store, o)
		require.ErrorIs(t, err, ErrInvalidOptions, "%+v", o)
	}
}

// TestHooks: Key decides what is shared and what is not cached at all;
// Storable vetoes storing.
func TestHooks(t *testing.T) {
	srv := redistest.Start(t)
	t.Run("Key", func(t *testing.T) {
		e := newEnv(t, srv, Options{Key: func(r *http.Request) string {
			if strings.HasPrefix(r.URL.Path, "/private") {
				return "" // never cached
			}
			return r.Host + r.URL.Path // the query is not part of the key
		}})
		e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=60"))
		p := path()
		e.miss(p + "?a=1")
		e.hit(p + "?a=2")
		e.miss("/private" + p)
		r := e.miss("/private" + p)
		require.Contains(t, r.header.Get("Cache-Status"), "fwd=bypass")
	})
	t.Run("Storable", func(t *testing.T) {
		e := newEnv(t, srv, Options{Storable: func(r *http.Request, status int, h http.Header) bool {
			return h.Get("X-Personal") == ""
		}})
		e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=60", "X-Personal", "yes"))
		p := path()
		e.miss(p)
		require.Contains(t, e.miss(p).header.Get("Cache-Status"), "detail=storable-hook")
	})
	t.Run("CompressAbove", func(t *testing.T) {
		e := newEnv(t, srv, Options{CompressAbove: 512, LocalTTL: -1})
		big := strings.Repeat("compressible ", 1000)
		e.origin.set(e.fixed(200, big, "Cache-Control", "max-age=60"))
		p := path()
		e.miss(p)
		require.Equal(t, big, e.hit(p).body, "read back from Redis and inflated")
		n, err := e.rdb.StrLen(t.Context(), e.c.store.RedisKey(e.srv.URL+p)).Result()
		require.NoError(t, err)
		require.Less(t, n, int64(len(big)/4), "stored compressed")
	})
}
