// Package cache is tiercache's two-tier cache: a bounded, typed,
// in-process LRU tier in front of Redis, kept coherent with Redis.
//
// A Store is the process-wide part: one local tier (one budget in entries
// and bytes for every namespace), one go-redis client (standalone,
// Sentinel failover, Cluster, or Ring), the
// invalidation stream and a circuit breaker. Create one per process and Redis deployment with NewStore.
// A Cache[V] is a typed namespace in a Store, created with New: its values
// live under the Redis keys "<prefix><namespace>:<key>".
//
//	store, err := cache.NewStore(rdb, cache.StoreOptions{})
//	users, err := cache.New(store, "users", cache.Options[User]{TTL: 10 * time.Minute})
//	u, err := users.GetOrLoad(ctx, "42", func(ctx context.Context) (User, error) {
//		return db.LoadUser(ctx, 42) // cache.ErrNotFound for "no such user"
//	})
//
// # Reads and loads
//
// A read looks in the local tier, then in Redis, and keeps what Redis
// returns locally when coherence allows it. A local hit returns the stored,
// already decoded V: no decoding, no allocation, and every caller gets the
// same V (set Options.CopyOnRead if callers mutate it). GetOrLoad runs one
// load per key in the process (singleflight) and, with Options.Lease, one
// per key across every process on the same Redis. Batch calls (GetMany,
// SetMany, GetManyOrLoad, LookupMany, Fill) take one round trip per node.
//
// # Coherence
//
// A local copy may be stale only between a write to Redis and the arrival
// of its invalidation. By default a Store holds one connection per Redis
// master running CLIENT TRACKING in broadcast mode over its prefix, so that
// every write under the prefix, by any client, evicts the local copies in
// every Store; on servers without tracking, writes made through tiercache
// publish their keys instead (see Coherence). For a large fleet,
// CoherenceTrackingNamespaces (one broadcast prefix per namespace) and
// CoherenceTrackingKeys (Redis tells a Store only of the keys it read)
// bound each Store's invalidations by what it holds; StoreOptions.Coherence
// says when to pick which. A value read from Redis is
// not kept locally if an invalidation of its key arrived after the read
// started; while an invalidation connection is down nothing is kept
// locally, and the local tier is flushed when it goes down and when it is
// back. StoreOptions.MaxStaleness caps every local copy as a backstop.
//
// What a fill may overwrite. A value produced by a load (GetOrLoad,
// GetManyOrLoad, a stale-while-revalidate refresh, Fill after LookupMany)
// is written only if nothing wrote, deleted or filled its key since the
// load began, and under the fleet lease only while the lease is still the
// load's own; a negative entry only where the key is still absent. Redis
// decides, in the write script: each entry has a fence hash in its hash
// slot that loads take a lease or ticket on, and that Set, SetMany,
// SetNotFound, Delete and every accepted fill end. A refused value is
// returned to its callers, counted in Stats.FillsRefused and kept nowhere.
// Set, SetMany, SetNotFound and Delete are last-writer-wins.
//
// What a Store keeps of its own writes. A value this Store wrote (Set,
// SetMany, an accepted fill) stays in its local tier until a later write
// by anyone invalidates it. The echo of its own write cannot be told apart
// from another client's write that Redis folded into the same invalidation
// message, so the echo is not skipped: it hides the writer's copy, and one
// batched read under a token taken after the message keeps it only if
// Redis still holds exactly the bytes written and nothing invalidated the
// key since. A failed, timed-out or refused write, two own writes of a key
// in flight together, a flush or an outage evict instead: in doubt, the
// copy goes. A read that misses while the check runs waits for it. Own
// writes and deletes also fence the reads in flight, so a read that
// started before them never keeps the old value, in every mode.
//
// # Expiry
//
// A value is fresh for Options.TTL after it is written, then stale for the
// stale windows, then gone from Redis. Options.TTL = NoExpiry writes values
// without a Redis TTL, fresh for as long as Redis keeps them (local copies
// are still bounded by LocalTTL). Options.Sliding renews a value when a read
// finds less than half of its TTL left: one script call, sent off the
// reader's path, makes it fresh for TTL again in Redis, only if Redis still
// holds the envelope that was read, so a renewal never brings back a value
// overwritten or deleted since. A value read at least every TTL/2 lives on;
// one last read at t expires between t+TTL/2 and t+TTL. Local hits stay
// local: the local copy knows when it is due, and the Store keeps its copy
// across its own renewal's invalidation as it does for its own writes.
//
// # Readiness
//
// Until its invalidation stream is subscribed a Store keeps nothing
// locally: every read goes to Redis. Store.WaitCoherent blocks until the
// stream is up; Store.Ready reports it without blocking, for a readiness
// probe (package otelmetrics has a net/http handler over it).
//
// # Failure
//
// Every Redis call runs under the caller's context and Options.Timeout.
// After StoreOptions.BreakerFailures consecutive failures the breaker
// skips Redis for StoreOptions.BreakerCoolDown: GetOrLoad then degrades to
// the loader, Get misses and writes return ErrUnavailable, and the local
// tier keeps nothing that Redis lacks. One log line is written per breaker
// state change, never one per request.
//
// # Errors
//
// ErrNotFound and ErrWrongType are the errors every tiercache package
// returns (or wraps) for a missing value and for a Redis key of another
// type: errors.Is(err, cache.ErrNotFound) holds whichever package
// returned it.
//
// # Metrics
//
// Stats, Store.Stats and Store.NamespaceStats return the counters; Hooks
// report durations. Package otelmetrics exports both as OpenTelemetry
// metrics in one call, and otelmetrics/prom to a Prometheus registry.
package cache
