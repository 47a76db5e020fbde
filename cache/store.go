package cache

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/keys"
	"github.com/tiercache/tiercache/internal/redisx"
	"github.com/tiercache/tiercache/lrutier"
)

// entryOverhead approximates the memory an entry costs beyond its encoded
// value and key: the entry struct, the boxed value and the LRU bookkeeping.
const entryOverhead = 128

// Store is the process-wide part of tiercache: one local tier (one budget in
// entries and bytes for every namespace), one Redis client and one circuit
// breaker. Create namespaces on it with New. A Store is safe for concurrent
// use; create one per process and Redis deployment.
//
// A Store made with a nil client is local-only: values live in the local
// tier alone, bounded by their TTLs and the budget, and nothing is shared
// between processes.
type Store struct {
	rdb          redis.UniversalClient
	cluster      bool
	boundCalls   bool // the client does not bound commands by their context: see roundTrip
	prefixTagged bool // the prefix holds a hash tag: see fenceKey
	opts         StoreOptions
	local        *lrutier.Tier[localKey, *entry]
	brk          *breaker
	coh          *coherence
	own          *ownWrites // nil without coherence: no echo comes
	clock        *coarseClock
	loaded       [scriptCount]atomic.Bool // see scriptLoaded
	loadedOn     sync.Map                 // scriptOnNode -> struct{}: see scriptLoaded

	nearVersions uint32 // the local tier's namespace of Near key versions

	nsMu   sync.RWMutex
	nsIDs  map[string][]uint32 // namespace name -> ids of its Caches (copied on write)
	nextNS atomic.Uint32

	closed   atomic.Bool
	bgMu     sync.Mutex // guards bgClosed and bg.Add
	bgClosed bool
	bg       sync.WaitGroup     // background refreshes
	stop     context.CancelFunc // ends the Store's own goroutines
	tasks    sync.WaitGroup
	obs      observability // hooks and counters for metrics (metrics.go)
}

// localKey names an entry in the shared local tier: a namespace id and the
// caller's key, so that a lookup builds no string.
type localKey struct {
	ns  uint32
	key string
}

// entry is a decoded value in the local tier.
type entry struct {
	value    any   // the namespace's V; unused for negative entries
	soft     int64 // unix ms after which the value is stale; 0: fresh for its whole local life
	hard     int64 // unix ms when the Redis entry expires
	negative bool
	hidden   atomic.Bool // an own write's copy whose echo came: not served until checked (see own.go)
}

// NewStore returns a Store on rdb (a *redis.Client, standalone or Sentinel
// failover, or a *redis.ClusterClient), or a local-only Store when rdb is
// nil. Other clients, a *redis.Ring among them, are refused with an error
// wrapping ErrInvalidOptions: a Ring spreads keys over shards by a hash of
// its own, which the Store's multi-key scripts and its invalidation
// connections do not follow. The Store does not own rdb: Close leaves it
// open.
func NewStore(rdb redis.UniversalClient, opts StoreOptions) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	switch rdb.(type) {
	case nil, *redis.Client, *redis.ClusterClient:
	case *redis.Ring:
		return nil, fmt.Errorf("%w: a *redis.Ring is not supported (its shards are not coherent with the local tier, and batch writes would land on one shard): use a *redis.ClusterClient, or one Store per shard's *redis.Client", ErrInvalidOptions)
	default:
		return nil, fmt.Errorf("%w: client type %T is not supported: use a *redis.Client (standalone or Sentinel failover) or a *redis.ClusterClient", ErrInvalidOptions, rdb)
	}
	tagged, valid := prefixHashTag(opts.Prefix)
	if !valid {
		return nil, fmt.Errorf("%w: Prefix %q has a '{' that starts no hash tag", ErrInvalidOptions, opts.Prefix)
	}
	s := &Store{rdb: rdb, opts: opts, prefixTagged: tagged, nsIDs: make(map[string][]uint32)}
	_, s.cluster = rdb.(*redis.ClusterClient)
	if rdb != nil {
		enabled, _ := redisx.ContextTimeouts(rdb) // an unknown client is bounded by the Store
		s.boundCalls = !enabled
	}
	seed := maphash.MakeSeed()
	s.clock = startClock()
	s.local = lrutier.New(lrutier.Options[localKey, *entry]{
		MaxEntries: opts.MaxEntries,
		MaxBytes:   opts.MaxBytes,
		Now:        s.clock.nanos,
		Hash: func(k localKey) uint64 {
			return maphash.String(seed, k.key) ^ uint64(k.ns)*0x9e3779b97f4a7c15
		},
	})
	s.nearVersions = s.nextNS.Add(1)
	s.brk = newBreaker(opts.BreakerFailures, opts.BreakerCoolDown, opts.Logger)
	// The Store's own goroutines live until Close; no caller's context
	// bounds them.
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	if rdb != nil && opts.Coherence != CoherenceNone {
		s.own = newOwnWrites(s)
		s.goTask(func() { s.own.run(ctx) })
	}
	s.coh = newCoherence(s, opts.Coherence)
	return s, nil
}

