package httpcache

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/textproto"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for Options; each field's comment repeats its own.
const (
	DefaultNamespace         = "http"
	DefaultName              = "tiercache"
	DefaultMaxBodySize       = 1 << 20
	DefaultMaxTTL            = 24 * time.Hour
	DefaultMaxHeuristic      = 24 * time.Hour
	DefaultRevalidateTimeout = 30 * time.Second
	DefaultMaxVariants       = 64
)

// DefaultRoutingFields are the request fields, known to change how some
// frameworks and proxies route a request or which method they run, that
// Options.RoutingFields defaults to. A response to a request carrying one of
// them must not be stored under the key of the clean URL.
var DefaultRoutingFields = []string{
	"X-Original-URL", "X-Rewrite-URL", "X-Override-URL",
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
	"X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Scheme", "X-Forwarded-Port",
	"X-Forwarded-Prefix", "X-Forwarded-Server", "X-Forwarded-Ssl", "Forwarded",
	"X-Host", "X-Original-Host", "Front-End-Https", "X-Url-Scheme",
}

// headerAllowance is the room an encoded entry gets beyond its body for its
// status line, header fields and metadata.
const headerAllowance = 64 << 10

var (
	// ErrInvalidOptions is returned by New for a nil Store or options out of
	// range (a negative size or duration, an invalid namespace).
	ErrInvalidOptions = errors.New("tiercache/httpcache: invalid options")

	// ErrInvalidURL is returned by PurgeURL when the URL is not an absolute
	// http or https URL.
	ErrInvalidURL = errors.New("tiercache/httpcache: invalid URL")

	// ErrEmptyTag is returned by PurgeTag for an empty tag.
	ErrEmptyTag = errors.New("tiercache/httpcache: empty tag")
)

// SetCookiePolicy says what a Cache does with responses that set cookies.
type SetCookiePolicy int

const (
	// SetCookieBypass (the default) never stores a response with a
	// Set-Cookie field: it streams through to the client that asked.
	SetCookieBypass SetCookiePolicy = iota
	// SetCookieStrip stores such a response without its Set-Cookie fields:
	// the client whose request fetched it gets its cookies, later clients
	// get the shared content without them.
	SetCookieStrip
	// SetCookieStore stores such a response with its cookies and hands them
	// to every client served from the cache. Only for cookies that are the
	// same for everyone; a session cookie stored this way leaks the session.
	SetCookieStore
)

// CookiePolicy says whether responses to requests that carry a Cookie field
// are stored.
type CookiePolicy int

const (
	// CookieRequireShared (the default) stores a response to a request with
	// Cookie only when the response says it may be shared (public, s-maxage
	// or must-revalidate, as RFC 9111 §3.5 asks for Authorization) or varies
	// on Cookie (Vary: Cookie keys it by the cookie). Otherwise a page
	// personalised by the cookie and cacheable only by heuristic freshness
	// would be served to everyone (web cache deception).
	CookieRequireShared CookiePolicy = iota
	// CookieIgnore stores responses to requests with Cookie like any other:
	// for sites whose responses never depend on the cookie.
	CookieIgnore
	// CookieBypass never stores a response to a request with Cookie.
	CookieBypass
)

// RoutingPolicy says what a Cache does with the request fields of
// Options.RoutingFields.
type RoutingPolicy int

const (
	// RoutingStrip (the default) removes the routing fields from a GET or
	// HEAD request before the handler sees it, when the cache forwards it
	// (a response is stored under the URL's key, so it must not depend on
	// unkeyed input). Requests the cache does not serve (other methods,
	// Options.Key returning "") keep them.
	RoutingStrip RoutingPolicy = iota
	// RoutingKey keeps the routing fields and makes their values part of the
	// cache key: for a site behind a trusted front that sets them. PurgeURL
	// reaches only the responses to requests without them (PurgeTag reaches
	// all).
	RoutingKey
)

