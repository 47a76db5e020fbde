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
	"github.com/tiercache/tiercache/lrutier"
)

//go:embed set.lua
var setLua string

// setScript writes entries without overwriting keys of another type.
var setScript = redis.NewScript(setLua)

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
	rdb     redis.UniversalClient
	cluster bool
	opts    StoreOptions
	local   *lrutier.Tier[localKey, *entry]
	brk     *breaker
	coh     *coherence
	clock   *coarseClock

	nearMu sync.RWMutex
	nears  []nearInvalidator

	nsMu   sync.RWMutex
	nsIDs  map[string][]uint32 // namespace name -> ids of its Caches (copied on write)
	nextNS atomic.Uint32
	bg     sync.WaitGroup // background refreshes
	closed atomic.Bool
	obs    observability // hooks and counters for metrics (metrics.go)
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
}

// NewStore returns a Store on rdb (any go-redis client: standalone, Sentinel
// failover or Cluster), or a local-only Store when rdb is nil. The Store does
// not own rdb: Close leaves it open.
func NewStore(rdb redis.UniversalClient, opts StoreOptions) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{rdb: rdb, opts: opts, nsIDs: make(map[string][]uint32)}
	if _, ok := rdb.(*redis.ClusterClient); ok {
		s.cluster = true
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
	s.brk = newBreaker(opts.BreakerFailures, opts.BreakerCoolDown, opts.Logger)
	s.coh = newCoherence(s, opts.Coherence)
	return s, nil
}

// register gives a new Cache of namespace ns its id.
func (s *Store) register(ns string) uint32 {
	id := s.nextNS.Add(1)
	s.nsMu.Lock()
	s.nsIDs[ns] = append(slices.Clip(s.nsIDs[ns]), id)
	s.nsMu.Unlock()
	return id
}

// invalidateNear passes an invalidated Redis key to every Near.
func (s *Store) invalidateNear(rkey string) {
	s.nearMu.RLock()
	defer s.nearMu.RUnlock()
	for _, n := range s.nears {
		n.invalidate(rkey)
	}
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
func (s *Store) WaitCoherent(ctx context.Context) error { return s.coh.waitUp(ctx) }

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

// Close waits for background refreshes to finish and makes further calls
// return ErrClosed. It does not close the Redis client.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.bg.Wait()
	s.coh.close()
	s.clock.close()
	s.local.Purge()
	return nil
}

// Breaker returns the state of the Store's circuit breaker.
func (s *Store) Breaker() BreakerState { return BreakerState(s.brk.state.Load()) }

// hasRedis reports whether the Store has a Redis client.
func (s *Store) hasRedis() bool { return s.rdb != nil }

// call runs fn against Redis under the breaker and a per-operation timeout.
// Failures of Redis itself come back wrapped in ErrUnavailable; reply
// errors such as WRONGTYPE come back as they are.
func (s *Store) call(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ok, probe := s.brk.allow()
	if !ok {
		return fmt.Errorf("%w: circuit breaker open", ErrUnavailable)
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	start := time.Now()
	err := fn(cctx)
	cancel()
	s.brk.done(ctx, err, probe)
	s.observeCall(start, err)
	if isFailure(ctx, err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// get reads one key. A missing key is redis.Nil.
func (s *Store) get(ctx context.Context, timeout time.Duration, key string) (string, error) {
	var val string
	err := s.call(ctx, timeout, func(ctx context.Context) error {
		var err error
		val, err = s.rdb.Get(ctx, key).Result()
		return err
	})
	return val, wrongType(err, key)
}

// mget reads keys in one round trip per node (one MGET per hash slot on
// Cluster, pipelined). vals[i] is nil for a missing key or one holding
// another type.
func (s *Store) mget(ctx context.Context, timeout time.Duration, ks []string) ([]any, error) {
	vals := make([]any, len(ks))
	err := s.call(ctx, timeout, func(ctx context.Context) error {
		if !s.cluster {
			res, err := s.rdb.MGet(ctx, ks...).Result()
			copy(vals, res)
			return err
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
			return err
		}
		for gi, g := range groups {
			for j, i := range g {
				vals[i] = cmds[gi].Val()[j]
			}
		}
		return nil
	})
	return vals, err
}

// write stores envelopes (args holds envelope and TTL in milliseconds for
// each key, in turn) with setScript: one script call on a single server, one
// per hash slot on Cluster, in one round trip per node. A key holding another
// type fails its whole call with ErrWrongType and nothing in it is written.
// In pub/sub coherence the script also publishes the keys (see publishing).
func (s *Store) write(ctx context.Context, timeout time.Duration, ks []string, args []any) error {
	err := s.call(ctx, timeout, func(ctx context.Context) error {
		if !s.cluster {
			cmd, channel := s.publishing(0)
			return setScript.Run(ctx, s.rdb, ks, append([]any{cmd, channel}, args...)...).Err()
		}
		groups := keys.GroupBySlot(ks)
		run := func(ctx context.Context, p redis.Pipeliner, eval bool) []*redis.Cmd {
			cmds := make([]*redis.Cmd, len(groups))
			for gi, g := range groups {
				gk := pick(ks, g)
				cmd, channel := s.publishing(keys.Slot(gk[0]))
				ga := make([]any, 2, 2*len(g)+2)
				ga[0], ga[1] = cmd, channel
				for _, i := range g {
					ga = append(ga, args[2*i], args[2*i+1])
				}
				if eval {
					cmds[gi] = setScript.Eval(ctx, p, gk, ga...)
				} else {
					cmds[gi] = setScript.EvalSha(ctx, p, gk, ga...)
				}
			}
			return cmds
		}
		var cmds []*redis.Cmd
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { cmds = run(ctx, p, false); return nil })
		if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			// A node that restarted or never saw the script: send it whole.
			_, err = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error { cmds = run(ctx, p, true); return nil })
		}
		if err != nil {
			return firstErr(cmds, err)
		}
		return nil
	})
	if err != nil && len(ks) > 0 {
		return wrongType(err, ks[0])
	}
	return err
}

// del deletes keys, one DEL per hash slot on Cluster, and in pub/sub
// coherence publishes them after their DEL on the same connection (see
// publishing), all in one round trip per node.
func (s *Store) del(ctx context.Context, timeout time.Duration, ks []string) error {
	return s.call(ctx, timeout, func(ctx context.Context) error {
		if cmd, _ := s.publishing(0); !s.cluster && cmd == "" {
			return s.rdb.Del(ctx, ks...).Err()
		}
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			one := func(gk []string) { // keys of one slot on Cluster
				p.Del(ctx, gk...)
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
			var batch []string
			err := s.call(ctx, timeout, func(ctx context.Context) error {
				var err error
				batch, cursor, err = c.Scan(ctx, cursor, pattern, 500).Result()
				if err != nil || len(batch) == 0 {
					return err
				}
				// One key per UNLINK: a node rejects multi-key commands across slots.
				_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, k := range batch {
						p.Unlink(ctx, k)
					}
					return nil
				})
				return err
			})
			if err != nil {
				return err
			}
			if cursor == 0 {
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
