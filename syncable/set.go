package syncable

import (
	"context"
	"iter"
	"maps"
	"reflect"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// SetOptions are the settings of a [Set]. The zero value means the
// defaults.
type SetOptions[T comparable] struct {
	// SetOptions are the settings of the collections.Set of the same name:
	// key prefix, per-round-trip timeout, member codec.
	collections.SetOptions[T]

	// LoadChunk is the number of members Load reads per round trip.
	// Default DefaultLoadChunk (1000).
	LoadChunk int
}

// Set is a set of T held in memory and synced with the Redis set of the
// collections.Set of the same name, "<prefix>{<name>}:set", members
// encoded with the same codec. Every method but Load, Sync and
// SyncOverwrite works in memory. A Set is not safe for concurrent use.
type Set[T comparable] struct {
	b     base
	c     codec.Codec[T]
	m     map[T]struct{}
	snap  keyedSnap
	track tracker[T]
}

// NewSet returns an empty Set for the Redis set called name on rdb. It does
// not talk to Redis. It returns ErrInvalidArgument for the arguments
// collections.NewSet refuses and a negative LoadChunk.
func NewSet[T comparable](rdb redis.UniversalClient, name string, opts SetOptions[T]) (*Set[T], error) {
	cs, err := collections.NewSet(rdb, name, opts.SetOptions)
	if err != nil {
		return nil, invalid(err)
	}
	b, err := newBase(rdb, name, cs.Key(), "set", opts.Options, opts.LoadChunk)
	if err != nil {
		return nil, err
	}
	c := opts.Codec
	if c == nil {
		c = codec.JSON[T]()
	}
	s := &Set[T]{b: b, c: c, m: make(map[T]struct{}), snap: newKeyedSnap(0)}
	s.track.on = plain(reflect.TypeFor[T]())
	return s, nil
}

// Name returns the set's name.
func (s *Set[T]) Name() string { return s.b.name }

// Key returns the Redis key of the set.
func (s *Set[T]) Key() string { return s.b.key }

// Add adds members and returns how many were not in the set yet.
func (s *Set[T]) Add(members ...T) int {
	n := len(s.m)
	for _, m := range members {
		s.m[m] = struct{}{}
		s.track.mark(m)
	}
	return len(s.m) - n
}

// Discard removes members and returns how many were in the set.
func (s *Set[T]) Discard(members ...T) int {
	n := len(s.m)
	for _, m := range members {
		delete(s.m, m)
		s.track.mark(m)
	}
	return n - len(s.m)
}

// Contains reports whether member is in the set.
func (s *Set[T]) Contains(member T) bool {
	_, ok := s.m[member]
	return ok
}

// Len returns the number of members.
func (s *Set[T]) Len() int { return len(s.m) }

// All returns the members, in no particular order.
func (s *Set[T]) All() iter.Seq[T] { return maps.Keys(s.m) }

// Clear removes every member. The next Sync deletes the Redis set.
func (s *Set[T]) Clear() {
	clear(s.m)
	s.track.forget()
}

// Load replaces the in-memory members with the Redis set's, in one round
// trip per LoadChunk members (see [Dict.Load]).
func (s *Set[T]) Load(ctx context.Context) error {
	var m map[T]struct{}
	var snap keyedSnap
	version, err := s.b.load(ctx, 1, func(n int) {
		m, snap = make(map[T]struct{}, n), newKeyedSnap(n)
	}, func(g []string) error {
		v, err := s.c.Decode([]byte(g[0]))
		if err != nil {
			return decodeError(s.b.key, g[0], err)
		}
		m[v] = struct{}{}
		snap.m[g[0]] = &snapEntry{}
		return nil
	})
	if err != nil {
		return err
	}
	s.m, s.snap = m, snap
	s.track.reset(len(snap.m))
	s.b.loaded(version)
	return nil
}

// Sync makes the Redis set hold exactly the in-memory members, in one
// atomic round trip that sends only the members added and removed (see
// [Dict.Sync]); ErrConflict when Redis changed since the last Load or Sync.
func (s *Set[T]) Sync(ctx context.Context) error {
	return s.b.sync(ctx, "sync", keyedSyncSrc, false, s.plan)
}

// SyncOverwrite makes the Redis set hold exactly the in-memory members
// whatever it holds (see [Dict.SyncOverwrite]).
func (s *Set[T]) SyncOverwrite(ctx context.Context) error {
	return s.b.sync(ctx, "sync overwrite", keyedSyncSrc, true, s.plan)
}

func (s *Set[T]) plan(overwrite bool) (*plan, error) {
	src := mapSource[T, struct{}](s.b.key, s.m, &s.track, s.c, nil)
	return keyedPlan(&s.snap, s.b.key, "set", overwrite, src, func() { s.track.reset(len(s.snap.m)) })
}
