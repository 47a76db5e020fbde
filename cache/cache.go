package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/keys"
)

// Cache is a typed namespace in a Store: values of type V under Redis keys
// "<prefix><namespace>:<key>". A Cache is safe for concurrent use.
//
// A local hit hands every caller the same V (no decoding, no allocation).
// Callers that mutate what they get set Options.CopyOnRead.
type Cache[V any] struct {
	s      *Store
	ns     string
	id     uint32
	prefix string // "<store prefix><namespace>:"
	opts   Options[V]
	stats  counters

	flightMu   sync.Mutex
	flights    map[string]*flight[V] // loads in flight (see loadShared)
	waiting    atomic.Int64          // callers in loadShared, for tests
	refreshing sync.Map              // key -> struct{}: background refreshes in flight
	tickets    ticketBook            // tickets of keys LookupMany reported missing, for Fill
}

// New returns the namespace of s called namespace, holding values of type V.
// A namespace is letters, digits, '_', '-' and '.', so that no two
// namespaces' keys collide.
func New[V any](s *Store, namespace string, opts Options[V]) (*Cache[V], error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrInvalidOptions)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if !validNamespace(namespace) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidNamespace, namespace)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Cache[V]{
		s:      s,
		ns:     namespace,
		id:     s.register(namespace),
		prefix: s.opts.Prefix + namespace + ":",
		opts:   opts,
	}
	s.track(namespace, &c.stats)
	return c, nil
}

