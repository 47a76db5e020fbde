package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// validatingOrigin answers 304 to a request whose precondition matches its
// validators, else 200 with body; fields304 go on the 304.
func (e *env) validatingOrigin(body string, fields []string, fields304 ...string) {
	e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
		var etag, lm string
		for i := 0; i+1 < len(fields); i += 2 {
			switch fields[i] {
			case "ETag":
				etag = fields[i+1]
			case "Last-Modified":
				lm = fields[i+1]
			}
		}
		inm, ims := r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since")
		if (inm != "" && etag != "" && etagMatch([]string{inm}, etag)) || (inm == "" && ims != "" && ims == lm) {
			h := w.Header()
			h.Set("Date", e.clock.date(0))
			for i := 0; i+1 < len(fields304); i += 2 {
				h.Set(fields304[i], fields304[i+1])
			}
			h.Set("X-N", "304")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		e.fixed(200, body, fields...)(n, w, r)
	})
}

// TestRFC9111_4_3_Validation: stale responses are validated with the
// stored validators; a 304 freshens the stored response.
func TestRFC9111_4_3_1_SendingValidation(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	cases := []struct {
		name    string
		fields  []string
		wantINM string
		wantIMS string
	}{
		{"strong ETag", []string{"Cache-Control", "max-age=1", "ETag", `"abc"`}, `"abc"`, ""},
		{"weak ETag", []string{"Cache-Control", "max-age=1", "ETag", `W/"abc"`}, `W/"abc"`, ""},
		{"unquoted ETag is quoted", []string{"Cache-Control", "max-age=1", "ETag", `abc`}, `"abc"`, ""},
		{"Last-Modified", []string{"Cache-Control", "max-age=1", "Last-Modified", "Tue, 01 Jan 2030 00:00:00 GMT"}, "", "Tue, 01 Jan 2030 00:00:00 GMT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.clock.reset()
			e.validatingOrigin("body", tc.fields, "Cache-Control", "max-age=3600")
			p := path()
			e.miss(p)
			e.clock.advance(2 * time.Second)
			r := e.miss(p)
			got := e.origin.lastHeader()
			require.Equal(t, tc.wantINM, got.Get("If-None-Match"))
			require.Equal(t, tc.wantIMS, got.Get("If-Modified-Since"))
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, "body", r.body)
			require.Contains(t, r.header.Get("Cache-Status"), "fwd=stale; fwd-status=304")
			e.hit(p) // freshened to max-age=3600 by the 304
		})
	}
}

// TestRFC9111_4_3_4_Freshening: a 304 replaces the stored fields it
// carries (Content-Length excepted) and the freshness.
func TestRFC9111_4_3_4_Freshening(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	for _, field := range []string{"Test-Header", "X-Test-Header", "Content-Foo", "Content-Type", "Content-Location", "Cache-Control", "Expires", "X-Frame-Options"} {
		t.Run(field, func(t *testing.T) {
			e.t = t
			e.clock.reset()
			valueA, valueB := "a-value", "b-value"
			fields := []string{"Cache-Control", "max-age=1", "ETag", `"e1"`, field, valueA}
			fields304 := []string{"Cache-Control", "max-age=3600", field, valueB}
			switch field {
			case "Cache-Control":
				fields = []string{"Cache-Control", "max-age=1", "ETag", `"e1"`}
				fields304 = []string{"Cache-Control", "max-age=3600"}
				valueB = "max-age=3600"
			case "Expires":
				fields = []string{"Expires", e.clock.date(time.Second), "ETag", `"e1"`}
				valueB = e.clock.date(2 * time.Hour)
				fields304 = []string{"Expires", valueB}
			}
			e.validatingOrigin("body", fields, fields304...)
			p := path()
			e.miss(p)
			e.clock.advance(2 * time.Second)
			r := e.miss(p)
			require.Equal(t, valueB, r.header.Get(field), "returned")
			r = e.hit(p)
			require.Equal(t, valueB, r.header.Get(field), "stored")
			require.Equal(t, "body", r.body)
		})
	}
	t.Run("Content-Length is not updated", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.validatingOrigin("body", []string{"Cache-Control", "max-age=1", "ETag", `"e1"`}, "Cache-Control", "max-age=3600", "Content-Length", "999")
		p := path()
		e.miss(p)
		e.clock.advance(2 * time.Second)
		r := e.miss(p)
		require.Equal(t, "body", r.body)
		require.Equal(t, "4", e.hit(p).header.Get("Content-Length"))
	})
	t.Run("a 304 for another ETag makes a full request", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("If-None-Match") != "" {
				w.Header().Set("ETag", `"other"`)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			e.fixed(200, "v"+string(rune('0'+n)), "Cache-Control", "max-age=1", "ETag", `"e1"`)(n, w, r)
		})
		p := path()
		e.miss(p)
		e.clock.advance(2 * time.Second)
		before := e.origin.count()
		r := e.get(p)
		require.Equal(t, before+2, e.origin.count(), "the validation, then a request without preconditions")
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "v3", r.body)
	})
	t.Run("a 200 replaces the stored response", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			e.fixed(200, "v"+string(rune('0'+n)), "Cache-Control", "max-age=1", "ETag", `"e`+string(rune('0'+n))+`"`)(n, w, r)
		})
		p := path()
		require.Equal(t, "v1", e.miss(p).body)
		e.clock.advance(2 * time.Second)
		require.Equal(t, "v2", e.miss(p).body)
		require.Equal(t, "v2", e.hit(p).body)
	})
}

