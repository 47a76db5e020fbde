package httpcache

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"
)

// maxDelta is the largest delta-seconds value kept: RFC 9111 §1.2.2 tells
// caches to treat anything larger (or any overflow) as 2^31 seconds.
const maxDelta = 1 << 31

// absent marks a delta-seconds directive that is not present.
const absent = -1

// invalid marks a delta-seconds directive that is present with a value that is
// not delta-seconds. RFC 9111 §4.2.1 encourages treating a response with
// invalid freshness information as stale.
const invalid = -2

// directives is a parsed Cache-Control (or targeted cache control) field.
// Delta-seconds fields hold absent, invalid or the value in seconds.
type directives struct {
	noStore, noCache, private, public             bool
	mustRevalidate, proxyRevalidate               bool
	mustUnderstand, immutable, onlyIfCached       bool
	maxStaleAny                                   bool
	noCacheFields, privateFields                  []string // qualified no-cache="..." and private="..."
	maxAge, sMaxAge, maxStale, minFresh, swr, sie int64
}

func newDirectives() directives {
	return directives{maxAge: absent, sMaxAge: absent, maxStale: absent, minFresh: absent, swr: absent, sie: absent}
}

// parseCacheControl parses the field lines of a Cache-Control field
// (RFC 9111 §5.2): a comma-separated list of token [ "=" ( token /
// quoted-string ) ]. Names are case-insensitive; the first occurrence of a
// directive wins (§4.2.1); malformed members (such as "max-age =5") are
// ignored; unknown directives are ignored. It never fails.
func parseCacheControl(lines []string) directives {
	d := newDirectives()
	seen := 0 // bit set of directives already taken, for first-wins
	for _, line := range lines {
		for rest := line; rest != ""; {
			var name, value string
			var hasValue, ok bool
			name, value, hasValue, rest, ok = nextDirective(rest)
			if !ok || name == "" {
				continue
			}
			d.apply(strings.ToLower(name), value, hasValue, &seen)
		}
	}
	return d
}

// directive bits for first-occurrence tracking.
const (
	bitMaxAge = 1 << iota
	bitSMaxAge
	bitMaxStale
	bitMinFresh
	bitSWR
	bitSIE
)

func (d *directives) apply(name, value string, hasValue bool, seen *int) {
	first := func(bit int) bool {
		if *seen&bit != 0 {
			return false
		}
		*seen |= bit
		return true
	}
	switch name {
	case "no-store":
		d.noStore = true
	case "no-cache":
		// The unqualified form is the more restrictive and wins over any
		// qualified one, whatever the order.
		if hasValue {
			if !d.noCache {
				d.noCacheFields = append(d.noCacheFields, fieldNames(value)...)
			}
		} else {
			d.noCache, d.noCacheFields = true, nil
		}
	case "private":
		if hasValue {
			if !d.private {
				d.privateFields = append(d.privateFields, fieldNames(value)...)
			}
		} else {
			d.private, d.privateFields = true, nil
		}
	case "public":
		d.public = true
	case "must-revalidate":
		d.mustRevalidate = true
	case "proxy-revalidate":
		d.proxyRevalidate = true
	case "must-understand":
		d.mustUnderstand = true
	case "immutable":
		d.immutable = true
	case "only-if-cached":
		d.onlyIfCached = true
	case "max-age":
		if first(bitMaxAge) {
			d.maxAge = deltaSeconds(value, hasValue)
		}
	case "s-maxage":
		if first(bitSMaxAge) {
			d.sMaxAge = deltaSeconds(value, hasValue)
		}
	case "max-stale":
		if first(bitMaxStale) {
			if !hasValue {
				d.maxStaleAny = true
			} else {
				d.maxStale = deltaSeconds(value, true)
			}
		}
	case "min-fresh":
		if first(bitMinFresh) {
			d.minFresh = deltaSeconds(value, hasValue)
		}
	case "stale-while-revalidate":
		if first(bitSWR) {
			d.swr = deltaSeconds(value, hasValue)
		}
	case "stale-if-error":
		if first(bitSIE) {
			d.sie = deltaSeconds(value, hasValue)
		}
	}
}

// nextDirective reads one member of a Cache-Control list from s and returns
// it with the rest of s after the following comma. ok is false for a
// malformed member, which is skipped up to the next comma outside quotes.
func nextDirective(s string) (name, value string, hasValue bool, rest string, ok bool) {
	i := skipOWS(s, 0)
	start := i
	for i < len(s) && isTchar(s[i]) {
		i++
	}
	name = s[start:i]
	if i < len(s) && s[i] == '=' {
		hasValue = true
		i++
		if i < len(s) && s[i] == '"' {
			var n int
			value, n, ok = unquote(s[i:])
			if !ok {
				return "", "", false, "", false // unterminated quote: nothing after it is reliable
			}
			i += n
		} else {
			vs := i
			for i < len(s) && isTchar(s[i]) {
				i++
			}
			value = s[vs:i]
		}
	}
	i = skipOWS(s, i)
	if i == len(s) {
		return name, value, hasValue, "", true
	}
	if s[i] == ',' {
		return name, value, hasValue, s[i+1:], true
	}
	// Malformed: skip to the next comma outside a quoted string.
	return "", "", false, skipToComma(s, i), false
}

