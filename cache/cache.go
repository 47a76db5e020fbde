package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

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

	group      singleflight.Group
	waiting    atomic.Int64 // callers in loadShared, for tests
	refreshing sync.Map     // key -> struct{}: background refreshes in flight
}

// New returns the namespace of s called namespace, holding values of type V.
// A namespace is letters, digits, '_', '-' and '.', so that no two
// namespaces' keys collide.
func New[V any](s *Store, namespace string, opts Options[V]) (*Cache[V], error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrInvalidOptions)
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
	if key == "" {
		return zero, ErrEmptyKey
	}
	if c.s.closed.Load() {
		return zero, ErrClosed
	}
	if e, ok := c.localEntry(key); ok {
		switch {
		case c.fresh(e):
			c.stats.localHits.addFor(e)
			return c.out(e.value.(V)), nil
		case e.negative:
			c.stats.negativeHits.addFor(e)
			return zero, ErrNotFound
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
	if e, ok := c.localEntry(key); ok && c.fresh(e) {
		c.stats.localHits.addFor(e)
		return c.out(e.value.(V)), true
	}
	var zero V
	return zero, false
}

// localEntry looks key up in the local tier. Reads branch on the entry
// itself, so that a hit copies nothing beyond V.
func (c *Cache[V]) localEntry(key string) (*entry, bool) {
	return c.s.local.Get(localKey{c.id, key})
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
	f.v = e.value.(V)
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
		c.stats.redisErrors.Add(1)
		return found[V]{}, err
	}
	return c.decodeAndKeep(key, raw, tok, time.Now().UnixMilli()), nil
}

// decodeAndKeep decodes an envelope read from Redis by a call that started
// at coherence token tok, and stores it in the local tier; now is the time
// in unix milliseconds.
func (c *Cache[V]) decodeAndKeep(key, raw string, tok uint64, now int64) found[V] {
	h, v, err := codec.DecodeValueString(raw, c.opts.Codec, c.opts.MaxValueSize)
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
	c.keepLocal(key, v, h, len(raw), now, tok)
	return f
}

// keepLocal stores a decoded value in the local tier, to expire no later
// than its Redis entry, unless coherence says that the Redis call that
// produced it (started at token tok) may have been overtaken by a write.
func (c *Cache[V]) keepLocal(key string, v V, h codec.Header, size int, now int64, tok uint64) {
	rkey := c.prefix + key
	if c.opts.LocalTTL < 0 {
		return
	}
	if !c.s.coh.keepable(rkey, tok) {
		c.s.observeRefused(c.ns)
		return
	}
	exp := now + min(c.jitter(c.opts.LocalTTL), c.s.opts.MaxStaleness).Milliseconds()
	if h.HardExpiry != 0 {
		exp = min(exp, h.HardExpiry)
	}
	exp -= clockTick.Milliseconds() // see clockTick
	if exp <= now {
		return
	}
	e := &entry{value: v, hard: h.HardExpiry, negative: h.Flags&codec.FlagNegative != 0}
	if h.SoftExpiry != 0 && h.SoftExpiry < exp {
		e.soft = h.SoftExpiry // otherwise fresh for its whole local life: no clock read on a hit
	}
	lk := localKey{c.id, key}
	c.s.local.Set(lk, e, int64(size+len(key))+entryOverhead, exp*int64(time.Millisecond))
	if !c.s.coh.keepable(rkey, tok) { // an invalidation landed while storing
		c.s.local.Delete(lk)
		c.s.observeRefused(c.ns)
	}
}

// jitter shortens d by a random fraction in [0, Options.Jitter).
func (c *Cache[V]) jitter(d time.Duration) time.Duration {
	if c.opts.Jitter == 0 || d <= 0 {
		return d
	}
	return d - time.Duration(rand.Float64()*c.opts.Jitter*float64(d))
}

// Set stores v under key in Redis and in the local tier. A value whose
// encoding exceeds Options.MaxValueSize is ErrTooLarge and nothing is
// written; a key holding another Redis type is ErrWrongType and is not
// touched. When the write fails the local tier keeps no copy of the key.
func (c *Cache[V]) Set(ctx context.Context, key string, v V) error {
	return c.put(ctx, []string{key}, []V{v}, 1)
}

// SetMany stores every value of items: one round trip on a single server
// (one script call, atomic: all or none), one per node on Cluster. Every
// value is encoded and checked before anything is written. On Cluster the
// write is atomic per hash slot: when a key holds another Redis type, the
// keys of its slot are not written, those of other slots may be, and the
// error names the refused key.
func (c *Cache[V]) SetMany(ctx context.Context, items map[string]V) error {
	ks := make([]string, 0, len(items))
	vs := make([]V, 0, len(items))
	for k, v := range items {
		ks, vs = append(ks, k), append(vs, v)
	}
	return c.put(ctx, ks, vs, len(ks))
}

