package collections

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed set_algebra.lua
	setAlgebraSrc string
	//go:embed set_compare.lua
	setCompareSrc string

	setAlgebra = newScript(setAlgebraSrc)
	setCompare = redis.NewScript(setCompareSrc)
)

// stagingTTL bounds the life of the temporary copies of sets that live on
// another node, in case the process dies before deleting them.
const stagingTTL = "600000" // 10 minutes, in milliseconds

// The set algebra. Each operation is one script on the node of its target
// (the destination of a store, else the receiver), so the result is
// computed and stored atomically there. Operands on that node are used in
// place; on a Cluster, sets of other names hash to other slots, so each of
// those is first copied, in chunks, into a temporary key in the target's
// slot (deleted afterwards). Such an operand is read as SSCAN sees it
// during the copy rather than at one instant.

// Union returns the members of s and of every other set.
//
// Like every operation of the algebra, it runs as one script on the node
// of its target (the destination of a Store, else s). Operands on that node
// are used in place; on a Cluster, sets of other names hash to other slots,
// and each of those is first copied, in SSCAN chunks, into a temporary key
// in the target's slot (deleted afterwards, and expiring in 10 minutes in
// any case), so the result is atomic with respect to the target while such
// an operand is read as its scan saw it. Sets combined must use the same
// codec: members are compared by their encodings.
func (s *Set[T]) Union(ctx context.Context, others ...*Set[T]) (map[T]struct{}, error) {
	return s.read(ctx, "union", others)
}

// Intersection returns the members of s that are in every other set.
func (s *Set[T]) Intersection(ctx context.Context, others ...*Set[T]) (map[T]struct{}, error) {
	return s.read(ctx, "inter", others)
}

// Difference returns the members of s that are in none of the other sets.
func (s *Set[T]) Difference(ctx context.Context, others ...*Set[T]) (map[T]struct{}, error) {
	return s.read(ctx, "diff", others)
}

// SymmetricDifference returns the members that are in s or in other but not
// in both.
func (s *Set[T]) SymmetricDifference(ctx context.Context, other *Set[T]) (map[T]struct{}, error) {
	return s.read(ctx, "symdiff", []*Set[T]{other})
}

// UnionStore replaces the members of dst (which may be s or one of the
// others) with the union of s and the others, and returns dst's new size.
// dst is checked first: when it holds another Redis type nothing is written.
func (s *Set[T]) UnionStore(ctx context.Context, dst *Set[T], others ...*Set[T]) (int64, error) {
	return s.store(ctx, "union", dst, others)
}

// IntersectionStore is [Set.UnionStore] for the intersection.
func (s *Set[T]) IntersectionStore(ctx context.Context, dst *Set[T], others ...*Set[T]) (int64, error) {
	return s.store(ctx, "inter", dst, others)
}

// DifferenceStore is [Set.UnionStore] for the difference.
func (s *Set[T]) DifferenceStore(ctx context.Context, dst *Set[T], others ...*Set[T]) (int64, error) {
	return s.store(ctx, "diff", dst, others)
}

// SymmetricDifferenceStore is [Set.UnionStore] for the symmetric
// difference of s and other.
func (s *Set[T]) SymmetricDifferenceStore(ctx context.Context, dst, other *Set[T]) (int64, error) {
	return s.store(ctx, "symdiff", dst, []*Set[T]{other})
}

// Update adds the members of the others to s (s |= others), atomically on
// s, and returns s's new size.
func (s *Set[T]) Update(ctx context.Context, others ...*Set[T]) (int64, error) {
	return s.store(ctx, "union", s, others)
}

// IntersectionUpdate keeps only the members of s that are in every other
// set (s &= others) and returns s's new size.
func (s *Set[T]) IntersectionUpdate(ctx context.Context, others ...*Set[T]) (int64, error) {
	return s.store(ctx, "inter", s, others)
}

// DifferenceUpdate removes from s the members of the others (s -= others)
// and returns s's new size.
func (s *Set[T]) DifferenceUpdate(ctx context.Context, others ...*Set[T]) (int64, error) {
	return s.store(ctx, "diff", s, others)
}

// SymmetricDifferenceUpdate keeps the members in s or in other but not in
// both (s ^= other) and returns s's new size.
func (s *Set[T]) SymmetricDifferenceUpdate(ctx context.Context, other *Set[T]) (int64, error) {
	return s.store(ctx, "symdiff", s, []*Set[T]{other})
}

// IsSubset reports whether every member of s is in other.
func (s *Set[T]) IsSubset(ctx context.Context, other *Set[T]) (bool, error) {
	return s.compare(ctx, "subset", s, other)
}

// IsSuperset reports whether every member of other is in s.
func (s *Set[T]) IsSuperset(ctx context.Context, other *Set[T]) (bool, error) {
	return s.compare(ctx, "subset", other, s)
}

// IsDisjoint reports whether s and other have no member in common.
func (s *Set[T]) IsDisjoint(ctx context.Context, other *Set[T]) (bool, error) {
	return s.compare(ctx, "disjoint", s, other)
}

