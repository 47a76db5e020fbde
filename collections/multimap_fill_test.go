package collections_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

// Create and Replace of a MultiMapTTL (subtests of TestMultiMapTTL) and of
// a ReliableQueue (of TestFill).

func testMultiMapFillSemantics(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	m := newMultiMap(t, rdb, dsName(t))
	exists := func(key string) bool {
		t.Helper()
		return dsMust[int64](t)(rdb.Exists(ctx, m.Key(key)).Result()) == 1
	}
	get := func(keys ...string) map[string][]string {
		t.Helper()
		return dsMust[map[string][]string](t)(m.GetMany(ctx, keys...))
	}

	// Empty input: nothing to do; a key with no values is only checked.
	require.NoError(t, m.Create(ctx, time.Hour, nil))
	require.NoError(t, m.Replace(ctx, time.Hour, nil))
	require.NoError(t, m.CreateWithExpiry(ctx, nil))
	require.NoError(t, m.Create(ctx, time.Hour, map[string][]string{"a": {}}))
	require.False(t, exists("a"))

	require.NoError(t, m.Create(ctx, time.Hour, map[string][]string{"a": {"x", "y"}, "b": {"z"}}))
	require.Equal(t, map[string][]string{"a": {"x", "y"}, "b": {"z"}}, get("a", "b"))
	ttl := dsMust[time.Duration](t)(rdb.PTTL(ctx, m.Key("a")).Result())
	require.Greater(t, ttl, 59*time.Minute)
	require.LessOrEqual(t, ttl, time.Hour)

	// One of the keys exists: ErrExists naming it, nothing written.
	err := m.Create(ctx, time.Hour, map[string][]string{"c": {"w"}, "b": {"q"}})
	require.ErrorIs(t, err, collections.ErrExists)
	require.ErrorContains(t, err, m.Key("b"))
	require.ErrorIs(t, m.Create(ctx, time.Hour, map[string][]string{"a": nil}), collections.ErrExists)
	require.False(t, exists("c"), "nothing written")
	require.Equal(t, map[string][]string{"a": {"x", "y"}, "b": {"z"}}, get("a", "b", "c"))

	// Replace: the given keys get exactly their values, a key with none is
	// deleted, the others are left alone.
	require.NoError(t, m.Replace(ctx, 2*time.Hour, map[string][]string{"a": {"n"}, "b": {}, "c": {"c1", "c2"}}))
	require.Equal(t, map[string][]string{"a": {"n"}, "c": {"c1", "c2"}}, get("a", "b", "c"))
	require.False(t, exists("b"))
	require.Greater(t, dsMust[time.Duration](t)(rdb.PTTL(ctx, m.Key("a")).Result()), 119*time.Minute)
	require.NoError(t, m.Replace(ctx, 2*time.Hour, map[string][]string{"a": {"n"}}), "the same replace again")
	require.Equal(t, map[string][]string{"a": {"n"}}, get("a"))
	require.NoError(t, m.Replace(ctx, time.Hour, map[string][]string{"a": nil, "c": nil}))
	require.Empty(t, get("a", "b", "c"))
	require.NoError(t, m.Create(ctx, time.Hour, map[string][]string{"a": {"again"}}), "Create after a Replace that deleted")
	require.Equal(t, map[string][]string{"a": {"again"}}, get("a"))

	require.ErrorIs(t, m.Create(ctx, time.Microsecond, map[string][]string{"k": {"v"}}), collections.ErrInvalidArgument)
	require.ErrorIs(t, m.Replace(ctx, time.Microsecond, map[string][]string{"k": {"v"}}), collections.ErrInvalidArgument)
	require.ErrorIs(t, m.Create(ctx, time.Hour, map[string][]string{"": {"v"}}), collections.ErrInvalidArgument)
	require.ErrorIs(t, m.ReplaceWithExpiry(ctx, map[string][]collections.Expiring[string]{"": nil}), collections.ErrInvalidArgument)
}

