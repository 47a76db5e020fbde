package httpcache

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseCacheControl(t *testing.T) {
	cases := []struct {
		in   []string
		want func(d directives) bool
	}{
		{[]string{"max-age=60, s-maxage=30"}, func(d directives) bool { return d.maxAge == 60 && d.sMaxAge == 30 }},
		{[]string{`max-age="60"`}, func(d directives) bool { return d.maxAge == 60 }},
		{[]string{"max-age=60.0"}, func(d directives) bool { return d.maxAge == invalid }},
		{[]string{"max-age"}, func(d directives) bool { return d.maxAge == invalid }},
		{[]string{"max-age =60"}, func(d directives) bool { return d.maxAge == absent }},
		{[]string{"max-age=2147483649"}, func(d directives) bool { return d.maxAge == maxDelta }},
		{[]string{`ext="a, max-age=5", max-age=7`}, func(d directives) bool { return d.maxAge == 7 }},
		{[]string{`ext="unterminated, max-age=5`}, func(d directives) bool { return d.maxAge == absent }},
		{[]string{`no-cache="Set-Cookie, x-foo", private`}, func(d directives) bool {
			return !d.noCache && d.private && len(d.noCacheFields) == 2 && d.noCacheFields[1] == "X-Foo"
		}},
		{[]string{`no-cache="a"`, "no-cache"}, func(d directives) bool { return d.noCache && d.noCacheFields == nil }},
		{[]string{"max-stale"}, func(d directives) bool { return d.maxStaleAny }},
		{[]string{"max-stale=10, min-fresh=5, only-if-cached, no-store"}, func(d directives) bool {
			return d.maxStale == 10 && d.minFresh == 5 && d.onlyIfCached && d.noStore
		}},
		{[]string{"stale-while-revalidate=30, stale-if-error=60, immutable, must-understand"}, func(d directives) bool {
			return d.swr == 30 && d.sie == 60 && d.immutable && d.mustUnderstand
		}},
		{[]string{",,, ,PUBLIC,"}, func(d directives) bool { return d.public }},
	}
	for _, tc := range cases {
		require.True(t, tc.want(parseCacheControl(tc.in)), "%q: %+v", tc.in, parseCacheControl(tc.in))
	}
}

func TestParseVary(t *testing.T) {
	names, star := parseVary([]string{"accept-encoding, Foo", "", "foo"})
	require.False(t, star)
	require.Equal(t, []string{"Accept-Encoding", "Foo"}, names)
	for _, in := range [][]string{{"*"}, {"Foo, *"}, {"", "*"}, {"bad name"}} {
		_, star := parseVary(in)
		require.True(t, star, "%q", in)
	}
}

func TestParseTargeted(t *testing.T) {
	d, ok := parseTargeted([]string{"max-age=60, no-store;p=1, x=?0, y=:aGk=:, z=1.5, private=\"a\""})
	require.True(t, ok)
	require.Equal(t, int64(60), d.maxAge)
	require.True(t, d.noStore)
	require.True(t, d.private)
	for _, bad := range []string{"", "MaX-AgE=1", "max-age=1,", "max-age=1, &&&", `max-age="1`, "max-age=1234567890123456", "a=(1 2)"} {
		_, ok := parseTargeted([]string{bad})
		require.False(t, ok, "%q", bad)
	}
	d, ok = parseTargeted([]string{`max-age="10", s-maxage=-1`})
	require.True(t, ok)
	require.Equal(t, int64(absent), d.maxAge, "a wrong type is ignored")
	require.Equal(t, int64(absent), d.sMaxAge)
}

func TestETagMatch(t *testing.T) {
	require.True(t, etagMatch([]string{`"a", W/"b"`}, `"b"`))
	require.True(t, etagMatch([]string{`"x,y"`}, `"x,y"`))
	require.True(t, etagMatch([]string{`*`}, ""))
	require.False(t, etagMatch([]string{`"a"`}, ""))
	require.False(t, etagMatch([]string{`"a"`}, `"b"`))
	require.Equal(t, `"abc"`, quoteETag("abc"))
	require.Equal(t, `W/"abc"`, quoteETag(`W/"abc"`))
}

