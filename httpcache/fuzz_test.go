package httpcache

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzParseCacheControl: the Cache-Control parser never panics, and what it
// returns is within range.
func FuzzParseCacheControl(f *testing.F) {
	for _, s := range []string{
		"max-age=60", `no-cache="a, b", max-age="5"`, `ext="max-age=1`, "max-age =1,,", "s-maxage=99999999999999999999",
		`private="\"", no-store`, "max-stale, min-fresh=-1", "\x00\xff,=\"\\",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := parseCacheControl(strings.Split(s, "\n"))
		for _, v := range []int64{d.maxAge, d.sMaxAge, d.maxStale, d.minFresh, d.swr, d.sie} {
			if v != absent && v != invalid && (v < 0 || v > maxDelta) {
				t.Fatalf("%q: delta %d out of range", s, v)
			}
		}
		for _, name := range append(d.noCacheFields, d.privateFields...) {
			if !validToken(name) {
				t.Fatalf("%q: field name %q is not a token", s, name)
			}
		}
	})
}

// FuzzParseVary: the Vary parser never panics and returns sorted,
// de-duplicated tokens.
func FuzzParseVary(f *testing.F) {
	for _, s := range []string{"Accept-Encoding", "*", "a, b, A", ", *", "bad name", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, star := parseVary(strings.Split(s, "\n"))
		if star && names != nil {
			t.Fatalf("%q: star with names", s)
		}
		for i, n := range names {
			if !validToken(n) || (i > 0 && names[i-1] >= n) {
				t.Fatalf("%q: names %q", s, names)
			}
		}
		r := &http.Request{Header: http.Header{}}
		r.Header.Set("Foo", s)
		_ = variantKey("k", "g", names, varyValues(r, names))
	})
}

// FuzzParseTargeted: the Structured Field parser of targeted fields never
// panics.
func FuzzParseTargeted(f *testing.F) {
	for _, s := range []string{"max-age=60", "max-age=1, &&&", `a="x\"y";p=?1, b=:aGk=:`, "a=-1.25, *b=tok/x:y", "a=(1 2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseTargeted([]string{s})
		if ok && (d.maxAge < absent || d.maxAge > maxDelta) {
			t.Fatalf("%q: max-age %d", s, d.maxAge)
		}
	})
}

// FuzzEntryDecode: decoding bytes from Redis never panics.
func FuzzEntryDecode(f *testing.F) {
	b, _ := entryCodec{}.Append(nil, &entry{kind: kindResponse, status: 200, header: http.Header{"A": {"b"}}, body: []byte("x")})
	f.Add(b)
	f.Add([]byte{1, 2, 1, 'F', 1, 'g'})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = entryCodec{}.Decode(data)
	})
}
