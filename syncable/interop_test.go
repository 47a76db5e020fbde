package syncable_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/syncable"
)

// The contract with the collections package: for the same data, a Sync
// leaves Redis byte for byte what the collections type writes, and each
// reads what the other wrote. Each test writes the data once with
// collections under one name and once with syncable under another, and
// compares the raw Redis values; then it reads each side's key with the
// other package.

type point struct {
	X, Y int
}

// rawHash returns a hash's fields and values as they are in Redis.
func rawHash(t *testing.T, rdb *redis.Client, key string) map[string]string {
	t.Helper()
	m, err := rdb.HGetAll(context.Background(), key).Result()
	require.NoError(t, err)
	return m
}

func TestInteropDict(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	data := map[point][]string{{1, 2}: {"a", "b"}, {3, 4}: nil, {-5, 0}: {"é", "\x00"}}

	cd, err := collections.NewDict[point, []string](rdb, "c", collections.DictOptions[point, []string]{})
	require.NoError(t, err)
	require.NoError(t, cd.SetMany(ctx, data))
	sd, err := syncable.NewDict[point, []string](rdb, "s", syncable.DictOptions[point, []string]{})
	require.NoError(t, err)
	for k, v := range data {
		sd.Set(k, v)
	}
	require.NoError(t, sd.Sync(ctx))

	require.Equal(t, cd.Key()[:len(cd.Key())-len("{c}:dict")], sd.Key()[:len(sd.Key())-len("{s}:dict")], "same prefix")
	require.Equal(t, rawHash(t, rdb, cd.Key()), rawHash(t, rdb, sd.Key()), "raw hashes")

	// collections reads what syncable wrote...
	cs, err := collections.NewDict[point, []string](rdb, "s", collections.DictOptions[point, []string]{})
	require.NoError(t, err)
	got, err := cs.ToMap(ctx)
	require.NoError(t, err)
	require.Equal(t, data, got)
	// ...and syncable what collections wrote.
	sc, err := syncable.NewDict[point, []string](rdb, "c", syncable.DictOptions[point, []string]{})
	require.NoError(t, err)
	require.NoError(t, sc.Load(ctx))
	require.Equal(t, len(data), sc.Len())
	for k, v := range data {
		g, ok := sc.Get(k)
		require.True(t, ok, "key %v", k)
		require.Equal(t, v, g)
	}
}

func TestInteropDefaultDict(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	opts := collections.DefaultDictOptions[string, int]{Default: func() int { return 7 }}
	cd, err := collections.NewDefaultDict(rdb, "c", opts)
	require.NoError(t, err)
	sd, err := syncable.NewDefaultDict(rdb, "s", syncable.DefaultDictOptions[string, int]{Default: opts.Default})
	require.NoError(t, err)
	for _, k := range []string{"x", "y"} {
		_, err := cd.Get(ctx, k)
		require.NoError(t, err)
		sd.Get(k)
	}
	require.NoError(t, sd.Sync(ctx))
	require.Equal(t, rawHash(t, rdb, cd.Key()), rawHash(t, rdb, sd.Key()))
	require.Equal(t, map[string]string{`"x"`: "7", `"y"`: "7"}, rawHash(t, rdb, sd.Key()))
}

func TestInteropCounter(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	cc, err := collections.NewCounter[string](rdb, "c", collections.CounterOptions[string]{})
	require.NoError(t, err)
	require.NoError(t, cc.Update(ctx, map[string]int64{"a": 3, "b": -2, "zero": 0, "big": 1 << 62}))
	sc, err := syncable.NewCounter[string](rdb, "s", syncable.CounterOptions[string]{})
	require.NoError(t, err)
	sc.Update(map[string]int64{"a": 3, "b": -2, "zero": 0, "big": 1 << 62})
	require.NoError(t, sc.Sync(ctx))
	require.Equal(t, rawHash(t, rdb, cc.Key()), rawHash(t, rdb, sc.Key()))

	back, err := syncable.NewCounter[string](rdb, "c", syncable.CounterOptions[string]{})
	require.NoError(t, err)
	require.NoError(t, back.Load(ctx))
	require.Equal(t, int64(1<<62+1), back.Total())
	cs, err := collections.NewCounter[string](rdb, "s", collections.CounterOptions[string]{})
	require.NoError(t, err)
	mc, err := cs.MostCommon(ctx, 0)
	require.NoError(t, err)
	smc, err := back.MostCommon(0)
	require.NoError(t, err)
	require.Equal(t, mc, smc, "MostCommon orders alike")
}

