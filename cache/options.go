package cache

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/tiercache/tiercache/codec"
)

// Defaults for StoreOptions and Options; each field's comment repeats its own.
const (
	DefaultMaxEntries      = 100_000
	DefaultMaxBytes        = 64 << 20
	DefaultPrefix          = "tc:"
	DefaultBreakerFailures = 5
	DefaultBreakerCoolDown = time.Second
	DefaultTTL             = time.Hour
	DefaultLocalTTL        = time.Minute
	DefaultTimeout         = time.Second
	DefaultMaxValueSize    = 1 << 20
	DefaultMaxStaleness    = time.Minute
	DefaultLease           = 10 * time.Second
)

// NoExpiry, as Options.TTL, makes values never expire: the Redis entry is
// written without a TTL and is fresh for as long as it exists. Local copies
// are still bounded by Options.LocalTTL and StoreOptions.MaxStaleness, and
// negative entries by Options.NegativeTTL.
const NoExpiry time.Duration = -1

// StoreOptions configures a Store. The zero value means the defaults.
type StoreOptions struct {
	// MaxEntries is the local tier's entry budget, shared by every
	// namespace of the Store. Default DefaultMaxEntries (100 000).
	MaxEntries int
	// MaxBytes is the local tier's byte budget; an entry counts its encoded
	// length, its key and a fixed overhead. Default DefaultMaxBytes (64 MiB).
	MaxBytes int64
	// Prefix starts every Redis key the Store writes. Default "tc:".
	Prefix string
	// BreakerFailures is how many consecutive Redis failures (network errors
	// and timeouts, not misses or server replies) open the breaker.
	// Default 5.
	BreakerFailures int
	// BreakerCoolDown is how long an open breaker skips Redis before one
	// probe is let through. Default 1s.
	BreakerCoolDown time.Duration
	// Logger receives one line per breaker state change and errors of
	// background refreshes. Default slog.Default().
	Logger *slog.Logger
	// Coherence selects how local copies learn of writes to Redis.
	// Default CoherenceAuto: CLIENT TRACKING where the server accepts it,
	// broadcast over the whole prefix (CoherenceTracking), else pub/sub. A
	// local-only Store has none.
	//
	// Which tracking mode: broadcast sends every write under the prefix to
	// every Store, so Redis' work and each Store's grow with writes ×
	// Stores; it costs Redis no memory per key and survives anything that
	// closes a data connection. CoherenceTrackingNamespaces sends a Store
	// only the writes to its namespaces: pick it when services share a
	// Redis and prefix but not namespaces, and open the namespaces at
	// start (a later one flushes once). CoherenceTrackingKeys sends a
	// Store only the writes to keys it read: pick it for a large fleet, or
	// many writes to keys few Stores hold; it costs Redis about 100 bytes
	// per key held per Store (tracking-table-max-keys bounds it, by
	// invalidating), a second connection pool, and a flush whenever one of
	// its connections closes (a read timing out closes one). The README's
	// "Coherence at fleet scale" has the measured figures.
	Coherence Coherence
	// MaxStaleness caps how long any local copy lives, whatever its
	// namespace's LocalTTL: the backstop should an invalidation be lost.
	// Default 1m.
	MaxStaleness time.Duration

	// invalidationAddr, when set (by tests), maps a master's address to the
	// one the invalidation connection dials, such as a fault proxy's.
	invalidationAddr func(string) string
}