// Options configures a Cache. The zero value means the defaults.
type Options struct {
	// Namespace is the cache namespace of the Store that holds responses
	// (Redis keys "<store prefix><Namespace>:<key>", and
	// "<store prefix><Namespace>.tags:<tag>" for the tag index). Processes
	// that share responses use the same one. Default "http".
	Namespace string
	// Name identifies this cache in the Cache-Status header (RFC 9211).
	// Default "tiercache".
	Name string
	// MaxBodySize is the largest body stored. A larger response streams
	// through to its client and is not stored. Default 1 MiB.
	MaxBodySize int
	// MaxTTL bounds how long a stored response is kept, fresh or stale
	// (stale responses with a validator are kept for revalidation and for
	// stale-if-error). Default 24h.
	MaxTTL time.Duration
	// LocalTTL bounds how long a process keeps a response in its local
	// tier (cache.Options.LocalTTL): negative turns the local tier off for
	// responses. Default: the cache package's default (1m).
	LocalTTL time.Duration
	// MaxHeuristic caps the heuristic freshness lifetime given to
	// responses with Last-Modified but no explicit expiry (RFC 9111
	// §4.2.2: 10% of the time since Last-Modified). Negative: no heuristic
	// freshness. Default 24h.
	MaxHeuristic time.Duration
	// StaleIfError lets a stored response be served up to this long past
	// its freshness when the handler answers 500, 502, 503 or 504, for
	// responses that carry no stale-if-error directive of their own
	// (RFC 5861 §4 lets the response or the request allow it). Responses
	// with must-revalidate, proxy-revalidate, s-maxage or no-cache are
	// never served stale. Default 0: only when a directive allows it.
	StaleIfError time.Duration
	// CDNCacheControl names the targeted cache control fields (RFC 9213)
	// this cache obeys, in order of precedence, comma-separated (for
	// example "CDN-Cache-Control"). The first of them present with a valid
	// value replaces Cache-Control and Expires for this cache; the fields
	// are still forwarded. Default "": none.
	CDNCacheControl string
	// SetCookie says whether responses with Set-Cookie are stored.
	// Default SetCookieBypass: they are not.
	SetCookie SetCookiePolicy
	// RequestCookie says whether responses to requests with a Cookie field
	// are stored. Default CookieRequireShared: only when the response is
	// public, s-maxage, must-revalidate or varies on Cookie.
	RequestCookie CookiePolicy
	// RoutingFields are request fields that change routing or the method
	// run by the application behind the cache (X-Original-URL,
	// X-HTTP-Method-Override, X-Forwarded-Host...), which the default key
	// does not contain. Nil means DefaultRoutingFields; an empty non-nil
	// slice means none. Add your own with
	// append(httpcache.DefaultRoutingFields, "X-My-Field").
	RoutingFields []string
	// Routing says what is done with RoutingFields. Default RoutingStrip:
	// they are removed from forwarded GET and HEAD requests.
	Routing RoutingPolicy
	// MaxVariants caps how many Vary variants of one URL are stored; a
	// response for a further variant is served but not stored
	// (Cache-Status detail=vary-limit) until the URL's variants are purged,
	// invalidated or expire. The count is kept in the URL's Vary marker, so
	// processes racing to add variants can pass it by a few. Negative: no
	// cap. Default 64.
	MaxVariants int
	// FillOnConditionalMiss, when true, removes the client's
	// If-None-Match and If-Modified-Since from a request for which nothing
	// is stored, so that the origin answers in full, the response is
	// stored, and the cache answers the client's precondition itself
	// (a 304 when it matches). Default false: they are forwarded as they
	// are (RFC 9111 §4.3.2) and an origin's 304 goes to that client, not
	// into the Store.
	FillOnConditionalMiss bool
	// IntegrityKey, when set, authenticates every entry written to Redis
	// with an HMAC-SHA256 under this key (use at least 32 random bytes,
	// the same for every process sharing the cache) and binds it to its
	// Redis key: an entry written by anyone without the key, or moved to
	// another key, reads as a miss. Entries are validated on read either
	// way (status, field bytes, Content-Length against the body). Default
	// nil: no authentication.
	IntegrityKey []byte
	// CompressAbove compresses stored entries of at least this many bytes
	// in Redis (cache.Options.CompressAbove). Default 0: no compression.
	CompressAbove int
	// RevalidateTimeout bounds a background revalidation
	// (stale-while-revalidate), which runs detached from the request that
	// started it. Default 30s.
	RevalidateTimeout time.Duration

	// Key returns the cache key of a request. Responses are shared between
	// requests with the same key (and, when the response has Vary, the
	// same values of the fields it names). An empty key means: do not
	// cache this request. Nil means scheme, Host and request URI
	// ("https://example.com/path?query"), so that responses are never
	// shared across hosts.
	Key func(r *http.Request) string
	// Storable, when set, is asked about each response that RFC 9111
	// allows to be stored; returning false keeps it out of the cache. It
	// cannot make the cache store what the RFC forbids. Nil: every
	// response the RFC allows is stored.
	Storable func(r *http.Request, status int, header http.Header) bool
	// Logger receives errors the cache cannot return to anyone (failed
	// Redis writes, failed background revalidations) at Debug level, so
	// that a Redis outage does not log one line per request (the Store logs
	// its breaker's state changes). Nil: slog.Default().
	Logger *slog.Logger
	// Redis is the client the Store was made with. With it, Surrogate-Key
	// tags are indexed in Redis and PurgeTag reaches responses stored by
	// every process. Nil: tags are indexed in this process only, so
	// PurgeTag removes only the responses this process stored.
	Redis redis.UniversalClient

	targeted []string // parsed CDNCacheControl
	routing  []string // canonical RoutingFields
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.MaxBodySize < 0 || o.MaxTTL < 0 || o.StaleIfError < 0 || o.CompressAbove < 0 || o.RevalidateTimeout < 0:
		return o, fmt.Errorf("%w: negative size or duration", ErrInvalidOptions)
	case o.SetCookie < SetCookieBypass || o.SetCookie > SetCookieStore:
		return o, fmt.Errorf("%w: unknown SetCookie policy %d", ErrInvalidOptions, o.SetCookie)
	case o.RequestCookie < CookieRequireShared || o.RequestCookie > CookieBypass:
		return o, fmt.Errorf("%w: unknown RequestCookie policy %d", ErrInvalidOptions, o.RequestCookie)
	case o.Routing < RoutingStrip || o.Routing > RoutingKey:
		return o, fmt.Errorf("%w: unknown Routing policy %d", ErrInvalidOptions, o.Routing)
	case o.IntegrityKey != nil && len(o.IntegrityKey) < 16:
		return o, fmt.Errorf("%w: IntegrityKey shorter than 16 bytes", ErrInvalidOptions)
	case o.MaxTTL > 0 && o.MaxTTL < time.Second:
		return o, fmt.Errorf("%w: MaxTTL %v is below one second", ErrInvalidOptions, o.MaxTTL)
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Name == "" {
		o.Name = DefaultName
	} else if !validToken(o.Name) {
		return o, fmt.Errorf("%w: Name %q is not a token", ErrInvalidOptions, o.Name)
	}
	if o.MaxBodySize == 0 {
		o.MaxBodySize = DefaultMaxBodySize
	}
	if o.MaxTTL == 0 {
		o.MaxTTL = DefaultMaxTTL
	}
	if o.MaxHeuristic == 0 {
		o.MaxHeuristic = DefaultMaxHeuristic
	}
	if o.MaxVariants == 0 {
		o.MaxVariants = DefaultMaxVariants
	}
	fields := o.RoutingFields
	if fields == nil {
		fields = DefaultRoutingFields
	}
	o.routing = nil
	for _, f := range fields {
		if !validToken(f) {
			return o, fmt.Errorf("%w: RoutingFields %q is not a field name", ErrInvalidOptions, f)
		}
		o.routing = append(o.routing, textproto.CanonicalMIMEHeaderKey(f))
	}
	if o.RevalidateTimeout == 0 {
		o.RevalidateTimeout = DefaultRevalidateTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.targeted = fieldNames(o.CDNCacheControl)
	if o.CDNCacheControl != "" && len(o.targeted) == 0 {
		return o, fmt.Errorf("%w: CDNCacheControl %q names no field", ErrInvalidOptions, o.CDNCacheControl)
	}
	return o, nil
}