// goTask runs fn in a goroutine that Close waits for.
func (s *Store) goTask(fn func()) {
	s.tasks.Add(1)
	go func() {
		defer s.tasks.Done()
		fn()
	}()
}

// register gives a new Cache of namespace ns its id.
func (s *Store) register(ns string) uint32 {
	id := s.nextNS.Add(1)
	s.nsMu.Lock()
	s.nsIDs[ns] = append(slices.Clip(s.nsIDs[ns]), id)
	s.nsMu.Unlock()
	return id
}

// namespaceIDs returns the ids of namespace ns's Caches; the slice is
// never modified.
func (s *Store) namespaceIDs(ns string) []uint32 {
	s.nsMu.RLock()
	defer s.nsMu.RUnlock()
	return s.nsIDs[ns]
}

// Coherence returns the coherence mode in force: CoherenceAuto until the
// server has been asked whether it supports tracking.
func (s *Store) Coherence() Coherence { return Coherence(s.coh.mode.Load()) }

// WaitCoherent blocks until every invalidation connection is subscribed,
// so that the local tier is in use, or ctx ends. Until then (at start, and
// while a connection is down) reads go to Redis. It returns at once for a
// Store without coherence.
// After Close it returns ErrClosed.
func (s *Store) WaitCoherent(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.coh.waitUp(ctx)
}

// publishing returns the command and channel with which a write to keys of
// hash slot slot announces them: "" when writes announce nothing (any mode
// but pub/sub); SPUBLISH on a channel of the slot for sharded pub/sub on
// Cluster, so that the message goes where the key lives, atomically with the
// write; PUBLISH on "<prefix>invalidate" otherwise. On a single server the
// slot does not matter.
func (s *Store) publishing(slot int) (cmd, channel string) {
	switch {
	case s.Coherence() != CoherencePubSub:
		return "", ""
	case s.coh.sharded.Load():
		return "SPUBLISH", shardChannel(s.opts.Prefix, slot)
	}
	return "PUBLISH", s.opts.Prefix + "invalidate"
}

// shardChannel names the sharded pub/sub channel of a hash slot. The tag
// comes first so that braces in the prefix cannot change the slot.
func shardChannel(prefix string, slot int) string {
	return "{" + keys.SlotTag(slot) + "}" + prefix + "invalidate"
}

// Close ends the Store, for good: once it returns, nothing is served from
// or kept in the local tier, no background work starts, Stats reports the
// Store as not coherent, and every method of the Store, of its Caches and
// of its Nears returns ErrClosed (reads of a Near miss). Close waits for
// background refreshes and for the Store's own goroutines. Loads in flight
// when Close is called run to completion for their callers, who get the
// loaded value, but it is neither written to Redis nor kept. Close does not
// close the Redis client.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.coh.down.Add(closedDown) // nothing is keepable from now on
	s.bgMu.Lock()
	s.bgClosed = true
	s.bgMu.Unlock()
	s.bg.Wait()
	s.stop()
	s.tasks.Wait()
	s.coh.close()
	s.clock.close()
	s.local.Purge()
	return nil
}

