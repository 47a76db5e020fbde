package collections_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

func newSet(t testing.TB, rdb redis.UniversalClient, name string) *collections.Set[string] {
	t.Helper()
	s, err := collections.NewSet(rdb, name, collections.SetOptions[string]{})
	require.NoError(t, err)
	return s
}

// setOf builds a Go set.
func setOf[T comparable](members ...T) map[T]struct{} {
	out := make(map[T]struct{}, len(members))
	for _, m := range members {
		out[m] = struct{}{}
	}
	return out
}

func TestSet(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("basics", func(t *testing.T) { testSetBasics(t, be.rdb) })
		t.Run("algebra", func(t *testing.T) { testSetAlgebra(t, be) })
		t.Run("errors", func(t *testing.T) { testSetErrors(t, be.rdb) })
	})
}

func testSetBasics(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	basket := newSet(t, rdb, dsName(t))
	require.Equal(t, int64(4), dsMust[int64](t)(basket.Add(ctx, "apple", "orange", "apple", "pear", "banana")))
	require.Equal(t, int64(4), dsMust[int64](t)(basket.Len(ctx)))
	require.True(t, dsMust[bool](t)(basket.Contains(ctx, "orange")))
	require.False(t, dsMust[bool](t)(basket.Contains(ctx, "crabgrass")))
	require.Equal(t, []bool{true, false, true}, dsMust[[]bool](t)(basket.ContainsMany(ctx, "pear", "kiwi", "apple")))

	require.NoError(t, basket.Remove(ctx, "pear"))
	require.ErrorIs(t, basket.Remove(ctx, "pear"), collections.ErrNotFound)
	require.Equal(t, int64(1), dsMust[int64](t)(basket.Discard(ctx, "banana", "kiwi")))
	require.Equal(t, setOf("apple", "orange"), dsMust[map[string]struct{}](t)(basket.ToSet(ctx)))

	sample := dsMust[[]string](t)(basket.RandomSample(ctx, 5))
	require.ElementsMatch(t, []string{"apple", "orange"}, sample)
	require.Len(t, dsMust[[]string](t)(basket.RandomSample(ctx, 1)), 1)

	p1 := dsMust[string](t)(basket.Pop(ctx))
	p2 := dsMust[string](t)(basket.Pop(ctx))
	require.ElementsMatch(t, []string{"apple", "orange"}, []string{p1, p2})
	_, err := basket.Pop(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)

	// A set large enough to be scanned in many chunks.
	big, err := collections.NewSet(rdb, dsName(t)+"big", collections.SetOptions[int]{})
	require.NoError(t, err)
	want := make([]int, 2000)
	for i := range want {
		want[i] = i
	}
	_, err = big.Add(ctx, want...)
	require.NoError(t, err)
	members, errf := big.Members(ctx)
	seen := make(map[int]bool)
	for m := range members {
		require.False(t, seen[m], "member %d yielded twice", m)
		seen[m] = true
	}
	require.NoError(t, errf())
	require.Len(t, seen, 2000)
	require.True(t, dsMust[bool](t)(big.Expire(ctx, time.Minute)))
	require.NoError(t, big.Clear(ctx))
	require.Zero(t, dsMust[int64](t)(big.Len(ctx)))
}

