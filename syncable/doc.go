// Package syncable provides collections that live in memory and are synced
// with Redis on demand: Dict, DefaultDict, Counter, Set, List and Deque,
// like redis-collections' Syncable* types, and LRUDict, which keeps its
// most recently used items in memory and the others in Redis.
//
// Each type uses the Redis key and the codecs of the collections type of
// the same name and options ("<prefix>{<name>}:dict" for a Dict, and so
// on), so that one process can Sync a syncable.Dict and another read it
// with collections.Dict, byte for byte the same.
//
// # Load, Sync and With
//
// Reads and writes (Get, Set, Append, Add...) work on the in-memory state
// and never talk to Redis. Load replaces that state with the collection's
// content in Redis. Sync makes Redis hold exactly the in-memory state. With
// does Load, then the caller's function, then Sync when the function
// succeeded; when it fails, Redis is not written.
//
// Sync is one Lua script, so it is atomic: readers see the old collection
// or the new one, never a mix, and a Sync cut off by a lost connection or a
// killed server leaves the old collection or the new one, never part of
// it. It is one round trip (it sends the script's text, EVAL, rather than
// risk EVALSHA's second round trip). Syncing an empty collection deletes
// its key. A collection with a time to live (collections' Expire) keeps it.
//
// Load reads a collection of up to LoadChunk entries (default 1000) in one
// round trip, and a larger one in one round trip per chunk. The chunks are
// all of the same instant: the first round trip copies a large collection
// to a temporary key in its hash slot (COPY; the server holds a second copy
// while the Load runs) and the following ones read the copy, which the last
// deletes.
//
// # What Sync sends, and what it checks
//
// Each type remembers what Redis held at the last Load or Sync (encoded),
// and a Sync sends only the difference. For a Dict, DefaultDict or Counter:
// the fields added (field and value), changed (field, old value, new value)
// and deleted (field, old value); for a Set, the members added and removed;
// for a List or Deque, the elements pushed at either end, the elements
// replaced (index, old, new), and how many to drop from each end with a
// SHA-1 digest of them. Values are compared by their encodings, so a value
// changed in place (through a pointer, a slice) is synced like one that
// was Set. To find the difference, a Sync encodes every entry; when the key
// and value types hold no references (no pointers, slices, maps, interfaces
// or unexported fields), so that only the collection's methods can change
// an entry, it encodes only the entries written since (for a list, the new
// and replaced elements), and a Sync of a large collection with few changes
// costs little on the client too. A Sync that changed nothing still makes
// its round trip, to check, and writes nothing.
//
// Optimistic concurrency: every Sync that writes stores a new random
// version token in the key "<collection key>:syncver" (same hash slot), and
// Load remembers the version it read. The version key takes the
// collection's TTL at each Sync and goes when a Sync empties the
// collection or a collections type clears it; a collection another client
// deletes leaves it behind, to delete with it. A Sync fails with ErrConflict, and
// writes nothing, when the script finds any of these since the Load or the
// last successful Sync:
//
//   - the version changed: another syncable collection (in any process)
//     synced the same key, or an LRUDict wrote to it;
//   - the length changed (HLEN, SCARD, LLEN): another client, such as a
//     collections type or redis-cli, added or removed entries;
//   - an entry this Sync changes is not what it was: a field this Sync
//     adds exists, a field it changes or deletes holds another value, a
//     member it adds is present or one it removes is absent, an element it
//     replaces differs, or the elements it drops from an end differ (by
//     their digest).
//
// Not detected: a write by a non-syncable client that keeps the length and
// touches only entries this Sync leaves alone (collections.Dict.Set of an
// existing key the Sync does not change, LSET of an element it keeps). Such
// a write survives the Sync, which does not touch those entries: nothing a
// concurrent writer wrote is overwritten, but Redis then holds a merge of
// both. (The versions of syncable writers catch every write among them; the
// other clients of Redis do not bump the version, and checking every entry
// would cost a Sync as much as a full rewrite.) SyncOverwrite checks
// nothing and replaces the whole collection.
//
// A Sync that fails without an answer (a cut connection, a timeout) may
// have been applied. It is safe to call Sync again: the next Sync that
// finds that Sync's version in Redis knows it was applied, takes the state
// it sent as the base, and sends its changes again (that once, two round
// trips). A retry of the same command (go-redis retries after network
// errors) is recognized by its version and applied once.
//
// # Concurrency
//
// The types are not safe for concurrent use: like a Go map or slice,
// guard one with a mutex when goroutines share it. Different values, in one
// process or many, may share one Redis key; the version checks keep their
// Syncs from undoing each other.
package syncable
