package memo

import (
	"strconv"

	"github.com/tiercache/tiercache/cache"
)

// Options configures a memoized function. The zero value means the
// defaults.
type Options[R any] struct {
	// Version is part of the function's namespace ("memo.<name>.v<Version>").
	// Bump it when the function's results change meaning (a bug fix, a new
	// field in R): results cached under the old version are then never
	// read again and expire with their TTL. Default 0.
	Version uint

	// Cache configures the cache namespace that holds the results, and is
	// passed to cache.New as it is: TTL, LocalTTL, Jitter, NegativeTTL (how
	// long a cache.ErrNotFound from the function is remembered),
	// StaleWhileRevalidate, StaleIfError, Codec, Timeout, LoadTimeout (the
	// deadline of a run of the function), MaxValueSize, CompressAbove and
	// CopyOnRead. Its zero value means cache's defaults: results are fresh
	// for an hour, kept locally for a minute, encoded as JSON. TTL
	// cache.NoExpiry keeps results until they are forgotten (Forget,
	// Clear) or evicted by Redis; Sliding renews a result's TTL when a Call
	// finds less than half of it left, so results in use stay and others
	// expire TTL after their last use.
	Cache cache.Options[R]
}

// namespace returns the cache namespace of the function called name.
func namespace(name string, version uint) string {
	return "memo." + name + ".v" + strconv.FormatUint(uint64(version), 10)
}

// validName reports whether name may name a memoized function: letters,
// digits, '_', '-' and '.', as cache namespaces are.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// Info is a snapshot of a memoized function's counters in this process.
// Counters only grow (Clear does not reset them), so that rates computed
// from two snapshots stay right.
//
// Every Call that reaches the cache (one whose argument could be encoded)
// is counted once, as exactly one of LocalHits, RemoteHits,
// NegativeHits, Stale (served under stale-while-revalidate), Misses or
// SharedLoads, except that a Call served stale after the function failed
// (stale-if-error) counts as a miss and as stale. Background refreshes
// (stale-while-revalidate) count their own lookup, a remote hit or a miss,
// and their run of the function.
type Info struct {
	// Hits is LocalHits + RemoteHits: Calls answered with a fresh cached
	// result, without running the function.
	Hits uint64
	// LocalHits are Calls answered by this process's local tier.
	LocalHits uint64
	// RemoteHits are Calls answered by Redis (a result that this or any
	// other process computed).
	RemoteHits uint64
	// NegativeHits are Calls answered by a remembered cache.ErrNotFound
	// (Options.Cache.NegativeTTL).
	NegativeHits uint64
	// Stale are stale results returned (Options.Cache.StaleWhileRevalidate
	// and StaleIfError).
	Stale uint64
	// Misses are lookups that found no fresh result, after which the
	// function ran: one per run, counted by the Call that started it.
	Misses uint64
	// SharedLoads are Calls that waited for a run of the function started
	// by a concurrent Call with the same arguments in this process.
	SharedLoads uint64
	// LeaseWaits are the times a Call (or refresh) waited for another
	// process's run of the function for the same arguments
	// (Options.Cache.Lease), instead of running it.
	LeaseWaits uint64
	// Loads are runs of the function by Call and background refreshes.
	Loads uint64
	// Errors are Loads that returned an error other than cache.ErrNotFound,
	// panicked or called runtime.Goexit.
	Errors uint64
	// Bypasses are calls of Bypass. They run the function but are not
	// counted in Loads, Errors, hits or misses.
	Bypasses uint64
	// Size is how many results of the function this process's local tier
	// holds now: live entries of the namespace, negative ones included,
	// not yet expired or evicted. Results held only in Redis are not
	// counted. Computing it visits every entry of the Store's local tier.
	Size int
}
