package httpcache

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// reuseCase is a response stored by a first GET, then a second GET after
// wait with fields req2: answered by the cache or not.
type reuseCase struct {
	name   string
	status int
	fields []string // response fields
	wait   time.Duration
	req2   []string
	cached bool
}

func runReuse(t *testing.T, e *env, cases []reuseCase) {
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
			first := e.miss(p)
			require.Equal(t, status, first.status)
			e.clock.advance(tc.wait)
			if tc.cached {
				second := e.hit(p, tc.req2...)
				require.Equal(t, status, second.status)
				require.Equal(t, first.body, second.body)
			} else {
				e.miss(p, tc.req2...)
			}
		})
	}
}

// TestRFC9111_4_2_1_FreshnessLifetime: s-maxage, then max-age, then Expires
// minus Date; invalid values mean stale; the first of duplicates wins.
func TestRFC9111_4_2_1_FreshnessLifetime(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	runReuse(t, e, []reuseCase{
		{name: "max-age fresh", fields: []string{"Cache-Control", "max-age=60"}, wait: 30 * time.Second, cached: true},
		{name: "max-age stale", fields: []string{"Cache-Control", "max-age=60"}, wait: 61 * time.Second},
		{name: "max-age=0", fields: []string{"Cache-Control", "max-age=0"}},
		{name: "max-age case-insensitive", fields: []string{"Cache-Control", "MaX-AgE=60"}, wait: 30 * time.Second, cached: true},
		{name: "max-age quoted", fields: []string{"Cache-Control", `max-age="60"`}, wait: 30 * time.Second, cached: true},
		{name: "max-age single-quoted is invalid", fields: []string{"Cache-Control", `max-age='60'`}, wait: time.Second},
		{name: "max-age leading alpha is invalid", fields: []string{"Cache-Control", "max-age=a60"}, wait: time.Second},
		{name: "max-age trailing alpha is invalid", fields: []string{"Cache-Control", "max-age=60a"}, wait: time.Second},
		{name: "max-age negative is invalid", fields: []string{"Cache-Control", "max-age=-60"}, wait: time.Second},
		{name: "max-age space before equals is ignored", fields: []string{"Cache-Control", "max-age =60"}, wait: time.Second},
		{name: "max-age space after equals is ignored", fields: []string{"Cache-Control", "max-age= 60"}, wait: time.Second},
		{name: "max-age beyond 2^31 is 2^31", fields: []string{"Cache-Control", "max-age=99999999999"}, wait: 10000 * time.Hour, cached: true},
		{name: "max-age inside a quoted string is not a directive", fields: []string{"Cache-Control", `ext="max-age=3600", max-age=1`}, wait: 2 * time.Second},
		{name: "first max-age wins", fields: []string{"Cache-Control", "max-age=60, max-age=1"}, wait: 30 * time.Second, cached: true},
		{name: "unknown extension ignored", fields: []string{"Cache-Control", "foobar, max-age=60"}, wait: 30 * time.Second, cached: true},
		{name: "s-maxage over longer max-age", fields: []string{"Cache-Control", "max-age=3600, s-maxage=1"}, wait: 2 * time.Second},
		{name: "s-maxage over shorter max-age", fields: []string{"Cache-Control", "max-age=1, s-maxage=3600"}, wait: 60 * time.Second, cached: true},
		{name: "s-maxage across field lines", fields: []string{"Cache-Control", "max-age=3600", "Cache-Control", "s-maxage=1"}, wait: 2 * time.Second},
		{name: "Expires in the future", fields: []string{"Expires", "Wed, 02 Jan 2030 04:04:05 GMT"}, wait: 30 * time.Minute, cached: true},
		{name: "Expires passed", fields: []string{"Expires", "Wed, 02 Jan 2030 04:04:05 GMT"}, wait: 61 * time.Minute},
		{name: "Expires 0 is in the past", fields: []string{"Expires", "0"}},
		{name: "Expires before Date", fields: []string{"Expires", "Wed, 02 Jan 2030 03:00:00 GMT"}},
		{name: "max-age over a past Expires", fields: []string{"Cache-Control", "max-age=60", "Expires", "Tue, 01 Jan 2030 00:00:00 GMT"}, wait: 30 * time.Second, cached: true},
		{name: "max-age=0 over a future Expires", fields: []string{"Cache-Control", "max-age=0", "Expires", "Thu, 03 Jan 2030 00:00:00 GMT"}},
		{name: "Expires with an invalid Date uses the time received", fields: []string{"Date", "foo", "Expires", "Wed, 02 Jan 2030 04:04:05 GMT"}, wait: 30 * time.Minute, cached: true},
		{name: "Expires lowercase gmt", fields: []string{"Expires", "Wed, 02 Jan 2030 04:04:05 gmt"}, wait: 30 * time.Minute, cached: true},
		{name: "Expires with double spaces is invalid", fields: []string{"Expires", "Wed, 02  Jan  2030 04:04:05 GMT"}},
		{name: "Expires with a one-digit hour is invalid", fields: []string{"Expires", "Wed, 02 Jan 2030 4:04:05 GMT"}},
		{name: "two different Expires lines are invalid", fields: []string{"Expires", "Wed, 02 Jan 2030 04:04:05 GMT", "Expires", "Wed, 02 Jan 2030 04:04:06 GMT"}},
		{name: "two equal Expires lines", fields: []string{"Expires", "Wed, 02 Jan 2030 04:04:05 GMT", "Expires", "Wed, 02 Jan 2030 04:04:05 GMT"}, wait: 30 * time.Minute, cached: true},
		{name: "duplicate max-age: the first wins", fields: []string{"Cache-Control", "max-age=1, max-age=3600"}, wait: 30 * time.Second},
		{name: "invalid max-age is stale, over Expires", fields: []string{"Cache-Control", "max-age=1.5", "Expires", "Wed, 02 Jan 2030 04:04:05 GMT"}},
	})
}