// Fill writes values and, when Options.NegativeTTL is set, negative entries
// for notFound (keys a loader found nothing for), all in one round trip (one
// per node on Cluster), with SetMany's checks and atomicity. It is the write
// half of a caller-driven batch load; see LookupMany.
func (c *Cache[V]) Fill(ctx context.Context, values map[string]V, notFound []string) error {
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
	return c.put(ctx, ks, vs, nvals)
}

// put encodes and writes values, ks[i] getting vs[i], and keeps them locally
// once Redis has them. The keys from index nvals on get negative entries.
func (c *Cache[V]) put(ctx context.Context, ks []string, vs []V, nvals int) error {
	if c.s.closed.Load() {
		return ErrClosed
	}
	if len(ks) == 0 {
		return nil
	}
	now := time.Now()
	rks := make([]string, len(ks))
	args := make([]any, 0, 2*len(ks))
	hdrs := make([]codec.Header, len(ks))
	sizes := make([]int, len(ks))
	for i, k := range ks {
		if k == "" {
			return ErrEmptyKey
		}
		buf, h, ttl, err := c.encode(vs[i], i >= nvals, now)
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		rks[i] = c.prefix + k
		args = append(args, buf, strconv.FormatInt(ttl.Milliseconds(), 10))
		hdrs[i], sizes[i] = h, len(buf)
	}
	tok := c.s.coh.token()
	if err := c.writeRemote(ctx, ks, rks, args, now); err != nil {
		return err
	}
	for i, k := range ks {
		c.keepLocal(k, vs[i], hdrs[i], sizes[i], now.UnixMilli(), tok)
	}
	return nil
}

// writeRemote writes to Redis, dropping the local copies first so that a
// failed write leaves none that Redis lacks.
func (c *Cache[V]) writeRemote(ctx context.Context, ks, rks []string, args []any, now time.Time) error {
	for _, k := range ks {
		c.s.local.Delete(localKey{c.id, k})
	}
	if !c.s.hasRedis() {
		return nil
	}
	if c.s.Coherence() != CoherenceNone {
		c.s.coh.lag.start(rks[0], now)
	}
	if err := c.s.write(ctx, c.opts.Timeout, rks, args); err != nil {
		c.stats.redisErrors.Add(1)
		return err
	}
	return nil
}

// encode builds the envelope for v (or a negative entry) written at now and
// returns it with its header and Redis TTL.
func (c *Cache[V]) encode(v V, neg bool, now time.Time) ([]byte, codec.Header, time.Duration, error) {
	ms := now.UnixMilli()
	var h codec.Header
	var ttl time.Duration
	if neg {
		ttl = c.jitter(c.opts.NegativeTTL)
		h = codec.Header{Flags: codec.FlagNegative, SoftExpiry: ms + ttl.Milliseconds(), HardExpiry: ms + ttl.Milliseconds()}
		return codec.AppendHeader(nil, h), h, ttl, nil
	}
	fresh := c.jitter(c.opts.TTL)
	ttl = fresh + max(c.opts.StaleWhileRevalidate, c.opts.StaleIfError)
	h = codec.Header{SoftExpiry: ms + fresh.Milliseconds(), HardExpiry: ms + ttl.Milliseconds()}
	buf := codec.AppendHeader(make([]byte, 0, 64), h)
	buf, err := c.opts.Codec.Append(buf, v)
	if err != nil {
		return nil, h, 0, err
	}
	if n := len(buf) - codec.HeaderSize; n > c.opts.MaxValueSize {
		return nil, h, 0, fmt.Errorf("%w: %d bytes encoded, limit %d", ErrTooLarge, n, c.opts.MaxValueSize)
	}
	return codec.Seal(buf, 0, c.opts.CompressAbove), h, ttl, nil
}

// Delete removes keys from both tiers (one round trip per node).
func (c *Cache[V]) Delete(ctx context.Context, ks ...string) error {
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
	if err := c.s.del(ctx, c.opts.Timeout, rks); err != nil {
		c.stats.redisErrors.Add(1)
		return err
	}
	return nil
}

// Clear removes every entry of the namespace: from the local tier, and from
// Redis with SCAN and UNLINK on every master (never KEYS or FLUSHALL).
// Entries written while Clear runs may survive it.
func (c *Cache[V]) Clear(ctx context.Context) error {
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
		c.stats.redisErrors.Add(1)
	}
	return err
}
