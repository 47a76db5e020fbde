package httpcache

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"
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
)

// entry is a cached value: a stored response or a Vary marker. An entry is
// never modified once stored (the local tier hands the same *entry to every
// reader); an update builds a new one.
type entry struct {
	kind entryKind

	// kindVary
	gen string

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
//	version 1 | kind
//	kindVary:     uvarint n | n strings (field names) | string (generation)
//	kindResponse: uvarint status | varint reqTime, respTime, initialAge,
//	              lifetime, swr, sie | uvarint flags |
//	              uvarint fields | per field: string name, uvarint n, n strings |
//	              uvarint n | n strings (vary names) | n strings (their values) |
//	              uvarint n | n strings (tags) | body (the rest)
//
// A string is a uvarint length and its bytes. The body comes last and is
// copied once on decode.
type entryCodec struct{}

const entryVersion = 1

var _ codec.Codec[*entry] = entryCodec{}

func (entryCodec) Append(dst []byte, e *entry) ([]byte, error) {
	if e == nil {
		return dst, fmt.Errorf("%w: nil entry", codec.ErrEncode)
	}
	dst = append(dst, entryVersion, byte(e.kind))
	switch e.kind {
	case kindVary:
		dst = appendStrings(dst, e.vary)
		return appendString(dst, e.gen), nil
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
	return append(dst, e.body...), nil
}

func (entryCodec) Decode(data []byte) (*entry, error) {
	d := decoder{b: data}
	if v := d.byte(); v != entryVersion {
		return nil, fmt.Errorf("%w: entry version %d", codec.ErrDecode, v)
	}
	e := &entry{kind: entryKind(d.byte())}
	switch e.kind {
	case kindVary:
		e.vary = d.strings()
		e.gen = d.string()
	case kindResponse:
		e.status = int(d.uvarint())
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
	return e, nil
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
