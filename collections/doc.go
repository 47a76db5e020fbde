// Package collections provides Redis-backed data structures that several
// processes share: Dict, Set, List, Deque, Counter, DefaultDict, Queue,
// SortedSet and MultiMapTTL; the probabilistic BloomFilter and HyperLogLog;
// and the multi-master Lock (Redlock, with fencing tokens) and NextID.
//
// # Common ground
//
// Every constructor takes the Redis client(s), a name, the type's required
// parameters and an options struct whose zero value means the defaults; the
// type-specific options embed [Options] (key prefix, per-operation timeout).
// Constructors validate their arguments and never talk to Redis, so they take
// no context; every method that does takes ctx first.
//
// A collection's keys are "<prefix>{<name>}:<suffix>": all keys of one
// collection share the hash tag {<name>}, so on a Redis Cluster they live in
// one slot and a Lua script may touch all of them atomically. A name must
// not be empty or contain '}', and a prefix must not contain '{' or '}',
// which would change the hash tag. Scripts are in .lua files embedded in the
// package.
//
// Every type is safe for concurrent use, and any number of processes may
// open the same name. Errors wrap the package's sentinel errors ([errors.Is]
// works): a key holding another Redis type is [ErrWrongType] (nothing is
// overwritten), bad arguments are [ErrInvalidArgument].
//
// # Lost replies
//
// go-redis sends a command again when the network fails after sending it;
// if Redis had run it and only the reply was lost, the resend runs it
// again. Every write here is either idempotent under that resend (naturally,
// such as HSET, or because its script checks a request id and leaves a
// short-lived dedupe record, [Options.DedupeWindow]) or sent without
// transport retries, so that a lost reply returns an error matching
// [ErrUncertain] ("may or may not have been applied"), never a silent
// double. A write with a request id whose resends all lose their reply
// while its context is live is sent once more before it reports
// ErrUncertain. The package README lists the class of every method.
//
// # Probabilistic sets
//
// [BloomFilter] stores its size and hash count in Redis with its bits and
// checks them in every script, so clients opened with other parameters get
// [ErrConfigMismatch] instead of corrupting it. [HyperLogLog] wraps PFADD,
// PFCOUNT and PFMERGE and adds Contains (add to a copy, see whether it
// changed) and Union. Their operations are one round trip whatever the
// number of elements; elements are encoded with a [codec.Codec] (JSON by
// default) and the encoding is what is hashed.
//
// # Multi-master primitives
//
// [Lock] and [NextID] run on N independent Redis masters (not the nodes of
// one Cluster, which replicate asynchronously) and need a quorum of N/2+1 to
// answer; fewer is a [*QuorumError]. Their guarantees assume that a master
// does not lose its data, and their type documentation gives the argument
// for each. A resource guarded by a Lock should check the fencing token each
// acquisition returns (see [FenceChecker]), because no lease survives a
// holder that pauses longer than the lease.
//
// For these types, give the masters' clients few retries and short timeouts
// (for example redis.Options{DialerRetries: 1, MaxRetries: 1,
// ContextTimeoutEnabled: true} and a small Options.Timeout): with go-redis's
// defaults a master that refuses connections costs about two seconds per
// call, and one that hangs three (its ReadTimeout), all of it taken from the
// lock's validity. go-redis may send a script again after a lost reply; the
// scripts keep every guarantee when it does: a release leaves a short-lived
// record, so Unlock reports a lock its first, unanswered attempt released
// as released, and an Unlock that cannot tell returns [ErrUncertain],
// never [ErrNotHeld].
package collections