// startBackground counts a background task for Close to wait for, unless
// the Store is closing.
func (s *Store) startBackground() bool {
	s.bgMu.Lock()
	defer s.bgMu.Unlock()
	if s.bgClosed {
		return false
	}
	s.bg.Add(1)
	return true
}

// Breaker returns the state of the Store's circuit breaker.
func (s *Store) Breaker() BreakerState { return BreakerState(s.brk.state.Load()) }

// hasRedis reports whether the Store has a Redis client.
func (s *Store) hasRedis() bool { return s.rdb != nil }

// call runs fn against Redis under the breaker and a per-operation timeout
// (see roundTrip).
func (s *Store) call(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	_, err := roundTrip(s, ctx, timeout, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
	return err
}

// roundTrip runs fn against Redis under the breaker and a per-operation
// timeout, and returns its result. Failures of Redis itself (network
// errors, and Redis not answering before the caller's deadline or the
// timeout, whichever comes first) come back wrapped in ErrUnavailable and
// count for the breaker; reply errors such as WRONGTYPE come back as they
// are; a call the caller cancelled returns ctx's error and proves nothing.
// A call the open breaker skips returns an error wrapping ErrUnavailable
// and errSkipped, without reaching Redis.
//
// On a client whose commands do not honour their context's deadline (go-redis
// without ContextTimeoutEnabled, its default, bounds a call only by its read
// and write timeouts and their retries), fn runs in a goroutine of its own
// and the call returns at the deadline; fn goes on in the background until
// the client gives up, and its result is dropped.
func roundTrip[T any](s *Store, ctx context.Context, timeout time.Duration, fn func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	ok, probe := s.brk.allow()
	if !ok {
		return zero, errSkippedCall
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	start := time.Now()
	var v T
	var err error
	if s.boundCalls {
		v, err = bounded(cctx, fn)
	} else {
		v, err = fn(cctx)
	}
	cancel()
	s.brk.done(ctx, err, probe)
	s.observeCall(start, err)
	if isFailure(ctx, err) {
		return zero, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return v, err
}

// bounded runs fn in a goroutine and returns its result, or ctx's error
// when ctx ends first.
func bounded[T any](ctx context.Context, fn func(ctx context.Context) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn(ctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// errSkippedCall is what a call the open breaker skipped returns.
var errSkippedCall = fmt.Errorf("%w: %w", ErrUnavailable, errSkipped)

// errSkipped marks calls the open breaker skipped, so that they are counted
// apart from Redis errors.
var errSkipped = errors.New("circuit breaker open")

// get reads one key. A missing key is redis.Nil.
func (s *Store) get(ctx context.Context, timeout time.Duration, key string) (string, error) {
	val, err := roundTrip(s, ctx, timeout, func(ctx context.Context) (string, error) {
		return s.rdb.Get(ctx, key).Result()
	})
	return val, wrongType(err, key)
}

// mget reads keys in one round trip per node (one MGET per hash slot on
// Cluster, pipelined). vals[i] is nil for a missing key or one holding
// another type.
func (s *Store) mget(ctx context.Context, timeout time.Duration, ks []string) ([]any, error) {
	return roundTrip(s, ctx, timeout, func(ctx context.Context) ([]any, error) {
		vals := make([]any, len(ks))
		if !s.cluster {
			res, err := s.rdb.MGet(ctx, ks...).Result()
			copy(vals, res)
			return vals, err
		}
		groups := keys.GroupBySlot(ks)
		cmds := make([]*redis.SliceCmd, len(groups))
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for gi, g := range groups {
				cmds[gi] = p.MGet(ctx, pick(ks, g)...)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for gi, g := range groups {
			for j, i := range g {
				vals[i] = cmds[gi].Val()[j]
			}
		}
		return vals, nil
	})
}

// write stores envelopes with setScript, last writer wins, ending the
// fences of the keys (args holds envelope and TTL in milliseconds for each
// key, in turn): one script call on a single server, one per hash slot on
// Cluster, in one round trip per node. A key holding another type fails its
// whole call with ErrWrongType and nothing in it is written. In pub/sub
// coherence the script also publishes the keys (see publishing).
func (s *Store) write(ctx context.Context, timeout time.Duration, ks []string, args []any) error {
	_, _, err := s.evalPerSlot(ctx, timeout, setScript, ks, 2, args)
	return err
}

// fill writes loaded values with fenceFillScript (args holds five values
// per key, see fence_fill.lua), grouped as write groups them, and reports
// which keys were written.
func (s *Store) fill(ctx context.Context, timeout time.Duration, ks []string, args []any) ([]bool, error) {
	groups, cmds, err := s.evalPerSlot(ctx, timeout, fenceFillScript, ks, 5, args)
	if err != nil {
		return nil, err
	}
	written := make([]bool, len(ks))
	for gi, g := range groups {
		res, err := cmds[gi].Int64Slice()
		if err != nil || len(res) != len(g) {
			return nil, errors.Join(errors.New("tiercache/cache: unexpected reply from the fill script"), err)
		}
		for j, i := range g {
			written[i] = res[j] == 1
		}
	}
	return written, nil
}

// evalPerSlot runs sc with the entries ks and their fences as keys: one
// call on a single server, one per hash slot on Cluster, in one round trip
// per node. Each call's arguments are the announcing command and channel
// (see publishing), then stride values of args per key. It returns the
// groups of key indexes and the call of each.
func (s *Store) evalPerSlot(ctx context.Context, timeout time.Duration, sc *luaScript, ks []string, stride int, args []any) ([][]int, []*redis.Cmd, error) {
	if err := s.awaitMode(ctx, timeout); err != nil {
		return nil, nil, err
	}
	var groups [][]int
	if s.cluster {
		groups = keys.GroupBySlot(ks)
	} else {
		all := make([]int, len(ks))
		for i := range all {
			all[i] = i
		}
		groups = [][]int{all}
	}
	callArgs := func(gk []string, g []int) ([]string, []any) {
		cmd, channel := s.publishing(keys.Slot(gk[0]))
		ga := make([]any, 2, stride*len(g)+2)
		ga[0], ga[1] = cmd, channel
		for _, i := range g {
			ga = append(ga, args[stride*i:stride*(i+1)]...)
		}
		return s.withFences(gk), ga
	}
	cmds, err := roundTrip(s, ctx, timeout, func(ctx context.Context) ([]*redis.Cmd, error) {
		if !s.cluster {
			k, a := callArgs(ks, groups[0])
			cmd := s.runScript(ctx, s.rdb, sc, k, a...)
			return []*redis.Cmd{cmd}, cmd.Err()
		}
		run := func(eval bool) ([]*redis.Cmd, error) {
			cmds := make([]*redis.Cmd, len(groups))
			marks := make([]func(), len(groups))
			_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for gi, g := range groups {
					k, a := callArgs(pick(ks, g), g)
					if eval {
						cmds[gi], marks[gi] = sc.Eval(ctx, p, k, a...), func() {}
					} else {
						cmds[gi], marks[gi] = s.queueScript(ctx, p, sc, k, a...)
					}
				}
				return nil
			})
			for _, m := range marks {
				m()
			}
			return cmds, err
		}
		cmds, err := run(false)
		if err != nil && redis.HasErrorPrefix(firstErr(cmds, err), "NOSCRIPT") {
			// A node that restarted or never saw the script: send it whole.
			cmds, err = run(true)
		}
		if err != nil {
			return cmds, firstErr(cmds, err)
		}
		return cmds, nil
	})
	if err != nil && len(ks) > 0 {
		return nil, nil, wrongType(err, ks[0])
	}
	return groups, cmds, err
}

// awaitMode waits, for at most timeout, until a write knows whether it
// must announce its keys (see coherence.awaitMode).
func (s *Store) awaitMode(ctx context.Context, timeout time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := s.coh.awaitMode(wctx); err != nil {
		return fmt.Errorf("%w: coherence mode not decided yet: %w", ErrUnavailable, err)
	}
	return nil
}

// withFences returns the entries rks followed by their fences.
func (s *Store) withFences(rks []string) []string {
	all := make([]string, 0, 2*len(rks))
	all = append(all, rks...)
	for _, k := range rks {
		all = append(all, s.fenceKey(k))
	}
	return all
}

// del deletes keys and their fences (ending the loads in flight for them),
// one DEL per hash slot on Cluster, and in pub/sub coherence publishes the
// keys after their DEL on the same connection (see publishing), all in one
// round trip per node.
func (s *Store) del(ctx context.Context, timeout time.Duration, ks []string) error {
	if err := s.awaitMode(ctx, timeout); err != nil {
		return err
	}
	return s.call(ctx, timeout, func(ctx context.Context) error {
		if cmd, _ := s.publishing(0); !s.cluster && cmd == "" {
			return s.rdb.Del(ctx, s.withFences(ks)...).Err()
		}
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			one := func(gk []string) { // keys of one slot on Cluster
				p.Del(ctx, s.withFences(gk)...)
				if cmd, channel := s.publishing(keys.Slot(gk[0])); cmd != "" {
					for _, k := range gk {
						p.Do(ctx, cmd, channel, k)
					}
				}
			}
			if !s.cluster {
				one(ks)
				return nil
			}
			for _, g := range keys.GroupBySlot(ks) {
				one(pick(ks, g))
			}
			return nil
		})
		return err
	})
}

// publishClear tells pub/sub subscribers that namespace ns was cleared. Every
// subscriber hears every slot's channel, so slot 0's will do.
func (s *Store) publishClear(ctx context.Context, timeout time.Duration, ns string) error {
	cmd, channel := s.publishing(0)
	if cmd == "" {
		return nil
	}
	return s.call(ctx, timeout, func(ctx context.Context) error {
		return s.rdb.Do(ctx, cmd, channel, clearMessage+ns).Err()
	})
}

// scanDelete deletes every key matching pattern with SCAN and UNLINK, on
// every master of a Cluster. It never uses KEYS or FLUSH*.
func (s *Store) scanDelete(ctx context.Context, timeout time.Duration, pattern string) error {
	one := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			next, err := roundTrip(s, ctx, timeout, func(ctx context.Context) (uint64, error) {
				batch, next, err := c.Scan(ctx, cursor, pattern, 500).Result()
				if err != nil || len(batch) == 0 {
					return next, err
				}
				// One key per UNLINK: a node rejects multi-key commands across slots.
				_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, k := range batch {
						p.Unlink(ctx, k)
					}
					return nil
				})
				return next, err
			})
			if err != nil {
				return err
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return one(ctx, c) })
	}
	return one(ctx, s.rdb)
}

// wrongType maps a WRONGTYPE reply to ErrWrongType. A reply's error code is
// the protocol's way to tell error kinds apart, so it is matched as a prefix.
func wrongType(err error, key string) error {
	if err != nil && redis.HasErrorPrefix(err, "WRONGTYPE") {
		return fmt.Errorf("%w: %s: %w", ErrWrongType, key, err)
	}
	return err
}

func firstErr(cmds []*redis.Cmd, fallback error) error {
	for _, c := range cmds {
		if c != nil && c.Err() != nil {
			return c.Err()
		}
	}
	return fallback
}

func pick(ks []string, idx []int) []string {
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = ks[i]
	}
	return out
}

// isAbsent reports whether err means the key has no entry.
func isAbsent(err error) bool { return errors.Is(err, redis.Nil) }
