package httpcache

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tiercache/tiercache/codec"
)

// entryKind tells a stored response from a Vary marker.
type entryKind uint8

const (
	// kindResponse is a stored response.
	kindResponse entryKind = 1
	// kindVary sits at a URL's primary key when its responses vary: it names
	// the request fields they vary on and the generation that, with those
	// fields' values, forms each variant's key. Deleting the marker (a purge,
	// an invalidation) orphans every variant at once.
	kindVary entryKind = 2
)

// entryFlags are the reuse rules of a stored response, computed once when it
// is stored so that a hit parses no header.
type entryFlags uint16

const (
	// flagNoCache: validate before every reuse (no-cache).
	flagNoCache entryFlags = 1 << iota
	// flagNoStale: never serve stale, not even with max-stale,
	// stale-while-revalidate or stale-if-error (must-revalidate,
	// proxy-revalidate, s-maxage).
	flagNoStale
	// flagShareAuth: may answer a request with Authorization (public,
	// must-revalidate or s-maxage; RFC 9111 §3.5).
	flagShareAuth
	// flagImmutable: immutable (RFC 8246).
	flagImmutable
	// flagHeadOnly: the response to a HEAD, handed to the HEAD requests
	// that waited for it and never stored: it has no body, and its
	// Content-Length is the GET's.
	flagHeadOnly
)

// entry is a cached value: a stored response or a Vary marker. An entry is
// never modified once stored (the local tier hands the same *entry to every
// reader); an update builds a new one.
type entry struct {
	kind entryKind

	// key is the cache key the entry is stored under, checked on read so
	// that an entry copied to another key is a miss.
	key string

	// kindVary
	gen      string
	variants int // variants stored under this marker (Options.MaxVariants), as far as this marker knows

	// kindResponse
	status     int
	header     http.Header
	body       []byte
	reqTime    int64 // unix ms: request sent, of the exchange that stored or last validated it
	respTime   int64 // unix ms: response received
	initialAge int64 // corrected_initial_age (RFC 9111 §4.2.3), ms
	lifetime   int64 // freshness lifetime, ms
	swr, sie   int64 // stale-while-revalidate, stale-if-error windows, ms (0: none)
	flags      entryFlags
	varyValues []string // normalized values of vary, in order (kindResponse only)
	tags       []string // Surrogate-Key tags

	vary []string // canonical field names: the response's Vary, or the marker's
}

// currentAge is current_age (RFC 9111 §4.2.3) at now (unix ms).
func (e *entry) currentAge(now int64) int64 {
	return e.initialAge + max(0, now-e.respTime)
}

// ttl is the freshness left at now, in ms: negative once stale.
func (e *entry) ttl(now int64) int64 { return e.lifetime - e.currentAge(now) }

// entryCodec encodes entries compactly for Redis:
//
//	version 2 | mac flag (0 or 1) | kind | string (cache key)
//	kindVary:     uvarint n | n strings (field names) | string (generation) |
//	              uvarint variants
//	kindResponse: uvarint status | varint reqTime, respTime, initialAge,
//	              lifetime, swr, sie | uvarint flags |
//	              uvarint fields | per field: string name, uvarint n, n strings |
//	              uvarint n | n strings (vary names) | n strings (their values) |
//	              uvarint n | n strings (tags) | body (the rest)
//	then, when the mac flag is 1, HMAC-SHA256 of everything before it (32 bytes)
//
// A string is a uvarint length and its bytes. The body comes last and is
// copied once on decode. Decode validates what it reads (validEntry): Redis
// is not trusted to hand back what this package wrote. With a key, every
// entry is written with its MAC and an entry without a valid one is
// rejected; without a key, a MAC is ignored.
type entryCodec struct {
	key  []byte     // Options.IntegrityKey
	macs *sync.Pool // of hash.Hash: HMAC-SHA256 under key; nil: made per call
}

// newEntryCodec returns the codec for an integrity key (nil: none).
func newEntryCodec(key []byte) entryCodec {
	c := entryCodec{key: key}
	if key != nil {
		c.macs = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	}
	return c
}

