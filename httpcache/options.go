package httpcache

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
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
)

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
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.MaxBodySize < 0 || o.MaxTTL < 0 || o.StaleIfError < 0 || o.CompressAbove < 0 || o.RevalidateTimeout < 0:
		return o, fmt.Errorf("%w: negative size or duration", ErrInvalidOptions)
	case o.SetCookie < SetCookieBypass || o.SetCookie > SetCookieStore:
		return o, fmt.Errorf("%w: unknown SetCookie policy %d", ErrInvalidOptions, o.SetCookie)
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
