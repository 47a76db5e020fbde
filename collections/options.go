package collections

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tiercache/tiercache/cache"
)

// DefaultPrefix is the key prefix used when [Options.Prefix] is empty. It is
// the same prefix the cache package uses, so one ACL pattern covers both.
const DefaultPrefix = "tc:"

// DefaultTimeout is the per-operation Redis timeout used when
// [Options.Timeout] is zero.
const DefaultTimeout = 2 * time.Second

// Options are the settings every collection constructor takes. The zero value
// means the documented defaults. Type-specific settings live in the type's own
// options struct, which embeds Options.
type Options struct {
	// Prefix is prepended to every key the collection writes. Default
	// [DefaultPrefix] ("tc:"). It must not contain '{' or '}', which would
	// change the Cluster hash tag of the collection's keys.
	Prefix string

	// Local, when set, serves reads from one copy of the whole collection
	// kept in this Store's local tier (see cache.Whole and the package
	// README's table): the reads of Dict, DefaultDict, Counter, Set, List,
	// Deque and SortedSet answer without a round trip once a first read
	// has read the whole collection (MultiMapTTL's once a first read has
	// read the map key: one copy per map key). Any write to the collection's key, by
	// any client, invalidates the copy when the Store runs tracking
	// coherence (cache.CoherenceTracking, what Auto picks on Redis 6 and
	// later, or its per-namespace or key-level variants; with key-level
	// tracking the copies are read through the Store's tracked
	// connections). Under pub/sub or no coherence, other processes' writes to
	// collections are not announced, and a copy may be stale for up to
	// LocalTTL. Writes through any value of the collection in this process
	// (the same name opened twice included) invalidate the copy of every
	// such value at once, and reads in flight do not keep what they read,
	// so a process always reads its own writes, in every mode. A copy over
	// the Store's byte budget is not kept (the reads go to Redis). Once the
	// Store is closed every read goes to Redis. The Store's prefix must
	// start the collection's keys (both default to "tc:"). Default nil:
	// every read goes to Redis.
	Local *cache.Store

	// LocalTTL bounds how long a local copy lives (and the Store's
	// MaxStaleness bounds it too). Default 1m.
	LocalTTL time.Duration

	// Timeout bounds each Redis round trip (each master's, for the types that
	// talk to several masters), on top of the caller's context. Default
	// [DefaultTimeout] (2s); a negative value means no timeout beyond the
	// caller's context. go-redis applies a context's deadline to the socket
	// only for clients made with ContextTimeoutEnabled; without it, the
	// client's own ReadTimeout and WriteTimeout (3s by default) bound a call
	// that hangs on the network.
	Timeout time.Duration

	// DedupeWindow is how long Redis keeps the record that makes a write
	// idempotent under go-redis' resend (Counter.Incr, Queue.Put, the
	// reliable queue's steps; see the package README): one small string
	// key per such write, "<prefix>{<name>}:rid:...", in the collection's
	// hash slot, with this time to live. It must outlast the client's
	// resends of one call, which sends again once when they run out
	// on lost replies: about 2 x (MaxRetries+1) x (ReadTimeout +
	// WriteTimeout + MaxRetryBackoff), 52s with go-redis' defaults.
	// Default [DefaultDedupeWindow] (1m); at least a millisecond.
	DedupeWindow time.Duration
}

// DefaultDedupeWindow is the [Options.DedupeWindow] used when it is zero.
const DefaultDedupeWindow = time.Minute

// withDefaults returns o with its zero fields set to their defaults.
func (o Options) withDefaults() Options {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.DedupeWindow == 0 {
		o.DedupeWindow = DefaultDedupeWindow
	}
	if o.LocalTTL <= 0 {
		o.LocalTTL = time.Minute
	}
	return o
}

// validate checks the collection name and the prefix (after defaults).
func (o Options) validate(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty name", ErrInvalidArgument)
	}
	if strings.Contains(name, "}") {
		return fmt.Errorf("%w: name %q contains '}', which would break its Cluster hash tag", ErrInvalidArgument, name)
	}
	if o.DedupeWindow < time.Millisecond {
		return fmt.Errorf("%w: dedupe window %v is under a millisecond", ErrInvalidArgument, o.DedupeWindow)
	}
	if strings.ContainsAny(o.Prefix, "{}") {
		return fmt.Errorf("%w: prefix %q contains '{' or '}', which would change the Cluster hash tag", ErrInvalidArgument, o.Prefix)
	}
	return nil
}

// key returns the Redis key "<prefix>{<name>}:<suffix>". Every key of one
// collection shares the hash tag {<name>}, so on a Cluster they live in one
// slot and a script may touch all of them.
func (o Options) key(name, suffix string) string {
	return o.Prefix + "{" + name + "}:" + suffix
}

// opContext derives the context of one Redis round trip from the caller's.
func (o Options) opContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if o.Timeout < 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, o.Timeout)
}
