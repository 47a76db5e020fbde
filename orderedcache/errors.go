package orderedcache

import "errors"

var (
	// ErrNoKey is returned by New and Hydrate when the id type K is neither an
	// integer nor a string kind and Options.Key is nil: there is no default
	// way to turn such an id into a cache key.
	ErrNoKey = errors.New("tiercache/orderedcache: id type needs Options.Key")

	// ErrNilCache is returned by New and Hydrate when the cache is nil.
	ErrNilCache = errors.New("tiercache/orderedcache: nil cache")

	// ErrNilLoader is returned by Fill and Hydrate when the loader is nil.
	ErrNilLoader = errors.New("tiercache/orderedcache: nil loader")

	// ErrKeyCollision is returned by Fill when two distinct ids the loader
	// returned have the same cache key (Options.Key is not one-to-one), so
	// that writing both would leave one of them with the other's value.
	ErrKeyCollision = errors.New("tiercache/orderedcache: two ids have the same cache key")
)
