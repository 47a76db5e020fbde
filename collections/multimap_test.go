package collections_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

// redisZ is a sorted-set member for raw writes.
func redisZ(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }

func newMultiMap(t testing.TB, rdb redis.UniversalClient, name string) *collections.MultiMapTTL[string] {
	t.Helper()
	m, err := collections.NewMultiMapTTL(rdb, name, collections.MultiMapTTLOptions[string]{})
	require.NoError(t, err)
	return m
}

func TestMultiMapTTL(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("basics", func(t *testing.T) { testMultiMapBasics(t, be.rdb) })
		t.Run("values expire one by one", func(t *testing.T) { testMultiMapExpiry(t, be.rdb) })
		t.Run("errors", func(t *testing.T) { testMultiMapErrors(t, be.rdb) })
		t.Run("fill", func(t *testing.T) { testMultiMapFillSemantics(t, be.rdb) })
		t.Run("fill expiry", func(t *testing.T) { testMultiMapFillExpiry(t, be.rdb) })
		t.Run("fill wrong type keeps the data", func(t *testing.T) { testMultiMapFillWrongType(t, be.rdb) })
	})
}

func testMultiMapBasics(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	m := newMultiMap(t, rdb, dsName(t))
	require.NoError(t, m.Add(ctx, "alice", time.Hour, "s1", "s2"))

	// A brand-new key has a TTL from its first write (multimapwithttl set
	// none), covering its longest-lived value.
	ttl, err := rdb.PTTL(ctx, m.Key("alice")).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 59*time.Minute)
	require.LessOrEqual(t, ttl, time.Hour)
	require.Equal(t, []string{"s1", "s2"}, dsMust[[]string](t)(m.Get(ctx, "alice")))

	require.NoError(t, m.Add(ctx, "alice", 2*time.Hour, "s3"))
	ttl, err = rdb.PTTL(ctx, m.Key("alice")).Result()
	require.NoError(t, err)
	require.Greater(t, ttl, 119*time.Minute, "the key's TTL follows its longest-lived value")

	// The documented order is the one read: the value is the value, the
	// time is its expiry (multimapwithttl documented (value, ts) and read
	// (score, value)).
	at := time.Now().Add(3 * time.Hour).Truncate(time.Millisecond)
	require.NoError(t, m.AddWithExpiry(ctx, "bob", collections.Expiring[string]{Value: "s9", ExpiresAt: at}))
	got := dsMust[[]collections.Expiring[string]](t)(m.GetWithExpiry(ctx, "bob"))
	require.Len(t, got, 1)
	require.Equal(t, "s9", got[0].Value)
	require.True(t, at.Equal(got[0].ExpiresAt), "expiry %v, want %v", got[0].ExpiresAt, at)
	score, err := rdb.ZScore(ctx, m.Key("bob"), `"s9"`).Result()
	require.NoError(t, err)
	require.Equal(t, float64(at.UnixMilli()), score, "stored as member \"s9\" scored by its expiry")
	pexp, err := rdb.PExpireTime(ctx, m.Key("bob")).Result()
	require.NoError(t, err)
	require.Equal(t, at.UnixMilli(), pexp.Milliseconds())

	require.NoError(t, m.AddMany(ctx, time.Hour, map[string][]string{"carol": {"x"}, "dave": {"y", "z"}}))
	many := dsMust[map[string][]string](t)(m.GetMany(ctx, "alice", "carol", "dave", "nobody"))
	require.Equal(t, map[string][]string{"alice": {"s1", "s2", "s3"}, "carol": {"x"}, "dave": {"y", "z"}}, many)
	require.Equal(t, []string{}, dsMust[[]string](t)(m.Get(ctx, "nobody")))

	require.Equal(t, int64(2), dsMust[int64](t)(m.Delete(ctx, "carol", "dave", "nobody")))
	require.Equal(t, map[string][]string{}, dsMust[map[string][]string](t)(m.GetMany(ctx, "carol", "dave")))
}

