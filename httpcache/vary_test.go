package httpcache

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestRFC9111_4_1_Vary: a stored response with Vary answers only requests
// with the same (normalized) values of the fields it names; several
// variants of a URL coexist.
func TestRFC9111_4_1_Vary(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	cases := []struct {
		name   string
		vary   string
		req1   []string
		req2   []string
		cached bool
	}{
		{"match", "Foo", []string{"Foo", "1"}, []string{"Foo", "1"}, true},
		{"no match", "Foo", []string{"Foo", "1"}, []string{"Foo", "2"}, false},
		{"field omitted", "Foo", []string{"Foo", "1"}, nil, false},
		{"field omitted both times", "Foo", nil, nil, true},
		{"empty is not absent", "Foo", []string{"Foo", ""}, nil, false},
		{"name case-insensitive", "foo", []string{"Foo", "1"}, []string{"FOO", "1"}, true},
		{"other fields not in the key", "Foo", []string{"Foo", "1", "Other", "2"}, []string{"Foo", "1", "Other", "3"}, true},
		{"two-way match", "Foo, Bar", []string{"Foo", "1", "Bar", "abc"}, []string{"Foo", "1", "Bar", "abc"}, true},
		{"two-way no match", "Foo, Bar", []string{"Foo", "1", "Bar", "abc"}, []string{"Foo", "2", "Bar", "abc"}, false},
		{"two-way one omitted", "Foo, Bar", []string{"Foo", "1"}, nil, false},
		{"three-way match", "Foo, Bar, Baz", []string{"Foo", "1", "Bar", "abc", "Baz", "789"}, []string{"Foo", "1", "Bar", "abc", "Baz", "789"}, true},
		{"three-way no match", "Foo, Bar, Baz", []string{"Foo", "1", "Bar", "abc4", "Baz", "789"}, []string{"Foo", "1", "Bar", "abc", "Baz", "789"}, false},
		{"three-way same omission", "Foo, Bar, Baz", []string{"Foo", "1", "Baz", "789"}, []string{"Foo", "1", "Baz", "789"}, true},
		{"whitespace normalized", "Foo", []string{"Foo", "1,2"}, []string{"Foo", " 1, 2 "}, true},
		{"field lines combined", "Foo", []string{"Foo", "1, 2"}, []string{"Foo", "1", "Foo", "2"}, true},
		{"order matters in values", "Foo", []string{"Foo", "1, 2"}, []string{"Foo", "2, 1"}, false},
		{"star", "*", []string{"Foo", "1"}, []string{"Foo", "1"}, false},
		{"star among names", "Foo, *", []string{"Foo", "1"}, []string{"Foo", "1"}, false},
		{"empty member and star", ", *", nil, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.origin.set(e.fixed(200, "body", "Cache-Control", "max-age=3600", "Vary", tc.vary))
			p := path()
			e.miss(p, tc.req1...)
			if tc.cached {
				e.hit(p, tc.req2...)
			} else {
				e.miss(p, tc.req2...)
			}
		})
	}

	t.Run("several variants coexist", func(t *testing.T) {
		e.t = t
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			e.fixed(200, "lang="+r.Header.Get("Accept-Language"), "Cache-Control", "max-age=3600", "Vary", "Accept-Language")(n, w, r)
		})
		p := path()
		langs := []string{"en", "de", "fr"}
		for _, l := range langs {
			require.Equal(t, "lang="+l, e.miss(p, "Accept-Language", l).body)
		}
		for _, l := range langs {
			r := e.hit(p, "Accept-Language", l)
			require.Equal(t, "lang="+l, r.body)
			require.Equal(t, "Accept-Language", r.header.Get("Vary"))
		}
		r := e.miss(p, "Accept-Language", "it")
		require.Contains(t, r.header.Get("Cache-Status"), "fwd=vary-miss")
	})
	t.Run("Vary replaced by another", func(t *testing.T) {
		e.t = t
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			vary := "Foo"
			if n > 1 {
				vary = "Bar"
			}
			e.fixed(200, fmt.Sprint("v", n), "Cache-Control", "max-age=3600", "Vary", vary)(n, w, r)
		})
		p := path()
		e.miss(p, "Foo", "1")
		e.hit(p, "Foo", "1")
		e.miss(p, "Foo", "2") // stored under Vary: Bar now
		e.hit(p, "Foo", "3")  // Bar absent both times
		e.miss(p, "Foo", "1", "Bar", "x")
	})
	t.Run("no Vary replaces variants", func(t *testing.T) {
		e.t = t
		e.origin.set(func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				e.fixed(200, "varied", "Cache-Control", "max-age=3600", "Vary", "Foo")(n, w, r)
				return
			}
			e.fixed(200, "plain", "Cache-Control", "max-age=3600")(n, w, r)
		})
		p := path()
		e.miss(p, "Foo", "1")
		e.miss(p, "Foo", "2")
		require.Equal(t, "plain", e.hit(p, "Foo", "1").body)
	})
}

// TestVaryNormaliseNegotiation: Accept-Language, Accept-Encoding and
// Accept-Charset select a variant whatever the members' order and case.
func TestVaryNormaliseNegotiation(t *testing.T) {
	for _, c := range []struct {
		name string
		a, b []string
		same bool
	}{
		{"Accept-Language", []string{"en, de"}, []string{"de, en"}, true},
		{"Accept-Language", []string{"en, de"}, []string{"eN, De"}, true},
		{"Accept-Language", []string{"en, de"}, []string{" en ,   de"}, true},
		{"Accept-Language", []string{"en;q=1.0, de;q=0.50"}, []string{"de;q=0.5", "en"}, true},
		{"Accept-Language", []string{"en, de;q=0.5"}, []string{"de, en;q=0.5"}, false},
		{"Accept-Encoding", []string{"gzip, br"}, []string{"BR,gzip"}, true},
		{"Accept-Encoding", []string{"gzip;q=0"}, []string{"gzip"}, false},
		{"Foo", []string{"a, b"}, []string{"b, a"}, false},
		{"Foo", []string{"a"}, []string{"A"}, false},
		{"Accept-Language", nil, []string{""}, false},
	} {
		got := normalizeVary(c.name, c.a) == normalizeVary(c.name, c.b)
		require.Equal(t, c.same, got, "%s: %q vs %q (%q, %q)", c.name, c.a, c.b, normalizeVary(c.name, c.a), normalizeVary(c.name, c.b))
	}
}