// TestRFC9111_4_3_2_ReceivedValidation: the cache evaluates a client's
// If-None-Match (weak comparison) or If-Modified-Since against what it
// serves; only a client whose precondition matches gets a 304.
func TestRFC9111_4_3_2_ReceivedValidation(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	lm := "Tue, 01 Jan 2030 00:00:00 GMT"
	cases := []struct {
		name   string
		etag   string
		req    []string
		want   int
		stored bool
	}{
		{"strong match", `"abc"`, []string{"If-None-Match", `"abc"`}, 304, true},
		{"weak match", `W/"abc"`, []string{"If-None-Match", `W/"abc"`}, 304, true},
		{"weak against strong", `"abc"`, []string{"If-None-Match", `W/"abc"`}, 304, true},
		{"one of several", `"abc"`, []string{"If-None-Match", `"x", "abc", "y"`}, 304, true},
		{"star", `"abc"`, []string{"If-None-Match", `*`}, 304, true},
		{"no match", `"abc"`, []string{"If-None-Match", `"other"`}, 200, true},
		{"unquoted client tag", `"abc"`, []string{"If-None-Match", `abc`}, 304, true},
		{"If-Modified-Since equal", `"abc"`, []string{"If-Modified-Since", lm}, 304, true},
		{"If-Modified-Since later", `"abc"`, []string{"If-Modified-Since", "Wed, 02 Jan 2030 00:00:00 GMT"}, 304, true},
		{"If-Modified-Since earlier", `"abc"`, []string{"If-Modified-Since", "Mon, 31 Dec 2029 00:00:00 GMT"}, 200, true},
		{"If-None-Match takes precedence", `"abc"`, []string{"If-None-Match", `"other"`, "If-Modified-Since", lm}, 200, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.clock.reset()
			e.origin.set(e.fixed(200, "body", "Cache-Control", "max-age=3600", "ETag", tc.etag, "Last-Modified", lm))
			p := path()
			e.miss(p)
			r := e.hit(p, tc.req...)
			require.Equal(t, tc.want, r.status)
			if tc.want == 304 {
				require.Empty(t, r.body)
				require.Equal(t, tc.etag, r.header.Get("ETag"), "a 304 carries the ETag")
			} else {
				require.Equal(t, "body", r.body)
			}
		})
	}
	t.Run("a conditional miss forwards the client's validators", func(t *testing.T) {
		e.t = t
		e.validatingOrigin("body", []string{"Cache-Control", "max-age=3600", "ETag", `"abc"`}, "Cache-Control", "max-age=3600", "ETag", `"abc"`)
		p := path()
		r := e.miss(p, "If-None-Match", `"abc"`)
		require.Equal(t, `"abc"`, e.origin.lastHeader().Get("If-None-Match"))
		require.Equal(t, http.StatusNotModified, r.status)
		require.Contains(t, r.header.Get("Cache-Status"), "fwd-status=304")
		r = e.miss(p, "If-None-Match", `"other"`)
		require.Equal(t, http.StatusOK, r.status, "the origin's 200 to another validator")
		require.Equal(t, "body", e.hit(p).body, "and that was stored")
	})
	t.Run("FillOnConditionalMiss: a conditional miss fetches in full, stores, and answers 304", func(t *testing.T) {
		e := newEnv(t, redistest.Start(t), Options{FillOnConditionalMiss: true})
		e.origin.set(e.fixed(200, "body", "Cache-Control", "max-age=3600", "ETag", `"abc"`))
		p := path()
		r := e.miss(p, "If-None-Match", `"abc"`)
		require.Empty(t, e.origin.lastHeader().Get("If-None-Match"), "the client's precondition is the cache's to evaluate")
		require.Equal(t, http.StatusNotModified, r.status)
		require.Equal(t, "body", e.hit(p).body, "the full response was stored")
	})
	t.Run("a stale match is validated first", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.validatingOrigin("body", []string{"Cache-Control", "max-age=2", "Last-Modified", lm}, "Cache-Control", "max-age=3600")
		p := path()
		e.miss(p)
		e.clock.advance(3 * time.Second)
		r := e.miss(p, "If-Modified-Since", lm)
		require.Equal(t, lm, e.origin.lastHeader().Get("If-Modified-Since"))
		require.Equal(t, http.StatusNotModified, r.status)
	})
	t.Run("Vary fields go with the validation", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.validatingOrigin("body", []string{"Cache-Control", "max-age=1", "ETag", `"v"`, "Vary", "Abc"}, "Cache-Control", "max-age=60")
		p := path()
		e.miss(p, "Abc", "123")
		e.clock.advance(2 * time.Second)
		e.miss(p, "Abc", "123")
		require.Equal(t, "123", e.origin.lastHeader().Get("Abc"))
		require.Equal(t, `"v"`, e.origin.lastHeader().Get("If-None-Match"))
	})
}