// mac returns the HMAC of b under the codec's key, appended to dst.
func (c entryCodec) mac(dst, b []byte) []byte {
	var m hash.Hash
	if c.macs != nil {
		m = c.macs.Get().(hash.Hash)
		defer c.macs.Put(m)
		m.Reset()
	} else {
		m = hmac.New(sha256.New, c.key)
	}
	m.Write(b)
	return m.Sum(dst)
}

const (
	entryVersion = 2
	macSize      = sha256.Size
)

// errCorruptEntry is returned by the entry decoder (and read by the cache as
// a miss) when a stored entry fails validation or authentication.
var errCorruptEntry = fmt.Errorf("%w: invalid stored entry", codec.ErrDecode)

var _ codec.Codec[*entry] = entryCodec{}

func (c entryCodec) Append(dst []byte, e *entry) ([]byte, error) {
	if e == nil {
		return dst, fmt.Errorf("%w: nil entry", codec.ErrEncode)
	}
	start := len(dst)
	mac := byte(0)
	if c.key != nil {
		mac = 1
	}
	dst = append(dst, entryVersion, mac, byte(e.kind))
	dst = appendString(dst, e.key)
	switch e.kind {
	case kindVary:
		dst = appendStrings(dst, e.vary)
		dst = appendString(dst, e.gen)
		dst = binary.AppendUvarint(dst, uint64(max(0, e.variants)))
		return c.seal(dst, start), nil
	case kindResponse:
	default:
		return dst, fmt.Errorf("%w: entry kind %d", codec.ErrEncode, e.kind)
	}
	dst = binary.AppendUvarint(dst, uint64(e.status))
	for _, v := range []int64{e.reqTime, e.respTime, e.initialAge, e.lifetime, e.swr, e.sie} {
		dst = binary.AppendVarint(dst, v)
	}
	dst = binary.AppendUvarint(dst, uint64(e.flags))
	names := make([]string, 0, len(e.header))
	for k := range e.header {
		names = append(names, k)
	}
	slices.Sort(names)
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, k := range names {
		dst = appendString(dst, k)
		dst = appendStrings(dst, e.header[k])
	}
	dst = appendStrings(dst, e.vary)
	for i := range e.vary {
		dst = appendString(dst, e.varyValues[i])
	}
	dst = appendStrings(dst, e.tags)
	dst = append(dst, e.body...)
	return c.seal(dst, start), nil
}

// seal appends the MAC of dst[start:] when the codec has a key.
func (c entryCodec) seal(dst []byte, start int) []byte {
	if c.key == nil {
		return dst
	}
	return c.mac(dst, dst[start:])
}

func (c entryCodec) Decode(data []byte) (*entry, error) {
	if len(data) < 3 || data[0] != entryVersion {
		return nil, fmt.Errorf("%w: entry version", errCorruptEntry)
	}
	switch data[1] {
	case 0:
		if c.key != nil {
			return nil, fmt.Errorf("%w: entry not authenticated", errCorruptEntry)
		}
	case 1:
		if len(data) < 3+macSize {
			return nil, fmt.Errorf("%w: truncated MAC", errCorruptEntry)
		}
		payload, sum := data[:len(data)-macSize], data[len(data)-macSize:]
		if c.key != nil {
			var buf [macSize]byte
			if !hmac.Equal(c.mac(buf[:0], payload), sum) {
				return nil, fmt.Errorf("%w: MAC mismatch", errCorruptEntry)
			}
		}
		data = payload
	default:
		return nil, fmt.Errorf("%w: entry flags", errCorruptEntry)
	}
	d := decoder{b: data[2:]}
	e := &entry{kind: entryKind(d.byte())}
	e.key = d.string()
	switch e.kind {
	case kindVary:
		e.vary = d.strings()
		e.gen = d.string()
		v := d.uvarint()
		if v > 1<<30 {
			d.fail("variants")
		}
		e.variants = int(v)
		if len(d.b) != 0 {
			d.fail("trailing bytes")
		}
	case kindResponse:
		st := d.uvarint()
		if st > 999 {
			d.fail("status")
		}
		e.status = int(st)
		for _, p := range []*int64{&e.reqTime, &e.respTime, &e.initialAge, &e.lifetime, &e.swr, &e.sie} {
			*p = d.varint()
		}
		e.flags = entryFlags(d.uvarint())
		n := d.count()
		e.header = make(http.Header, n)
		for range n {
			k := d.string()
			e.header[k] = d.strings()
		}
		e.vary = d.strings()
		e.varyValues = make([]string, len(e.vary))
		for i := range e.vary {
			e.varyValues[i] = d.string()
		}
		e.tags = d.strings()
		if d.err == nil {
			e.body = append(make([]byte, 0, len(d.b)), d.b...)
		}
	default:
		d.fail("entry kind")
	}
	if d.err != nil {
		return nil, d.err
	}
	if err := validEntry(e); err != nil {
		return nil, err
	}
	return e, nil
}