func TestInteropSet(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	members := []point{{1, 1}, {2, 3}, {0, 0}}
	cs, err := collections.NewSet[point](rdb, "c", collections.SetOptions[point]{})
	require.NoError(t, err)
	_, err = cs.Add(ctx, members...)
	require.NoError(t, err)
	ss, err := syncable.NewSet[point](rdb, "s", syncable.SetOptions[point]{})
	require.NoError(t, err)
	ss.Add(members...)
	require.NoError(t, ss.Sync(ctx))
	a, err := rdb.SMembers(ctx, cs.Key()).Result()
	require.NoError(t, err)
	b, err := rdb.SMembers(ctx, ss.Key()).Result()
	require.NoError(t, err)
	require.ElementsMatch(t, a, b)

	back, err := syncable.NewSet[point](rdb, "c", syncable.SetOptions[point]{})
	require.NoError(t, err)
	require.NoError(t, back.Load(ctx))
	for _, m := range members {
		require.True(t, back.Contains(m))
	}
	other, err := collections.NewSet[point](rdb, "s", collections.SetOptions[point]{})
	require.NoError(t, err)
	got, err := other.ToSet(ctx)
	require.NoError(t, err)
	require.Len(t, got, len(members))
}

func TestInteropListAndDeque(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	elems := []point{{1, 2}, {1, 2}, {3, 4}, {0, -1}}

	cl, err := collections.NewList[point](rdb, "c", collections.ListOptions[point]{})
	require.NoError(t, err)
	_, err = cl.Extend(ctx, elems...)
	require.NoError(t, err)
	sl, err := syncable.NewList[point](rdb, "s", syncable.ListOptions[point]{})
	require.NoError(t, err)
	sl.Append(elems...)
	require.NoError(t, sl.Sync(ctx))
	require.Equal(t, rdb.LRange(ctx, cl.Key(), 0, -1).Val(), rdb.LRange(ctx, sl.Key(), 0, -1).Val())
	back, err := syncable.NewList[point](rdb, "c", syncable.ListOptions[point]{})
	require.NoError(t, err)
	require.NoError(t, back.Load(ctx))
	require.Equal(t, elems, back.Slice())
	fwd, err := collections.NewList[point](rdb, "s", collections.ListOptions[point]{})
	require.NoError(t, err)
	got, err := fwd.Range(ctx, 0, -1)
	require.NoError(t, err)
	require.Equal(t, elems, got)

	// A Deque with MaxLen 3: both drop from the other end.
	dopts := collections.DequeOptions[point]{MaxLen: 3}
	cq, err := collections.NewDeque(rdb, "c", dopts)
	require.NoError(t, err)
	sq, err := syncable.NewDeque(rdb, "s", syncable.DequeOptions[point]{DequeOptions: dopts})
	require.NoError(t, err)
	for _, e := range elems {
		_, err := cq.Append(ctx, e)
		require.NoError(t, err)
		sq.Append(e)
	}
	_, err = cq.AppendLeft(ctx, point{9, 9})
	require.NoError(t, err)
	sq.AppendLeft(point{9, 9})
	require.NoError(t, sq.Sync(ctx))
	require.Equal(t, rdb.LRange(ctx, cq.Key(), 0, -1).Val(), rdb.LRange(ctx, sq.Key(), 0, -1).Val())
	require.Equal(t, []string{`{"X":9,"Y":9}`, `{"X":1,"Y":2}`, `{"X":3,"Y":4}`}, rdb.LRange(ctx, sq.Key(), 0, -1).Val())
}
