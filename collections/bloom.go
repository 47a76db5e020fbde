package collections

import (
	"context"
	_ "embed"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

var (
	//go:embed bloom_check.lua
	bloomCheckSrc string
	//go:embed bloom_add.lua
	bloomAddSrc string
	//go:embed bloom_contains.lua
	bloomContainsSrc string
	//go:embed bloom_len.lua
	bloomLenSrc string

	bloomAdd      = redis.NewScript(bloomCheckSrc + bloomAddSrc)
	bloomContains = redis.NewScript(bloomCheckSrc + bloomContainsSrc)
	bloomLen      = redis.NewScript(bloomCheckSrc + bloomLenSrc)
)

// maxBloomBits is the largest filter Redis can hold: a string is at most
// 512 MiB.
const maxBloomBits = 1 << 32

// BloomOptions are the settings of a [BloomFilter]. The zero value means the
// defaults.
type BloomOptions[T any] struct {
	// Options are the common settings.
	Options

	// Codec encodes elements; the filter hashes the encoding. Default
	// codec.JSON[T](). Every client of one filter must use the same codec.
	Codec codec.Codec[T]
}

// BloomFilter is a Bloom filter in Redis: a set that answers "certainly not
// added" or "probably added", in a fixed space whatever the number of
// elements. It is safe for concurrent use, and any number of processes may
// share one filter.
//
// The filter is two keys with the hash tag {name}, so on a Cluster it lives
// in one slot: "<prefix>{name}:bloom", its bits, and "<prefix>{name}:bloom:params",
// its size and hash count (with the capacity and error rate it was made
// for), written by the first Add. Every operation checks
// the stored parameters in the same script, so a client that opened the
// filter with others gets [ErrConfigMismatch] and writes nothing; two
// processes cannot silently corrupt each other's filter. Every operation is
// one round trip, whatever the number of elements.
//
// An element's k bit positions come from the SHA-256 of its encoding: with
// h1 and h2 the first two big-endian uint64 of the digest, position 0 is
// h1 mod m and each next one adds the step h2 mod m, the step growing by the
// position's index (enhanced double hashing, Dillinger and Manolios).
type BloomFilter[T any] struct {
	rdb       redis.UniversalClient
	name      string
	bitsKey   string
	paramsKey string
	params    string  // the configuration the scripts check and store (bloom_check.lua)
	bits      uint64  // m
	hashes    int     // k
	capacity  int     // n, given or implied by m and k (see bloom_config.go)
	errorRate float64 // p, given or implied by m and k
	codec     codec.Codec[T]
	opts      Options

	// local is the copy of the bits that Contains, ContainsMany and Len
	// read with Options.Local (nil without it); see local_bloom.go.
	local *cache.Whole[bloomCopy]
}

// NewBloomFilter returns the Bloom filter called name, sized for
// expectedItems elements at falsePositiveRate (in (0, 1)): m = ceil(-n ln p /
// ln² 2) bits and k = round(m/n ln 2) hash functions. It does not talk to
// Redis; the first operation checks the parameters stored with an existing
// filter.
func NewBloomFilter[T any](rdb redis.UniversalClient, name string, expectedItems int, falsePositiveRate float64, opts BloomOptions[T]) (*BloomFilter[T], error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalidArgument)
	}
	o := opts.Options.withDefaults()
	if err := o.validate(name); err != nil {
		return nil, err
	}
	if expectedItems <= 0 {
		return nil, fmt.Errorf("%w: expected items %d, want > 0", ErrInvalidArgument, expectedItems)
	}
	if !(falsePositiveRate > 0 && falsePositiveRate < 1) {
		return nil, fmt.Errorf("%w: false positive rate %v, want in (0, 1)", ErrInvalidArgument, falsePositiveRate)
	}
	n := float64(expectedItems)
	m := math.Ceil(-n * math.Log(falsePositiveRate) / (math.Ln2 * math.Ln2))
	if m > maxBloomBits {
		return nil, fmt.Errorf("%w: %d items at rate %v need %.0f bits, more than a Redis string holds (2^32)",
			ErrInvalidArgument, expectedItems, falsePositiveRate, m)
	}
	k := max(1, int(math.Round(m/n*math.Ln2)))
	c := opts.Codec
	if c == nil {
		c = codec.JSON[T]()
	}
	bits := uint64(m)
	f := &BloomFilter[T]{
		rdb:       rdb,
		name:      name,
		bitsKey:   o.key(name, "bloom"),
		paramsKey: o.key(name, "bloom:params"),
		params:    bloomConfig(bits, k, expectedItems, falsePositiveRate),
		bits:      bits,
		hashes:    k,
		capacity:  expectedItems,
		errorRate: falsePositiveRate,
		codec:     c,
		opts:      o,
	}
	var err error
	if f.local, err = openWhole[bloomCopy](o, f.bitsKey); err != nil {
		return nil, err
	}
	return f, nil
}

// Name returns the filter's name.
func (b *BloomFilter[T]) Name() string { return b.name }

// Bits returns m, the filter's size in bits.
func (b *BloomFilter[T]) Bits() uint64 { return b.bits }

