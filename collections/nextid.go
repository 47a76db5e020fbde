package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed nextid.lua
	nextIDSrc    string
	nextIDScript = redis.NewScript(nextIDSrc)
)

// NextIDOptions are the settings of a [NextID]. The zero value means the
// defaults.
type NextIDOptions struct {
	// Options are the common settings; Options.Timeout bounds each master's
	// round trip.
	Options
}

// NextID hands out ids that increase strictly over a quorum of N independent
// Redis masters, with no single point of failure: as long as N/2+1 masters
// answer, Next works. Ids start at 1; there may be holes (1, 2, 5, ...), never
// a repeat. It is safe for concurrent use, and values for the same name in
// any number of processes share one sequence.
//
// # Why ids never repeat
//
// Each master keeps a counter and accepts a proposed id only if it is above
// the counter, which it then becomes (one script, so atomic per master).
// Next proposes an id to every master and returns it once a quorum Q has
// accepted it. Any later Next needs a quorum Q' of acceptances too, and Q'
// shares a master m with Q. Counters only grow, and m's counter was already
// at least the first id when the later proposal reached it, so the later id
// is larger. The same intersection stops two concurrent calls from both
// returning one id: m accepts a given id at most once. Hence ids are unique,
// and an id returned after another returned is larger (ids follow real
// time, and so are increasing for each caller).
//
// A master that rejects a proposal answers with its counter; Next proposes
// again above everything it has seen. A NextID value remembers the highest
// id it has seen, so without contention a call is one round trip to each
// master, in parallel. Under contention calls retry, after the first retry
// with a small random backoff.
//
// Like [Lock], this assumes masters keep their data: a master that restarts
// empty while another is down can let an id be handed out twice. Run the
// masters with appendfsync always, or keep a restarted master out until its
// counter is restored (a Next that reaches it raises it).
type NextID struct {
	masters []redis.UniversalClient
	name    string
	key     string
	opts    NextIDOptions
	quorum  int

	hint atomic.Int64 // highest id this value has seen; proposals go above it
}

// NewNextID returns the id sequence called name on the given independent
// masters. It does not talk to Redis.
func NewNextID(masters []redis.UniversalClient, name string, opts NextIDOptions) (*NextID, error) {
	if err := checkMasters(masters); err != nil {
		return nil, err
	}
	opts.Options = opts.Options.withDefaults()
	if err := opts.Options.validate(name); err != nil {
		return nil, err
	}
	return &NextID{
		masters: masters,
		name:    name,
		key:     opts.key(name, "nextid"),
		opts:    opts,
		quorum:  quorum(len(masters)),
	}, nil
}

// Name returns the sequence's name.
func (n *NextID) Name() string { return n.name }

// Next returns the next id: larger than every id any caller received before
// this call started. It retries while other callers win the race for an id,
// until ctx ends, and returns a [*QuorumError] at once if fewer than a quorum
// of masters answered.
func (n *NextID) Next(ctx context.Context) (int64, error) {
	keys := []string{n.key}
	for attempt := 0; ; attempt++ {
		proposed := n.hint.Add(1)
		replies := onMasters(ctx, n.opts.Options, n.masters, nil, func(ctx context.Context, m redis.UniversalClient) ([]int64, error) {
			return nextIDScript.Run(ctx, m, keys, proposed).Int64Slice()
		})
		var answered, accepted int
		var seen int64
		for _, r := range replies {
			if r.err != nil {
				if err := redisError(n.key, r.err); errors.Is(err, ErrWrongType) {
					return 0, err
				}
				continue
			}
			if len(r.val) != 2 {
				return 0, fmt.Errorf("tiercache/collections: next id %q: unexpected reply %v", n.name, r.val)
			}
			answered++
			if r.val[0] == 1 {
				accepted++
			} else {
				seen = max(seen, r.val[1])
			}
		}
		if accepted >= n.quorum {
			return proposed, nil
		}
		if answered < n.quorum {
			return 0, newQuorumError("next", n.key, replies)
		}
		raise(&n.hint, seen)
		if err := n.backoff(ctx, attempt); err != nil {
			return 0, fmt.Errorf("tiercache/collections: next id %q: contention: %w", n.name, err)
		}
	}
}

// backoff waits before the retry that follows attempt: not at all after the
// first attempt, then up to 1ms, 2ms, ... 32ms, drawn at random.
func (n *NextID) backoff(ctx context.Context, attempt int) error {
	if err := ctx.Err(); err != nil || attempt == 0 {
		return err
	}
	limit := time.Millisecond << min(attempt-1, 5)
	t := time.NewTimer(mrand.N(limit) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// raise sets v to x if x is larger.
func raise(v *atomic.Int64, x int64) {
	for {
		cur := v.Load()
		if x <= cur || v.CompareAndSwap(cur, x) {
			return
		}
	}
}

// Reset deletes the sequence's counter on every master, so that ids start
// again from 1, and forgets what this value has seen. Other NextID values
// for the name, in this process or others, continue above the highest id
// they have seen. Ids handed out after a Reset may repeat earlier ones: it is
// meant for tests and administration. It returns an error if any master
// failed (the counters of the others are deleted).
func (n *NextID) Reset(ctx context.Context) error {
	replies := onMasters(ctx, n.opts.Options, n.masters, nil, func(ctx context.Context, m redis.UniversalClient) (int64, error) {
		return m.Del(ctx, n.key).Result()
	})
	n.hint.Store(0)
	var errs []error
	for i, r := range replies {
		if r.err != nil {
			errs = append(errs, fmt.Errorf("master %d: %w", i, r.err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("tiercache/collections: reset id %q: %d of %d masters failed: %w", n.name, len(errs), len(n.masters), errors.Join(errs...))
	}
	return nil
}