func (o StoreOptions) withDefaults() (StoreOptions, error) {
	if o.MaxEntries < 0 || o.MaxBytes < 0 || o.BreakerFailures < 0 || o.BreakerCoolDown < 0 || o.MaxStaleness < 0 {
		return o, fmt.Errorf("%w: negative size, count or duration in StoreOptions", ErrInvalidOptions)
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultMaxEntries
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.BreakerFailures == 0 {
		o.BreakerFailures = DefaultBreakerFailures
	}
	if o.BreakerCoolDown == 0 {
		o.BreakerCoolDown = DefaultBreakerCoolDown
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxStaleness == 0 {
		o.MaxStaleness = DefaultMaxStaleness
	}
	if o.Coherence < CoherenceAuto || o.Coherence > CoherenceTrackingKeys {
		return o, fmt.Errorf("%w: unknown Coherence %d", ErrInvalidOptions, o.Coherence)
	}
	return o, nil
}

// Options configures a Cache namespace. The zero value means the defaults.
type Options[V any] struct {
	// TTL is how long a value is fresh. Redis keeps it for TTL plus the
	// larger of StaleWhileRevalidate and StaleIfError. Sub-second TTLs are
	// honoured (millisecond resolution). NoExpiry: values never expire
	// (no Redis TTL, never stale); it excludes StaleWhileRevalidate,
	// StaleIfError and Sliding, which need an expiry, and Jitter then
	// shortens only local copies' lives. Default 1h.
	TTL time.Duration
	// Sliding renews a value's TTL when it is read: a read (a local hit
	// too) that finds less than half of the TTL left sends, off the
	// caller's path, one renewal that makes the value fresh for TTL again,
	// in Redis and so for every Store. A value read at least every TTL/2
	// never expires; one last read at time t expires between t+TTL/2 and
	// t+TTL (plus the renewal's round trip). A renewal changes only the
	// expiry of the value it read, and only if Redis still holds that
	// value (a script compares the envelope's header): it never brings
	// back a value overwritten or deleted since. It is a write, so other
	// Stores drop their local copies of the key (at most once per TTL/2 per
	// key); this Store keeps its own, as for its own writes. A renewal
	// that fails, or whose reply is lost, leaves the value to expire at
	// its old time; the Store drops its local copy, in doubt. Negative
	// entries do not slide, and nor do values of a local-only Store (no
	// Redis to renew). Requires a TTL other than NoExpiry. Default false.
	Sliding bool
	// LocalTTL bounds how long the local tier keeps a copy; a local copy
	// never outlives its Redis entry nor StoreOptions.MaxStaleness.
	// Negative: no local tier for this namespace (every read goes to
	// Redis). Default 1m.
	LocalTTL time.Duration
	// Jitter spreads expiries so that keys written together do not expire
	// together: each TTL (both tiers) is shortened by a random fraction in
	// [0, Jitter). Must be in [0, 1). Default 0 (no jitter).
	Jitter float64
	// NegativeTTL is how long a loader's ErrNotFound is cached as a
	// negative entry, whatever TTL is (with NoExpiry too: a value may
	// appear at the source later). Default 0: not cached.
	NegativeTTL time.Duration
	// StaleWhileRevalidate is the window after TTL in which GetOrLoad
	// returns the stale value at once and refreshes it once in the
	// background. Default 0: off.
	StaleWhileRevalidate time.Duration
	// StaleIfError is the window after TTL in which GetOrLoad returns the
	// stale value when the loader fails (counted in Stats.StaleServed).
	// Default 0: off.
	StaleIfError time.Duration
	// Codec encodes values for Redis. Default codec.JSON[V]().
	Codec codec.Codec[V]
	// Timeout bounds every Redis call (the caller's context bounds it too):
	// a call Redis has not answered by then returns an error wrapping
	// ErrUnavailable and counts for the breaker. go-redis applies a
	// context's deadline to the socket only for clients made with
	// ContextTimeoutEnabled; on other clients (go-redis' default) the Store
	// runs each call on a goroutine of its own so that it can return at the
	// deadline, at the cost of a hand-off per call (BenchmarkFillWrite: a
	// fill's write is 2.0-2.1x a raw SET that way, 1.5-1.6x with
	// ContextTimeoutEnabled). Make the client with ContextTimeoutEnabled:
	// true to save it. Default 1s.
	Timeout time.Duration
	// LoadTimeout bounds a load started by GetOrLoad. The load does not run
	// under a single caller's context (one caller giving up must not cancel
	// it for the others), so this is its deadline. Default 0: none.
	LoadTimeout time.Duration
	// Lease is the time-to-live of the fleet-wide load lease: when several
	// processes miss the same key, the first takes a lease in Redis and
	// loads; the others wait for its value (woken by the invalidation
	// stream, polling as the fallback) and load themselves only if the
	// lease is released without a value or expires. A load that outlives
	// its lease may run again elsewhere. Negative: no lease. Default 10s.
	Lease time.Duration
	// MaxValueSize is the largest encoded value (before compression) that
	// may be written; larger ones are ErrTooLarge. Default 1 MiB.
	MaxValueSize int
	// CompressAbove compresses encoded values of at least this many bytes
	// when that makes them smaller. Default 0: no compression.
	CompressAbove int
	// CopyOnRead, when set, is applied to every value a read returns. Local
	// hits otherwise hand every caller the same V: set it (to a deep copy)
	// if callers mutate what they get. Default nil: values are shared.
	CopyOnRead func(V) V
}

func (o Options[V]) withDefaults() (Options[V], error) {
	switch {
	case o.TTL == NoExpiry && (o.StaleWhileRevalidate != 0 || o.StaleIfError != 0):
		return o, fmt.Errorf("%w: TTL NoExpiry has no stale window (StaleWhileRevalidate, StaleIfError)", ErrInvalidOptions)
	case o.TTL == NoExpiry && o.Sliding:
		return o, fmt.Errorf("%w: TTL NoExpiry has no expiry to slide", ErrInvalidOptions)
	case o.TTL < 0 && o.TTL != NoExpiry:
		return o, fmt.Errorf("%w: negative TTL %v (NoExpiry is %v)", ErrInvalidOptions, o.TTL, NoExpiry)
	case o.NegativeTTL < 0 || o.StaleWhileRevalidate < 0 || o.StaleIfError < 0 ||
		o.Timeout < 0 || o.LoadTimeout < 0 || o.MaxValueSize < 0 || o.CompressAbove < 0:
		return o, fmt.Errorf("%w: negative duration or size", ErrInvalidOptions)
	case o.TTL > 0 && o.TTL < time.Millisecond:
		return o, fmt.Errorf("%w: TTLs are in milliseconds; %v is below one", ErrInvalidOptions, o.TTL)
	case o.NegativeTTL > 0 && o.NegativeTTL < time.Millisecond:
		return o, fmt.Errorf("%w: TTLs are in milliseconds; %v is below one", ErrInvalidOptions, o.NegativeTTL)
	case o.Jitter < 0 || o.Jitter >= 1:
		return o, fmt.Errorf("%w: Jitter %v is not in [0, 1)", ErrInvalidOptions, o.Jitter)
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.LocalTTL == 0 {
		o.LocalTTL = DefaultLocalTTL
	}
	if o.Codec == nil {
		o.Codec = codec.JSON[V]()
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxValueSize == 0 {
		o.MaxValueSize = DefaultMaxValueSize
	}
	if o.Lease == 0 {
		o.Lease = DefaultLease
	}
	if o.Lease > 0 && o.Lease < time.Millisecond {
		return o, fmt.Errorf("%w: Lease %v is below one millisecond", ErrInvalidOptions, o.Lease)
	}
	return o, nil
}
