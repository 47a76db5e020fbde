package httpcache

import "strings"

// Targeted cache control fields (RFC 9213) such as CDN-Cache-Control are
// Structured Field Dictionaries (RFC 8941 §3.2), parsed strictly: a field that
// does not parse is ignored as a whole, and the cache falls back to
// Cache-Control and Expires.

// sfValue is the bare item of a dictionary member, reduced to what cache
// directives need.
type sfValue struct {
	kind    byte // 'b' boolean, 'i' integer, 's' string, 't' token, 'd' decimal, 'y' byte sequence
	boolean bool
	integer int64
}

// parseTargeted parses the field lines of a targeted cache control field. ok
// is false when the field is empty or not a valid Dictionary; then it must
// be ignored. Members of the wrong type for a known directive (such as
// max-age="10") are ignored one by one.
func parseTargeted(lines []string) (d directives, ok bool) {
	s := strings.Trim(strings.Join(lines, ","), " ")
	if s == "" {
		return d, false
	}
	members := make(map[string]sfValue)
	var order []string
	p := sfParser{s: s}
	for {
		key, ok := p.key()
		if !ok {
			return d, false
		}
		v := sfValue{kind: 'b', boolean: true}
		if p.peek() == '=' {
			p.i++
			if v, ok = p.bareItem(); !ok {
				return d, false
			}
		}
		if !p.params() {
			return d, false
		}
		if _, dup := members[key]; !dup {
			order = append(order, key)
		}
		members[key] = v // the last value of a repeated key wins (RFC 8941 §4.2.2)
		p.ows()
		if p.done() {
			break
		}
		if p.peek() != ',' {
			return d, false
		}
		p.i++
		p.ows()
		if p.done() {
			return d, false // trailing comma
		}
	}
	d = newDirectives()
	for _, k := range order {
		d.applyTargeted(k, members[k])
	}
	return d, true
}

func (d *directives) applyTargeted(key string, v sfValue) {
	flag := func(p *bool) {
		if v.kind == 'b' {
			*p = v.boolean
		} else if v.kind == 's' || v.kind == 't' {
			*p = true // a qualified form: honoured as the more restrictive unqualified one
		}
	}
	delta := func(p *int64) {
		if v.kind == 'i' && v.integer >= 0 {
			*p = min(v.integer, maxDelta)
		}
	}
	switch key {
	case "no-store":
		flag(&d.noStore)
	case "no-cache":
		flag(&d.noCache)
	case "private":
		flag(&d.private)
	case "public":
		flag(&d.public)
	case "must-revalidate":
		flag(&d.mustRevalidate)
	case "proxy-revalidate":
		flag(&d.proxyRevalidate)
	case "must-understand":
		flag(&d.mustUnderstand)
	case "immutable":
		flag(&d.immutable)
	case "max-age":
		delta(&d.maxAge)
	case "s-maxage":
		delta(&d.sMaxAge)
	case "stale-while-revalidate":
		delta(&d.swr)
	case "stale-if-error":
		delta(&d.sie)
	}
}

// sfParser is a cursor over a Structured Field value.
type sfParser struct {
	s string
	i int
}

func (p *sfParser) done() bool { return p.i >= len(p.s) }

func (p *sfParser) peek() byte {
	if p.done() {
		return 0
	}
	return p.s[p.i]
}

func (p *sfParser) ows() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// key parses a key: lcalpha or "*", then lcalpha, digits, "_-.*".
func (p *sfParser) key() (string, bool) {
	c := p.peek()
	if !(c >= 'a' && c <= 'z' || c == '*') {
		return "", false
	}
	start := p.i
	for !p.done() {
		c := p.s[p.i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("_-.*", c) >= 0 {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i], true
}

// params parses and discards parameters (";" key [ "=" bare-item ]).
func (p *sfParser) params() bool {
	for p.peek() == ';' {
		p.i++
		for p.peek() == ' ' {
			p.i++
		}
		if _, ok := p.key(); !ok {
			return false
		}
		if p.peek() == '=' {
			p.i++
			if _, ok := p.bareItem(); !ok {
				return false
			}
		}
	}
	return true
}

// bareItem parses an Integer, Decimal, String, Token, Byte Sequence or
// Boolean. Inner lists are not valid cache directive values and fail.
func (p *sfParser) bareItem() (sfValue, bool) {
	c := p.peek()
	switch {
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == '"':
		return p.str()
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*':
		p.i++
		for !p.done() && (isTchar(p.s[p.i]) || p.s[p.i] == ':' || p.s[p.i] == '/') {
			p.i++
		}
		return sfValue{kind: 't'}, true
	case c == ':':
		end := strings.IndexByte(p.s[p.i+1:], ':')
		if end < 0 {
			return sfValue{}, false
		}
		for _, b := range []byte(p.s[p.i+1 : p.i+1+end]) {
			if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=') {
				return sfValue{}, false
			}
		}
		p.i += end + 2
		return sfValue{kind: 'y'}, true
	case c == '?':
		if p.i+1 < len(p.s) && (p.s[p.i+1] == '0' || p.s[p.i+1] == '1') {
			v := sfValue{kind: 'b', boolean: p.s[p.i+1] == '1'}
			p.i += 2
			return v, true
		}
	}
	return sfValue{}, false
}

// number parses an Integer (at most 15 digits) or a Decimal (at most 12
// integer and 3 fractional digits).
func (p *sfParser) number() (sfValue, bool) {
	neg := false
	if p.peek() == '-' {
		neg = true
		p.i++
	}
	var n int64
	digits, frac, dot := 0, 0, false
	for !p.done() {
		c := p.s[p.i]
		switch {
		case c >= '0' && c <= '9':
			if dot {
				frac++
			} else {
				digits++
				n = n*10 + int64(c-'0')
			}
		case c == '.' && !dot:
			if digits > 12 {
				return sfValue{}, false
			}
			dot = true
		default:
			goto end
		}
		p.i++
	}
end:
	switch {
	case digits == 0:
		return sfValue{}, false
	case dot:
		if frac < 1 || frac > 3 {
			return sfValue{}, false
		}
		return sfValue{kind: 'd'}, true
	case digits > 15:
		return sfValue{}, false
	}
	if neg {
		n = -n
	}
	return sfValue{kind: 'i', integer: n}, true
}

// str parses a String: printable ASCII, with \" and \\ escapes only.
func (p *sfParser) str() (sfValue, bool) {
	p.i++ // opening quote
	for !p.done() {
		c := p.s[p.i]
		p.i++
		switch {
		case c == '\\':
			if p.done() || (p.s[p.i] != '"' && p.s[p.i] != '\\') {
				return sfValue{}, false
			}
			p.i++
		case c == '"':
			return sfValue{kind: 's'}, true
		case c < 0x20 || c > 0x7e:
			return sfValue{}, false
		}
	}
	return sfValue{}, false
}
