package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

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
// [OpenBloomFilter] the one stored with it by its creator. (A filter stored
// by an earlier tiercache, which kept only m and k, reports the count m ln 2 / k
// they imply, rounded: the one for which k is the optimal hash count.)
// Beyond it the false positive rate grows above [BloomFilter.ErrorRate].
func (b *BloomFilter[T]) Capacity() int { return b.capacity }

// ErrorRate returns the false positive rate the filter is sized for at
// [BloomFilter.Capacity] elements: the falsePositiveRate given to
// [NewBloomFilter], or for a filter from [OpenBloomFilter] the one stored
// with it by its creator, exactly. (For a filter that stored only m and k,
// the rate (1 - e^(-k n/m))^k at the implied capacity n.)
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
	m, k, n, p, err := parseBloomParams(stored)
	if err != nil {
		return nil, fmt.Errorf("%w: key %q: %w", ErrConfigMismatch, paramsKey, err)
	}
	c := opts.Codec
	if c == nil {
		c = codec.JSON[T]()
	}
	if n == 0 { // stored without its capacity and rate: the ones m and k imply
		n = max(1, int(math.Round(float64(m)*math.Ln2/float64(k))))
		p = math.Pow(-math.Expm1(-float64(k)*float64(n)/float64(m)), float64(k))
	}
	f := &BloomFilter[T]{
		rdb:       rdb,
		name:      name,
		bitsKey:   bitsKey,
		paramsKey: paramsKey,
		params:    stored,
		bits:      m,
		hashes:    k,
		capacity:  n,
		errorRate: p,
		codec:     c,
		opts:      o,
	}
	if f.local, err = openWhole[bloomCopy](o, f.bitsKey); err != nil {
		return nil, err
	}
	return f, nil
}

// bloomConfig is the configuration NewBloomFilter stores:
// "v1 m=<m> k=<k> n=<n> p=<p>", p in the shortest form that reads back
// exactly. The scripts take two configurations with the same m and k for
// the same filter (bloom_check.lua).
func bloomConfig(m uint64, k, n int, p float64) string {
	return "v1 m=" + strconv.FormatUint(m, 10) + " k=" + strconv.Itoa(k) +
		" n=" + strconv.Itoa(n) + " p=" + strconv.FormatFloat(p, 'g', -1, 64)
}

// parseBloomParams reads a stored configuration, bloomConfig's form or the
// older "v1 m=<m> k=<k>" (n and p then 0), insisting on the exact form
// (no leading zeros, nothing after it), as the scripts do.
func parseBloomParams(s string) (m uint64, k, n int, p float64, err error) {
	bad := func(why string) error {
		return fmt.Errorf("stored parameters %q %s", s, why)
	}
	f := strings.Split(s, " ")
	if (len(f) != 3 && len(f) != 5) || f[0] != "v1" {
		return 0, 0, 0, 0, bad(`are not of the form "v1 m=<bits> k=<hashes> [n=<capacity> p=<error rate>]"`)
	}
	num := func(field, name string) (uint64, bool) {
		v, ok := strings.CutPrefix(field, name+"=")
		u, err := strconv.ParseUint(v, 10, 64)
		return u, ok && err == nil && strconv.FormatUint(u, 10) == v
	}
	mm, okm := num(f[1], "m")
	kk, okk := num(f[2], "k")
	if !okm || !okk {
		return 0, 0, 0, 0, bad(`are not of the form "v1 m=<bits> k=<hashes> [n=<capacity> p=<error rate>]"`)
	}
	if mm < 1 || mm > maxBloomBits || kk < 1 || kk > math.MaxInt32 {
		return 0, 0, 0, 0, bad("out of range (m in [1, 2^32], k >= 1)")
	}
	if len(f) == 5 {
		nn, okn := num(f[3], "n")
		ps, okp := strings.CutPrefix(f[4], "p=")
		pp, err := strconv.ParseFloat(ps, 64)
		if !okn || !okp || err != nil || nn < 1 || nn > math.MaxInt32 || !(pp > 0 && pp < 1) {
			return 0, 0, 0, 0, bad("have a capacity or error rate out of range (n >= 1, p in (0, 1))")
		}
		n, p = int(nn), pp
	}
	return mm, int(kk), n, p, nil
}
