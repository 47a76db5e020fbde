package collections

import (
	"context"
	_ "embed"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed defaultdict_get.lua
	defaultDictGetSrc string
	defaultDictGet    = redis.NewScript(defaultDictGetSrc)
)

// DefaultDictOptions are the settings of a [DefaultDict]. The zero value
// means the defaults.
type DefaultDictOptions[K comparable, V any] struct {
	// DictOptions are the settings of the underlying Dict.
	DictOptions[K, V]

	// Default returns the value Get stores for a missing key. It is called
	// only when a Get finds the key missing. Default: nil, which stores the
	// zero V.
	Default func() V
}

// DefaultDict is a [Dict] whose Get never misses: a missing key is set to a
// default value first, like Python's collections.defaultdict. It uses the
// same hash as the Dict of the same name. The other methods are the Dict's.
// A DefaultDict is safe for concurrent use.
type DefaultDict[K comparable, V any] struct {
	*Dict[K, V]
	def func() V
}

// NewDefaultDict returns the DefaultDict called name on rdb. It does not
// talk to Redis. It returns ErrInvalidArgument as [NewDict] does.
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

// Get returns the value of k. When the dict has no value for k, Get stores
// the default and returns it, atomically with respect to every other writer:
// of several concurrent Gets of a missing key, in any processes, one stores
// its default and all of them return that value (HSETNX semantics). The
// default is computed only when a first read finds the key missing, so a
// hit is a single HGET.
func (d *DefaultDict[K, V]) Get(ctx context.Context, k K) (V, error) {
	var zero V
	v, ok, err := d.read(ctx, k)
	if err != nil || ok {
		return v, err
	}
	field, err := encode(d.kc, d.b.key, k)
	if err != nil {
		return zero, err
	}
	raw, err := d.create(ctx, field)
	if err != nil {
		return zero, err
	}
	return decode(d.vc, d.b.key, raw)
}

// create stores the default for field unless a value appeared meanwhile, and
// returns the field's value.
func (d *DefaultDict[K, V]) create(ctx context.Context, field []byte) (string, error) {
	val, err := encode(d.vc, d.b.key, d.def())
	if err != nil {
		return "", err
	}
	var raw string
	// HSETNX then HGET: a resend stores nothing more and reads the same.
	err = d.b.rt(ctx, "get or create", true, func(ctx context.Context) (err error) {
		raw, err = defaultDictGet.Run(ctx, d.b.rdb, []string{d.b.key}, field, val).Text()
		return err
	})
	return raw, err
}
