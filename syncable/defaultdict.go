package syncable

import (
	"github.com/redis/go-redis/v9"
)

// DefaultDictOptions are the settings of a [DefaultDict]. The zero value
// means the defaults.
type DefaultDictOptions[K comparable, V any] struct {
	// DictOptions are the settings of the underlying Dict.
	DictOptions[K, V]

	// Default returns the value Get stores for a missing key. Default: nil,
	// which stores the zero V.
	Default func() V
}

// DefaultDict is a [Dict] whose Get never misses: a missing key is set to a
// default value first, like Python's collections.defaultdict. It syncs with
// the same hash as the Dict and the collections.DefaultDict of the same
// name. A DefaultDict is not safe for concurrent use.
type DefaultDict[K comparable, V any] struct {
	*Dict[K, V]
	def func() V
}

// NewDefaultDict returns an empty DefaultDict for the hash called name on
// rdb. It does not talk to Redis. It returns ErrInvalidArgument as
// [NewDict] does.
func NewDefaultDict[K comparable, V any](rdb redis.UniversalClient, name string, opts DefaultDictOptions[K, V]) (*DefaultDict[K, V], error) {
	d, err := NewDict(rdb, name, opts.DictOptions)
	if err != nil {
		return nil, err
	}
	def := opts.Default
	if def == nil {
		def = func() V { var zero V; return zero }
	}
	return &DefaultDict[K, V]{Dict: d, def: def}, nil
}

// Get returns the value of k, first setting it to the default when the dict
// does not hold k.
func (d *DefaultDict[K, V]) Get(k K) V {
	v, ok := d.m[k]
	if !ok {
		v = d.def()
		d.Set(k, v)
	}
	return v
}