// Values expire individually, with millisecond TTLs; expired values are
// never returned and are removed by the next write.
func testMultiMapExpiry(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	m := newMultiMap(t, rdb, dsName(t))
	before := time.Now().UnixMilli()
	require.NoError(t, m.Add(ctx, "k", 300*time.Millisecond, "short"))
	after := time.Now().UnixMilli()
	require.NoError(t, m.Add(ctx, "k", time.Hour, "long"))
	require.NoError(t, m.AddWithExpiry(ctx, "k", collections.Expiring[string]{Value: "past", ExpiresAt: time.Now().Add(-time.Second)}))

	// Stored to the millisecond (multimapwithttl worked in whole seconds).
	score, err := rdb.ZScore(ctx, m.Key("k"), `"short"`).Result()
	if err == nil { // unless it expired already on a very slow machine
		require.GreaterOrEqual(t, int64(score), before+300)
		require.LessOrEqual(t, int64(score), after+300)
	}
	_, err = rdb.ZScore(ctx, m.Key("k"), `"past"`).Result()
	require.ErrorIs(t, err, redis.Nil, "a value already expired is not added")

	require.Eventually(t, func() bool {
		vs, err := m.Get(ctx, "k")
		return err == nil && len(vs) == 1 && vs[0] == "long"
	}, 10*time.Second, 10*time.Millisecond, "the 300ms value must expire alone")
	n, err := rdb.ZCard(ctx, m.Key("k")).Result()
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "reads do not write")
	require.NoError(t, m.Add(ctx, "k", time.Hour, "other"))
	n, err = rdb.ZCard(ctx, m.Key("k")).Result()
	require.NoError(t, err)
	require.Equal(t, int64(2), n, "a write removes the expired value")

	// A brand-new key expires with its last value, to the millisecond.
	require.NoError(t, m.Add(ctx, "brief", 700*time.Millisecond, "a", "b"))
	var expireAt *redis.DurationCmd
	var last *redis.ZSliceCmd
	_, err = rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		expireAt = p.PExpireTime(ctx, m.Key("brief"))
		last = p.ZRangeWithScores(ctx, m.Key("brief"), -1, -1)
		return nil
	})
	require.NoError(t, err)
	require.Len(t, last.Val(), 1, "the key is gone already: a stall of 700ms?")
	require.Equal(t, int64(last.Val()[0].Score), expireAt.Val().Milliseconds())
	require.Eventually(t, func() bool {
		n, err := rdb.Exists(ctx, m.Key("brief")).Result()
		return err == nil && n == 0
	}, 10*time.Second, 10*time.Millisecond)
}

func testMultiMapErrors(t *testing.T, rdb redis.UniversalClient) {
	ctx := context.Background()
	m := newMultiMap(t, rdb, dsName(t))
	dsOccupy(t, rdb, m.Key("taken"))
	for name, op := range map[string]func() error{
		"Add":     func() error { return m.Add(ctx, "taken", time.Hour, "a") },
		"AddMany": func() error { return m.AddMany(ctx, time.Hour, map[string][]string{"free": {"a"}, "taken": {"b"}}) },
		"Get":     func() error { _, err := m.Get(ctx, "taken"); return err },
		"Delete":  func() error { _, err := m.Delete(ctx, "free", "taken"); return err },
	} {
		require.ErrorIs(t, op(), collections.ErrWrongType, name)
	}
	dsUntouched(t, rdb, m.Key("taken"))
	n, err := rdb.Exists(ctx, m.Key("free")).Result()
	require.NoError(t, err)
	require.Zero(t, n, "AddMany wrote nothing")

	require.NoError(t, rdb.ZAdd(ctx, m.Key("bad"), redisZ(float64(time.Now().Add(time.Hour).UnixMilli()), "{")).Err())
	_, err = m.Get(ctx, "bad")
	require.ErrorIs(t, err, collections.ErrDecode)
	require.ErrorContains(t, err, m.Key("bad"))

	require.ErrorIs(t, m.Add(ctx, "", time.Hour, "a"), collections.ErrInvalidArgument)
	require.ErrorIs(t, m.Add(ctx, "k", time.Microsecond, "a"), collections.ErrInvalidArgument)
	_, err = m.Get(ctx, "")
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	_, err = m.Get(dsCanceled(), "k")
	require.ErrorIs(t, err, context.Canceled)
	_, err = collections.NewMultiMapTTL(rdb, "", collections.MultiMapTTLOptions[string]{})
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
}