func validNamespace(ns string) bool {
	if ns == "" {
		return false
	}
	for i := 0; i < len(ns); i++ {
		c := ns[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Namespace returns the namespace's name.
func (c *Cache[V]) Namespace() string { return c.ns }

// RedisKey returns the Redis key that holds key's entry.
func (c *Cache[V]) RedisKey(key string) string { return c.prefix + key }

// state is what a lookup found.
type state uint8

const (
	absent   state = iota
	fresh          // before the soft expiry
	stale          // after the soft expiry, before Redis drops it
	negative       // a cached "not found"
)

// found is the outcome of a lookup in either tier.
type found[V any] struct {
	v     V
	state state
	soft  int64 // unix ms of the soft expiry (0 when unknown: fresh for its local life)
	hard  int64 // unix ms when the Redis entry expires
}

// staleWithin reports whether f is stale by less than window at now (unix ms).
func (f found[V]) staleWithin(window time.Duration, now int64) bool {
	return f.state == stale && window > 0 && now < f.soft+window.Milliseconds() && now < f.hard
}

// Get returns the fresh value for key, from the local tier or else from
// Redis. It returns ErrNotFound on a miss (including a value past its TTL
// and a negative entry), ErrWrongType when the key holds another Redis
// type, and an error wrapping ErrUnavailable when the local tier misses and
// Redis cannot be reached.
func (c *Cache[V]) Get(ctx context.Context, key string) (V, error) {
	var zero V
	switch {
	case ctx.Err() != nil:
		return zero, ctx.Err()
	case key == "":
		return zero, ErrEmptyKey
	case c.s.closed.Load():
		return zero, ErrClosed
	}
	e, ok := c.s.local.Get(localKey{c.id, key}) // localEntry, by hand: it is not inlined
	if ok = ok && !e.hidden(); ok {
		switch {
		case c.fresh(e):
			c.stats.localHits.Inc()
			if e.slide != nil {
				c.touched(ctx, key, e)
			}
			return c.out(valueOf[V](e)), nil
		case e.negative:
			c.stats.negativeHits.Inc()
			return zero, ErrNotFound
		}
	}
	return c.getMissed(ctx, key, ok)
}

// getMissed is Get past a local miss (inLocal: a stale local copy), apart
// so that the local hit's frame stays small.
func (c *Cache[V]) getMissed(ctx context.Context, key string, inLocal bool) (V, error) {
	var zero V
	if !inLocal && c.waitOwn(ctx, key) {
		if v, ok := c.GetLocal(key); ok {
			return v, nil
		}
	}
	if !c.s.hasRedis() {
		c.stats.misses.Add(1)
		return zero, ErrNotFound
	}
	f, err := c.remoteGet(ctx, key)
	if err != nil {
		return zero, err
	}
	return c.result(f, false)
}

// GetLocal returns key's fresh value when the local tier holds one, and
// never reaches Redis. A hit counts as a local hit; a miss counts nothing,
// since the caller goes on to Get or GetOrLoad, which count it. It lets a
// wrapper answer local hits without building a loader.
func (c *Cache[V]) GetLocal(key string) (V, bool) {
	if e, ok := c.localEntry(key); ok && c.fresh(e) && !c.s.closed.Load() {
		c.stats.localHits.Inc()
		if e.slide != nil {
			// The renewal runs in the background, past this call: no
			// caller's context bounds it (Options.Timeout does).
			c.touched(context.Background(), key, e)
		}
		return c.out(valueOf[V](e)), true
	}
	var zero V
	return zero, false
}

// localEntry looks key up in the local tier. Reads branch on the entry
// itself, so that a hit copies nothing beyond V.
func (c *Cache[V]) localEntry(key string) (*entry, bool) {
	e, ok := c.s.local.Get(localKey{c.id, key})
	if ok && e.hidden() {
		return nil, false
	}
	return e, ok
}

// fresh reports whether a local entry holds a value before its soft expiry.
func (c *Cache[V]) fresh(e *entry) bool {
	return !e.negative && (e.soft == 0 || c.s.clock.millis() < e.soft)
}

// result turns a lookup into Get's answer and counts it.
func (c *Cache[V]) result(f found[V], local bool) (V, error) {
	c.count(f, local)
	if f.state != fresh {
		var zero V
		return zero, ErrNotFound
	}
	return c.out(f.v), nil
}

func (c *Cache[V]) out(v V) V {
	if c.opts.CopyOnRead != nil {
		return c.opts.CopyOnRead(v)
	}
	return v
}

// localGet looks key up in the local tier.
func (c *Cache[V]) localGet(key string) (found[V], bool) {
	e, ok := c.localEntry(key)
	if !ok {
		return found[V]{}, false
	}
	return c.foundOf(e), true
}

// foundOf describes a local entry as a lookup result.
func (c *Cache[V]) foundOf(e *entry) found[V] {
	f := found[V]{state: fresh, soft: e.soft, hard: e.hard}
	switch {
	case e.negative:
		f.state = negative
		return f
	case !c.fresh(e):
		f.state = stale
	}
	f.v = valueOf[V](e)
	return f
}

// remoteGet reads key from Redis and keeps what it finds in the local tier.
// Undecodable bytes count as a decode error and read as absent.
func (c *Cache[V]) remoteGet(ctx context.Context, key string) (found[V], error) {
	tok := c.s.coh.token()
	raw, err := c.s.get(ctx, c.opts.Timeout, c.prefix+key)
	if isAbsent(err) {
		return found[V]{}, nil
	}
	if err != nil {
		c.countErr(err)
		return found[V]{}, err
	}
	return c.decodeAndKeep(key, raw, tok, time.Now().UnixMilli()), nil
}

// decodeAndKeep decodes an envelope read from Redis by a call that started
// at coherence token tok, and stores it in the local tier; now is the time
// in unix milliseconds.
func (c *Cache[V]) decodeAndKeep(key, raw string, tok uint64, now int64) found[V] {
	h, v, size, err := codec.DecodeValueStringSize(raw, c.opts.Codec, c.opts.MaxValueSize)
	if err != nil {
		c.stats.decodeErrors.Add(1)
		return found[V]{}
	}
	f := found[V]{v: v, state: fresh, soft: h.SoftExpiry, hard: h.HardExpiry}
	switch {
	case h.Flags&codec.FlagNegative != 0:
		f.state = negative
	case h.SoftExpiry != 0 && now >= h.SoftExpiry:
		f.state = stale
	}
	if h.HardExpiry != 0 && now >= h.HardExpiry {
		return found[V]{} // expired in transit; Redis drops it now
	}
	var sl *slide
	if c.opts.Sliding && f.state == fresh {
		sl = c.slideOf(strings.Clone(raw[:codec.HeaderSize]), maphash.String(c.s.coh.seed, raw[codec.HeaderSize:]), size, h)
	}
	c.keepLocal(key, v, h, size, now, tok, sl)
	if sl != nil && now >= sl.renewAt {
		c.renewRead(key, v, sl)
	}
	return f
}

// keepLocal stores a decoded value in the local tier, to expire no later
// than its Redis entry, unless coherence says that the Redis call that
// produced it (started at token tok) may have been overtaken by a write.
// size is the value's payload length once decoded (never the compressed
// length): the entry is charged that, its key and entryOverhead.
// sl, in a Sliding namespace, is what a renewal of the value needs.
func (c *Cache[V]) keepLocal(key string, v V, h codec.Header, size int, now int64, tok uint64, sl *slide) bool {
	rkey := c.prefix + key
	if c.opts.LocalTTL < 0 || !c.s.coh.keepable(rkey, tok) {
		return false
	}
	lk, ok := c.keepCopy(key, v, h, size, now, false, sl)
	if ok && !c.s.coh.keepable(rkey, tok) { // an invalidation landed while storing
		c.s.local.Delete(lk)
		return false
	}
	return ok
}

// keepCopy stores a decoded value in the local tier, to expire no later
// than its Redis entry; hidden, it is not served (see own.go).
func (c *Cache[V]) keepCopy(key string, v V, h codec.Header, size int, now int64, hidden bool, sl *slide) (localKey, bool) {
	lk := localKey{c.id, key}
	exp := now + min(c.jitter(c.opts.LocalTTL), c.s.opts.MaxStaleness).Milliseconds()
	if h.HardExpiry != 0 {
		exp = min(exp, h.HardExpiry)
	}
	exp -= clockTick.Milliseconds() // see clockTick
	if exp <= now {
		return lk, false
	}
	e := newEntry(v)
	e.hard, e.negative, e.slide = h.HardExpiry, h.Flags&codec.FlagNegative != 0, sl
	if hidden {
		e.hide()
	}
	if h.SoftExpiry != 0 && h.SoftExpiry < exp {
		e.soft = h.SoftExpiry // otherwise fresh for its whole local life: no clock read on a hit
	}
	c.s.local.Set(lk, e, int64(size+len(key))+entryOverhead, exp*int64(time.Millisecond))
	return lk, true
}

// jitter shortens d by a random fraction in [0, Options.Jitter).
func (c *Cache[V]) jitter(d time.Duration) time.Duration {
	if c.opts.Jitter == 0 || d <= 0 {
		return d
	}
	return d - time.Duration(rand.Float64()*c.opts.Jitter*float64(d))
}

// Set stores v under key in Redis and in the local tier, last writer wins:
// it also ends the loads in flight for key, whose values are then refused
// (see GetOrLoad). The Store keeps v locally until a later write of key, by
// anyone, invalidates it. A value whose encoding exceeds
// Options.MaxValueSize is ErrTooLarge and nothing is written; a key holding
// another Redis type is ErrWrongType and is not touched. When the write
// fails the local tier keeps no copy of the key.
func (c *Cache[V]) Set(ctx context.Context, key string, v V) error {
	return c.put(ctx, []string{key}, []V{v}, 1)
}

// SetMany stores every value of items as Set does: one round trip on a
// single server (one script call, atomic: all or none), one per node on
// Cluster. Every value is encoded and checked before anything is written.
// On Cluster the write is atomic per hash slot: when a key holds another
// Redis type, the keys of its slot are not written, those of other slots
// may be, and the error names the refused key.
func (c *Cache[V]) SetMany(ctx context.Context, items map[string]V) error {
	ks := make([]string, 0, len(items))
	vs := make([]V, 0, len(items))
	for k, v := range items {
		ks, vs = append(ks, k), append(vs, v)
	}
	return c.put(ctx, ks, vs, len(ks))
}

// SetNotFound records that keys have no value: negative entries living
// Options.NegativeTTL, written as Set writes (last writer wins, ending the
// loads in flight). Without a NegativeTTL it deletes the keys instead.
func (c *Cache[V]) SetNotFound(ctx context.Context, ks ...string) error {
	if c.opts.NegativeTTL <= 0 {
		return c.Delete(ctx, ks...)
	}
	return c.put(ctx, ks, make([]V, len(ks)), 0)
}

// Fill writes values and, when Options.NegativeTTL is set, negative entries
// for notFound (keys a loader found nothing for), all in one round trip (one
// per node on Cluster), with SetMany's checks and atomicity. It is the write
// half of a caller-driven batch load: LookupMany and LookupFunc take a
// ticket on the fence of every key they report missing, and Fill writes a
// key only under its ticket, so never over a write or delete made since the
// lookup (nor over another fill), and never a negative entry over a value.
// Keys without a valid ticket (not reported missing by a lookup of this
// Cache, already filled, or looked up more than the ticket lifetime ago:
// the longest of Options.Lease, Options.LoadTimeout and DefaultLease) are
// refused. Refused keys are counted in Stats.FillsRefused and are not an
// error; keys looked up while Redis was unavailable are not written either,
// and make Fill return an error wrapping ErrUnavailable. To write whatever
// the key holds, use SetMany or SetNotFound.
func (c *Cache[V]) Fill(ctx context.Context, values map[string]V, notFound []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ks := make([]string, 0, len(values)+len(notFound))
	vs := make([]V, 0, len(values)+len(notFound))
	for k, v := range values {
		ks, vs = append(ks, k), append(vs, v)
	}
	nvals := len(ks)
	if c.opts.NegativeTTL > 0 {
		for _, k := range notFound {
			ks, vs = append(ks, k), append(vs, *new(V))
		}
	}
	if !c.s.hasRedis() {
		return c.put(ctx, ks, vs, nvals)
	}
	now := time.Now().UnixMilli()
	claims := make([]fence, 0, len(ks))
	fks, fvs := ks[:0:0], vs[:0:0]
	fvals, unfenced := 0, 0
	for i, k := range ks {
		claim, ok := c.tickets.take(k, now)
		switch {
		case ok && claim.field == "":
			unfenced++ // its lookup could not take a ticket: Redis was unavailable
			continue
		case !ok:
			c.refused()
			continue
		}
		if i >= nvals {
			claim.absent = true
		} else {
			fvals++
		}
		claims = append(claims, claim)
		fks, fvs = append(fks, k), append(fvs, vs[i])
	}
	err := c.putFenced(ctx, fks, fvs, fvals, claims)
	if err == nil && unfenced > 0 {
		c.stats.degraded.Add(uint64(unfenced))
		err = fmt.Errorf("%w: %d keys were looked up while Redis was unavailable, and are not written", ErrUnavailable, unfenced)
	}
	return err
}

// encoded is what put and putFenced send for one key.
type encoded struct {
	rkey string
	raw  []byte
	hdr  codec.Header
	size int // the payload's length before compression
}

// ttlArg formats the Redis TTL of an entry written at now, in
// milliseconds, for a script: "0" for an entry that never expires
// (NoExpiry), which the scripts write without PX.
func (e encoded) ttlArg(now time.Time) string {
	if e.hdr.HardExpiry == 0 {
		return "0"
	}
	return strconv.FormatInt(max(e.hdr.HardExpiry-now.UnixMilli(), 1), 10)
}

// encodeAll encodes vs for ks (negative entries from index nvals on).
func (c *Cache[V]) encodeAll(ks []string, vs []V, nvals int, now time.Time) ([]encoded, error) {
	out := make([]encoded, len(ks))
	for i, k := range ks {
		if k == "" {
			return nil, ErrEmptyKey
		}
		buf, h, size, err := c.encode(vs[i], i >= nvals, now)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[i] = encoded{rkey: c.prefix + k, raw: buf, hdr: h, size: size}
	}
	return out, nil
}

// put encodes and writes values, last writer wins, ks[i] getting vs[i], and
// keeps them locally once Redis has them. The keys from index nvals on get
// negative entries.
func (c *Cache[V]) put(ctx context.Context, ks []string, vs []V, nvals int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.s.closed.Load() {
		return ErrClosed
	}
	if len(ks) == 0 {
		return nil
	}
	now := time.Now()
	enc, err := c.encodeAll(ks, vs, nvals, now)
	if err != nil {
		return err
	}
	if !c.s.hasRedis() {
		tok := c.s.coh.token()
		for i, k := range ks {
			c.keepLocal(k, vs[i], enc[i].hdr, enc[i].size, now.UnixMilli(), tok, nil) // no Redis: nothing to renew
		}
		return nil
	}
	args := make([]any, 0, 2*len(ks))
	rks := make([]string, len(ks))
	for i, e := range enc {
		rks[i] = e.rkey
		args = append(args, e.raw, e.ttlArg(now))
	}
	return c.writeOwn(ctx, ks, vs, enc, now, func(ctx context.Context) ([]bool, error) {
		if err := c.s.write(ctx, c.opts.Timeout, rks, args); err != nil {
			return nil, err
		}
		return nil, nil
	})
}

// putFenced writes loaded values (negative entries from index nvals on),
// each under its claim on the key's fence (see fence.go), and keeps the
// ones Redis accepted. Refused ones are counted in Stats.FillsRefused.
func (c *Cache[V]) putFenced(ctx context.Context, ks []string, vs []V, nvals int, claims []fence) error {
	if c.s.closed.Load() {
		return ErrClosed
	}
	if len(ks) == 0 {
		return nil
	}
	now := time.Now()
	enc, err := c.encodeAll(ks, vs, nvals, now)
	if err != nil {
		return err
	}
	args := make([]any, 0, 5*len(ks))
	rks := make([]string, len(ks))
	for i, e := range enc {
		rks[i] = e.rkey
		absent := "0"
		if claims[i].absent {
			absent = "1"
		}
		args = append(args, claims[i].field, claims[i].value, absent, e.raw, e.ttlArg(now))
	}
	return c.writeOwn(ctx, ks, vs, enc, now, func(ctx context.Context) ([]bool, error) {
		written, err := c.s.fill(ctx, c.opts.Timeout, rks, args)
		if err != nil {
			return nil, err
		}
		for _, w := range written {
			if !w {
				c.refused()
			}
		}
		return written, nil
	})
}

// writeOwn runs send, the write of enc to Redis (reporting which keys it
// wrote; nil: all of them), as an own write of this Store (see own.go): it
// drops the local copies first, registers the write for its echo, fences
// the reads in flight once the write ends, and keeps what Redis took.
func (c *Cache[V]) writeOwn(ctx context.Context, ks []string, vs []V, enc []encoded, now time.Time, send func(context.Context) ([]bool, error)) error {
	regs := make([]*ownWrite, len(ks))
	slides := make([]*slide, len(ks))
	if c.opts.Sliding {
		for i, e := range enc {
			if e.hdr.Flags&codec.FlagNegative == 0 {
				slides[i] = c.slideOf(string(e.raw[:codec.HeaderSize]), maphash.Bytes(c.s.coh.seed, e.raw[codec.HeaderSize:]), e.size, e.hdr)
			}
		}
	}
	for i, k := range ks {
		c.s.local.Delete(localKey{c.id, k})
		if c.opts.LocalTTL >= 0 {
			v, h, size, sl := vs[i], enc[i].hdr, enc[i].size, slides[i]
			regs[i] = c.s.own.register(enc[i].rkey, enc[i].raw, nil, ownCopy{
				keep:  func(tok uint64) bool { return c.keepLocal(k, v, h, size, time.Now().UnixMilli(), tok, sl) },
				stash: func() { c.keepCopy(k, v, h, size, time.Now().UnixMilli(), true, sl) },
				hide: func() uint32 {
					if e, ok := c.s.local.Get(localKey{c.id, k}); ok {
						e.hide()
						return c.id
					}
					return 0
				},
				drop: func() { c.s.local.Delete(localKey{c.id, k}) },
			})
		}
	}
	if c.s.Coherence() != CoherenceNone {
		c.s.coh.lag.start(enc[0].rkey, now)
	}
	tok := c.s.coh.token()
	written, err := send(ctx)
	if err != nil {
		c.countErr(err)
	}
	for i, k := range ks {
		if written != nil && !written[i] {
			c.s.own.written(regs[i], false, false) // refused: Redis holds something else
			continue
		}
		ok := err == nil
		ktok, keep := c.s.coh.wrote(enc[i].rkey, tok) // in doubt (err) too: fence and drop
		if ok && keep {
			c.keepLocal(k, vs[i], enc[i].hdr, enc[i].size, now.UnixMilli(), ktok, slides[i])
		}
		c.s.own.written(regs[i], ok, keep)
	}
	return err
}

// encode builds the envelope for v (or a negative entry) written at now and
// returns it with its header and the payload's length before compression.
// The header's hard expiry is the Redis entry's.
func (c *Cache[V]) encode(v V, neg bool, now time.Time) ([]byte, codec.Header, int, error) {
	ms := now.UnixMilli()
	var h codec.Header
	if neg {
		ttl := max(c.jitter(c.opts.NegativeTTL), time.Millisecond)
		h = codec.Header{Flags: codec.FlagNegative, SoftExpiry: ms + ttl.Milliseconds(), HardExpiry: ms + ttl.Milliseconds()}
		return codec.AppendHeader(nil, h), h, 0, nil
	}
	if c.opts.TTL != NoExpiry {
		h.SoftExpiry, h.HardExpiry = c.expiries(ms)
	} // else 0 and 0: fresh for as long as Redis holds it, and no PX
	buf := codec.AppendHeader(make([]byte, 0, 64), h)
	buf, err := c.opts.Codec.Append(buf, v)
	if err != nil {
		return nil, h, 0, err
	}
	n := len(buf) - codec.HeaderSize
	if n > c.opts.MaxValueSize {
		return nil, h, 0, fmt.Errorf("%w: %d bytes encoded, limit %d", ErrTooLarge, n, c.opts.MaxValueSize)
	}
	return codec.Seal(buf, 0, c.opts.CompressAbove), h, n, nil
}

// expiries returns the soft and hard expiries (unix ms) of a value written
// or renewed at ms: fresh for TTL (jittered), kept by Redis for the stale
// windows after it.
func (c *Cache[V]) expiries(ms int64) (soft, hard int64) {
	fresh := c.jitter(c.opts.TTL)
	ttl := max(fresh+max(c.opts.StaleWhileRevalidate, c.opts.StaleIfError), time.Millisecond)
	return ms + fresh.Milliseconds(), ms + ttl.Milliseconds()
}

// Delete removes keys from both tiers (one round trip per node), last
// writer wins: it also ends the loads in flight for the keys, whose values
// are then refused (see GetOrLoad).
func (c *Cache[V]) Delete(ctx context.Context, ks ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.s.closed.Load() {
		return ErrClosed
	}
	if len(ks) == 0 {
		return nil
	}
	rks := make([]string, len(ks))
	for i, k := range ks {
		if k == "" {
			return ErrEmptyKey
		}
		rks[i] = c.prefix + k
		c.s.local.Delete(localKey{c.id, k})
	}
	if !c.s.hasRedis() {
		return nil
	}
	tok := c.s.coh.token()
	err := c.s.del(ctx, c.opts.Timeout, rks)
	for _, rk := range rks {
		c.s.coh.wrote(rk, tok) // fence the reads in flight, failed or not
	}
	if err != nil {
		c.countErr(err)
		return err
	}
	return nil
}

// Clear removes every entry of the namespace: from the local tier, and from
// Redis with SCAN and UNLINK on every master (never KEYS or FLUSHALL).
// Entries written while Clear runs may survive it.
func (c *Cache[V]) Clear(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.s.closed.Load() {
		return ErrClosed
	}
	c.s.local.DeleteFunc(func(k localKey, _ *entry) bool { return k.ns == c.id })
	if !c.s.hasRedis() {
		return nil
	}
	err := c.s.scanDelete(ctx, c.opts.Timeout, keys.EscapeGlob(c.prefix)+"*")
	if err == nil {
		err = c.s.publishClear(ctx, c.opts.Timeout, c.ns)
	}
	if err != nil {
		c.countErr(err)
	}
	return err
}

// refused counts a loaded value Redis refused (see fence.go).
func (c *Cache[V]) refused() {
	c.stats.fillsRefused.Add(1)
	c.s.observeRefused(c.ns)
}

// countErr counts a failed Redis call: as a Redis error, or as a call the
// open breaker skipped.
func (c *Cache[V]) countErr(err error) {
	if errors.Is(err, errSkipped) {
		c.stats.breakerSkips.Add(1)
	} else {
		c.stats.redisErrors.Add(1)
	}
}
