package collections

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

// SetOptions are the settings of a [Set]. The zero value means the
// defaults.
type SetOptions[T comparable] struct {
	// Options are the settings every collection takes.
	Options

	// Codec encodes the members. Default codec.JSON[T](). Sets combined by
	// Union and the other operations compare members by their encodings, so
	// they must use the same codec.
	Codec codec.Codec[T]
}

// Set is a set of T in one Redis set, "<prefix>{<name>}:set". Every method
// is atomic; the iteration (Members, ToSet) reads the set in chunks. The
// algebra (Union, Intersection, ..., and the Store and Update forms) runs as
// one script on the node of its target; on a Cluster, operands in other
// slots are first copied next to it (see [Set.Union]). A Set is safe for
// concurrent use.
type Set[T comparable] struct {
	b     base
	c     codec.Codec[T]
	whole *cache.Whole[map[T]struct{}] // Options.Local's copy of the set, or nil
}

// NewSet returns the Set called name on rdb. It does not talk to Redis. It
// returns ErrInvalidArgument for a nil client, an empty name or a name or
// prefix that would break the key's hash tag.
func NewSet[T comparable](rdb redis.UniversalClient, name string, opts SetOptions[T]) (*Set[T], error) {
	b, err := newBase(rdb, name, "set", "set", opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Codec == nil {
		opts.Codec = codec.JSON[T]()
	}
	st := &Set[T]{b: b, c: opts.Codec}
	if st.whole, err = newWhole[map[T]struct{}](&st.b); err != nil {
		return nil, err
	}
	return st, nil
}

// Name returns the set's name.
func (s *Set[T]) Name() string { return s.b.name }

// Key returns the Redis key of the set.
func (s *Set[T]) Key() string { return s.b.key }

// Add adds members and returns how many were not in the set yet. It is
// idempotent (SADD): after a resend the count misses the members the first
// run added.
func (s *Set[T]) Add(ctx context.Context, members ...T) (int64, error) {
	if len(members) == 0 {
		return 0, nil
	}
	args, err := encodeAll(s.c, s.b.key, members)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.b.rt(ctx, "add", true, func(ctx context.Context) (err error) {
		n, err = s.b.rdb.SAdd(ctx, s.b.key, args...).Result()
		return err
	})
	return n, err
}

// Remove removes member, which must be in the set: otherwise it returns an
// error matching ErrNotFound (Python's set.remove raises KeyError). It is
// sent without transport retries (a resend would find the member gone and
// report ErrNotFound): a lost reply is ErrUncertain.
func (s *Set[T]) Remove(ctx context.Context, member T) error {
	n, err := s.discard(ctx, "remove", true, []T{member})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: member %v of set %q", ErrNotFound, member, s.b.key)
	}
	return nil
}

// Discard removes the members that are in the set and returns how many
// were. It is idempotent (SREM): after a resend the count misses the
// members the first run removed.
func (s *Set[T]) Discard(ctx context.Context, members ...T) (int64, error) {
	return s.discard(ctx, "discard", false, members)
}

// discard runs SREM; sent once (no transport retries) when once is set.
func (s *Set[T]) discard(ctx context.Context, op string, once bool, members []T) (int64, error) {
	if len(members) == 0 {
		return 0, nil
	}
	args, err := encodeAll(s.c, s.b.key, members)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.b.rt(ctx, op, true, func(ctx context.Context) (err error) {
		if once {
			n, err = doOnce(ctx, s.b.rdb, append([]any{"srem", s.b.key}, args...)...).Int64()
		} else {
			n, err = s.b.rdb.SRem(ctx, s.b.key, args...).Result()
		}
		return err
	})
	return n, err
}

// Contains reports whether member is in the set. With Options.Local it
// answers from the local copy of the whole set (see [Set.Local]).
func (s *Set[T]) Contains(ctx context.Context, member T) (bool, error) {
	if m, ok := s.local(ctx); ok {
		_, in := m[member]
		return in, nil
	}
	m, err := encode(s.c, s.b.key, member)
	if err != nil {
		return false, err
	}
	var in bool
	err = s.b.rt(ctx, "contains", false, func(ctx context.Context) (err error) {
		in, err = s.b.rdb.SIsMember(ctx, s.b.key, m).Result()
		return err
	})
	return in, err
}

// ContainsMany reports, for each member, whether it is in the set: one
// round trip (SMISMEMBER) whatever their number, or none with
// Options.Local.
func (s *Set[T]) ContainsMany(ctx context.Context, members ...T) ([]bool, error) {
	if len(members) == 0 {
		return []bool{}, nil
	}
	if m, ok := s.local(ctx); ok {
		found := make([]bool, len(members))
		for i, v := range members {
			_, found[i] = m[v]
		}
		return found, nil
	}
	args, err := encodeAll(s.c, s.b.key, members)
	if err != nil {
		return nil, err
	}
	var found []bool
	err = s.b.rt(ctx, "contains many", false, func(ctx context.Context) (err error) {
		found, err = s.b.rdb.SMIsMember(ctx, s.b.key, args...).Result()
		return err
	})
	return found, err
}