// The algebra matches Go's on sets of different names: on the cluster they
// live in different slots, so the operands are staged; nothing is left
// behind.
func testSetAlgebra(t *testing.T, be dsBackend) {
	ctx := context.Background()
	rdb := be.rdb
	a := newSet(t, rdb, dsName(t)+"a")
	b := newSet(t, rdb, dsName(t)+"b")
	c := newSet(t, be.client(t), dsName(t)+"c") // another client: always staged
	_, err := a.Add(ctx, "a", "b", "r", "c", "d")
	require.NoError(t, err)
	_, err = b.Add(ctx, "a", "l", "c", "z", "m")
	require.NoError(t, err)
	_, err = c.Add(ctx, "a", "z", "q")
	require.NoError(t, err)

	set := dsMust[map[string]struct{}](t)
	require.Equal(t, setOf("a", "b", "r", "c", "d", "l", "z", "m", "q"), set(a.Union(ctx, b, c)))
	require.Equal(t, setOf("a"), set(a.Intersection(ctx, b, c)))
	require.Equal(t, setOf("b", "r", "d"), set(a.Difference(ctx, b, c)))
	require.Equal(t, setOf("b", "r", "d", "l", "z", "m"), set(a.SymmetricDifference(ctx, b)))
	require.Equal(t, setOf[string](), set(a.Intersection(ctx, newSet(t, rdb, dsName(t)+"empty"))))

	dst := newSet(t, rdb, dsName(t)+"dst")
	_, err = dst.Add(ctx, "old")
	require.NoError(t, err)
	require.Equal(t, int64(2), dsMust[int64](t)(a.IntersectionStore(ctx, dst, b)))
	require.Equal(t, setOf("a", "c"), set(dst.ToSet(ctx)))
	require.Equal(t, int64(6), dsMust[int64](t)(a.SymmetricDifferenceStore(ctx, dst, b)))
	require.Equal(t, int64(9), dsMust[int64](t)(a.UnionStore(ctx, dst, b, c)))
	require.Equal(t, int64(3), dsMust[int64](t)(a.DifferenceStore(ctx, dst, b, c)))
	require.Equal(t, setOf("b", "r", "d"), set(dst.ToSet(ctx)))

	require.True(t, dsMust[bool](t)(dst.IsSubset(ctx, a)))
	require.False(t, dsMust[bool](t)(a.IsSubset(ctx, dst)))
	require.True(t, dsMust[bool](t)(a.IsSuperset(ctx, dst)))
	require.True(t, dsMust[bool](t)(dst.IsDisjoint(ctx, b)))
	require.False(t, dsMust[bool](t)(a.IsDisjoint(ctx, c)))

	// In place: dst is {b, r, d}.
	none := newSet(t, rdb, dsName(t)+"none")
	require.Equal(t, int64(6), dsMust[int64](t)(dst.Update(ctx, c, none)))
	require.Equal(t, int64(4), dsMust[int64](t)(dst.IntersectionUpdate(ctx, a)))
	require.Equal(t, setOf("a", "b", "r", "d"), set(dst.ToSet(ctx)))
	require.Equal(t, int64(3), dsMust[int64](t)(dst.DifferenceUpdate(ctx, c, none, b)))
	require.Equal(t, int64(6), dsMust[int64](t)(dst.SymmetricDifferenceUpdate(ctx, c)))
	require.Equal(t, setOf("b", "r", "d", "a", "z", "q"), set(dst.ToSet(ctx)))

	requireNoTempKeys(t, be)
}

// requireNoTempKeys checks that no staging copy is left on any node.
func requireNoTempKeys(t *testing.T, be dsBackend) {
	t.Helper()
	ctx := context.Background()
	for _, addr := range be.addrs {
		c := redis.NewClient(&redis.Options{Addr: addr})
		keys, err := c.Keys(ctx, "*:tmp:*").Result()
		c.Close()
		require.NoError(t, err)
		require.Empty(t, keys, "temporary keys left on %s", addr)
	}
}

func testSetErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	s := newSet(t, rdb, dsName(t))
	other := newSet(t, rdb, dsName(t)+"other")
	_, err := other.Add(ctx, "x")
	require.NoError(t, err)
	dsOccupy(t, rdb, s.Key())
	for name, op := range map[string]func() error{
		"Add":           func() error { _, err := s.Add(ctx, "a"); return err },
		"Remove":        func() error { return s.Remove(ctx, "a") },
		"ContainsMany":  func() error { _, err := s.ContainsMany(ctx, "a"); return err },
		"Pop":           func() error { _, err := s.Pop(ctx); return err },
		"Union":         func() error { _, err := s.Union(ctx, other); return err },
		"UnionStore":    func() error { _, err := other.UnionStore(ctx, s, other); return err },
		"Update":        func() error { _, err := s.Update(ctx, other); return err },
		"other.Update":  func() error { _, err := other.Update(ctx, s); return err },
		"IsSubset":      func() error { _, err := other.IsSubset(ctx, s); return err },
		"Members":       func() error { _, err := s.ToSet(ctx); return err },
		"SymDiffUpdate": func() error { _, err := s.SymmetricDifferenceUpdate(ctx, other); return err },
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorContains(t, err, s.Key(), name)
	}
	dsUntouched(t, rdb, s.Key())
	require.Equal(t, setOf("x"), dsMust[map[string]struct{}](t)(other.ToSet(ctx)))

	bad := newSet(t, rdb, dsName(t)+"bad")
	require.NoError(t, rdb.SAdd(ctx, bad.Key(), "{not json").Err())
	_, err = bad.ToSet(ctx)
	require.ErrorIs(t, err, collections.ErrDecode)
	require.ErrorContains(t, err, bad.Key())
	_, err = bad.Union(ctx, other)
	require.ErrorIs(t, err, collections.ErrDecode)

	_, err = other.Contains(dsCanceled(), "x")
	require.ErrorIs(t, err, context.Canceled)
	_, err = other.Union(dsCanceled(), bad)
	require.ErrorIs(t, err, context.Canceled)
	_, err = other.Union(ctx, nil)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	_, err = other.RandomSample(ctx, -1)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
}