// skipToComma returns what follows the first comma at or after i that is
// not inside a quoted string ("" when there is none).
func skipToComma(s string, i int) string {
	inQuote := false
	for ; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return s[i+1:]
		}
	}
	return ""
}

// unquote reads a quoted-string at the start of s (RFC 9110 §5.6.4) and
// returns its content, the number of bytes read and whether it was
// terminated.
func unquote(s string) (string, int, bool) {
	var b strings.Builder
	escaped := false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			b.WriteByte(c)
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			return b.String(), i + 1, true
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, false
}

// deltaSeconds parses a delta-seconds argument (RFC 9111 §1.2.2): one or
// more digits, values beyond 2^31 clamped to 2^31. A missing or malformed
// value is invalid.
func deltaSeconds(v string, hasValue bool) int64 {
	if !hasValue || v == "" {
		return invalid
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return invalid
		}
		if n < maxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	return min(n, maxDelta)
}

// fieldNames splits the field-name list of a qualified no-cache or private
// directive into canonical header keys.
func fieldNames(v string) []string {
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f != "" && validToken(f) {
			out = append(out, textproto.CanonicalMIMEHeaderKey(f))
		}
	}
	return out
}

// parseVary parses the field lines of a Vary header (RFC 9110 §12.5.5). It
// returns the sorted, de-duplicated canonical names of the request fields the
// response varies on, and star when a member is "*" (the response then never
// matches a later request). Empty members are ignored; members that are not
// tokens make the whole field unusable, which is reported as star so that
// such a response is never served from the cache. It never fails.
func parseVary(lines []string) (names []string, star bool) {
	for _, line := range lines {
		for f := range strings.SplitSeq(line, ",") {
			f = strings.Trim(f, " \t")
			switch {
			case f == "":
			case f == "*":
				star = true
			case !validToken(f):
				star = true
			default:
				names = append(names, textproto.CanonicalMIMEHeaderKey(f))
			}
		}
	}
	if star {
		return nil, true
	}
	slices.Sort(names)
	return slices.Compact(names), false
}

// parseHTTPDate parses an HTTP-date (RFC 9110 §5.6.7) strictly: the
// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), or one of the obsolete
// rfc850-date ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime-date ("Sun Nov
// 6 08:49:37 1994") formats, single spaces, two-digit time fields, the
// timezone GMT. Names are matched case-insensitively (the grammar's
// literals are). Anything else (double spaces, a one-digit hour, another
// timezone) is invalid, which for Expires means already expired
// (RFC 9111 §5.3).
func parseHTTPDate(s string) (time.Time, bool) {
	s = strings.Trim(s, " \t")
	if i := strings.IndexByte(s, ','); i > 0 {
		day, rest := s[:i], s[i+1:]
		if len(rest) == 0 || rest[0] != ' ' {
			return time.Time{}, false
		}
		rest = rest[1:]
		if len(day) == 3 && dayIndex(day, false) >= 0 {
			return imfFixdate(rest)
		}
		if dayIndex(day, true) >= 0 {
			return rfc850Date(rest)
		}
		return time.Time{}, false
	}
	return asctimeDate(s)
}

var (
	dayNames     = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	longDayNames = []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"}
	monthNames   = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
)

func dayIndex(s string, long bool) int {
	names := dayNames
	if long {
		names = longDayNames
	}
	for i, n := range names {
		if strings.EqualFold(s, n) {
			return i
		}
	}
	return -1
}

func monthIndex(s string) int {
	for i, n := range monthNames {
		if strings.EqualFold(s, n) {
			return i
		}
	}
	return -1
}

// digits reads exactly n digits.
func digits(s string, n int) (int, bool) {
	if len(s) != n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

// timeOfDay parses "HH:MM:SS".
func timeOfDay(s string) (h, m, sec int, ok bool) {
	if len(s) != 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, false
	}
	var ok1, ok2, ok3 bool
	h, ok1 = digits(s[0:2], 2)
	m, ok2 = digits(s[3:5], 2)
	sec, ok3 = digits(s[6:8], 2)
	return h, m, sec, ok1 && ok2 && ok3 && h < 24 && m < 60 && sec <= 60
}

func mkDate(year, month, day, h, m, sec int) (time.Time, bool) {
	if day < 1 || day > 31 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month+1), day, h, m, sec, 0, time.UTC)
	if t.Day() != day && sec != 60 {
		return time.Time{}, false // 31 Feb
	}
	return t, true
}

// imfFixdate parses "DD Mon YYYY HH:MM:SS GMT" (after "Day, ").
func imfFixdate(s string) (time.Time, bool) {
	f := strings.Split(s, " ")
	if len(f) != 5 || !strings.EqualFold(f[4], "GMT") {
		return time.Time{}, false
	}
	day, ok1 := digits(f[0], 2)
	mon := monthIndex(f[1])
	year, ok2 := digits(f[2], 4)
	h, m, sec, ok3 := timeOfDay(f[3])
	if !ok1 || mon < 0 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return mkDate(year, mon, day, h, m, sec)
}

