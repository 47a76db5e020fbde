package collections

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/keys"
	"github.com/tiercache/tiercache/internal/redisx"
)

// This file holds what the single-key data structures (Dict, Set, List,
// Deque, Counter, Queue, SortedSet, MultiMapTTL) share: the key and its
// validation, the per-round-trip context, error mapping, encoding and the
// type-checked Clear and Expire.

// Sizes of the chunks iterations read: the COUNT hint of HSCAN, SSCAN and
// ZSCAN, and the number of elements of one LRANGE. (Scripts that pass many
// arguments to one command pass them 1000 at a time: Lua's unpack has a
// limit of a few thousand.)
const (
	scanCount  = 256
	rangeChunk = 256
)

var (
	//go:embed common_clear.lua
	commonClearSrc string
	//go:embed common_expire.lua
	commonExpireSrc string

	commonClear  = redis.NewScript(commonClearSrc)
	commonExpire = redis.NewScript(commonExpireSrc)
)

// base is the part of every single-key collection that is not typed: the
// client, the name, the Redis key and the Redis type that key must hold.
type base struct {
	rdb  redis.UniversalClient
	name string
	key  string
	kind string // "hash", "set", "list" or "zset": what TYPE answers for key
	opts Options

	// deadlines is false for clients that do not apply context deadlines
	// to their round trips (go-redis's default, ContextTimeoutEnabled
	// false): their own ReadTimeout and WriteTimeout bound a round trip,
	// so begin does not derive a per-round-trip context for them.
	deadlines bool

	// local, set with Options.Local, drops this process's local copies of
	// the collection after every operation that may write (see rt).
	local interface{ Invalidate(rkey string) }

	// req makes the request ids of the writes that are idempotent under
	// resend.
	req *requests

	// keyArg and window are key and Options.DedupeWindow in milliseconds,
	// boxed once as command arguments.
	keyArg, window any
}

// newBase validates the arguments every constructor takes. It does not talk
// to Redis.
func newBase(rdb redis.UniversalClient, name, suffix, kind string, opts Options) (base, error) {
	if rdb == nil {
		return base{}, fmt.Errorf("%w: nil client", ErrInvalidArgument)
	}
	opts = opts.withDefaults()
	if err := opts.validate(name); err != nil {
		return base{}, err
	}
	key := opts.key(name, suffix)
	return base{rdb: rdb, name: name, key: key, kind: kind, opts: opts,
		deadlines: appliesDeadlines(rdb), req: newRequests(opts, name),
		keyArg: key, window: opts.DedupeWindow.Milliseconds()}, nil
}

// appliesDeadlines reports whether rdb applies context deadlines to its
// commands (a client of an unknown type is taken to).
func appliesDeadlines(rdb redis.UniversalClient) bool {
	enabled, known := redisx.ContextTimeouts(rdb)
	return enabled || !known
}

// noCancel is the CancelFunc of a context rt did not derive.
func noCancel() {}

// newWhole returns the local copy of the whole collection for its reads
// with Options.Local, or nil without it, and registers it with b.
func newWhole[S any](b *base) (*cache.Whole[S], error) {
	if b.opts.Local == nil {
		return nil, nil
	}
	w, err := cache.NewWhole[S](b.opts.Local, b.key, b.opts.LocalTTL)
	if err != nil {
		return nil, err
	}
	b.local = wholeWrites{w}
	return w, nil
}

// openWhole returns the local copy of Redis key rkey for the reads of a
// structure without a base (BloomFilter, HyperLogLog), or nil without
// Options.Local. The structure calls wrote after each of its writes.
func openWhole[S any](o Options, rkey string) (*cache.Whole[S], error) {
	if o.Local == nil {
		return nil, nil
	}
	return cache.NewWhole[S](o.Local, rkey, o.LocalTTL)
}

// wrote drops w's copy after a write to its key (done, failed or
// uncertain). A nil w (no Options.Local) does nothing.
func wrote[S any](w *cache.Whole[S]) {
	if w != nil {
		w.Invalidate()
	}
}

// localCopy returns w's valid copy, reading it with fetch when there is
// none. ok is false for a nil w (no Options.Local), a copy that was not
// kept (over budget, undecodable, nothing keepable) and a failed read: the
// caller then reads what it needs from Redis, which reports the error.
func localCopy[S any](ctx context.Context, w *cache.Whole[S], fetch func(context.Context) (S, int, error)) (S, bool) {
	if w == nil {
		var zero S
		return zero, false
	}
	if v, ok := w.Get(); ok {
		return v, true
	}
	v, ok, err := w.Load(ctx, fetch)
	return v, ok && err == nil
}

