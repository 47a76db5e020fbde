package collections_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

func TestSetWith(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("reads", func(t *testing.T) { testSetWithReads(t, be.rdb) })
		t.Run("updates", func(t *testing.T) { testSetWithUpdates(t, be.rdb) })
		t.Run("big", func(t *testing.T) { testSetWithBig(t, be.rdb) })
		t.Run("errors", func(t *testing.T) { testSetWithErrors(t, be.rdb) })
	})
}

func testSetWithReads(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	s := newSet(t, rdb, dsName(t))
	must := dsMust[map[string]struct{}](t)
	// An absent set is empty.
	require.Equal(t, setOf("a"), must(s.UnionWith(ctx, "a", "a")))
	require.Empty(t, must(s.IntersectionWith(ctx, "a")))
	require.Empty(t, must(s.DifferenceWith(ctx, "a")))
	require.Equal(t, setOf("a"), must(s.SymmetricDifferenceWith(ctx, "a")))

	_, err := s.Add(ctx, "a", "b", "c")
	require.NoError(t, err)
	require.Equal(t, setOf("a", "b", "c", "d"), must(s.UnionWith(ctx, "c", "d", "d")))
	require.Equal(t, setOf("b", "c"), must(s.IntersectionWith(ctx, "b", "c", "c", "x")))
	require.Equal(t, setOf("a"), must(s.DifferenceWith(ctx, "b", "c", "x")))
	require.Equal(t, setOf("a", "x"), must(s.SymmetricDifferenceWith(ctx, "b", "c", "x", "x")))
	// Empty operands.
	require.Equal(t, setOf("a", "b", "c"), must(s.UnionWith(ctx)))
	require.Empty(t, must(s.IntersectionWith(ctx)))
	require.Equal(t, setOf("a", "b", "c"), must(s.DifferenceWith(ctx)))
	require.Equal(t, setOf("a", "b", "c"), must(s.SymmetricDifferenceWith(ctx)))
	// An iter.Seq operand.
	require.Equal(t, setOf("a", "b"), must(s.IntersectionWith(ctx, slices.Collect(slices.Values([]string{"a", "b", "z"}))...)))
	require.Equal(t, setOf("a", "b", "c"), must(s.ToSet(ctx)), "reads change nothing")
}

func testSetWithUpdates(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	s := newSet(t, rdb, dsName(t))
	size := dsMust[int64](t)
	require.Equal(t, int64(2), size(s.UpdateWith(ctx, "a", "b", "a")))
	require.Equal(t, int64(2), size(s.UpdateWith(ctx)), "empty")
	require.Equal(t, int64(4), size(s.UpdateWith(ctx, "c", "d")))
	require.Equal(t, int64(4), size(s.UpdateWith(ctx, "c", "d")), "idempotent")
	require.Equal(t, int64(3), size(s.DifferenceUpdateWith(ctx, "d", "x")))
	require.Equal(t, int64(3), size(s.DifferenceUpdateWith(ctx, "d", "x")), "idempotent")
	require.Equal(t, int64(3), size(s.DifferenceUpdateWith(ctx)), "empty")
	require.Equal(t, int64(2), size(s.IntersectionUpdateWith(ctx, "a", "b", "x")))
	require.Equal(t, int64(2), size(s.IntersectionUpdateWith(ctx, "a", "b", "x")), "idempotent")
	require.Equal(t, setOf("a", "b"), dsMust[map[string]struct{}](t)(s.ToSet(ctx)))
	require.Equal(t, int64(3), size(s.SymmetricDifferenceUpdateWith(ctx, "b", "y", "z", "z")))
	require.Equal(t, setOf("a", "y", "z"), dsMust[map[string]struct{}](t)(s.ToSet(ctx)))
	require.Equal(t, int64(3), size(s.SymmetricDifferenceUpdateWith(ctx)), "empty")
	require.Equal(t, int64(0), size(s.SymmetricDifferenceUpdateWith(ctx, "a", "y", "z")))
	require.Equal(t, int64(0), rdb.Exists(ctx, s.Key()).Val(), "an emptied set is gone")

	require.Equal(t, int64(2), size(s.UpdateWith(ctx, "a", "b")))
	require.Equal(t, int64(0), size(s.IntersectionUpdateWith(ctx)), "no members empties s")
	require.Equal(t, int64(0), size(s.IntersectionUpdateWith(ctx, "a")), "absent stays absent")
	require.Equal(t, int64(0), size(s.DifferenceUpdateWith(ctx, "a")))
	require.Equal(t, int64(0), rdb.Exists(ctx, s.Key()).Val())
}

