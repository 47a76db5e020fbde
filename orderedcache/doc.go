// Package orderedcache turns a ranked list of ids into their values, keeping
// the rank order, in the fewest round trips: the use case is hydrating search
// results, where a search engine returns document ids in rank order and the
// service needs the documents.
//
// New looks every id up in the local tier of a cache.Cache, then all the
// others in one Redis read (one MGET per hash slot, pipelined: one round trip
// per node on Cluster). The Dict it returns holds the hits in rank order and
// lists the misses; Fill calls a loader once with every miss and writes what
// it returns back to the cache in one round trip (one per node on Cluster).
// Hydrate does all of it in one call.
//
// # Ids and keys
//
// An id's cache key is Options.Key(id). Without Options.Key, ids of an
// integer kind are written in base 10 (DocID(42) is "42") and ids of a
// string kind are their own key, so the Redis key of id 42 is
// c.RedisKey("42"), the same entry c.Get(ctx, "42") reads: a Dict shares
// entries with every other user of the namespace.
//
// # The three kinds of id
//
// Each distinct id of a Dict is in exactly one group:
//
//   - a hit has a value: Get, Keys, Values, All and Len cover hits only;
//   - a miss has nothing cached (or only a stale value): Misses lists them,
//     and Fill loads them;
//   - a known-missing id has a negative entry (the loader found nothing for
//     it before and the cache has a NegativeTTL): NotFound lists them, and
//     Fill does not ask the loader for them again until that entry expires.
//
// Duplicate ids keep their first position.
package orderedcache