// wholeWrites tells a Whole of the writes to its key.
type wholeWrites struct{ w interface{ Invalidate() } }

func (ww wholeWrites) Invalidate(string) { ww.w.Invalidate() }

// memberOverhead is what a member of a local copy costs beyond its
// encoding, for the byte budget: its map slot and decoded form.
const memberOverhead = 32

// fail wraps an error of operation op on the collection's key.
func (b *base) fail(op string, err error) error { return failKey(op, b.key, err) }

// failKey wraps an error of operation op on key: WRONGTYPE (raised by Redis
// or by one of this package's scripts) matches ErrWrongType, an integer
// overflow ErrOverflow; other errors are prefixed with the operation and
// the key.
func failKey(op, key string, err error) error {
	if redis.HasErrorPrefix(err, "hash value is not an integer") {
		return fmt.Errorf("%w: %s key %q: a count is not an integer: %w", ErrWrongType, op, key, err)
	}
	if redis.HasErrorPrefix(err, prefixWrongType) {
		return fmt.Errorf("%w: %s key %q: %w", ErrWrongType, op, key, err)
	}
	if redis.HasErrorPrefix(err, prefixOverflow) {
		return fmt.Errorf("%w: %s key %q: %w", ErrOverflow, op, key, err)
	}
	return fmt.Errorf("tiercache/collections: %s %q: %w", op, key, err)
}

// encode encodes v with c, wrapping a failure with the key.
func encode[T any](c codec.Codec[T], key string, v T) ([]byte, error) {
	b, err := c.Append(nil, v)
	if err != nil {
		if !errors.Is(err, codec.ErrEncode) {
			err = fmt.Errorf("%w: %w", codec.ErrEncode, err)
		}
		return nil, fmt.Errorf("tiercache/collections: key %q: %w", key, err)
	}
	return b, nil
}

// encodeAll encodes every value of vs as arguments for a command. The
// encodings share one buffer.
func encodeAll[T any](c codec.Codec[T], key string, vs []T) ([]any, error) {
	ends := make([]int, len(vs))
	var buf []byte
	for i, v := range vs {
		var err error
		if buf, err = c.Append(buf, v); err != nil {
			_, err = encode(c, key, v) // for the same error, wrapped
			return nil, err
		}
		ends[i] = len(buf)
	}
	out := make([]any, len(vs))
	start := 0
	for i, end := range ends {
		out[i] = buf[start:end:end]
		start = end
	}
	return out, nil
}

// decode decodes raw, a member of key, with c. A failure is ErrDecode naming
// the key and showing the start of the data.
func decode[T any](c codec.Codec[T], key, raw string) (T, error) {
	v, err := c.Decode([]byte(raw))
	if err != nil {
		var zero T
		return zero, decodeError(key, raw, err)
	}
	return v, nil
}

// decodeError is the error for raw, read from key, that a codec refused.
func decodeError(key, raw string, err error) error {
	const show = 64
	if len(raw) > show {
		raw = raw[:show] + "..."
	}
	if !errors.Is(err, codec.ErrDecode) {
		err = fmt.Errorf("%w: %w", codec.ErrDecode, err)
	}
	return fmt.Errorf("%w: key %q: member %q: %w", ErrDecode, key, raw, err)
}

// clear deletes the collection's key unless it holds another Redis type,
// and the version key package syncable keeps next to it, so that clearing
// leaves nothing behind.
func (b *base) clear(ctx context.Context) error {
	_, err := b.clearKeys(ctx, []string{b.key, b.key + syncVersionSuffix}, b.kind, "string")
	return err
}

// syncVersionSuffix names the key package syncable keeps next to a
// collection's key: the version of its last Sync.
const syncVersionSuffix = ":syncver"

// clearKeys deletes keys (in the collection's slot) unless one of them
// holds another Redis type than its kind, and returns how many existed.
func (b *base) clearKeys(ctx context.Context, ks []string, kinds ...any) (int64, error) {
	var n int64
	err := b.rt(ctx, "clear", true, func(ctx context.Context) (err error) {
		n, err = commonClear.Run(ctx, b.rdb, ks, kinds...).Int64()
		return err
	})
	return n, err
}

