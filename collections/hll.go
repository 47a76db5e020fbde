package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"reflect"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

var (
	//go:embed hll_contains.lua
	hllContainsSrc string
	//go:embed hll_merge.lua
	hllMergeSrc string

	hllContains = redis.NewScript(hllContainsSrc)
	hllMerge    = redis.NewScript(hllMergeSrc)
)

// HyperLogLogOptions are the settings of a [HyperLogLog]. The zero value
// means the defaults.
type HyperLogLogOptions[T any] struct {
	// Options are the common settings.
	Options

	// Codec encodes elements; Redis hashes the encoding. Default
	// codec.JSON[T](). Every client of one HyperLogLog, and of those merged
	// with it, must use the same codec.
	Codec codec.Codec[T]
}

// HyperLogLog counts distinct elements in at most 12 KiB, with a standard
// error of 0.81%, using Redis's PFADD, PFCOUNT and PFMERGE. It is safe for
// concurrent use, and any number of processes may share one.
//
// Its key is "<prefix>{name}:hll"; two scratch keys with the same hash tag,
// "<prefix>{name}:hll:acc" and "<prefix>{name}:hll:stage", exist only while
// a script runs. Add, AddMany, Len, Contains, ContainsMany and Clear are one
// round trip whatever the number of elements.
type HyperLogLog[T any] struct {
	rdb      redis.UniversalClient
	name     string
	key      string
	accKey   string
	stageKey string
	codec    codec.Codec[T]
	opts     Options

	// local is the copy of the count that Len reads with Options.Local
	// (nil without it).
	local *cache.Whole[int64]
}

// NewHyperLogLog returns the HyperLogLog called name. It does not talk to
// Redis.
func NewHyperLogLog[T any](rdb redis.UniversalClient, name string, opts HyperLogLogOptions[T]) (*HyperLogLog[T], error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalidArgument)
	}
	o := opts.Options.withDefaults()
	if err := o.validate(name); err != nil {
		return nil, err
	}
	c := opts.Codec
	if c == nil {
		c = codec.JSON[T]()
	}
	h := &HyperLogLog[T]{
		rdb:      rdb,
		name:     name,
		key:      o.key(name, "hll"),
		accKey:   o.key(name, "hll:acc"),
		stageKey: o.key(name, "hll:stage"),
		codec:    c,
		opts:     o,
	}
	var err error
	if h.local, err = openWhole[int64](o, h.key); err != nil {
		return nil, err
	}
	return h, nil
}

// Name returns the HyperLogLog's name.
func (h *HyperLogLog[T]) Name() string { return h.name }

// encode returns the encodings of items as Redis arguments.
func (h *HyperLogLog[T]) encode(items []T) ([]any, error) {
	var buf []byte
	ends := make([]int, len(items))
	for i, v := range items {
		var err error
		buf, err = h.codec.Append(buf, v)
		if err != nil {
			return nil, fmt.Errorf("tiercache/collections: hyperloglog %q: element %d: %w", h.name, i, err)
		}
		ends[i] = len(buf)
	}
	args := make([]any, len(items))
	start := 0
	for i, end := range ends {
		args[i] = buf[start:end:end]
		start = end
	}
	return args, nil
}

// Add adds v and reports whether the HyperLogLog changed: true means v was
// certainly not added before.
func (h *HyperLogLog[T]) Add(ctx context.Context, v T) (bool, error) {
	return h.AddMany(ctx, []T{v})
}

// AddMany adds items in one round trip and reports whether the HyperLogLog
// changed.
func (h *HyperLogLog[T]) AddMany(ctx context.Context, items []T) (bool, error) {
	if len(items) == 0 {
		return false, nil
	}
	args, err := h.encode(items)
	if err != nil {
		return false, err
	}
	ctx, cancel := h.opts.opContext(ctx)
	defer cancel()
	n, err := h.rdb.PFAdd(ctx, h.key, args...).Result()
	wrote(h.local)
	return n == 1, writeError("add", h.key, err)
}

// Len returns the estimated number of distinct elements added. With
// Options.Local it is kept locally until the HyperLogLog is written. (A
// PFCOUNT that finds its cached count out of date stores the new count in
// the key, which Redis reports as a write: after a write, the first Len
// after it may read from Redis twice before the count is kept.)
func (h *HyperLogLog[T]) Len(ctx context.Context) (int64, error) {
	if n, ok := localCopy(ctx, h.local, h.count); ok {
		return n, nil
	}
	n, _, err := h.count(ctx)
	return n, err
}

// count is PFCOUNT, with the size a local copy of its answer costs.
func (h *HyperLogLog[T]) count(ctx context.Context) (int64, int, error) {
	ctx, cancel := h.opts.opContext(ctx)
	defer cancel()
	n, err := cache.ReadClient(ctx, h.rdb).PFCount(ctx, h.key).Result()
	return n, memberOverhead, redisError(h.key, err)
}

// Local returns the counters of Len's local copy (zero without
// Options.Local).
func (h *HyperLogLog[T]) Local() cache.WholeStats { return h.local.Stats() }

