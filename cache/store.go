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
	"unsafe"

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
	layout       layout
	boundCalls   bool // the client does not bound commands by their context: see roundTrip
	prefixTagged bool // the prefix holds a hash tag: see fenceKey
	opts         StoreOptions
	local        localTier
	brk          *breaker
	coh          *coherence
	own          *ownWrites // nil without coherence: no echo comes
	clock        *coarseClock
	loaded       [scriptCount]atomic.Bool // see scriptLoaded
	loadedOn     sync.Map                 // scriptOnNode -> struct{}: see scriptLoaded

	nearVersions uint32 // the local tier's namespace of Near key versions

	wholeMu sync.Mutex // guards the holders counts of wholes' versions
	wholes  sync.Map   // Redis key -> *wholeVersion, while some Whole of it lives

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

	// renewHook, set by tests before any Cache is used, runs in every
	// renewal after it is registered and before it is sent, with the
	// entry's Redis key.
	renewHook func(rkey string)
}

// localKey names an entry in the shared local tier: a namespace id and the
// caller's key, so that a lookup builds no string.
type localKey struct {
	ns  uint32
	key string
}

// entry is the head of a value in the local tier: the tier's node, then
// what the Store knows of the value. Its value follows it in the same
// allocation (see valued), kept as its own type: a hit reads one object and
// converts nothing. Nothing but the atomics changes once it is in the tier.
type entry struct {
	lrutier.Node[localKey]
	soft     int64 // unix ms after which the value is stale; 0: fresh for its whole local life
	hard     int64 // unix ms when the Redis entry expires
	negative bool
	evicts   bool          // the value is an evictable (a Whole's copy), told when the tier drops it
	marks    atomic.Uint32 // markHidden, markRenewing: set while the entry is in the tier
	slide    *slide        // what a renewal needs, in a Sliding namespace; else nil
}

// The marks of an entry, one bit each in one word (an entry's fields fit
// a size class less that way).
const (
	markHidden   = 1 << iota // an own write's copy whose echo came: not served until checked (see own.go)
	markRenewing             // a renewal was sent for it (see renew.go)
)

// hidden reports whether e is marked hidden.
func (e *entry) hidden() bool { return e.marks.Load()&markHidden != 0 }

// hide marks e hidden.
func (e *entry) hide() { e.marks.Or(markHidden) }

// claimRenewal marks e renewing and reports whether it was not already.
func (e *entry) claimRenewal() bool { return e.marks.Or(markRenewing)&markRenewing == 0 }

// valued is an entry and its value, one allocation. Each local key's
// namespace id says what V is (a Cache[V]'s id, a Near's, a Whole's, the
// Near versions'), and only the code of that namespace reads it.
type valued[V any] struct {
	entry
	value V // unused for negative entries
}

// newEntry returns a new entry holding v.
func newEntry[V any](v V) *entry { return &(&valued[V]{value: v}).entry }

// valueOf returns the value of e, an entry newEntry[V] made.
func valueOf[V any](e *entry) V { return (*valued[V])(unsafe.Pointer(e)).value }

// localTier is the Store's local tier: its nodes are entries.
type localTier struct{ *lrutier.Nodes[localKey] }

// entryOf returns the entry whose node is n (nil for nil).
func entryOf(n *lrutier.Node[localKey]) *entry { return (*entry)(unsafe.Pointer(n)) }

// Get returns key's live entry.
func (t localTier) Get(key localKey) (*entry, bool) {
	n := t.Nodes.Get(key)
	return entryOf(n), n != nil
}

// Set stores e, a new entry, under key (see lrutier.Nodes.Set).
func (t localTier) Set(key localKey, e *entry, size, expireAt int64) bool {
	return t.Nodes.Set(key, &e.Node, size, expireAt)
}

// DeleteFunc removes the entries del returns true for.
func (t localTier) DeleteFunc(del func(localKey, *entry) bool) int {
	return t.Nodes.DeleteFunc(func(n *lrutier.Node[localKey]) bool { return del(n.Key(), entryOf(n)) })
}