// The expiry rules of Add hold: the server's clock, expired values never
// added, each key expiring with its longest-lived value; a key holding
// only expired values does not exist for Create.
func testMultiMapFillExpiry(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	m := newMultiMap(t, rdb, dsName(t))
	now := time.Now()
	in := func(d time.Duration) time.Time { return now.Add(d).Truncate(time.Millisecond) }
	exp := func(v string, at time.Time) collections.Expiring[string] {
		return collections.Expiring[string]{Value: v, ExpiresAt: at}
	}

	// Only expired values (left there by a raw write): Create may fill it,
	// and the expired value goes.
	require.NoError(t, rdb.ZAdd(ctx, m.Key("stale"), redisZ(float64(in(-time.Hour).UnixMilli()), `"old"`)).Err())
	require.NoError(t, m.CreateWithExpiry(ctx, map[string][]collections.Expiring[string]{
		"stale": {exp("new", in(time.Hour)), exp("past", in(-time.Second))},
	}))
	require.Equal(t, []string{`"new"`}, dsMust[[]string](t)(rdb.ZRange(ctx, m.Key("stale"), 0, -1).Result()))
	require.Equal(t, in(time.Hour).UnixMilli(), dsMust[time.Duration](t)(rdb.PExpireTime(ctx, m.Key("stale")).Result()).Milliseconds())

	// Replace with its own expiries; a value given twice keeps its last,
	// and the key expires with it, not with the longer one given first.
	require.NoError(t, m.ReplaceWithExpiry(ctx, map[string][]collections.Expiring[string]{
		"k": {exp("x", in(3*time.Hour)), exp("y", in(time.Hour)), exp("x", in(2*time.Hour))},
	}))
	got := dsMust[[]collections.Expiring[string]](t)(m.GetWithExpiry(ctx, "k"))
	require.Len(t, got, 2)
	require.Equal(t, "y", got[0].Value)
	require.True(t, in(2*time.Hour).Equal(got[1].ExpiresAt), "x expires at %v", got[1].ExpiresAt)
	require.Equal(t, in(2*time.Hour).UnixMilli(), dsMust[time.Duration](t)(rdb.PExpireTime(ctx, m.Key("k")).Result()).Milliseconds())

	// Replace with only expired values deletes the key.
	require.NoError(t, m.ReplaceWithExpiry(ctx, map[string][]collections.Expiring[string]{"k": {exp("x", in(-time.Second))}}))
	require.Zero(t, dsMust[int64](t)(rdb.Exists(ctx, m.Key("k")).Result()))
}

func testMultiMapFillWrongType(t *testing.T, rdb redis.UniversalClient) {
	ctx := t.Context()
	m := newMultiMap(t, rdb, dsName(t))
	dsOccupy(t, rdb, m.Key("taken"))
	both := map[string][]string{"free": {"a"}, "taken": {"b"}}
	require.ErrorIs(t, m.Create(ctx, time.Hour, both), collections.ErrWrongType)
	require.ErrorIs(t, m.Replace(ctx, time.Hour, both), collections.ErrWrongType)
	require.ErrorIs(t, m.Create(ctx, time.Hour, map[string][]string{"taken": nil}), collections.ErrWrongType)
	require.ErrorIs(t, m.Replace(ctx, time.Hour, map[string][]string{"taken": nil}), collections.ErrWrongType)
	require.ErrorIs(t, m.ReplaceWithExpiry(ctx, map[string][]collections.Expiring[string]{
		"taken": {{Value: "c", ExpiresAt: time.Now().Add(time.Hour)}}}), collections.ErrWrongType)
	dsUntouched(t, rdb, m.Key("taken"))
	require.Zero(t, dsMust[int64](t)(rdb.Exists(ctx, m.Key("free")).Result()), "nothing written")
}

func testFillReliableQueue(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	q, err := collections.NewReliableQueue(rdb, dsName(t), collections.QueueOptions[string]{})
	require.NoError(t, err)
	require.NoError(t, q.Create(ctx))
	require.Zero(t, dsMust[int64](t)(q.Len(ctx)), "no items: only checks")
	require.NoError(t, q.Create(ctx, "a", "b"))
	require.ErrorIs(t, q.Create(ctx, "x"), collections.ErrExists)
	d := dsMust[*collections.Delivery[string]](t)(q.TryGet(ctx))
	require.Equal(t, "a", d.Value)
	require.NoError(t, q.Replace(ctx, "c", "d"))
	require.Equal(t, int64(2), dsMust[int64](t)(q.Len(ctx)))
	require.Equal(t, int64(1), dsMust[int64](t)(q.InFlight(ctx)), "the delivery in flight stays")
	require.NoError(t, d.Ack(ctx))
	for _, want := range []string{"c", "d"} {
		d := dsMust[*collections.Delivery[string]](t)(q.TryGet(ctx))
		require.Equal(t, want, d.Value)
		require.NoError(t, d.Ack(ctx))
	}
	dsOccupy(t, rdb, q.Key())
	require.ErrorIs(t, q.Create(ctx, "x"), collections.ErrWrongType)
	require.ErrorIs(t, q.Replace(ctx, "x"), collections.ErrWrongType)
	dsUntouched(t, rdb, q.Key())
}
