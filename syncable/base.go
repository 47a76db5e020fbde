package syncable

import (
	"context"
	"crypto/rand"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/collections"
)

// DefaultLoadChunk is the number of entries Load reads per round trip when
// an options struct's LoadChunk is zero.
const DefaultLoadChunk = 1000

// snapshotTTL is how long the copy a chunked Load reads from survives
// without being read; every chunk renews it.
const snapshotTTL = time.Minute

// The suffixes of the keys syncable adds next to a collection's key (in its
// hash tag, so on the same Cluster slot).
const (
	versionSuffix  = ":syncver" // the version key: the token of the last Sync
	snapshotSuffix = ":load:"   // + a random token: the copy a chunked Load reads
)

var (
	//go:embed load.lua
	loadSrc string
	//go:embed keyed_sync.lua
	keyedSyncSrc string
	//go:embed list_sync.lua
	listSyncSrc string
)

// Syncer is a collection that With can load and sync. Every type of the
// package implements it.
type Syncer interface {
	// Load replaces the in-memory state with the collection's content in
	// Redis.
	Load(ctx context.Context) error
	// Sync writes the in-memory state to Redis, atomically.
	Sync(ctx context.Context) error
}

// With loads c, runs fn, and syncs c when fn returns nil. When Load or fn
// fails, it returns that error and Redis is not written; the in-memory
// state then keeps whatever fn did to it (call Load to discard it). A panic
// in fn propagates, without Sync. With returns Sync's error, which matches
// ErrConflict when Redis changed between the Load and the Sync: running With
// again starts from the new content, the optimistic-concurrency retry loop.
func With(ctx context.Context, c Syncer, fn func() error) error {
	if err := c.Load(ctx); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return err
	}
	return c.Sync(ctx)
}

// base is what every syncable collection shares: the client, the Redis key
// (the same as the collections type's), the version key, and the version
// the in-memory state is based on.
type base struct {
	rdb     redis.UniversalClient
	name    string
	key     string
	verKey  string
	kind    string        // "hash", "set" or "list": what TYPE answers for key
	timeout time.Duration // bound of each round trip; <= 0: none
	chunk   int

	// version is the version key's value when Load read the collection or
	// the last successful Sync wrote it; "" when there was none.
	version string
	// pending are the Syncs that failed without an answer since the last
	// Load or successful Sync, the latest last: Redis may have applied one
	// of them (no more than one: each expects the version that was there
	// before all of them).
	pending []pending
}

// maxPending bounds the unanswered Syncs remembered: each holds the changes
// it sent.
const maxPending = 4

// pending is a Sync whose outcome is unknown: its version token, and the
// function that makes the state it sent the base of the next Sync.
type pending struct {
	version string
	commit  func(later bool)
}

// newBase checks the settings every constructor takes. key is the Redis key
// of the matching collections type.
func newBase(rdb redis.UniversalClient, name, key, kind string, o collections.Options, chunk int) (base, error) {
	if chunk < 0 {
		return base{}, fmt.Errorf("%w: %q: negative LoadChunk %d", ErrInvalidArgument, name, chunk)
	}
	if chunk == 0 {
		chunk = DefaultLoadChunk
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = collections.DefaultTimeout
	}
	return base{rdb: rdb, name: name, key: key, verKey: key + versionSuffix, kind: kind, timeout: timeout, chunk: chunk}, nil
}

// eval runs one script in one round trip, bounded by the timeout. It sends
// the script's text (EVAL, never EVALSHA then EVAL), so that it is always
// exactly one round trip; Redis caches the compiled script.
// A write (write set) whose reply is lost returns an error matching
// collections.ErrUncertain.
func (b *base) eval(ctx context.Context, op string, write bool, src string, keys []string, args []any) ([]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, failKey(op, b.key, err)
	}
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	res, err := b.rdb.Eval(ctx, src, keys, args...).Slice()
	if err != nil {
		if write && uncertain(err) {
			return nil, fmt.Errorf("%w: %s %q: %w", collections.ErrUncertain, op, b.key, err)
		}
		return nil, failKey(op, b.key, err)
	}
	return res, nil
}

// load reads the collection, one round trip per chunk of b.chunk entries
// (one in all when it is no larger), calls size with the collection's
// length once it is known, and passes every group of step items (a field
// and its value, a member, an element) to each, in order. It returns the
// version read with the data. Every chunk is of one instant's state: see
// load.lua.
func (b *base) load(ctx context.Context, step int, size func(n int), each func(group []string) error) (string, error) {
	snap := b.key + snapshotSuffix + rand.Text()
	keys := []string{b.key, b.verKey, snap}
	var version string
	group := make([]string, step)
	for cursor := ""; ; {
		res, err := b.eval(ctx, "load", false, loadSrc, keys, []any{b.kind, b.chunk, cursor, snapshotTTL.Milliseconds()})
		if err != nil {
			return "", err
		}
		ver, n, next, items, err := loadReply(res)
		if err != nil {
			return "", failKey("load", b.key, err)
		}
		if cursor == "" {
			version = ver
			size(int(n))
		}
		for i := 0; i+step <= len(items); i += step {
			for j := range group {
				s, ok := items[i+j].(string)
				if !ok {
					err = fmt.Errorf("unexpected item %T in the reply", items[i+j])
				}
				group[j] = s
			}
			if err == nil {
				err = each(group)
			}
			if err != nil {
				if next != "0" {
					b.dropSnapshot(ctx, snap)
				}
				return "", err
			}
		}
		if next == "0" {
			return version, nil
		}
		cursor = next
	}
}