func TestParseHTTPDate(t *testing.T) {
	for _, s := range []string{"Thu, 18 Aug 2050 02:01:18 GMT", "THU, 18 AUG 2050 02:01:18 gMT", "Thursday, 18-Aug-50 02:01:18 GMT", "Thu Aug 18 02:01:18 2050"} {
		_, ok := parseHTTPDate(s)
		require.True(t, ok, s)
	}
	for _, s := range []string{"0", "Thu, 18 Aug 2050 02:01:18 UTC", "yesterday"} {
		_, ok := parseHTTPDate(s)
		require.False(t, ok, s)
	}
}

func TestEntryCodecRoundTrip(t *testing.T) {
	e := &entry{
		kind: kindResponse, key: "k", status: 203, body: []byte("hello"),
		header:  http.Header{"Content-Type": {"text/plain"}, "X-Multi": {"a", "b"}},
		reqTime: 1, respTime: 2, initialAge: 3, lifetime: 4, swr: 5, sie: 6, flags: flagNoStale | flagImmutable,
		vary: []string{"Accept", "Foo"}, varyValues: []string{"text/html", absentField}, tags: []string{"t1"},
	}
	b, err := entryCodec{}.Append(nil, e)
	require.NoError(t, err)
	got, err := entryCodec{}.Decode(b)
	require.NoError(t, err)
	require.Equal(t, e, got)
	b[len(b)-1] = 'X'
	require.Equal(t, byte('o'), e.body[4], "Decode copies the body")

	m := &entry{kind: kindVary, key: "k", vary: []string{"Foo"}, gen: "0a1b", variants: 3}
	b, err = entryCodec{}.Append(nil, m)
	require.NoError(t, err)
	got, err = entryCodec{}.Decode(b)
	require.NoError(t, err)
	require.Equal(t, m, got)

	for i := range b {
		_, err := entryCodec{}.Decode(b[:i])
		require.Error(t, err, "truncated at %d", i)
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	e := &entry{respTime: now, lifetime: 10_000, swr: 5_000}
	rq := &request{cc: newDirectives()}
	require.Equal(t, reuseFresh, decide(e, rq, now+9_000))
	require.Equal(t, reuseSWR, decide(e, rq, now+12_000))
	require.Equal(t, reuseValidate, decide(e, rq, now+16_000))
}

// TestHTTPDateStrict: the three HTTP-date formats, names in any case; no
// double spaces, one-digit time fields, other timezones or two-digit years
// in the IMF-fixdate.
func TestHTTPDateStrict(t *testing.T) {
	want := time.Date(2050, 8, 18, 2, 1, 18, 0, time.UTC)
	for _, s := range []string{
		"Thu, 18 Aug 2050 02:01:18 GMT", "THU, 18 AUG 2050 02:01:18 gmt", " Thu, 18 Aug 2050 02:01:18 GMT ",
		"Thursday, 18-Aug-50 02:01:18 GMT", "Thu Aug 18 02:01:18 2050",
	} {
		got, ok := parseHTTPDate(s)
		require.True(t, ok, s)
		require.Equal(t, want, got, s)
	}
	got, ok := parseHTTPDate("Thu Aug  8 02:01:18 2050")
	require.True(t, ok)
	require.Equal(t, 8, got.Day())
	for _, s := range []string{
		"Thu, 18  Aug  2050 02:01:18 GMT", "Thu, 18 Aug 2050 2:01:18 GMT", "Thu, 18 Aug 2050 02:01:18 UTC",
		"Thu, 18 Aug 50 02:01:18 GMT", "Thu 18 Aug 2050 02:01:18 GMT", "Thu, 18-Aug-2050 02:01:18 GMT",
		"Thu, 18 Aug 2050 02.01.18 GMT", "Thu, 31 Feb 2050 02:01:18 GMT", "Xyz, 18 Aug 2050 02:01:18 GMT",
		"Thu, 18 Aug 2050 24:01:18 GMT", "0", "", "Thu Aug 8 02:01:18 2050",
	} {
		_, ok := parseHTTPDate(s)
		require.False(t, ok, s)
	}
}