// testSetWithBig: inputs of more than one chunk (1000) inside the script.
func testSetWithBig(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	s, err := collections.NewSet(rdb, dsName(t), collections.SetOptions[int]{})
	require.NoError(t, err)
	size := dsMust[int64](t)
	require.Equal(t, int64(5000), size(s.UpdateWith(ctx, intsFrom(0, 5000)...)))
	got, err := s.IntersectionWith(ctx, intsFrom(2500, 5000)...)
	require.NoError(t, err)
	require.Len(t, got, 2500)
	got, err = s.SymmetricDifferenceWith(ctx, intsFrom(2500, 5000)...)
	require.NoError(t, err)
	require.Len(t, got, 5000)
	require.Equal(t, int64(2500), size(s.IntersectionUpdateWith(ctx, intsFrom(2500, 5000)...)))
	require.Equal(t, int64(3000), size(s.SymmetricDifferenceUpdateWith(ctx, intsFrom(0, 4500)...)), "0..2499 and 4500..4999")
	require.Equal(t, int64(500), size(s.DifferenceUpdateWith(ctx, intsFrom(0, 2500)...)))
	require.Equal(t, int64(0), size(s.DifferenceUpdateWith(ctx, intsFrom(0, 10000)...)))
}

func testSetWithErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	s := newSet(t, rdb, dsName(t))
	dsOccupy(t, rdb, s.Key())
	for name, op := range map[string]func() error{
		"UnionWith":                     func() error { _, err := s.UnionWith(ctx, "a"); return err },
		"IntersectionWith":              func() error { _, err := s.IntersectionWith(ctx); return err },
		"DifferenceWith":                func() error { _, err := s.DifferenceWith(ctx, "a"); return err },
		"SymmetricDifferenceWith":       func() error { _, err := s.SymmetricDifferenceWith(ctx, "a"); return err },
		"UpdateWith":                    func() error { _, err := s.UpdateWith(ctx, "a"); return err },
		"IntersectionUpdateWith":        func() error { _, err := s.IntersectionUpdateWith(ctx); return err },
		"DifferenceUpdateWith":          func() error { _, err := s.DifferenceUpdateWith(ctx, "a"); return err },
		"SymmetricDifferenceUpdateWith": func() error { _, err := s.SymmetricDifferenceUpdateWith(ctx, "a"); return err },
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorContains(t, err, s.Key(), name)
	}
	dsUntouched(t, rdb, s.Key())

	// Undecodable members in Redis: ErrDecode; members that cannot be
	// encoded: an error, nothing sent.
	f, err := collections.NewSet(rdb, dsName(t)+"f", collections.SetOptions[float64]{})
	require.NoError(t, err)
	require.NoError(t, rdb.SAdd(ctx, f.Key(), "not json").Err())
	_, err = f.UnionWith(ctx, 1)
	require.ErrorIs(t, err, collections.ErrDecode)
	_, err = f.UpdateWith(ctx, math.NaN())
	require.Error(t, err)
	require.Equal(t, int64(1), rdb.SCard(ctx, f.Key()).Val())
}

func ExampleSet_IntersectionWith() {
	ctx := context.Background()
	s, _ := collections.NewSet(exampleClient(), "example-set-with", collections.SetOptions[string]{})
	defer s.Clear(ctx)
	_, _ = s.Add(ctx, "go", "lua", "rust")
	common, _ := s.IntersectionWith(ctx, "go", "python", "rust")
	n, _ := s.SymmetricDifferenceUpdateWith(ctx, "lua", "zig")
	fmt.Println(len(common), n)
	// Output: 2 3
}
