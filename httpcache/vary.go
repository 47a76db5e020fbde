package httpcache

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/tiercache/tiercache/cache"
)

// Responses with Vary (RFC 9111 §4.1) are stored as variants. The primary
// key of the URL holds a marker (kindVary) naming the fields the responses
// vary on and a random generation; each variant lives under
// variantKey(primary, generation, fields, values). A lookup reads the marker,
// computes the request's variant key and reads the variant: two reads for a
// varying URL, one for the rest. Several variants of a URL coexist; deleting
// the marker makes all of them unreachable in every process at once.

// absentField stands for a request field that is absent, which is not the
// same as present and empty.
const absentField = "\x00"

// maxRawVariant is the longest variant suffix kept readable; longer ones are
// hashed.
const maxRawVariant = 128

// varyValues returns the normalized values of the request fields names:
// field lines combined, whitespace around commas removed (RFC 9111 §4.1
// allows normalizing), an absent field distinct from an empty one.
func varyValues(r *http.Request, names []string) []string {
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = normalizeVary(name, r.Header.Values(name))
	}
	return out
}

// normalizeVary normalizes a request field for variant selection: the
// generic normalization, and for the proactive negotiation fields whose
// members are case-insensitive tokens weighted by q (Accept-Language,
// Accept-Encoding, Accept-Charset: RFC 9110 §12.5) members lowercased,
// "q=1" dropped and members ordered by weight then name, so that "en, de"
// and "DE, en;q=1" select the same variant.
func normalizeVary(name string, lines []string) string {
	switch name {
	case "Accept-Language", "Accept-Encoding", "Accept-Charset":
	default:
		return normalizeField(lines)
	}
	if len(lines) == 0 {
		return absentField
	}
	type member struct {
		tok string
		q   string // "" for 1
	}
	var ms []member
	for _, line := range lines {
		for f := range strings.SplitSeq(line, ",") {
			tok, params, _ := strings.Cut(f, ";")
			tok = strings.ToLower(strings.Trim(tok, " \t"))
			if tok == "" {
				continue
			}
			q := ""
			for p := range strings.SplitSeq(params, ";") {
				k, v, _ := strings.Cut(strings.Trim(p, " \t"), "=")
				if strings.EqualFold(strings.TrimSpace(k), "q") {
					q = normalizeQ(strings.TrimSpace(v))
				} else if strings.TrimSpace(p) != "" {
					return normalizeField(lines) // parameters other than q: leave it alone
				}
			}
			ms = append(ms, member{tok, q})
		}
	}
	slices.SortStableFunc(ms, func(a, b member) int {
		qa, qb := a.q, b.q
		if qa == "" {
			qa = "1"
		}
		if qb == "" {
			qb = "1"
		}
		if c := strings.Compare(qb, qa); c != 0 {
			return c // higher weight first (qvalues compare as strings once normalized)
		}
		return strings.Compare(a.tok, b.tok)
	})
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.tok)
		if m.q != "" {
			b.WriteString(";q=")
			b.WriteString(m.q)
		}
	}
	return b.String()
}

// normalizeQ returns a qvalue without trailing zeros, "" for 1 (the
// default); a malformed value is kept as it is.
func normalizeQ(v string) string {
	if v == "" || (v[0] != '0' && v[0] != '1') || (len(v) > 1 && v[1] != '.') || len(v) > 5 || strings.Trim(v[min(2, len(v)):], "0123456789") != "" {
		return "bad:" + v
	}
	if v[0] == '1' {
		if strings.Trim(v[min(2, len(v)):], "0") != "" {
			return "bad:" + v
		}
		return ""
	}
	v = strings.TrimRight(v, "0")
	v = strings.TrimSuffix(v, ".")
	if v == "" {
		return "0"
	}
	return v
}

func normalizeField(lines []string) string {
	if len(lines) == 0 {
		return absentField
	}
	var b strings.Builder
	first := true
	for _, line := range lines {
		for f := range strings.SplitSeq(line, ",") {
			if !first {
				b.WriteByte(',')
			}
			first = false
			b.WriteString(strings.Trim(f, " \t"))
		}
	}
	return b.String()
}

// variantKey is the key of the variant of primary selected by values of the
// fields names, under the marker generation gen.
func variantKey(primary, gen string, names, values []string) string {
	var b strings.Builder
	for i, n := range names {
		b.WriteString(n)
		b.WriteByte('=')
		b.WriteString(values[i])
		b.WriteByte('\n')
	}
	suffix := b.String()
	if len(suffix) > maxRawVariant || strings.ContainsAny(suffix, "\x00") {
		sum := sha256.Sum256([]byte(suffix))
		suffix = hex.EncodeToString(sum[:])
	}
	return primary + "\x00" + gen + "\x00" + suffix
}

