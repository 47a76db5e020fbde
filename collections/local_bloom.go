package collections

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/binary"
	"fmt"
	"math/bits"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
)

var (
	//go:embed bloom_read.lua
	bloomReadSrc string

	bloomRead = redis.NewScript(bloomCheckSrc + bloomReadSrc)
)

// bloomCopy is the local copy of a filter's bits, as Redis stores them,
// with the number of bits set (for Len).
type bloomCopy struct {
	bits string
	set  uint64
}

// has reports whether bit i is set.
func (c bloomCopy) has(i uint64) bool {
	return i>>3 < uint64(len(c.bits)) && c.bits[i>>3]&(0x80>>(i&7)) != 0
}

// encodeBufs hold the encodings local reads hash, so that a local
// Contains does not allocate.
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64); return &b }}

// copy returns the local copy of the bits, reading them whole when there
// is none; ok is false without Options.Local, for a filter over the local
// tier's budget and when the read failed (the caller then asks Redis,
// which reports the error).
func (b *BloomFilter[T]) copy(ctx context.Context) (bloomCopy, bool) {
	return localCopy(ctx, b.local, b.readBits)
}

func (b *BloomFilter[T]) readBits(ctx context.Context) (bloomCopy, int, error) {
	raw, err := b.run(ctx, bloomRead, []any{b.params}).Text()
	if err != nil {
		return bloomCopy{}, 0, err
	}
	c := bloomCopy{bits: raw}
	for i := 0; i+8 <= len(raw); i += 8 {
		c.set += uint64(bits.OnesCount64(binary.BigEndian.Uint64([]byte(raw[i : i+8]))))
	}
	for i := len(raw) &^ 7; i < len(raw); i++ {
		c.set += uint64(bits.OnesCount8(raw[i]))
	}
	return c, len(raw) + memberOverhead, nil
}

// digest returns the first position of v and its step (see BloomFilter).
func (b *BloomFilter[T]) digest(v T) (x, y uint64, err error) {
	bp := encodeBufs.Get().(*[]byte)
	buf, err := b.codec.Append((*bp)[:0], v)
	if err == nil {
		sum := sha256.Sum256(buf)
		x = binary.BigEndian.Uint64(sum[0:8]) % b.bits
		y = binary.BigEndian.Uint64(sum[8:16]) % b.bits
	}
	if cap(buf) <= 64<<10 {
		*bp = buf[:0]
		encodeBufs.Put(bp)
	}
	return x, y, err
}

// localContains answers Contains for v from c.
func (b *BloomFilter[T]) localContains(c bloomCopy, i int, v T) (bool, error) {
	x, y, err := b.digest(v)
	if err != nil {
		return false, fmt.Errorf("tiercache/collections: bloom filter %q: element %d: %w", b.name, i, err)
	}
	for j := range b.hashes {
		if !c.has(x) {
			return false, nil
		}
		x = (x + y) % b.bits
		y = (y + uint64(j) + 1) % b.bits
	}
	return true, nil
}

// Local returns the counters of the filter's local copy (zero without
// Options.Local).
func (b *BloomFilter[T]) Local() cache.WholeStats { return b.local.Stats() }