// local returns the local copy of the whole set with Options.Local,
// reading it (SMEMBERS) when there is none. ok is false without
// Options.Local, for a set over the local tier's budget, and when the read
// failed: the caller then reads what it needs from Redis, which reports
// the error.
func (s *Set[T]) local(ctx context.Context) (m map[T]struct{}, ok bool) {
	return localCopy(ctx, s.whole, s.readAll)
}

// readAll reads and decodes the whole set, for the local copy.
func (s *Set[T]) readAll(ctx context.Context) (map[T]struct{}, int, error) {
	var raws []string
	err := s.b.rt(ctx, "members", false, func(ctx context.Context) (err error) {
		raws, err = cache.ReadClient(ctx, s.b.rdb).SMembers(ctx, s.b.key).Result()
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	m, size := make(map[T]struct{}, len(raws)), 0
	for _, raw := range raws {
		v, err := decode(s.c, s.b.key, raw)
		if err != nil {
			return nil, -1, nil // not kept: the reads from Redis report it
		}
		m[v] = struct{}{}
		size += len(raw) + memberOverhead
	}
	return m, size, nil
}

// Local returns the counters of the set's local copy (Options.Local):
// how many times it was read in full, kept, and found over the local
// tier's budget (then reads go to Redis). Zero without Options.Local.
func (s *Set[T]) Local() cache.WholeStats {
	return s.whole.Stats()
}

// Pop removes a random member and returns it; an empty set is ErrEmpty.
// It is sent without transport retries (a resend would pop a second
// member): a lost reply is ErrUncertain.
func (s *Set[T]) Pop(ctx context.Context) (T, error) {
	var zero T
	var raw string
	err := s.b.rt(ctx, "pop", true, func(ctx context.Context) (err error) {
		raw, err = doOnce(ctx, s.b.rdb, "spop", s.b.key).Text()
		return err
	})
	if errors.Is(err, redis.Nil) {
		return zero, fmt.Errorf("%w: set %q", ErrEmpty, s.b.key)
	}
	if err != nil {
		return zero, err
	}
	return decode(s.c, s.b.key, raw)
}

// RandomSample returns up to n distinct members chosen at random, without
// removing them (all of them when the set has n or fewer).
func (s *Set[T]) RandomSample(ctx context.Context, n int) ([]T, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: sample of %d members of set %q", ErrInvalidArgument, n, s.b.key)
	}
	if n == 0 {
		return []T{}, nil
	}
	var raws []string
	err := s.b.rt(ctx, "random sample", false, func(ctx context.Context) (err error) {
		raws, err = s.b.rdb.SRandMemberN(ctx, s.b.key, int64(n)).Result()
		return err
	})
	if err != nil {
		return nil, err
	}
	return decodeSlice(s.c, s.b.key, raws)
}

// decodeSlice decodes every raw member.
func decodeSlice[T any](c codec.Codec[T], key string, raws []string) ([]T, error) {
	out := make([]T, len(raws))
	for i, raw := range raws {
		v, err := decode(c, key, raw)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Len returns the number of members.
func (s *Set[T]) Len(ctx context.Context) (int64, error) {
	if m, ok := s.local(ctx); ok {
		return int64(len(m)), nil
	}
	var n int64
	err := s.b.rt(ctx, "len", false, func(ctx context.Context) (err error) {
		n, err = s.b.rdb.SCard(ctx, s.b.key).Result()
		return err
	})
	return n, err
}

// Members returns the members as a sequence and a function that returns
// the error that ended it early (nil when it ran to the end or the loop
// stopped). Always check it. With Options.Local it yields the members of
// the local copy of the whole set, as it was when Members was called.
// Otherwise it reads with SSCAN, a chunk per round trip: every member
// present for the whole iteration is yielded exactly once; members added
// or removed meanwhile may or may not be.
func (s *Set[T]) Members(ctx context.Context) (seq iter.Seq[T], errf func() error) {
	if m, ok := s.local(ctx); ok {
		return maps.Keys(m), func() error { return nil }
	}
	var err error
	seq = func(yield func(T) bool) {
		err = s.b.scan(ctx, "members", 1, func(c context.Context, cursor uint64) ([]string, uint64, error) {
			return s.b.rdb.SScan(c, s.b.key, cursor, "", scanCount).Result()
		}, func(g []string) (bool, error) {
			v, err := decode(s.c, s.b.key, g[0])
			if err != nil {
				return false, err
			}
			return yield(v), nil
		})
	}
	return seq, func() error { return err }
}

// ToSet returns the members in a map of the caller's own: a copy of the
// local copy with Options.Local, else read in chunks (see [Set.Members]).
func (s *Set[T]) ToSet(ctx context.Context) (map[T]struct{}, error) {
	if m, ok := s.local(ctx); ok {
		return maps.Clone(m), nil
	}
	out := make(map[T]struct{})
	members, errf := s.Members(ctx)
	for m := range members {
		out[m] = struct{}{}
	}
	if err := errf(); err != nil {
		return nil, err
	}
	return out, nil
}

// Clear deletes the set. It returns ErrWrongType, deleting nothing, when the
// key holds another Redis type.
func (s *Set[T]) Clear(ctx context.Context) error { return s.b.clear(ctx) }

// Expire makes the whole set expire after ttl (millisecond resolution; at
// least 1ms) and reports whether it exists.
func (s *Set[T]) Expire(ctx context.Context, ttl time.Duration) (bool, error) {
	return s.b.expire(ctx, ttl)
}