// validEntry checks a decoded entry against what this package can have
// written: a final status it stores, field names that are tokens, field
// values without control bytes, no hop-by-hop or framing fields but a
// Content-Length equal to the body's length, sane times, and Vary names
// and a generation a marker can have.
func validEntry(e *entry) error {
	bad := func(what string) error { return fmt.Errorf("%w: %s", errCorruptEntry, what) }
	if len(e.key) == 0 {
		return bad("no key")
	}
	for _, n := range e.vary {
		if !validToken(n) || n != textproto.CanonicalMIMEHeaderKey(n) {
			return bad("vary field name")
		}
	}
	if e.kind == kindVary {
		if len(e.vary) == 0 || len(e.gen) == 0 || len(e.gen) > 64 || strings.Trim(e.gen, "0123456789abcdef") != "" {
			return bad("vary marker")
		}
		return nil
	}
	if e.status < 200 || e.status > 599 || e.status == http.StatusPartialContent || e.status == http.StatusNotModified {
		return bad("status")
	}
	if e.lifetime < 0 || e.initialAge < 0 || e.swr < 0 || e.sie < 0 || e.respTime <= 0 || e.reqTime <= 0 {
		return bad("times")
	}
	for k, vs := range e.header {
		if !validToken(k) || len(vs) == 0 || k != textproto.CanonicalMIMEHeaderKey(k) {
			return bad("field name")
		}
		for _, v := range vs {
			if !validFieldValue(v) {
				return bad("field value")
			}
		}
	}
	for _, k := range []string{"Transfer-Encoding", "Connection", "Trailer", "Upgrade", "Keep-Alive"} {
		if _, ok := e.header[k]; ok {
			return bad("hop-by-hop field")
		}
	}
	if cl, ok := e.header["Content-Length"]; ok {
		if len(cl) != 1 || deltaSeconds(cl[0], true) != int64(len(e.body)) {
			return bad("Content-Length")
		}
	}
	if (e.status == http.StatusNoContent || e.status < 200) && len(e.body) > 0 {
		return bad("body on a bodiless status")
	}
	return nil
}

// validFieldValue reports whether v may be sent as a field value: no
// control bytes but HTAB, no DEL, no leading or trailing whitespace
// (RFC 9110 §5.5).
func validFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return v == "" || (v[0] != ' ' && v[0] != '\t' && v[len(v)-1] != ' ' && v[len(v)-1] != '\t')
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendStrings(dst []byte, ss []string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ss)))
	for _, s := range ss {
		dst = appendString(dst, s)
	}
	return dst
}

// decoder reads what entryCodec wrote; the first error sticks and every
// later read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or corrupt entry (%s)", codec.ErrDecode, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length that must fit in what is left (each item takes at
// least one byte), so a corrupt length cannot make Decode allocate wildly.
func (d *decoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) strings() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.string()
	}
	return out
}

// unixMilli converts a time to the entry's unit.
func unixMilli(t time.Time) int64 { return t.UnixMilli() }