// newGeneration returns a random marker generation.
func newGeneration() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}

// miss kinds for Cache-Status fwd.
const (
	uriMiss  = "uri-miss"
	varyMiss = "vary-miss"
)

// lookupResult is what the cache holds for a request.
type lookupResult struct {
	e        *entry // the stored response selected for the request; nil: none
	storeKey string // the key e is (or a new response for the request would be) stored under, when known
	marker   *entry // the Vary marker at the primary key, if any
	miss     string // uriMiss or varyMiss when e is nil
}

// lookup selects the stored response for r under the primary key. A Redis
// failure reads as a miss (counted and logged at Debug level).
func (c *Cache) lookup(ctx context.Context, r *http.Request, primary string) lookupResult {
	res := lookupResult{storeKey: primary, miss: uriMiss}
	e, ok := c.get(ctx, primary)
	if !ok {
		return res
	}
	if e.kind == kindVary {
		res.marker = e
		res.miss = varyMiss
		res.storeKey = variantKey(primary, e.gen, e.vary, varyValues(r, e.vary))
		if e, ok = c.get(ctx, res.storeKey); !ok {
			return res
		}
	} else if len(e.vary) > 0 {
		return res // a variant found at a primary key: not what this package writes
	}
	if e.kind != kindResponse || !variantMatches(e, r) {
		res.miss = varyMiss
		return res
	}
	res.e, res.miss = e, ""
	return res
}

// variantMatches reports whether a stored response's Vary fields have the
// same normalized values in r as in the request that stored it.
func variantMatches(e *entry, r *http.Request) bool {
	for i, name := range e.vary {
		if normalizeVary(name, r.Header.Values(name)) != e.varyValues[i] {
			return false
		}
	}
	return true
}

// get reads one key; a miss or an error is !ok, and so is an entry that
// was stored under another key (moved there by someone else).
func (c *Cache) get(ctx context.Context, key string) (*entry, bool) {
	e, err := c.store.Get(ctx, key)
	if err != nil {
		if !errors.Is(err, cache.ErrNotFound) {
			c.redisError("get", key, err)
		}
		return nil, false
	}
	if e.key != key {
		c.stats.corrupt.Add(1)
		return nil, false
	}
	return e, true
}

// prepare sets the key e will be stored under (e.key), before e is handed
// to anyone: primary when it does not vary, else the key of its variant
// under marker, or under a new marker when there is none or it names other
// fields.
func (c *Cache) prepare(primary string, marker *entry, e *entry) {
	if len(e.vary) == 0 {
		e.key = primary
		return
	}
	if marker != nil && slices.Equal(marker.vary, e.vary) {
		e.gen = marker.gen
	} else {
		e.gen = newGeneration()
	}
	e.key = variantKey(primary, e.gen, e.vary, e.varyValues)
}

// put stores a response prepared for primary: directly when it does not
// vary, else as a variant, writing a new marker when there is none or it
// names other fields, or when newVariant (the marker counts its variants).
// It returns the key the response went under.
func (c *Cache) put(ctx context.Context, primary string, marker *entry, e *entry, newVariant bool) (string, error) {
	k := e.key
	if len(e.vary) == 0 {
		return k, c.store.Set(ctx, k, e)
	}
	if marker != nil && slices.Equal(marker.vary, e.vary) && marker.gen == e.gen {
		if !newVariant {
			return k, c.store.Set(ctx, k, e)
		}
		m := &entry{kind: kindVary, key: primary, vary: marker.vary, gen: marker.gen, variants: marker.variants + 1}
		return k, c.store.SetMany(ctx, map[string]*entry{primary: m, k: e})
	}
	m := &entry{kind: kindVary, key: primary, vary: e.vary, gen: e.gen, variants: 1}
	// The variant and its marker in one write (atomic on a single server).
	return k, c.store.SetMany(ctx, map[string]*entry{primary: m, k: e})
}

// variantsFull reports whether the URL whose marker is m may not take one
// more variant (Options.MaxVariants).
func (c *Cache) variantsFull(m *entry) bool {
	return m != nil && c.opts.MaxVariants > 0 && m.variants >= c.opts.MaxVariants
}
