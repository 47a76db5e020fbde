package collections

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

var (
	//go:embed multimap_add.lua
	multimapAddSrc string
	//go:embed multimap_get.lua
	multimapGetSrc string

	multimapAdd = redis.NewScript(multimapAddSrc)
	multimapGet = redis.NewScript(multimapGetSrc)
)

// MultiMapTTLOptions are the settings of a [MultiMapTTL]. The zero value
// means the defaults.
type MultiMapTTLOptions[V any] struct {
	// Options are the settings every collection takes.
	Options

	// Codec encodes the values. Default codec.JSON[V]().
	Codec codec.Codec[V]

	// LocalKeys bounds how many map keys this value keeps local copies
	// of with Options.Local: the copies of the map keys read most
	// recently are kept (an LRU of map keys), and each is charged to the
	// Store's byte budget too, so the budget may keep fewer. A GetMany
	// of more keys than LocalKeys that are not local reads them from
	// Redis and keeps none. Default 1024.
	LocalKeys int
}

// DefaultLocalKeys is the [MultiMapTTLOptions.LocalKeys] used when it is
// zero.
const DefaultLocalKeys = 1024

// MultiMapTTL maps string keys to sets of values that expire one by one
// (python-multimapwithttl, in milliseconds). Each key is a Redis sorted set,
// "<prefix>{<name>}:mm:<key>", whose members are the values scored by their
// expiry in unix milliseconds:
//
//   - a write (one script, on the server's clock) first removes the
//     expired values of its keys, then adds its own, then sets each key's
//     TTL to its longest-lived value's expiry, so a key, even a brand-new
//     one, never outlives its values and never expires before them;
//   - a read returns only values whose expiry is after now, soonest first;
//   - every key of one MultiMapTTL shares the hash tag {name}, so GetMany
//     and AddMany are one round trip on a Cluster too.
//
// A value added again gets the new expiry (it may get shorter).
//
// With Options.Local, Get, GetWithExpiry and GetMany are served from a
// local copy of each map key's sorted set (a cache.Whole per map key, for
// at most [MultiMapTTLOptions.LocalKeys] map keys, each charged to the
// Store's byte budget), coherent as every collection's copy is: an own
// write is seen at once, another client's once its invalidation arrives.
// Expiry is judged locally against an estimate of the server's clock (the
// read that fills a copy returns the server's time; the local monotonic
// clock adds the time since): the estimate is never behind the server's
// clock, so a local read never returns a value Redis holds expired, and
// may drop one up to a round trip early. A map key's local values are
// shared by the callers that read them (V is not copied). A MultiMapTTL is
// safe for concurrent use.
type MultiMapTTL[V any] struct {
	b     base
	c     codec.Codec[V]
	local *mmLocal[V] // Options.Local's copies of map keys, or nil
}

// Expiring is a value and the time it expires.
type Expiring[V any] struct {
	Value     V
	ExpiresAt time.Time
}

