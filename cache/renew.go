package cache

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"time"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/keys"
)

// Sliding expiry (Options.Sliding). A read of a fresh value that has less
// than half of its TTL left renews it: one script call (renew.lua) gives
// the entry a new header, fresh for TTL from now, and the matching Redis
// TTL, but only while Redis holds the very envelope that was read (its
// header, which every write and renewal changes), so a renewal never
// brings back a value written or deleted since, and a resent renewal
// refuses itself. A local hit knows when to renew from its entry (renewAt,
// no Redis call), so hits stay local; the renewal is sent in the
// background, once per local copy.
//
// A renewal is a write of the key: every Store's invalidation stream
// reports it. This Store registers it as an own write (see own.go) whose
// bytes are the new header and the payload it read (told by a hash), so
// the echo does not drop its copy for good: the copy is replaced by the
// renewed one, hidden when the echo comes, and kept again once one read
// finds those bytes in Redis, as for the Store's own writes. Other Stores
// drop their copies and read the renewed entry once: at most one extra
// round trip per key per TTL/2 for each of them.
//
// A renewal refused, failed or whose reply was lost changes nothing here:
// the local copy holds the payload Redis holds either way, with an expiry
// no later than Redis' (a renewal applied whose reply was lost sends its
// invalidation, which drops the copy, its registration being gone).

// slide is what a renewal of a local copy needs to know of its envelope.
type slide struct {
	head    string // the envelope's header as Redis holds it (codec.HeaderSize bytes)
	sum     uint64 // hash of the bytes after the header, for the own-write check
	size    int    // the payload's length once decoded, as the entry is charged
	renewAt int64  // unix ms from which a read renews the value: TTL/2 before its soft expiry
}

// slideOf describes an envelope with header head (h decoded) and a payload
// whose stored bytes hash to sum, or returns nil for one that never
// expires.
func (c *Cache[V]) slideOf(head string, sum uint64, size int, h codec.Header) *slide {
	if h.SoftExpiry == 0 {
		return nil
	}
	return &slide{head: head, sum: sum, size: size, renewAt: h.SoftExpiry - c.opts.TTL.Milliseconds()/2}
}

// touched is called on a local hit of e, a Sliding namespace's copy of key:
// past its renewAt, the first hit sends the renewal.
func (c *Cache[V]) touched(ctx context.Context, key string, e *entry) {
	if c.s.clock.millis() >= e.slide.renewAt && e.claimRenewal() {
		c.renew(ctx, key, valueOf[V](e), e.slide)
	}
}

// renewRead renews a value just read from Redis, once for the local copy
// that read kept (if any).
func (c *Cache[V]) renewRead(key string, v V, sl *slide) {
	if e, ok := c.s.local.Get(localKey{c.id, key}); ok && e.slide == sl && !e.claimRenewal() {
		return
	}
	// The read's caller has its answer; the renewal is background work
	// bounded by Options.Timeout, not by the caller's context.
	c.renew(context.Background(), key, v, sl)
}

// renew sends, in the background, the renewal of key's value v, read with
// the envelope sl describes.
func (c *Cache[V]) renew(ctx context.Context, key string, v V, sl *slide) {
	if !c.s.hasRedis() || !c.s.startBackground() {
		return
	}
	ctx = context.WithoutCancel(ctx)
	go func() {
		defer c.s.bg.Done()
		c.sendRenewal(ctx, key, v, sl)
	}()
}

// sendRenewal runs renew.lua for key and keeps the renewed copy as an own
// write.
func (c *Cache[V]) sendRenewal(ctx context.Context, key string, v V, sl *slide) {
	rkey := c.prefix + key
	now := time.Now()
	soft, hard := c.expiries(now.UnixMilli())
	head := make([]byte, 0, codec.HeaderSize)
	head = append(head, sl.head[:2]...) // version and flags as stored
	head = binary.BigEndian.AppendUint64(head, uint64(soft))
	head = binary.BigEndian.AppendUint64(head, uint64(hard))
	h := codec.Header{SoftExpiry: soft, HardExpiry: hard}
	next := &slide{head: string(head), sum: sl.sum, size: sl.size, renewAt: soft - c.opts.TTL.Milliseconds()/2}
	var reg *ownWrite
	if c.opts.LocalTTL >= 0 {
		reg = c.s.own.register(rkey, nil, func(s string) bool {
			return len(s) >= len(next.head) && s[:len(next.head)] == next.head &&
				maphash.String(c.s.coh.seed, s[len(next.head):]) == next.sum
		}, ownCopy{
			keep:  func(tok uint64) bool { return c.keepLocal(key, v, h, next.size, time.Now().UnixMilli(), tok, next) },
			stash: func() { c.keepCopy(key, v, h, next.size, time.Now().UnixMilli(), true, next) },
			hide: func() uint32 {
				if e, ok := c.s.local.Get(localKey{c.id, key}); ok {
					e.hide()
					return c.id
				}
				return 0
			},
			drop: func() { c.s.local.Delete(localKey{c.id, key}) },
		})
	}
	if hook := c.s.renewHook; hook != nil {
		hook(rkey)
	}
	tok := c.s.coh.token()
	renewed, err := c.runRenewal(ctx, rkey, sl.head, next.head, hard-now.UnixMilli())
	switch {
	case err != nil:
		c.countErr(err)
		c.s.own.written(reg, false, false)
	case !renewed:
		c.stats.renewalsRefused.Add(1)
		c.s.own.written(reg, false, false)
	default:
		c.stats.renewals.Add(1)
		kept := c.opts.LocalTTL >= 0 && c.s.coh.kt == nil && c.keepLocal(key, v, h, next.size, time.Now().UnixMilli(), tok, next)
		c.s.own.written(reg, true, kept)
	}
}

// runRenewal runs renew.lua on rkey's node and reports whether it renewed.
func (c *Cache[V]) runRenewal(ctx context.Context, rkey, old, head string, ttl int64) (bool, error) {
	if err := c.s.awaitMode(ctx, c.opts.Timeout); err != nil {
		return false, err
	}
	return roundTrip(c.s, ctx, c.opts.Timeout, func(ctx context.Context) (bool, error) {
		n, err := c.s.nodeFor(rkey)
		if err != nil {
			return false, err
		}
		cmd, channel := c.s.publishing(keys.Slot(rkey))
		r, err := c.s.runScript(ctx, n, renewScript, []string{rkey}, cmd, channel, old, head, max(ttl, 1)).Int64()
		return r == 1, err
	})
}