// beginBlocking is begin for a command that blocks on the server for up to
// wait: the round trip's timeout is Options.Timeout on top of wait.
func (b *base) beginBlocking(ctx context.Context, op string, wait time.Duration) (context.Context, context.CancelFunc, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, b.fail(op, err)
	}
	if !b.deadlines || b.opts.Timeout < 0 {
		return ctx, noCancel, nil
	}
	c, cancel := context.WithTimeout(ctx, b.opts.Timeout+wait)
	return c, cancel, nil
}

// expire sets the key's time to live, in milliseconds, unless it holds
// another Redis type. It reports whether the key exists.
func (b *base) expire(ctx context.Context, ttl time.Duration) (bool, error) {
	if ttl < time.Millisecond {
		return false, fmt.Errorf("%w: expire %q: TTL %v is under a millisecond", ErrInvalidArgument, b.key, ttl)
	}
	var n int
	err := b.rt(ctx, "expire", true, func(ctx context.Context) (err error) {
		n, err = commonExpire.Run(ctx, b.rdb, []string{b.key, b.key + syncVersionSuffix}, b.kind, ttl.Milliseconds()).Int()
		return err
	})
	return n == 1, err
}

// scan reads the whole key with HSCAN, SSCAN or ZSCAN (next runs one call
// from a cursor), passing every group of step replies (a field and its
// value, a member, a member and its score) to each exactly once: a member
// the scan returns twice (Redis may, when the key is resized meanwhile) is
// passed once. It stops early when each returns false or an error.
func (b *base) scan(ctx context.Context, op string, step int,
	next func(ctx context.Context, cursor uint64) ([]string, uint64, error),
	each func(group []string) (bool, error)) error {
	seen := make(map[string]struct{})
	var cursor uint64
	for {
		var page []string
		var nextCursor uint64
		err := b.rt(ctx, op, false, func(ctx context.Context) (err error) {
			page, nextCursor, err = next(ctx, cursor)
			return err
		})
		if err != nil {
			return err
		}
		for i := 0; i+step <= len(page); i += step {
			if _, dup := seen[page[i]]; dup {
				continue
			}
			seen[page[i]] = struct{}{}
			more, err := each(page[i : i+step])
			if err != nil || !more {
				return err
			}
		}
		if nextCursor == 0 {
			return nil
		}
		cursor = nextCursor
	}
}

// sameNode reports whether the keys are served by one node, so that one
// command or script may use them all: always on a single server (or a
// Sentinel failover client), when they hash to one slot on a Cluster, and
// when they share a hash tag on any other client (a Ring shards by tag).
func sameNode(rdb redis.UniversalClient, ks ...string) bool {
	switch rdb.(type) {
	case *redis.Client:
		return true
	case *redis.ClusterClient:
		for _, k := range ks[1:] {
			if keys.Slot(k) != keys.Slot(ks[0]) {
				return false
			}
		}
		return true
	}
	for _, k := range ks[1:] {
		if hashTag(k) != hashTag(ks[0]) {
			return false
		}
	}
	return true
}

// hashTag returns the part of key that Cluster and Ring hash: the text
// between the first '{' and the next '}' when it is not empty, else key.
func hashTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}

// token returns a random string for temporary keys, delivery ids and
// sentinels: 26 base32 characters, 128 bits of randomness.
func token() string { return rand.Text() }

// blockSlice is the longest a blocking command (BRPOP, BLMOVE) may block in
// one round trip. Such commands are sent with a fractional timeout, and a
// reply later than the client's read timeout would be lost with the
// connection, so the slice stays under it: 1s, or half the read timeout
// when that is shorter. Waits that are longer loop, and a cancellation
// without a deadline is seen within a slice.
func blockSlice(rdb redis.UniversalClient) time.Duration {
	var rt time.Duration
	switch c := rdb.(type) {
	case *redis.Client:
		rt = c.Options().ReadTimeout
	case *redis.ClusterClient:
		rt = c.Options().ReadTimeout
	case *redis.Ring:
		rt = c.Options().ReadTimeout
	}
	if rt > 0 && rt < 2*time.Second {
		return max(rt/2, time.Millisecond)
	}
	return time.Second
}

// blockFor is how long the next blocking round trip of a wait under ctx may
// block: the slice, shortened to ctx's deadline and to limit when limit is
// positive. It is never below a millisecond.
func blockFor(ctx context.Context, slice, limit time.Duration) time.Duration {
	d := slice
	if limit > 0 {
		d = min(d, limit)
	}
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	return max(d, time.Millisecond)
}

// formatSeconds formats d as the fractional seconds a blocking command takes.
func formatSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}
