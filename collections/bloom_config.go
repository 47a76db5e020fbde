package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
)

var (
	//go:embed bloom_open.lua
	bloomOpenSrc string

	bloomOpen = redis.NewScript(bloomOpenSrc)
)

// Capacity returns the number of elements the filter is sized for: the
// expectedItems given to [NewBloomFilter], or for a filter from
// [OpenBloomFilter] the count m ln 2 / k implied by its stored size and
// hash count (for which k is the optimal hash count), rounded. Beyond it
// the false positive rate grows above [BloomFilter.ErrorRate].
func (b *BloomFilter[T]) Capacity() int { return b.capacity }

// ErrorRate returns the false positive rate the filter is sized for at
// [BloomFilter.Capacity] elements: the falsePositiveRate given to
// [NewBloomFilter], or for a filter from [OpenBloomFilter] the rate
// (1 - e^(-k n/m))^k of its stored m and k at that capacity n. Redis
// stores m and k only, so an opened filter reports values close to, not
// always equal to, the ones it was created with.
func (b *BloomFilter[T]) ErrorRate() float64 { return b.errorRate }

// OpenBloomFilter opens the existing Bloom filter called name with the
// size and hash count stored with it, in one round trip that writes
// nothing: a process that did not create a filter need not know its
// parameters. It returns an error matching [ErrNotFound] when the filter
// does not exist (was never added to, or was cleared), [ErrWrongType]
// when one of its keys holds another Redis type, and [ErrConfigMismatch]
// when its stored parameters cannot be read (bits without parameters, or
// parameters of a format this version does not know). opts.Codec must be
// the codec the filter's writers use.
func OpenBloomFilter[T any](ctx context.Context, rdb redis.UniversalClient, name string, opts BloomOptions[T]) (*BloomFilter[T], error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrInvalidArgument)
	}
	o := opts.Options.withDefaults()
	if err := o.validate(name); err != nil {
		return nil, err
	}
	bitsKey, paramsKey := o.key(name, "bloom"), o.key(name, "bloom:params")
	octx, cancel := o.opContext(ctx)
	defer cancel()
	stored, err := bloomOpen.Run(octx, rdb, []string{bitsKey, paramsKey}).Text()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: bloom filter %q: no stored parameters at %q", ErrNotFound, name, paramsKey)
	}
	if err != nil {
		return nil, redisError(bitsKey, err)
	}
	m, k, err := parseBloomParams(stored)
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: %w", ErrConfigMismatch, paramsKey, err)
	}
	c := opts.Codec
	if c == nil {
		c = codec.JSON[T]()
	}
	n := max(1, int(math.Round(float64(m)*math.Ln2/float64(k))))
	return &BloomFilter[T]{
		rdb:       rdb,
		name:      name,
		bitsKey:   bitsKey,
		paramsKey: paramsKey,
		params:    stored,
		bits:      m,
		hashes:    k,
		capacity:  n,
		errorRate: math.Pow(-math.Expm1(-float64(k)*float64(n)/float64(m)), float64(k)),
		codec:     c,
		opts:      o,
	}, nil
}

// parseBloomParams reads the parameters NewBloomFilter stores, "v1 m=<m>
// k=<k>", insisting on that exact form (the scripts compare the strings).
func parseBloomParams(s string) (m uint64, k int, err error) {
	var mm uint64
	var kk int
	if _, err := fmt.Sscanf(s, "v1 m=%d k=%d", &mm, &kk); err != nil ||
		s != "v1 m="+strconv.FormatUint(mm, 10)+" k="+strconv.Itoa(kk) {
		return 0, 0, fmt.Errorf("stored parameters %q are not of the form \"v1 m=<bits> k=<hashes>\"", s)
	}
	if mm < 1 || mm > maxBloomBits || kk < 1 {
		return 0, 0, fmt.Errorf("stored parameters %q out of range (m in [1, 2^32], k >= 1)", s)
	}
	return mm, kk, nil
}
