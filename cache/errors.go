package cache

import "errors"

var (
	// ErrNotFound is returned by Get and GetOrLoad when the key has no value:
	// nothing is cached, the entry expired, or a negative entry records that
	// the loader found nothing. A loader returns it (or an error wrapping it)
	// to say "no such value"; with Options.NegativeTTL set, that answer is
	// cached. It is tiercache's one "not found": memo and orderedcache
	// return it, and the other packages' errors for an absent value match
	// it with errors.Is.
	ErrNotFound = errors.New("tiercache/cache: not found")

	// ErrTooLarge is returned by Set, SetMany and the loading calls when an
	// encoded value exceeds Options.MaxValueSize. Nothing is written.
	ErrTooLarge = errors.New("tiercache/cache: value too large")

	// ErrWrongType is returned when the Redis key of an entry holds another
	// Redis type (a hash, a list...). tiercache never overwrites such a key.
	// It is tiercache's one "wrong type": every package's error for a key
	// of another type matches it with errors.Is.
	ErrWrongType = errors.New("tiercache/cache: key holds another Redis type")

	// ErrUnavailable is returned by reads that miss the local tier and by
	// writes while Redis cannot be used: the breaker is open after repeated
	// failures, or the call failed with a network error or timeout (which is
	// wrapped). GetOrLoad does not return it: it degrades to the loader.
	ErrUnavailable = errors.New("tiercache/cache: redis unavailable")

	// ErrEmptyKey is returned for an empty key.
	ErrEmptyKey = errors.New("tiercache/cache: empty key")

	// ErrNilLoader is returned by GetOrLoad and GetManyOrLoad when the loader
	// is nil.
	ErrNilLoader = errors.New("tiercache/cache: nil loader")

	// ErrInvalidNamespace is returned by New for an empty namespace or one
	// with characters other than letters, digits, '_', '-' and '.'.
	ErrInvalidNamespace = errors.New("tiercache/cache: invalid namespace")

	// ErrInvalidOptions is returned by New and NewStore for options out of
	// range (a negative size, a TTL below one millisecond...).
	ErrInvalidOptions = errors.New("tiercache/cache: invalid options")

	// ErrClosed is returned by calls on a Store that was closed.
	ErrClosed = errors.New("tiercache/cache: store closed")
)
