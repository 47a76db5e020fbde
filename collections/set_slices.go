package collections

import (
	"context"
	_ "embed"
)

var (
	//go:embed set_slices.lua
	setSlicesSrc string

	setSlices = newScript(setSlicesSrc)
)

// The set algebra with members given by the caller rather than held in
// another Set: s combined with a plain list of members, in one round trip
// (one script on s's node, the members its arguments), atomically on s.
// Members are compared by their encodings with s's codec; duplicates in
// the list count once. An iter.Seq operand is passed as
// slices.Collect(seq)... . A key holding another Redis type gives
// ErrWrongType and is left as it was.

// UnionWith returns the members of s and the given members (s | members),
// changing nothing.
func (s *Set[T]) UnionWith(ctx context.Context, members ...T) (map[T]struct{}, error) {
	return s.readWith(ctx, "union", members)
}

// IntersectionWith returns the given members that are in s (s & members),
// changing nothing; none when members is empty.
func (s *Set[T]) IntersectionWith(ctx context.Context, members ...T) (map[T]struct{}, error) {
	return s.readWith(ctx, "inter", members)
}

// DifferenceWith returns the members of s that are not among the given
// ones (s - members), changing nothing.
func (s *Set[T]) DifferenceWith(ctx context.Context, members ...T) (map[T]struct{}, error) {
	return s.readWith(ctx, "diff", members)
}

// SymmetricDifferenceWith returns the members that are in s or among the
// given ones but not both (s ^ members), changing nothing.
func (s *Set[T]) SymmetricDifferenceWith(ctx context.Context, members ...T) (map[T]struct{}, error) {
	return s.readWith(ctx, "symdiff", members)
}

// UpdateWith adds the given members to s (s |= members) and returns s's
// new size: [Set.Add] that answers the size. It is idempotent under
// resend.
func (s *Set[T]) UpdateWith(ctx context.Context, members ...T) (int64, error) {
	return s.updateWith(ctx, "union", members)
}

// IntersectionUpdateWith keeps only the members of s that are among the
// given ones (s &= members; with none, s is emptied) and returns s's new
// size. It is idempotent under resend: running it again removes nothing
// more.
func (s *Set[T]) IntersectionUpdateWith(ctx context.Context, members ...T) (int64, error) {
	return s.updateWith(ctx, "inter", members)
}

// DifferenceUpdateWith removes the given members from s (s -= members) and
// returns s's new size: [Set.Discard] that answers the size. It is
// idempotent under resend.
func (s *Set[T]) DifferenceUpdateWith(ctx context.Context, members ...T) (int64, error) {
	return s.updateWith(ctx, "diff", members)
}

// SymmetricDifferenceUpdateWith removes from s the given members it holds
// and adds those it does not (s ^= members), and returns s's new size. A
// second run would undo the first, so it is sent without transport
// retries: a lost reply returns an error matching ErrUncertain.
func (s *Set[T]) SymmetricDifferenceUpdateWith(ctx context.Context, members ...T) (int64, error) {
	return s.updateWith(ctx, "symdiff", members)
}

// readWith runs the read op of set_slices.lua and decodes the result.
func (s *Set[T]) readWith(ctx context.Context, op string, members []T) (map[T]struct{}, error) {
	args, err := s.sliceArgs(op, "read", members)
	if err != nil {
		return nil, err
	}
	var raws []string
	err = s.b.rt(ctx, op+" with", false, func(ctx context.Context) (err error) {
		raws, err = setSlices.Run(ctx, s.b.rdb, []string{s.b.key}, args...).StringSlice()
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

// updateWith runs the update op of set_slices.lua; a symmetric difference,
// which a resend would undo, is sent once.
func (s *Set[T]) updateWith(ctx context.Context, op string, members []T) (int64, error) {
	args, err := s.sliceArgs(op, "update", members)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.b.rt(ctx, op+" update with", true, func(ctx context.Context) (err error) {
		if op == "symdiff" {
			n, err = runOnce(ctx, s.b.rdb, setSlices, []string{s.b.key}, args...).Int64()
		} else {
			n, err = setSlices.Run(ctx, s.b.rdb, []string{s.b.key}, args...).Int64()
		}
		return err
	})
	return n, err
}

// sliceArgs returns the script's arguments: op, mode, the encoded members.
func (s *Set[T]) sliceArgs(op, mode string, members []T) ([]any, error) {
	enc, err := encodeAll(s.c, s.b.key, members)
	if err != nil {
		return nil, err
	}
	return append([]any{op, mode}, enc...), nil
}
