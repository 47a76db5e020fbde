package collections_test

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
)

// localMultiMap returns a MultiMapTTL of strings on rdb through store's
// local tier (none for a nil store).
func localMultiMap(t *testing.T, rdb redis.UniversalClient, name string, store *cache.Store, keys int) *collections.MultiMapTTL[string] {
	t.Helper()
	m, err := collections.NewMultiMapTTL(rdb, name, collections.MultiMapTTLOptions[string]{
		Options: collections.Options{Local: store}, Codec: codec.String(), LocalKeys: keys})
	require.NoError(t, err)
	return m
}

// localMultiMaps returns the test's MultiMapTTL read through store's local
// copies (of at most keys map keys) on a client whose commands cmds counts,
// and the same map on a plain client.
func localMultiMaps(t *testing.T, be dsBackend, store *cache.Store, keys int) (cmds *dsCommands, local, remote *collections.MultiMapTTL[string]) {
	t.Helper()
	cmds = &dsCommands{}
	local = localMultiMap(t, countedClient(t, be, cmds), dsName(t), store, keys)
	remote = localMultiMap(t, be.client(t), dsName(t), nil, 0)
	return cmds, local, remote
}

// TestLocalMultiMapTTL: with Options.Local, Get, GetWithExpiry and GetMany
// are answered from one local copy per map key, Redis' answers without a
// round trip; a GetMany with map keys not local reads them in one round
// trip; a foreign write is seen once its invalidation arrives, own writes
// (through any value of the Store) at once.
//
// The expiry and the bound are subtests, to share the servers.
func TestLocalMultiMapTTL(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("reads", func(t *testing.T) { testLocalMultiMapReads(t, be) })
		t.Run("expiry", func(t *testing.T) { testLocalMultiMapExpiry(t, be) })
		t.Run("keys bound", func(t *testing.T) { testLocalMultiMapKeysBound(t, be) })
	})
}

func testLocalMultiMapReads(t *testing.T, be dsBackend) {
	ctx := context.Background()
	store := localStore(t, be, cache.StoreOptions{})
	name := dsName(t)
	cmds, local, remote := localMultiMaps(t, be, store, 0)
	require.NoError(t, remote.AddMany(ctx, time.Hour, map[string][]string{"a": {"a1", "a2"}, "b": {"b1"}}))
	require.NoError(t, remote.Add(ctx, "a", 2*time.Hour, "a0"))

	wantMany := dsMust[map[string][]string](t)(remote.GetMany(ctx, "a", "b", "none"))
	wantExp := dsMust[[]collections.Expiring[string]](t)(remote.GetWithExpiry(ctx, "a"))
	require.Equal(t, []string{"a1", "a2", "a0"}, wantMany["a"])
	require.Eventually(t, func() bool {
		before := cmds.n.Load()
		many, err := local.GetMany(ctx, "a", "b", "none")
		if err != nil || !reflect.DeepEqual(many, wantMany) {
			return false
		}
		a, err := local.Get(ctx, "a")
		if err != nil || !reflect.DeepEqual(a, wantMany["a"]) {
			return false
		}
		exp, err := local.GetWithExpiry(ctx, "a")
		return err == nil && reflect.DeepEqual(exp, wantExp) && cmds.n.Load() == before
	}, 10*time.Second, time.Millisecond, "never served locally with Redis' answers")
	none := dsMust[[]string](t)(local.Get(ctx, "none"))
	require.Equal(t, []string{}, none, "a key without values: an empty slice, locally too")

	// Map keys not local yet: one round trip for all of them.
	require.NoError(t, remote.Add(ctx, "c", time.Hour, "c1"))
	before := cmds.n.Load()
	many := dsMust[map[string][]string](t)(local.GetMany(ctx, "a", "c", "d", "b"))
	require.Equal(t, int64(1), cmds.n.Load()-before, "map keys c and d read in one round trip")
	require.Equal(t, map[string][]string{"a": {"a1", "a2", "a0"}, "b": {"b1"}, "c": {"c1"}}, many)

	// A foreign write: seen once its invalidation arrives.
	require.NoError(t, remote.Add(ctx, "a", time.Hour, "foreign"))
	require.Eventually(t, func() bool {
		vs, err := local.Get(ctx, "a")
		return err == nil && len(vs) == 4
	}, 10*time.Second, time.Millisecond, "the foreign write was never seen")

	// Own writes, through this value or another of the Store: at once.
	other := localMultiMap(t, be.client(t), name, store, 0)
	for _, w := range []struct {
		name  string
		write func() error
		key   string
		want  []string
	}{
		{"Add", func() error { return local.Add(ctx, "b", 2*time.Hour, "b2") }, "b", []string{"b1", "b2"}},
		{"AddWithExpiry", func() error {
			return local.AddWithExpiry(ctx, "b", collections.Expiring[string]{Value: "b3", ExpiresAt: time.Now().Add(3 * time.Hour)})
		}, "b", []string{"b1", "b2", "b3"}},
		{"other's Add", func() error { return other.Add(ctx, "b", 4*time.Hour, "b4") }, "b", []string{"b1", "b2", "b3", "b4"}},
		{"Replace", func() error { return local.Replace(ctx, time.Hour, map[string][]string{"b": {"r"}}) }, "b", []string{"r"}},
		{"Delete", func() error { _, err := local.Delete(ctx, "b"); return err }, "b", []string{}},
		{"Create", func() error { return local.Create(ctx, time.Hour, map[string][]string{"b": {"new"}}) }, "b", []string{"new"}},
		{"other's Replace", func() error { return other.Replace(ctx, time.Hour, map[string][]string{"b": nil}) }, "b", []string{}},
		{"other's Create", func() error { return other.Create(ctx, time.Hour, map[string][]string{"b": {"o"}}) }, "b", []string{"o"}},
	} {
		require.NoError(t, w.write(), w.name)
		require.Equal(t, w.want, dsMust[[]string](t)(local.Get(ctx, w.key)), "%s not seen at once", w.name)
		require.Equal(t, w.want, dsMust[[]string](t)(local.Get(ctx, w.key)), "%s not seen at once", w.name)
	}
	require.Positive(t, local.Local().Kept)
	require.Zero(t, remote.Local(), "no Options.Local: no counters")

	// Errors are Redis' own: another type, an undecodable value.
	dsOccupy(t, be.rdb, local.Key("taken"))
	_, err := local.Get(ctx, "taken")
	require.ErrorIs(t, err, collections.ErrWrongType)
	_, err = local.GetMany(ctx, "a", "taken")
	require.ErrorIs(t, err, collections.ErrWrongType)
	js := dsMust[*collections.MultiMapTTL[string]](t)(collections.NewMultiMapTTL(be.rdb, name,
		collections.MultiMapTTLOptions[string]{Options: collections.Options{Local: store}})) // JSON
	require.NoError(t, be.rdb.ZAdd(ctx, js.Key("bad"), redisZ(float64(time.Now().Add(time.Hour).UnixMilli()), "{")).Err())
	for range 2 {
		_, err = js.GetWithExpiry(ctx, "bad")
		require.ErrorIs(t, err, collections.ErrDecode)
	}
}