// CountFunc counts the live entries match returns true for.
func (t localTier) CountFunc(match func(localKey, *entry) bool) int {
	return t.Nodes.CountFunc(func(n *lrutier.Node[localKey]) bool { return match(n.Key(), entryOf(n)) })
}

// NewStore returns a Store on rdb (a *redis.Client, standalone or Sentinel
// failover, a *redis.ClusterClient or a *redis.Ring), or a local-only Store
// when rdb is nil. Other clients are refused with an error wrapping
// ErrInvalidOptions. The Store does not own rdb: Close leaves it open.
//
// On a Ring every shard has its own invalidation connection, and a change
// of the shards (SetAddrs) flushes the local tier once the Store sees it:
// at once for a shard added (go-redis makes it a client), within a second
// for one removed. Every call goes to the shard the Ring maps its entry to at
// the time of the call, on that shard's own client: hooks added to the
// Ring itself do not see them (add them to the shards' clients, with
// RingOptions.NewClient), and the Ring does not retry them. Keys that the
// Ring maps elsewhere (shards added, removed or marked down) are misses
// there, and what the old shard holds is served again, until its TTL, if
// they map back to it.
func NewStore(rdb redis.UniversalClient, opts StoreOptions) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var lay layout
	switch rdb.(type) {
	case nil, *redis.Client:
	case *redis.ClusterClient:
		lay = clusterSlots
	case *redis.Ring:
		lay = ringShards
	default:
		return nil, fmt.Errorf("%w: client type %T is not supported: use a *redis.Client (standalone or Sentinel failover), a *redis.ClusterClient or a *redis.Ring", ErrInvalidOptions, rdb)
	}
	tagged, valid := prefixHashTag(opts.Prefix)
	if !valid {
		return nil, fmt.Errorf("%w: Prefix %q has a '{' that starts no hash tag", ErrInvalidOptions, opts.Prefix)
	}
	s := &Store{rdb: rdb, layout: lay, opts: opts, prefixTagged: tagged, nsIDs: make(map[string][]uint32)}
	if rdb != nil {
		enabled, _ := redisx.ContextTimeouts(rdb) // an unknown client is bounded by the Store
		s.boundCalls = !enabled
	}
	seed := maphash.MakeSeed()
	s.clock = startClock()
	s.local.Nodes = lrutier.NewNodes(lrutier.Options[localKey, *lrutier.Node[localKey]]{
		MaxEntries: opts.MaxEntries,
		MaxBytes:   opts.MaxBytes,
		Now:        s.clock.nanos,
		OnEvict: func(_ localKey, n *lrutier.Node[localKey], _ lrutier.Reason) {
			if e := entryOf(n); e.evicts {
				valueOf[evictable](e).evicted()
			}
		},
		Hash: func(k localKey) uint64 {
			return maphash.String(seed, k.key) ^ uint64(k.ns)*0x9e3779b97f4a7c15
		},
		NoGetStats: true, // each namespace counts its own reads
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
	s.coh.cover(s.opts.Prefix + ns + ":")
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
// write; PUBLISH on "<prefix>invalidate" otherwise, which on a Ring runs on
// the keys' shard, for that shard's subscribers. On a single server or a
// Ring the slot does not matter.
func (s *Store) publishing(slot int) (cmd, channel string) {
	switch {
	case s.Coherence() != CoherencePubSub:
		return "", ""
	case s.layout == clusterSlots && s.coh.sharded.Load():
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
	return roundTripWith(s, ctx, timeout, fn, callOf[T])
}

// callOf calls fn: roundTrip's call is its closure.
func callOf[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	return fn(ctx)
}

// roundTripWith is roundTrip of fn(ctx, arg): a hot call passes a function
// that captures nothing and its arguments apart, so that it allocates no
// closure (arg is copied to the heap only for the goroutine of a client
// that does not honour deadlines).
func roundTripWith[A, T any](s *Store, ctx context.Context, timeout time.Duration, arg A, fn func(context.Context, A) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	ok, probe := s.brk.allow()
	if !ok {
		return zero, errSkippedCall
	}
	start := time.Now()
	// A caller's deadline that comes first bounds the call already: no
	// context (and timer) of the Store's own.
	cctx, cancel := ctx, context.CancelFunc(nil)
	if d, ok := ctx.Deadline(); !ok || d.Sub(start) > timeout {
		cctx, cancel = context.WithTimeout(ctx, timeout)
	}
	var v T
	var err error
	if s.boundCalls {
		v, err = bounded(cctx, arg, fn)
	} else {
		v, err = fn(cctx, arg)
	}
	if cancel != nil {
		cancel()
	}
	s.brk.done(ctx, err, probe)
	s.observeCall(start, err)
	if isFailure(ctx, err) {
		return zero, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return v, err
}

// bounded runs fn in a goroutine and returns its result, or ctx's error
// when ctx ends first.
func bounded[A, T any](ctx context.Context, arg A, fn func(context.Context, A) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn(ctx, arg)
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
	val, err := roundTripWith(s, ctx, timeout, keyOn{s, key}, getOn)
	return val, wrongType(err, key)
}

// keyOn is a key and its Store: the arguments of getOn.
type keyOn struct {
	s   *Store
	key string
}

// getOn is the round trip of Store.get.
func getOn(ctx context.Context, a keyOn) (string, error) {
	n, err := a.s.readNodeFor(a.key)
	if err != nil {
		return "", err
	}
	return n.c.Get(ctx, a.key).Result()
}

// mget reads keys in one round trip per node (one MGET per hash slot on
// Cluster, pipelined; one per shard on a Ring). vals[i] is nil for a
// missing key or one holding another type.
func (s *Store) mget(ctx context.Context, timeout time.Duration, ks []string) ([]any, error) {
	return roundTrip(s, ctx, timeout, func(ctx context.Context) ([]any, error) {
		bs, err := s.readRoute(ks)
		if err != nil {
			return nil, err
		}
		vals := make([]any, len(ks))
		err = eachBatch(bs, func(_ int, b batch) error {
			if b.alone {
				res, err := b.c.MGet(ctx, pick(ks, b.groups[0])...).Result()
				place(vals, b.groups[0], res)
				return err
			}
			cmds := make([]*redis.SliceCmd, len(b.groups))
			_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for gi, g := range b.groups {
					cmds[gi] = p.MGet(ctx, pick(ks, g)...)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for gi, g := range b.groups {
				place(vals, g, cmds[gi].Val())
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return vals, nil
	})
}

// place puts the replies res of the keys at indexes g into vals.
func place(vals []any, g []int, res []any) {
	for j, i := range g {
		if j < len(res) {
			vals[i] = res[j]
		}
	}
}

// write stores envelopes with setScript, last writer wins, ending the
// fences of the keys (args holds envelope and TTL in milliseconds for each
// key, in turn): one script call on a single server, one per hash slot on
// Cluster, one per shard on a Ring, in one round trip per node. A key
// holding another type fails its whole call with ErrWrongType and nothing
// in that call is written. In pub/sub coherence the script also publishes
// the keys (see publishing).
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
// call on a single server, one per hash slot on Cluster, one per shard on
// a Ring, in one round trip per node. Each call's arguments are the
// announcing command and channel (see publishing), then stride values of
// args per key. It returns the groups of key indexes and the call of each.
func (s *Store) evalPerSlot(ctx context.Context, timeout time.Duration, sc *luaScript, ks []string, stride int, args []any) ([][]int, []*redis.Cmd, error) {
	if err := s.awaitMode(ctx, timeout); err != nil {
		return nil, nil, err
	}
	callArgs := func(g []int) ([]string, []any) {
		gk := pick(ks, g)
		cmd, channel := s.publishing(keys.Slot(gk[0]))
		ga := make([]any, 2, stride*len(g)+2)
		ga[0], ga[1] = cmd, channel
		for _, i := range g {
			ga = append(ga, args[stride*i:stride*(i+1)]...)
		}
		return s.withFences(gk), ga
	}
	type calls struct {
		groups [][]int
		cmds   []*redis.Cmd
	}
	actx, asked := s.watchAsks(ctx)
	r, err := roundTrip(s, actx, timeout, func(ctx context.Context) (calls, error) {
		bs, err := s.route(ks)
		if err != nil || len(bs) == 0 {
			return calls{}, err
		}
		r := calls{groups: bs[0].groups}
		if len(bs) > 1 {
			r.groups = nil
			for _, b := range bs {
				r.groups = append(r.groups, b.groups...)
			}
		}
		r.cmds = make([]*redis.Cmd, len(r.groups))
		err = eachBatch(bs, func(_ int, b batch) error {
			return s.evalBatch(ctx, b, sc, r.cmds[b.first:b.first+len(b.groups)], callArgs)
		})
		return r, err
	})
	if err != nil && len(ks) > 0 {
		return nil, nil, wrongType(err, ks[0])
	}
	if asked != nil && asked.Load() {
		err = s.reannounce(ctx, timeout, ks)
	}
	return r.groups, r.cmds, err
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
// one DEL per hash slot on Cluster and per shard on a Ring, and in pub/sub
// coherence publishes the keys after their DEL on the same connection (see
// publishing), all in one round trip per node.
func (s *Store) del(ctx context.Context, timeout time.Duration, ks []string) error {
	if err := s.awaitMode(ctx, timeout); err != nil {
		return err
	}
	return s.call(ctx, timeout, func(ctx context.Context) error {
		bs, err := s.route(ks)
		if err != nil {
			return err
		}
		return eachBatch(bs, func(_ int, b batch) error {
			if cmd, _ := s.publishing(0); b.alone && cmd == "" {
				return b.c.Del(ctx, s.withFences(pick(ks, b.groups[0]))...).Err()
			}
			_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, g := range b.groups { // keys of one slot on Cluster
					gk := pick(ks, g)
					p.Del(ctx, s.withFences(gk)...)
					if cmd, channel := s.publishing(keys.Slot(gk[0])); cmd != "" {
						for _, k := range gk {
							p.Do(ctx, cmd, channel, k)
						}
					}
				}
				return nil
			})
			return err
		})
	})
}

// publishClear tells pub/sub subscribers that namespace ns was cleared. On
// Cluster every subscriber hears every slot's channel, so slot 0's will
// do; on a Ring each shard has subscribers of its own, and all hear it.
func (s *Store) publishClear(ctx context.Context, timeout time.Duration, ns string) error {
	cmd, channel := s.publishing(0)
	if cmd == "" {
		return nil
	}
	return s.call(ctx, timeout, func(ctx context.Context) error {
		return s.eachServer(ctx, func(ctx context.Context, c redis.UniversalClient) error {
			return c.Do(ctx, cmd, channel, clearMessage+ns).Err()
		})
	})
}

// eachServer calls fn with the client of each shard of the Store's Ring
// (the shards up), concurrently, or with the Store's client when it is no
// Ring. A Ring whose every shard is down is an error, not a call made
// nowhere.
func (s *Store) eachServer(ctx context.Context, fn func(context.Context, redis.UniversalClient) error) error {
	ring, ok := s.rdb.(*redis.Ring)
	if !ok {
		return fn(ctx, s.rdb)
	}
	var shards atomic.Int32
	err := ring.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
		shards.Add(1)
		return fn(ctx, c)
	})
	if err == nil && shards.Load() == 0 {
		err = errAllShardsDown
	}
	return err
}

// errAllShardsDown is what a call to every shard of a Ring returns when no
// shard is up.
var errAllShardsDown = errors.New("tiercache/cache: every shard of the ring is down")

// scanDelete deletes every key matching pattern with SCAN and UNLINK, on
// every master of a Cluster and every shard of a Ring (the shards up: keys
// of a shard marked down are left). It never uses KEYS or FLUSH*.
func (s *Store) scanDelete(ctx context.Context, timeout time.Duration, pattern string) error {
	one := func(ctx context.Context, c redis.UniversalClient) error {
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
	return s.eachServer(ctx, one)
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

// isAbsent reports whether err means the key has no entry.
func isAbsent(err error) bool { return errors.Is(err, redis.Nil) }