// NewMultiMapTTL returns the MultiMapTTL called name on rdb. It does not talk
// to Redis. It returns ErrInvalidArgument for a nil client, an empty name or
// a name or prefix that would break the keys' hash tag.
func NewMultiMapTTL[V any](rdb redis.UniversalClient, name string, opts MultiMapTTLOptions[V]) (*MultiMapTTL[V], error) {
	b, err := newBase(rdb, name, "mm", "zset", opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Codec == nil {
		opts.Codec = codec.JSON[V]()
	}
	if opts.LocalKeys < 0 {
		return nil, fmt.Errorf("%w: multimap %q: negative LocalKeys %d", ErrInvalidArgument, name, opts.LocalKeys)
	}
	m := &MultiMapTTL[V]{b: b, c: opts.Codec}
	if b.opts.Local != nil {
		if m.local, err = newMMLocal[V](b.opts, cmp.Or(opts.LocalKeys, DefaultLocalKeys)); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Name returns the map's name.
func (m *MultiMapTTL[V]) Name() string { return m.b.name }

// Key returns the Redis key of the sorted set that holds key's values.
func (m *MultiMapTTL[V]) Key(key string) string { return m.b.key + ":" + key }

// Add adds values to key, each expiring ttl from now (millisecond
// resolution; at least 1ms).
func (m *MultiMapTTL[V]) Add(ctx context.Context, key string, ttl time.Duration, values ...V) error {
	return m.AddMany(ctx, ttl, map[string][]V{key: values})
}

// checkTTL returns ErrInvalidArgument for a time to live under the
// millisecond the expiries are kept in.
func (m *MultiMapTTL[V]) checkTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("%w: multimap %q: TTL %v is under a millisecond", ErrInvalidArgument, m.b.name, ttl)
	}
	return nil
}

// AddMany adds values to several keys, each expiring ttl from now, in one
// script: all or none.
func (m *MultiMapTTL[V]) AddMany(ctx context.Context, ttl time.Duration, items map[string][]V) error {
	if err := m.checkTTL(ttl); err != nil {
		return err
	}
	ms := strconv.FormatInt(ttl.Milliseconds(), 10)
	ks := make([]string, 0, len(items))
	args := []any{"ttl"}
	for key, values := range items {
		if len(values) == 0 {
			continue
		}
		if key == "" {
			return fmt.Errorf("%w: multimap %q: empty key", ErrInvalidArgument, m.b.name)
		}
		ks = append(ks, m.Key(key))
		args = append(args, len(values))
		for _, v := range values {
			enc, err := encode(m.c, m.Key(key), v)
			if err != nil {
				return err
			}
			args = append(args, ms, enc)
		}
	}
	return m.add(ctx, ks, args)
}

// AddWithExpiry adds values to key, each expiring at its own ExpiresAt
// (millisecond resolution). A value whose time has passed is not added.
func (m *MultiMapTTL[V]) AddWithExpiry(ctx context.Context, key string, values ...Expiring[V]) error {
	if key == "" {
		return fmt.Errorf("%w: multimap %q: empty key", ErrInvalidArgument, m.b.name)
	}
	if len(values) == 0 {
		return nil
	}
	args := []any{"at", len(values)}
	for _, v := range values {
		enc, err := encode(m.c, m.Key(key), v.Value)
		if err != nil {
			return err
		}
		args = append(args, strconv.FormatInt(v.ExpiresAt.UnixMilli(), 10), enc)
	}
	return m.add(ctx, []string{m.Key(key)}, args)
}

func (m *MultiMapTTL[V]) add(ctx context.Context, ks []string, args []any) error {
	if len(ks) == 0 {
		return nil
	}
	// ZADD of expiries: a resend sets the same ones (or, for durations,
	// ones a round trip later).
	err := m.b.rtOn(ctx, "add", m.failKey(ks), true, func(ctx context.Context) error {
		return multimapAdd.Run(ctx, m.b.rdb, ks, args...).Err()
	})
	m.wrote(ks)
	return err
}

// failKey is the key the errors of a call on the keys ks name.
func (m *MultiMapTTL[V]) failKey(ks []string) string {
	if len(ks) == 1 {
		return ks[0]
	}
	return m.b.key + ":*"
}

// fail wraps an error of a call on the keys ks.
func (m *MultiMapTTL[V]) fail(op string, ks []string, err error) error {
	if len(ks) == 1 {
		return failKey(op, ks[0], err)
	}
	return failKey(op, m.b.key+":*", err)
}

// Get returns key's live values, soonest to expire first (none: an empty
// slice). With Options.Local it answers from key's local copy, read in
// full (with the map key's expired values left out) the first time.
func (m *MultiMapTTL[V]) Get(ctx context.Context, key string) ([]V, error) {
	if c, ok := m.local.held(m, key); ok {
		return slices.Clone(c.vs[c.live(m.local.now()):]), nil
	}
	got, err := m.GetMany(ctx, key)
	if err != nil {
		return nil, err
	}
	if vs, ok := got[key]; ok {
		return vs, nil
	}
	return []V{}, nil
}

// GetWithExpiry returns key's live values with their expiry times, soonest
// first; from key's local copy with Options.Local.
func (m *MultiMapTTL[V]) GetWithExpiry(ctx context.Context, key string) ([]Expiring[V], error) {
	var out []Expiring[V]
	err := m.read(ctx, []string{key}, func(_ int, v V, expiry int64) {
		out = append(out, Expiring[V]{v, time.UnixMilli(expiry)})
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []Expiring[V]{}
	}
	return out, nil
}

// GetMany returns the live values of several keys in one round trip; keys
// without live values are absent from the map. With Options.Local the keys
// with a local copy are answered from it and the others are read in one
// round trip (and kept, unless there are more than LocalKeys of them).
func (m *MultiMapTTL[V]) GetMany(ctx context.Context, keys ...string) (map[string][]V, error) {
	out := make(map[string][]V, len(keys))
	err := m.read(ctx, keys, func(i int, v V, _ int64) {
		out[keys[i]] = append(out[keys[i]], v)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// read passes every live value of keys, with the index of its key and its
// expiry, to each: from the local copies with Options.Local, else from
// one run of the read script.
func (m *MultiMapTTL[V]) read(ctx context.Context, keys []string, each func(i int, v V, expiry int64)) error {
	if len(keys) == 0 {
		return nil
	}
	ks := make([]string, len(keys))
	for i, k := range keys {
		if k == "" {
			return fmt.Errorf("%w: multimap %q: empty key", ErrInvalidArgument, m.b.name)
		}
		ks[i] = m.Key(k)
	}
	if m.local != nil {
		return m.local.read(ctx, m, ks, each)
	}
	got, err := m.readCopies(ctx, ks)
	if err != nil {
		return err
	}
	for i, c := range got {
		for j, v := range c.vs {
			each(i, v, c.exp[j])
		}
	}
	return nil
}

// readCopies runs the read script on the sorted sets ks and returns, for
// each, its live values, decoded, and the server's time of the read.
func (m *MultiMapTTL[V]) readCopies(ctx context.Context, ks []string) ([]*mmCopy[V], error) {
	var res []any
	sent := time.Now()
	err := m.b.rtOn(ctx, "get", m.failKey(ks), false, func(ctx context.Context) (err error) {
		res, err = multimapGet.Run(ctx, cache.ReadClient(ctx, m.b.rdb), ks).Slice()
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(res) != len(ks)+1 {
		return nil, m.fail("get", ks, fmt.Errorf("unexpected reply %v", res))
	}
	srv, ok := res[len(ks)].(int64)
	if !ok {
		return nil, m.fail("get", ks, fmt.Errorf("unexpected server time %v", res[len(ks)]))
	}
	out := make([]*mmCopy[V], len(ks))
	for i, r := range res[:len(ks)] {
		pairs, _ := r.([]any)
		c := &mmCopy[V]{vs: make([]V, 0, len(pairs)/2), exp: make([]int64, 0, len(pairs)/2), srv: srv, sent: sent}
		for j := 0; j+1 < len(pairs); j += 2 {
			raw, _ := pairs[j].(string)
			score, _ := pairs[j+1].(string)
			expiry, err := strconv.ParseFloat(score, 64)
			if err != nil || math.IsNaN(expiry) {
				return nil, m.fail("get", ks[i:i+1], fmt.Errorf("bad expiry %q", score))
			}
			v, err := decode(m.c, ks[i], raw)
			if err != nil {
				return nil, err
			}
			c.vs, c.exp = append(c.vs, v), append(c.exp, int64(expiry))
			c.size += len(raw) + len(score) + 2*memberOverhead
		}
		out[i] = c
	}
	return out, nil
}

// Delete deletes keys with all their values and returns how many existed.
// It returns ErrWrongType, deleting nothing, when a key holds another Redis
// type.
func (m *MultiMapTTL[V]) Delete(ctx context.Context, keys ...string) (int64, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	ks := make([]string, len(keys))
	kinds := make([]any, len(keys))
	for i, k := range keys {
		if k == "" {
			return 0, fmt.Errorf("%w: multimap %q: empty key", ErrInvalidArgument, m.b.name)
		}
		ks[i], kinds[i] = m.Key(k), "zset"
	}
	n, err := m.b.clearKeys(ctx, ks, kinds...)
	m.wrote(ks)
	return n, err
}