// rfc850Date parses "DD-Mon-YY HH:MM:SS GMT" (after "Weekday, "); a
// two-digit year more than 50 years ahead is the most recent past year
// with those digits (RFC 9110 §5.6.7).
func rfc850Date(s string) (time.Time, bool) {
	f := strings.Split(s, " ")
	if len(f) != 3 || !strings.EqualFold(f[2], "GMT") {
		return time.Time{}, false
	}
	d := strings.Split(f[0], "-")
	if len(d) != 3 {
		return time.Time{}, false
	}
	day, ok1 := digits(d[0], 2)
	mon := monthIndex(d[1])
	yy, ok2 := digits(d[2], 2)
	h, m, sec, ok3 := timeOfDay(f[1])
	if !ok1 || mon < 0 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	now := time.Now().UTC().Year()
	year := now - now%100 + yy
	if year > now+50 {
		year -= 100
	}
	return mkDate(year, mon, day, h, m, sec)
}

// asctimeDate parses "Day Mon DD HH:MM:SS YYYY", the day of the month
// either two digits or a space and one digit.
func asctimeDate(s string) (time.Time, bool) {
	if len(s) != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' {
		return time.Time{}, false
	}
	if dayIndex(s[0:3], false) < 0 {
		return time.Time{}, false
	}
	mon := monthIndex(s[4:7])
	dd := s[8:10]
	if dd[0] == ' ' {
		dd = "0" + dd[1:]
	}
	day, ok1 := digits(dd, 2)
	h, m, sec, ok2 := timeOfDay(s[11:19])
	year, ok3 := digits(s[20:24], 4)
	if mon < 0 || !ok1 || !ok2 || !ok3 {
		return time.Time{}, false
	}
	return mkDate(year, mon, day, h, m, sec)
}

// parseAge parses the Age header (RFC 9111 §5.1): its field lines combined
// as a list, the first member used and the rest discarded; that member must
// be delta-seconds, else the field is ignored (ok false).
func parseAge(h http.Header) (secs int64, ok bool) {
	vs := h["Age"]
	if len(vs) == 0 {
		return 0, false
	}
	first, _, _ := strings.Cut(vs[0], ",")
	n := deltaSeconds(strings.Trim(first, " \t"), true)
	if n < 0 {
		return 0, false
	}
	return n, true
}

// etagMatch reports whether the If-None-Match field lines match the entity
// tag etag with the weak comparison of RFC 9110 §8.8.3.2 ("*" matches any
// representation). Quotes and the weakness prefix are compared leniently so
// that unquoted tags sent by sloppy clients or servers still match.
func etagMatch(inm []string, etag string) bool {
	if etag == "" {
		for _, line := range inm {
			if strings.TrimSpace(line) == "*" {
				return true
			}
		}
		return false
	}
	want := opaqueTag(etag)
	for _, line := range inm {
		for rest := line; rest != ""; {
			var tag string
			tag, rest = nextETag(rest)
			if tag == "*" || (tag != "" && opaqueTag(tag) == want) {
				return true
			}
		}
	}
	return false
}

// nextETag reads one entity tag of a comma-separated list, commas inside
// quotes included.
func nextETag(s string) (tag, rest string) {
	i := skipOWS(s, 0)
	start := i
	inQuote := false
	for ; i < len(s); i++ {
		if s[i] == '"' {
			inQuote = !inQuote
		} else if s[i] == ',' && !inQuote {
			return strings.TrimRight(s[start:i], " \t"), s[i+1:]
		}
	}
	return strings.TrimRight(s[start:], " \t"), ""
}

// opaqueTag strips the weakness prefix and the quotes from an entity tag.
func opaqueTag(t string) string {
	t = strings.TrimSpace(t)
	if len(t) >= 2 && (t[0] == 'W' || t[0] == 'w') && t[1] == '/' {
		t = t[2:]
	}
	if len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		t = t[1 : len(t)-1]
	}
	return t
}

// quoteETag returns the entity tag as it should be sent in If-None-Match:
// quoted when the stored tag was sent without quotes.
func quoteETag(t string) string {
	t = strings.TrimSpace(t)
	if strings.HasPrefix(t, "W/") || strings.HasPrefix(t, "w/") || strings.HasPrefix(t, `"`) {
		return t
	}
	return `"` + t + `"`
}

// connectionFields returns the canonical names listed in the Connection
// header, which are hop-by-hop and never stored (RFC 9110 §7.6.1).
func connectionFields(h http.Header) []string {
	var out []string
	for _, line := range h["Connection"] {
		for f := range strings.SplitSeq(line, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, textproto.CanonicalMIMEHeaderKey(f))
			}
		}
	}
	return out
}

// splitTags splits a Surrogate-Key field into its space-separated tags.
func splitTags(lines []string) []string {
	var out []string
	for _, line := range lines {
		out = append(out, strings.Fields(line)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func skipOWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}

// isTchar reports whether c may appear in a token (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