// Hashes returns k, the number of bits set per element.
func (b *BloomFilter[T]) Hashes() int { return b.hashes }

// positions returns the script arguments for items: the parameters, k, and
// the packed bit positions, k big-endian uint32 per item. (Packed, a call
// sends 4 bytes per bit and allocates little; the script unpacks them.)
func (b *BloomFilter[T]) positions(items []T) ([]any, error) {
	packed := make([]byte, 0, 4*b.hashes*len(items))
	for i, v := range items {
		x, y, err := b.digest(v)
		if err != nil {
			return nil, fmt.Errorf("tiercache/collections: bloom filter %q: element %d: %w", b.name, i, err)
		}
		for j := range b.hashes {
			packed = binary.BigEndian.AppendUint32(packed, uint32(x))
			x = (x + y) % b.bits
			y = (y + uint64(j) + 1) % b.bits
		}
	}
	return []any{b.params, b.hashes, packed}, nil
}

func (b *BloomFilter[T]) run(ctx context.Context, s *redis.Script, args []any) *redis.Cmd {
	ctx, cancel := b.opts.opContext(ctx)
	defer cancel()
	return s.Run(ctx, cache.ReadClient(ctx, b.rdb), []string{b.bitsKey, b.paramsKey}, args...)
}

// Add adds v and reports whether it was new: false means v, or elements
// that share all its bits, had been added before.
func (b *BloomFilter[T]) Add(ctx context.Context, v T) (bool, error) {
	n, err := b.AddMany(ctx, []T{v})
	return n == 1, err
}

// AddMany adds items in one round trip and returns how many of them were new
// (see [BloomFilter.Add]).
func (b *BloomFilter[T]) AddMany(ctx context.Context, items []T) (int, error) {
	if len(items) == 0 {
		return 0, nil
	}
	args, err := b.positions(items)
	if err != nil {
		return 0, err
	}
	n, err := b.run(ctx, bloomAdd, args).Int()
	wrote(b.local)
	return n, writeError("add", b.bitsKey, err)
}

// Contains reports whether v was probably added: false is certain, true is
// wrong with about the configured false positive rate (while the filter holds
// no more than its expected items).
func (b *BloomFilter[T]) Contains(ctx context.Context, v T) (bool, error) {
	if c, ok := b.copy(ctx); ok {
		return b.localContains(c, 0, v)
	}
	got, err := b.ContainsMany(ctx, []T{v})
	if err != nil {
		return false, err
	}
	return got[0], nil
}

// ContainsMany reports, for each of items in one round trip, whether it was
// probably added (see [BloomFilter.Contains]).
func (b *BloomFilter[T]) ContainsMany(ctx context.Context, items []T) ([]bool, error) {
	if len(items) == 0 {
		return []bool{}, nil
	}
	if c, ok := b.copy(ctx); ok {
		out := make([]bool, len(items))
		for i, v := range items {
			var err error
			if out[i], err = b.localContains(c, i, v); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	args, err := b.positions(items)
	if err != nil {
		return nil, err
	}
	hits, err := b.run(ctx, bloomContains, args).Int64Slice()
	if err != nil {
		return nil, redisError(b.bitsKey, err)
	}
	if len(hits) != len(items) {
		return nil, fmt.Errorf("tiercache/collections: bloom filter %q: %d answers for %d elements", b.name, len(hits), len(items))
	}
	out := make([]bool, len(hits))
	for i, h := range hits {
		out[i] = h == 1
	}
	return out, nil
}

// Len estimates the number of distinct elements added, from the number X of
// set bits: n* = -(m/k) ln(1 - X/m) (Swamidass and Baldi), rounded to the
// nearest integer. A saturated filter (every bit set) reports the estimate
// for m-1 set bits, the largest finite one.
func (b *BloomFilter[T]) Len(ctx context.Context) (int64, error) {
	if c, ok := b.copy(ctx); ok {
		return bloomEstimate(b.bits, b.hashes, c.set), nil
	}
	set, err := b.run(ctx, bloomLen, []any{b.params}).Int64()
	if err != nil {
		return 0, redisError(b.bitsKey, err)
	}
	return bloomEstimate(b.bits, b.hashes, uint64(set)), nil
}

// bloomEstimate is the Swamidass-Baldi estimate of the number of elements
// in a filter of m bits and k hashes with x bits set.
func bloomEstimate(m uint64, k int, x uint64) int64 {
	x = min(x, m-1)
	if x == 0 {
		return 0
	}
	fm := float64(m)
	return int64(math.Round(-fm / float64(k) * math.Log1p(-float64(x)/fm)))
}

// Clear deletes the filter and its stored parameters: the next Add creates
// it again, with the parameters of whoever adds first.
func (b *BloomFilter[T]) Clear(ctx context.Context) error {
	ctx, cancel := b.opts.opContext(ctx)
	defer cancel()
	err := b.rdb.Del(ctx, b.bitsKey, b.paramsKey).Err()
	wrote(b.local)
	return writeError("clear", b.bitsKey, err)
}
