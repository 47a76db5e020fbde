package collections

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redisx"
)

// This file holds the one shape of a round trip: begin it (a done context
// fails at once, Options.Timeout bounds it), run it, drop the local copies
// after a write, and classify its error. It also holds the two ways a write
// survives go-redis' resend after a lost reply: a request id that the
// script checks (class 1, idempotent under resend), or a command sent
// without transport retries whose lost reply is ErrUncertain (class 2).

// rt runs one round trip of operation op with fn. write says whether op
// may change the collection: then the local copies are dropped afterwards,
// and an error that leaves unknown whether Redis ran it matches
// ErrUncertain. fn returns go-redis' error unchanged; rt returns redis.Nil
// unchanged too, and wraps every other error with the operation and the
// key (WRONGTYPE matching ErrWrongType). fn must not keep its context.
func (b *base) rt(ctx context.Context, op string, write bool, fn func(ctx context.Context) error) error {
	return b.rtOn(ctx, op, b.key, write, fn)
}

// rtIdem is rt for a write that is idempotent under resend (class 1: a
// request id its script checks, or a settlement's record). When go-redis'
// own resends run out on lost replies while ctx is still live, rtIdem sends
// it once more (one more round of go-redis' resends) before reporting
// ErrUncertain: the record makes that resend safe, and a sustained fault
// still ends in the first round's error (a second one that fails says
// nothing more about the first). A ctx that ended is the
// caller's stop, not a reason to send again.
func (b *base) rtIdem(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	return b.rtIdemOn(ctx, op, b.key, fn)
}

// rtIdemOn is rtIdem for a write whose errors name key (see rtOn).
func (b *base) rtIdemOn(ctx context.Context, op, key string, fn func(ctx context.Context) error) error {
	err := b.rtOn(ctx, op, key, true, fn)
	if errors.Is(err, ErrUncertain) && ctx.Err() == nil {
		if b.rtOn(ctx, op, key, true, fn) == nil {
			return nil // the record answered, or this send applied it
		}
	}
	return err
}

// rtOn is rt for a round trip whose errors name key (a MultiMapTTL's keys
// are not the collection's).
func (b *base) rtOn(ctx context.Context, op, key string, write bool, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return failKey(op, key, err)
	}
	c, cancel := ctx, context.CancelFunc(noCancel)
	if b.deadlines {
		c, cancel = b.opts.opContext(ctx)
	}
	err := fn(c)
	cancel()
	if write && b.local != nil {
		b.local.Invalidate(b.key)
	}
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	return classify(op, key, write, err)
}

// classify wraps err, the error of operation op on key: a write whose
// command may have reached Redis matches ErrUncertain.
func classify(op, key string, write bool, err error) error {
	if write && uncertain(err) {
		return fmt.Errorf("%w: %s %q: %w", ErrUncertain, op, key, err)
	}
	return failKey(op, key, err)
}

// writeError is redisError for the error of a write, op, of the types that
// map errors with it (BloomFilter, HyperLogLog): a lost reply matches
// ErrUncertain too.
func writeError(op, key string, err error) error {
	if err != nil && uncertain(err) {
		return fmt.Errorf("%w: %s %q: %w", ErrUncertain, op, key, err)
	}
	return redisError(key, err)
}

// uncertain reports whether err leaves unknown whether Redis ran the
// command (redisx.Uncertain).
func uncertain(err error) bool { return redisx.Uncertain(err) }

// once is a command go-redis sends at most once: its NoRetry makes the
// client skip the resend after a network error (go-redis still resends a
// command it never wrote). A once is pointer-shaped, so making a Cmder of
// it allocates nothing beyond the command.
type once struct{ *redis.Cmd }

// NoRetry tells go-redis not to resend the command.
func (once) NoRetry() bool { return true }

// onceZ is [once] for a command whose reply is members with scores.
type onceZ struct{ *redis.ZSliceCmd }

// NoRetry tells go-redis not to resend the command.
func (onceZ) NoRetry() bool { return true }

// doOnce sends the command args without transport retries (class 2): a
// lost reply is an error, never a second execution.
func doOnce(ctx context.Context, rdb redis.UniversalClient, args ...any) *redis.Cmd {
	cmd := once{redis.NewCmd(ctx, args...)}
	_ = rdb.Process(ctx, cmd)
	return cmd.Cmd
}

// runOnce runs script s without transport retries (class 2).
func runOnce(ctx context.Context, rdb redis.UniversalClient, s script, keys []string, args ...any) *redis.Cmd {
	a := s.args(len(keys), len(keys)+len(args))
	for _, k := range keys {
		a = append(a, k)
	}
	return s.run(ctx, rdb, true, append(a, args...))
}

// script is a Lua script for the hot paths: its SHA1 is boxed once, and
// the caller builds the whole EVALSHA command in one slice (see args), so
// a call allocates about what the equivalent plain command does.
type script struct {
	*redis.Script     // for the calls that use go-redis' Run
	src, sha      any // the source and its SHA1, as command arguments
}

func newScript(src string) script {
	s := redis.NewScript(src)
	return script{Script: s, src: src, sha: s.Hash()}
}

// args returns the start of an EVALSHA command of s with nkeys keys, with
// room for n more arguments (the keys and the script's arguments).
func (s script) args(nkeys, n int) []any {
	a := make([]any, 0, 3+n)
	return append(a, "evalsha", s.sha, nkeys)
}

// run sends the EVALSHA command a (from args), with go-redis' resends
// unless once is set (class 2: see runOnce). A server without the script
// (NOSCRIPT: nothing ran) gets the same command as EVAL with the source,
// as go-redis' Run does.
func (s script) run(ctx context.Context, rdb redis.UniversalClient, once bool, a []any) *redis.Cmd {
	cmd := s.send(ctx, rdb, once, a)
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		a[0], a[1] = "eval", s.src
		cmd = s.send(ctx, rdb, once, a)
	}
	return cmd
}

func (s script) send(ctx context.Context, rdb redis.UniversalClient, once bool, a []any) *redis.Cmd {
	if once {
		return doOnce(ctx, rdb, a...)
	}
	cmd := redis.NewCmd(ctx, a...)
	_ = rdb.Process(ctx, cmd)
	return cmd
}

// requests makes the request ids that make a write idempotent under
// resend (class 1): a script given one records it, in the collection's
// hash slot, for the dedupe window, and a second run with it returns what
// the first returned instead of running again.
type requests struct {
	prefix string        // "<prefix>{<name>}:rid:<random>:"
	n      atomic.Uint64 // the last id's sequence number
}

// newRequests returns the request ids of the collection called name.
func newRequests(o Options, name string) *requests {
	return &requests{prefix: o.key(name, "rid:"+token()+":")}
}

// next returns the key of a new request's dedupe record.
func (r *requests) next() string {
	var buf [20]byte
	return r.prefix + string(strconv.AppendUint(buf[:0], r.n.Add(1), 36))
}