// TestRFC9111_4_2_2_HeuristicFreshness: 10% of the time since
// Last-Modified, for heuristically cacheable statuses or public, capped.
func TestRFC9111_4_2_2_HeuristicFreshness(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	lm := "Sat, 22 Dec 2029 03:04:05 GMT" // 11 days before the clock: 1.1 days of freshness, capped to 24h
	runReuse(t, e, []reuseCase{
		{name: "200 with Last-Modified", fields: []string{"Last-Modified", lm}, wait: 23 * time.Hour, cached: true},
		{name: "200 past the cap", fields: []string{"Last-Modified", lm}, wait: 25 * time.Hour},
		{name: "404 with Last-Modified", status: 404, fields: []string{"Last-Modified", lm}, wait: time.Hour, cached: true},
		{name: "410 with Last-Modified", status: 410, fields: []string{"Last-Modified", lm}, wait: time.Hour, cached: true},
		{name: "201 is not heuristically cacheable", status: 201, fields: []string{"Last-Modified", lm}},
		{name: "403 is not heuristically cacheable", status: 403, fields: []string{"Last-Modified", lm}},
		{name: "503 is not heuristically cacheable", status: 503, fields: []string{"Last-Modified", lm}},
		{name: "599 is not without public", status: 599, fields: []string{"Last-Modified", lm}},
		{name: "599 with public", status: 599, fields: []string{"Last-Modified", lm, "Cache-Control", "public"}, wait: time.Hour, cached: true},
		{name: "no Last-Modified no heuristic", fields: []string{"ETag", `"x"`}},
	})

	t.Run("off", func(t *testing.T) {
		off := newEnv(t, redistest.Start(t), Options{MaxHeuristic: -1})
		off.origin.set(off.fixed(200, "b", "Last-Modified", lm))
		p := path()
		off.miss(p)
		off.miss(p) // revalidated every time: Last-Modified is only a validator now
	})
}

// TestRFC9111_4_2_3_Age: current_age from the Age field, the apparent age
// from Date, and the time spent in the cache; sent as Age.
func TestRFC9111_4_2_3_Age(t *testing.T) {
	e := newEnv(t, redistest.Start(t), Options{})
	cases := []struct {
		name    string
		fields  []string
		wait    time.Duration
		wantAge int
	}{
		{"fresh from origin", []string{"Cache-Control", "max-age=600"}, 5 * time.Second, 5},
		{"Age field", []string{"Cache-Control", "max-age=600", "Age", "30"}, 3 * time.Second, 33},
		{"Date in the past", []string{"Cache-Control", "max-age=600", "Date", e.clock.date(-10 * time.Second)}, 3 * time.Second, 13},
		{"larger of apparent and corrected", []string{"Cache-Control", "max-age=600", "Date", e.clock.date(-10 * time.Second), "Age", "20"}, 0, 20},
		{"invalid Age ignored", []string{"Cache-Control", "max-age=600", "Age", "abc"}, 2 * time.Second, 2},
		{"two Age lines: the first counts", []string{"Cache-Control", "max-age=600", "Age", "0", "Age", "7200"}, 2 * time.Second, 2},
		{"a list: the first member counts", []string{"Cache-Control", "max-age=600", "Age", "10, 7200"}, 2 * time.Second, 12},
		{"an invalid first member: ignored", []string{"Cache-Control", "max-age=600", "Age", "1.5, 10"}, 2 * time.Second, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.t = t
			e.clock.reset()
			e.origin.set(e.fixed(200, "b", tc.fields...))
			p := path()
			e.miss(p)
			e.clock.advance(tc.wait)
			r := e.hit(p)
			require.Equal(t, strconv.Itoa(tc.wantAge), r.header.Get("Age"))
		})
	}

	for _, age := range [][]string{{"Age", "7200, 0"}, {"Age", "7200", "Age", "0"}} {
		t.Run(fmt.Sprint("old first member ", age), func(t *testing.T) {
			e.t = t
			e.origin.set(e.fixed(200, "b", append([]string{"Cache-Control", "max-age=600"}, age...)...))
			p := path()
			e.miss(p)
			e.miss(p)
		})
	}
	t.Run("age beyond max-age is stale", func(t *testing.T) {
		e.t = t
		e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=10", "Age", "15"))
		p := path()
		e.miss(p)
		e.miss(p)
	})
	t.Run("Age beyond Expires minus a slow Date", func(t *testing.T) {
		e.t = t
		e.clock.reset()
		e.origin.set(e.fixed(200, "b", "Date", e.clock.date(-10*time.Second), "Expires", e.clock.date(10*time.Second), "Age", "25"))
		p := path()
		e.miss(p)
		e.miss(p)
	})
	t.Run("Date is not updated", func(t *testing.T) {
		e.t = t
		date := e.clock.date(0)
		e.origin.set(e.fixed(200, "b", "Cache-Control", "max-age=600"))
		p := path()
		e.miss(p)
		e.clock.advance(time.Minute)
		require.Equal(t, date, e.hit(p).header.Get("Date"))
	})
}