// dropSnapshot deletes the copy a chunked Load that failed was reading,
// best effort: its time to live removes it anyway.
func (b *base) dropSnapshot(ctx context.Context, snap string) {
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	_ = b.rdb.Del(ctx, snap).Err() // best effort: the TTL is the backstop
}

// loadReply unpacks the reply of load.lua.
func loadReply(res []any) (version string, n int64, next string, items []any, err error) {
	if len(res) != 4 {
		return "", 0, "", nil, fmt.Errorf("unexpected reply of %d elements", len(res))
	}
	var ok [4]bool
	version, ok[0] = res[0].(string)
	n, ok[1] = res[1].(int64)
	next, ok[2] = res[2].(string)
	items, ok[3] = res[3].([]any)
	if ok != [4]bool{true, true, true, true} {
		return "", 0, "", nil, fmt.Errorf("unexpected reply %v", res)
	}
	return version, n, next, items, nil
}

// loaded records the version a successful Load read.
func (b *base) loaded(version string) {
	b.version = version
	b.pending = nil
}

// plan is one Sync's script arguments, from ARGV[4] on (the first three,
// the mode and the two versions, are base.sync's), and the function that
// makes the state it sends the base of the next Sync: commit(false) right
// after it was applied, commit(true) at a later Sync that finds it was
// applied after all (the in-memory state may have changed since).
type plan struct {
	args   []any
	commit func(later bool)
}

// sync runs one Sync: build computes the plan (the changes since the
// state the last Load or Sync left, or with overwrite the whole state) and
// the script applies it in one round trip. It returns ErrConflict when the
// script's checks fail.
//
// A Sync that fails without an answer (a cut connection, a timeout) may
// have been applied all the same; its version token and changes are kept
// (for the last maxPending such Syncs), and the next Sync that meets that
// token in Redis knows it was, makes its state the base and computes its
// changes again: two round trips, that once.
func (b *base) sync(ctx context.Context, op, src string, overwrite bool, build func(overwrite bool) (*plan, error)) error {
	mode := "delta"
	if overwrite {
		mode = "overwrite"
	}
	for retried := false; ; retried = true {
		p, err := build(overwrite)
		if err != nil {
			return err
		}
		version := rand.Text()
		args := append([]any{mode, b.version, version}, p.args...)
		res, err := b.eval(ctx, op, true, src, []string{b.key, b.verKey}, args)
		if err != nil {
			if !errors.Is(err, ErrWrongType) {
				if len(b.pending) == maxPending {
					b.pending = append(b.pending[:0], b.pending[1:]...)
				}
				b.pending = append(b.pending, pending{version: version, commit: p.commit})
			}
			return err
		}
		status, _ := at[int64](res, 0)
		switch status {
		case 1, 3: // written now, or by an earlier attempt of this same call
			p.commit(false)
			b.version, _ = at[string](res, 1) // "" when the collection was deleted
			b.pending = nil
			return nil
		case 2: // nothing to write
			b.pending = nil
			return nil
		}
		reason, _ := at[string](res, 1)
		current, _ := at[string](res, 2)
		item, _ := at[string](res, 3)
		if i := slices.IndexFunc(b.pending, func(pd pending) bool { return pd.version == current }); i >= 0 && !retried {
			// That Sync, which failed, was applied: its state is Redis's.
			b.pending[i].commit(true)
			b.version, b.pending = current, nil
			continue
		}
		return conflict(op, b.key, reason, item)
	}
}

// conflict is the ErrConflict of a sync script's failed check.
func conflict(op, key, reason, item string) error {
	var why string
	switch reason {
	case "version":
		why = "another Sync wrote it"
	case "length":
		why = "another client changed its length (now " + item + ")"
	case "entry":
		why = "another client changed " + fmt.Sprintf("%q", item)
	default:
		why = "unexpected check " + fmt.Sprintf("%q", reason)
	}
	return fmt.Errorf("%w: %s %q: %s", ErrConflict, op, key, why)
}

// at returns res[i] as a T.
func at[T any](res []any, i int) (T, bool) {
	var zero T
	if i >= len(res) {
		return zero, false
	}
	v, ok := res[i].(T)
	return v, ok
}