// read runs op on s and others and decodes the result.
func (s *Set[T]) read(ctx context.Context, op string, others []*Set[T]) (map[T]struct{}, error) {
	if err := checkOperands(others); err != nil {
		return nil, err
	}
	ks, release, err := stage(ctx, &s.b, append([]*Set[T]{s}, others...))
	if err != nil {
		return nil, err
	}
	defer release()
	var raws []string
	err = s.b.rt(ctx, op, false, func(ctx context.Context) (err error) {
		raws, err = setAlgebra.Run(ctx, s.b.rdb, ks, op, "read").StringSlice()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[T]struct{}, len(raws))
	for _, raw := range raws {
		v, err := decode(s.c, s.b.key, raw)
		if err != nil {
			return nil, err
		}
		out[v] = struct{}{}
	}
	return out, nil
}

// store runs op on s and others into dst. Storing a union, intersection or
// difference again stores the same set, even into one of its operands; a
// symmetric difference stored into an operand would undo itself, so that
// one is sent without transport retries (a lost reply is ErrUncertain).
func (s *Set[T]) store(ctx context.Context, op string, dst *Set[T], others []*Set[T]) (int64, error) {
	if err := checkOperands(others); err != nil {
		return 0, err
	}
	if dst == nil {
		return 0, fmt.Errorf("%w: nil destination set", ErrInvalidArgument)
	}
	ks, release, err := stage(ctx, &dst.b, append([]*Set[T]{s}, others...))
	if err != nil {
		return 0, err
	}
	defer release()
	keys := append([]string{dst.b.key}, ks...)
	var n int64
	err = dst.b.rt(ctx, op+" store", true, func(ctx context.Context) (err error) {
		if op == "symdiff" {
			n, err = runOnce(ctx, dst.b.rdb, setAlgebra, keys, op, "store").Int64()
		} else {
			n, err = setAlgebra.Run(ctx, dst.b.rdb, keys, op, "store").Int64()
		}
		return err
	})
	return n, err
}

// compare runs the comparison op of a and b on a's node.
func (s *Set[T]) compare(ctx context.Context, op string, a, b *Set[T]) (bool, error) {
	if err := checkOperands([]*Set[T]{b}); err != nil {
		return false, err
	}
	ks, release, err := stage(ctx, &a.b, []*Set[T]{a, b})
	if err != nil {
		return false, err
	}
	defer release()
	var n int
	err = a.b.rt(ctx, op, false, func(ctx context.Context) (err error) {
		n, err = setCompare.Run(ctx, a.b.rdb, ks, op).Int()
		return err
	})
	return n == 1, err
}

// checkOperands refuses nil sets.
func checkOperands[T comparable](sets []*Set[T]) error {
	for i, o := range sets {
		if o == nil {
			return fmt.Errorf("%w: set operand %d is nil", ErrInvalidArgument, i)
		}
	}
	return nil
}

// stage returns the keys under which a script on target's node can read
// each of sets: its own key when it is on that node through the same client,
// else a temporary copy in target's slot. release deletes the copies.
func stage[T comparable](ctx context.Context, target *base, sets []*Set[T]) (ks []string, release func(), err error) {
	var tmps []string
	release = func() {
		if len(tmps) == 0 {
			return
		}
		// The copies must go even when the caller's context has ended (they
		// would expire anyway), so this call drops its cancellation.
		c, cancel := target.opts.opContext(context.WithoutCancel(ctx))
		defer cancel()
		_ = target.rdb.Unlink(c, tmps...).Err()
	}
	for _, s := range sets {
		if s.b.rdb == target.rdb && sameNode(target.rdb, target.key, s.b.key) {
			ks = append(ks, s.b.key)
			continue
		}
		tmp := target.opts.key(target.name, "tmp:"+token())
		tmps = append(tmps, tmp)
		ks = append(ks, tmp)
		if err := copySet(ctx, target, tmp, &s.b); err != nil {
			release()
			return nil, nil, err
		}
	}
	return ks, release, nil
}

// copySet copies the members of src into the set tmp on target's client, a
// chunk per round trip.
func copySet(ctx context.Context, target *base, tmp string, src *base) error {
	return src.scan(ctx, "copy", 1, func(c context.Context, cursor uint64) ([]string, uint64, error) {
		page, next, err := src.rdb.SScan(c, src.key, cursor, "", scanCount).Result()
		if err != nil || len(page) == 0 {
			return nil, next, err
		}
		args := make([]any, len(page))
		for i, m := range page {
			args[i] = m
		}
		_, err = target.rdb.Pipelined(c, func(p redis.Pipeliner) error {
			p.SAdd(c, tmp, args...)
			p.Do(c, "pexpire", tmp, stagingTTL)
			return nil
		})
		if err != nil {
			return nil, 0, failKey("copy", tmp, err)
		}
		return nil, next, nil
	}, func([]string) (bool, error) { return true, nil })
}
