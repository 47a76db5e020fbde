// Package cache is tiercache's two-tier cache: a bounded, typed,
// in-process LRU tier in front of Redis, kept coherent with Redis.
//
// A Store is the process-wide part: one local tier (one budget in entries
// and bytes for every namespace), one go-redis client (standalone,
// Sentinel failover or Cluster), the invalidation stream and a circuit
// breaker. Create one per process and Redis deployment with NewStore.
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
// publish their keys instead (see Coherence). A value read from Redis is
// not kept locally if an invalidation of its key arrived after the read
// started; while an invalidation connection is down nothing is kept
// locally, and the local tier is flushed when it goes down and when it is
// back. StoreOptions.MaxStaleness caps every local copy as a backstop.
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