// Contains reports whether v was probably added: it adds v to a copy of the
// HyperLogLog, in one script, and answers true if the copy did not change.
// It never answers false for an added element; it answers true for an
// element never added when that element's register already holds a value at
// least as high (more likely the fuller the HyperLogLog is).
func (h *HyperLogLog[T]) Contains(ctx context.Context, v T) (bool, error) {
	got, err := h.ContainsMany(ctx, []T{v})
	if err != nil {
		return false, err
	}
	return got[0], nil
}

// ContainsMany answers [HyperLogLog.Contains] for each of items, in one
// round trip; each element is tested against the HyperLogLog as it is, not
// as it would be with the elements before it.
func (h *HyperLogLog[T]) ContainsMany(ctx context.Context, items []T) ([]bool, error) {
	if len(items) == 0 {
		return []bool{}, nil
	}
	args, err := h.encode(items)
	if err != nil {
		return nil, err
	}
	ctx, cancel := h.opts.opContext(ctx)
	defer cancel()
	hits, err := hllContains.Run(ctx, h.rdb, []string{h.key, h.accKey}, args...).Int64Slice()
	if err != nil {
		return nil, redisError(h.key, err)
	}
	if len(hits) != len(items) {
		return nil, fmt.Errorf("tiercache/collections: hyperloglog %q: %d answers for %d elements", h.name, len(hits), len(items))
	}
	out := make([]bool, len(hits))
	for i, x := range hits {
		out[i] = x == 1
	}
	return out, nil
}

// Merge adds every element of others to h (PFMERGE): afterwards h counts the
// union. The others are unchanged. On one server Merge is one atomic round
// trip. Others on other servers, or in other slots of a Cluster (other shards
// of a Ring), are read first: Merge is then two round trips, and not atomic
// with respect to writes to them.
func (h *HyperLogLog[T]) Merge(ctx context.Context, others ...*HyperLogLog[T]) error {
	_, err := h.merge(ctx, "merge", others)
	return err
}

// Union returns the estimated number of distinct elements in h and others
// together, changing none of them. Round trips are as for
// [HyperLogLog.Merge].
func (h *HyperLogLog[T]) Union(ctx context.Context, others ...*HyperLogLog[T]) (int64, error) {
	return h.merge(ctx, "union", others)
}

func (h *HyperLogLog[T]) merge(ctx context.Context, mode string, others []*HyperLogLog[T]) (int64, error) {
	keys := []string{h.key, h.accKey, h.stageKey}
	// A script sees every key of a single server; on a Cluster or a Ring
	// only those of its own slot or shard, which the hash tag {name} decides.
	_, single := h.rdb.(*redis.Client)
	var remote []*HyperLogLog[T]
	for i, o := range others {
		switch {
		case o == nil:
			return 0, fmt.Errorf("%w: hyperloglog %d to merge is nil", ErrInvalidArgument, i)
		case sameClient(o.rdb, h.rdb) && (single || o.name == h.name):
			keys = append(keys, o.key)
		default:
			remote = append(remote, o)
		}
	}
	args := []any{mode}
	raws, err := readRegisters(ctx, remote)
	if err != nil {
		return 0, err
	}
	args = append(args, raws...)
	ctx, cancel := h.opts.opContext(ctx)
	defer cancel()
	n, err := hllMerge.Run(ctx, h.rdb, keys, args...).Int64()
	if mode == "merge" {
		wrote(h.local)
	}
	return n, writeError("merge", h.key, err)
}

// readRegisters returns the raw strings of the given HyperLogLogs, skipping
// the empty ones, with one pipeline per distinct client.
func readRegisters[T any](ctx context.Context, hlls []*HyperLogLog[T]) ([]any, error) {
	var raws []any
	for len(hlls) > 0 {
		first := hlls[0]
		var rest []*HyperLogLog[T]
		var cmds []*redis.StringCmd
		pctx, cancel := first.opts.opContext(ctx)
		_, err := first.rdb.Pipelined(pctx, func(p redis.Pipeliner) error {
			for _, o := range hlls {
				if sameClient(o.rdb, first.rdb) {
					cmds = append(cmds, p.Get(pctx, o.key))
				} else {
					rest = append(rest, o)
				}
			}
			return nil
		})
		cancel()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("tiercache/collections: read hyperloglogs to merge: %w", err)
		}
		for _, c := range cmds {
			raw, err := c.Bytes()
			switch {
			case errors.Is(err, redis.Nil):
			case err != nil:
				return nil, redisError(c.Args()[1].(string), err)
			default:
				raws = append(raws, raw)
			}
		}
		hlls = rest
	}
	return raws, nil
}

// sameClient reports whether a and b are the same client value (clients of
// uncomparable types are never the same).
func sameClient(a, b redis.UniversalClient) bool {
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	return ta == tb && ta.Comparable() && a == b
}

// Clear deletes the HyperLogLog.
func (h *HyperLogLog[T]) Clear(ctx context.Context) error {
	ctx, cancel := h.opts.opContext(ctx)
	defer cancel()
	err := h.rdb.Del(ctx, h.key).Err()
	wrote(h.local)
	return writeError("clear", h.key, err)
}
