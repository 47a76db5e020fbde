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

// FuzzEntryDecode: decoding bytes from Redis never panics; what it
// accepts is an entry this package could have written (validEntry), which
// encodes back to the same bytes; with an integrity key, only what was
// sealed with it is accepted.
func FuzzEntryDecode(f *testing.F) {
	plain, keyed := newEntryCodec(nil), newEntryCodec([]byte("0123456789abcdef"))
	resp := &entry{kind: kindResponse, key: "http://a/b", status: 200, header: http.Header{"A": {"b"}, "Content-Length": {"1"}},
		body: []byte("x"), reqTime: 1, respTime: 2, lifetime: 3, vary: []string{"Accept"}, varyValues: []string{"x"}, tags: []string{"t"}}
	marker := &entry{kind: kindVary, key: "http://a/b", vary: []string{"Accept"}, gen: "00ff", variants: 2}
	for _, c := range []entryCodec{plain, keyed} {
		for _, e := range []*entry{resp, marker} {
			b, err := c.Append(nil, e)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{2, 0, 2, 1, 'k', 1, 'F', 1, 'g', 0})
	f.Add([]byte{1, 2, 1, 'F', 1, 'g'})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range []entryCodec{plain, keyed} {
			e, err := c.Decode(data)
			if err != nil {
				continue
			}
			if err := validEntry(e); err != nil {
				t.Fatalf("decoded an invalid entry: %v", err)
			}
			if c.key != nil && data[1] != 1 {
				t.Fatal("the keyed codec accepted an entry without a MAC")
			}
			b, err := c.Append(nil, e)
			if err != nil {
				t.Fatalf("re-encoding a decoded entry: %v", err)
			}
			again, err := c.Decode(b)
			if err != nil {
				t.Fatalf("decoding a re-encoded entry: %v", err)
			}
			if again.key != e.key || again.status != e.status || string(again.body) != string(e.body) || len(again.header) != len(e.header) {
				t.Fatal("round trip changed the entry")
			}
		}
	})
}