// testLocalMultiMapExpiry: a value whose expiry passes is not returned from
// the local copy, which is still held (the reads stay local): the local
// clock of the expiry checks is moved ahead (Redis' TTLs are not).
func testLocalMultiMapExpiry(t *testing.T, be dsBackend) {
	ctx := context.Background()
	cmds, local, remote := localMultiMaps(t, be, localStore(t, be, cache.StoreOptions{}), 0)
	var ahead atomic.Int64
	collections.SetMultiMapClock(local, func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) })
	require.NoError(t, remote.Add(ctx, "k", time.Minute, "short"))
	require.NoError(t, remote.Add(ctx, "k", time.Hour, "long"))
	require.NoError(t, remote.Add(ctx, "other", time.Minute, "gone"))

	require.Eventually(t, func() bool {
		before := cmds.n.Load()
		vs, err := local.GetMany(ctx, "k", "other")
		return err == nil && len(vs["k"]) == 2 && len(vs["other"]) == 1 && cmds.n.Load() == before
	}, 10*time.Second, time.Millisecond, "never served locally")

	// Two minutes on: "short" and "gone" have expired, locally.
	ahead.Store(int64(2 * time.Minute))
	before := cmds.n.Load()
	require.Equal(t, []string{"long"}, dsMust[[]string](t)(local.Get(ctx, "k")))
	exp := dsMust[[]collections.Expiring[string]](t)(local.GetWithExpiry(ctx, "k"))
	require.Len(t, exp, 1)
	require.Equal(t, "long", exp[0].Value)
	require.Equal(t, map[string][]string{"k": {"long"}}, dsMust[map[string][]string](t)(local.GetMany(ctx, "k", "other")))
	require.Equal(t, []string{}, dsMust[[]string](t)(local.Get(ctx, "other")))
	require.Equal(t, before, cmds.n.Load(), "the copies were not held: the test tested nothing")

	// Two hours on: nothing is live.
	ahead.Store(int64(2 * time.Hour))
	require.Empty(t, dsMust[map[string][]string](t)(local.GetMany(ctx, "k", "other")))
	require.Equal(t, before, cmds.n.Load())
}

// testLocalMultiMapKeysBound: a MultiMapTTL keeps copies of at most
// LocalKeys map keys, the ones read last; a GetMany of more keys than that
// is one round trip and keeps none.
func testLocalMultiMapKeysBound(t *testing.T, be dsBackend) {
	ctx := context.Background()
	cmds, local, remote := localMultiMaps(t, be, localStore(t, be, cache.StoreOptions{}), 2)
	require.NoError(t, remote.AddMany(ctx, time.Hour, map[string][]string{"a": {"1"}, "b": {"2"}, "c": {"3"}}))
	servedLocally := func(keys ...string) bool {
		before := cmds.n.Load()
		_, err := local.GetMany(ctx, keys...)
		require.NoError(t, err)
		return cmds.n.Load() == before
	}
	require.Eventually(t, func() bool { return servedLocally("a", "b") }, 10*time.Second, time.Millisecond)
	require.Eventually(t, func() bool { return servedLocally("c") }, 10*time.Second, time.Millisecond)
	require.True(t, servedLocally("c", "b"), "the last two read stay local")
	require.False(t, servedLocally("a"), "a was dropped for c")

	loads := local.Local().Loads
	before := cmds.n.Load()
	require.Equal(t, map[string][]string{"a": {"1"}, "b": {"2"}, "c": {"3"}},
		dsMust[map[string][]string](t)(local.GetMany(ctx, "a", "b", "c", "d")))
	require.Equal(t, int64(1), cmds.n.Load()-before, "one round trip")
	require.Equal(t, loads, local.Local().Loads, "more keys than LocalKeys: none kept")
}
