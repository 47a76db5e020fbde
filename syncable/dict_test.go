package syncable_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/syncable"
)

// strOpts are Dict options with the String codecs, so that tests can read
// and write the hash with plain commands.
var strOpts = syncable.DictOptions[string, string]{DictOptions: collections.DictOptions[string, string]{
	KeyCodec: codec.String(), Codec: codec.String(),
}}

func newStrDict(t *testing.T, rdb redis.UniversalClient, name string) *syncable.Dict[string, string] {
	t.Helper()
	d, err := syncable.NewDict(rdb, name, strOpts)
	require.NoError(t, err)
	return d
}

func TestDictInMemory(t *testing.T) {
	rdb := start(t)
	d := newStrDict(t, rdb, "mem")
	d.Set("a", "1")
	d.Set("b", "2")
	require.True(t, d.Delete("b"))
	require.False(t, d.Delete("b"))
	v, ok := d.Get("a")
	require.True(t, ok)
	require.Equal(t, "1", v)
	require.Equal(t, 1, d.Len())
	require.Zero(t, rdb.Exists(context.Background(), d.Key()).Val(), "nothing reaches Redis before Sync")
}

func TestSyncEmptyDeletesTheKey(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	d := newStrDict(t, rdb, "e")
	d.Set("a", "1")
	require.NoError(t, d.Sync(ctx))
	require.Equal(t, int64(2), rdb.Exists(ctx, d.Key(), d.Key()+":syncver").Val(), "the hash and its version")

	d.Clear()
	require.NoError(t, d.Sync(ctx))
	require.Zero(t, rdb.Exists(ctx, d.Key(), d.Key()+":syncver").Val(), "both keys gone")

	// An empty dict that never held anything: a Sync writes nothing, fails
	// nothing (redis-collections raised "no such key" here).
	e := newStrDict(t, rdb, "never")
	require.NoError(t, e.Sync(ctx))
	require.Zero(t, rdb.Exists(ctx, e.Key()).Val())

	// Every type.
	s, err := syncable.NewSet[int](rdb, "e", syncable.SetOptions[int]{})
	require.NoError(t, err)
	l, err := syncable.NewList[int](rdb, "e", syncable.ListOptions[int]{})
	require.NoError(t, err)
	q, err := syncable.NewDeque[int](rdb, "e", syncable.DequeOptions[int]{})
	require.NoError(t, err)
	c, err := syncable.NewCounter[int](rdb, "e", syncable.CounterOptions[int]{})
	require.NoError(t, err)
	s.Add(1, 2)
	l.Append(1, 2)
	q.Append(1)
	c.Incr(5)
	for _, x := range []syncable.Syncer{s, l, q, c} {
		require.NoError(t, x.Sync(ctx))
	}
	require.Equal(t, int64(4), rdb.Exists(ctx, s.Key(), l.Key(), q.Key(), c.Key()).Val())
	s.Clear()
	l.Clear()
	q.Clear()
	c.Clear()
	for _, x := range []syncable.Syncer{s, l, q, c} {
		require.NoError(t, x.Sync(ctx))
	}
	require.Zero(t, rdb.Exists(ctx, s.Key(), l.Key(), q.Key(), c.Key()).Val())
	keys, err := rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	require.Empty(t, keys, "no key left behind, version keys included")
}

func TestRoundTrips(t *testing.T) {
	ctx := context.Background()
	rdb, rt := counted(t, start(t))
	const n, chunk = 10_000, 1000
	d, err := syncable.NewDict(rdb, "rt", syncable.DictOptions[string, string]{DictOptions: strOpts.DictOptions, LoadChunk: chunk})
	require.NoError(t, err)
	for i := range n {
		d.Set(fmt.Sprint(i), "v")
	}
	require.Equal(t, int64(1), rt.count(func() { require.NoError(t, d.Sync(ctx)) }), "Sync of %d new fields", n)
	d.Set("1", "changed")
	require.Equal(t, int64(1), rt.count(func() { require.NoError(t, d.Sync(ctx)) }), "Sync of one change")
	require.Equal(t, int64(1), rt.count(func() { require.NoError(t, d.Sync(ctx)) }), "Sync of no change")

	loads := rt.count(func() { require.NoError(t, d.Load(ctx)) })
	// COUNT is a hint: HSCAN returns about chunk fields a call, a few
	// more or fewer as the table's buckets fall (11 calls for 10 chunks
	// were seen), so about n/chunk calls.
	require.LessOrEqual(t, loads, int64(2*n/chunk), "Load of %d fields by %d", n, chunk)
	require.Greater(t, loads, int64(1), "a large dict loads in chunks")
	require.Equal(t, n, d.Len())

	l, err := syncable.NewList[int](rdb, "rt", syncable.ListOptions[int]{LoadChunk: chunk})
	require.NoError(t, err)
	for i := range n + 1 {
		l.Append(i)
	}
	require.Equal(t, int64(1), rt.count(func() { require.NoError(t, l.Sync(ctx)) }))
	require.Equal(t, int64(n/chunk+1), rt.count(func() { require.NoError(t, l.Load(ctx)) }), "list chunks are exact")

	small := newStrDict(t, rdb, "small")
	small.Set("a", "b")
	require.NoError(t, small.Sync(ctx))
	require.Equal(t, int64(1), rt.count(func() { require.NoError(t, small.Load(ctx)) }), "a small dict loads in one")
}

// TestSyncSendsOnlyChanges: a Sync after one change to a 10 000-field dict
// sends a command of a few arguments, not the dict.
func TestSyncSendsOnlyChanges(t *testing.T) {
	ctx := context.Background()
	rdb, rt := counted(t, start(t))
	d := newStrDict(t, rdb, "delta")
	for i := range 10_000 {
		d.Set(fmt.Sprint(i), "v")
	}
	require.NoError(t, d.Sync(ctx))
	require.Greater(t, rt.args.Load(), int64(20_000), "the first Sync sends every pair")

	d.Set("5", "new")       // changed: field, old, new
	d.Delete("6")           // deleted: field, old
	d.Set("added", "value") // added: field, value
	require.NoError(t, d.Sync(ctx))
	// EVAL, script, numkeys, 2 keys, 8 header arguments, 7 for the changes.
	require.Equal(t, int64(3+2+8+7), rt.args.Load())

	c, err := collections.NewDict(rdb, "delta", strOpts.DictOptions)
	require.NoError(t, err)
	got, err := c.ToMap(ctx)
	require.NoError(t, err)
	require.Len(t, got, 10_000)
	require.Equal(t, "new", got["5"])
	require.Equal(t, "value", got["added"])
	require.NotContains(t, got, "6")
}

func TestConflicts(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	c, err := collections.NewDict(rdb, "cf", strOpts.DictOptions)
	require.NoError(t, err)
	require.NoError(t, c.SetMany(ctx, map[string]string{"a": "1", "b": "2", "c": "3"}))

	load := func() *syncable.Dict[string, string] {
		d := newStrDict(t, rdb, "cf")
		require.NoError(t, d.Load(ctx))
		return d
	}
	state := func() map[string]string {
		m, err := c.ToMap(ctx)
		require.NoError(t, err)
		return m
	}

	t.Run("another Sync", func(t *testing.T) {
		x, y := load(), load()
		x.Set("a", "x")
		require.NoError(t, x.Sync(ctx))
		y.Set("z", "y") // another field: the version still tells
		require.ErrorIs(t, y.Sync(ctx), syncable.ErrConflict)
		require.Equal(t, "x", state()["a"])
		require.NotContains(t, state(), "z", "nothing written")
		require.NoError(t, y.SyncOverwrite(ctx))
		require.Equal(t, map[string]string{"a": "1", "b": "2", "c": "3", "z": "y"}, state(), "overwrite wins")
	})

	t.Run("foreign write to a changed field", func(t *testing.T) {
		d := load()
		require.NoError(t, c.Set(ctx, "b", "foreign"))
		d.Set("b", "mine")
		err := d.Sync(ctx)
		require.ErrorIs(t, err, syncable.ErrConflict)
		require.Contains(t, err.Error(), `"b"`)
		require.Equal(t, "foreign", state()["b"])
	})

	t.Run("foreign write to a deleted field", func(t *testing.T) {
		d := load()
		require.NoError(t, c.Set(ctx, "c", "foreign"))
		d.Delete("c")
		require.ErrorIs(t, d.Sync(ctx), syncable.ErrConflict)
		require.Equal(t, "foreign", state()["c"])
	})

	t.Run("foreign add of an added field", func(t *testing.T) {
		d := load()
		_, err := c.Delete(ctx, "a") // keep the length
		require.NoError(t, err)
		require.NoError(t, c.Set(ctx, "new", "foreign"))
		d.Set("new", "mine")
		d.Set("a", state()["a"]) // unchanged for d? no: d still has a
		require.ErrorIs(t, d.Sync(ctx), syncable.ErrConflict)
		require.Equal(t, "foreign", state()["new"])
	})

	t.Run("foreign length change", func(t *testing.T) {
		d := load()
		require.NoError(t, c.Set(ctx, "other", "foreign"))
		d.Set("b", "mine") // a field the foreign write did not touch
		err := d.Sync(ctx)
		require.ErrorIs(t, err, syncable.ErrConflict)
		require.Contains(t, err.Error(), "length")
	})

	t.Run("undetected: foreign write to a field the Sync leaves alone", func(t *testing.T) {
		d := load()
		before := state()
		require.NoError(t, c.Set(ctx, "b", "foreign2")) // same length, a field d does not change
		d.Set("a", "mine")
		require.NoError(t, d.Sync(ctx))
		want := before
		want["a"], want["b"] = "mine", "foreign2"
		require.Equal(t, want, state(), "the foreign write survives: a merge")
	})

	t.Run("no change still checks", func(t *testing.T) {
		d := load()
		x := load()
		x.Set("a", "again")
		require.NoError(t, x.Sync(ctx))
		require.ErrorIs(t, d.Sync(ctx), syncable.ErrConflict, "a Sync with nothing to write reports the conflict")
	})
}

func TestWith(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	d := newStrDict(t, rdb, "with")
	require.NoError(t, syncable.With(ctx, d, func() error {
		d.Set("a", "1")
		return nil
	}))
	require.Equal(t, "1", rdb.HGet(ctx, d.Key(), "a").Val())

	boom := errors.New("boom")
	err := syncable.With(ctx, d, func() error {
		d.Set("a", "2")
		d.Set("b", "2")
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, map[string]string{"a": "1"}, rawHash(t, rdb, d.Key()), "Redis untouched on error")

	// The next With loads again: fn's unsynced changes are gone.
	require.NoError(t, syncable.With(ctx, d, func() error {
		_, ok := d.Get("b")
		require.False(t, ok)
		return nil
	}))

	require.Panics(t, func() {
		_ = syncable.With(ctx, d, func() error {
			d.Set("a", "panic")
			panic("boom")
		})
	})
	require.Equal(t, map[string]string{"a": "1"}, rawHash(t, rdb, d.Key()), "Redis untouched on panic")
}

func TestLoadErrors(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	require.NoError(t, rdb.Set(ctx, "tc:{str}:dict", "a string", 0).Err())
	d := newStrDict(t, rdb, "str")
	require.ErrorIs(t, d.Load(ctx), syncable.ErrWrongType)
	require.ErrorIs(t, d.Load(ctx), cache.ErrWrongType, "one wrong type for every package")
	d.Set("a", "b")
	require.ErrorIs(t, d.Sync(ctx), syncable.ErrWrongType)
	require.ErrorIs(t, d.SyncOverwrite(ctx), syncable.ErrWrongType)
	require.Equal(t, "a string", rdb.Get(ctx, "tc:{str}:dict").Val(), "nothing overwritten")

	// A value the codec refuses: Load fails and the map is unchanged.
	require.NoError(t, rdb.HSet(ctx, "tc:{bad}:dict", `"k"`, "not json").Err())
	j, err := syncable.NewDict[string, int](rdb, "bad", syncable.DictOptions[string, int]{})
	require.NoError(t, err)
	j.Set("mine", 1)
	require.ErrorIs(t, j.Load(ctx), syncable.ErrDecode)
	require.Equal(t, 1, j.Len())

	// A chunked load that fails midway deletes its snapshot.
	for i := range 50 {
		require.NoError(t, rdb.HSet(ctx, "tc:{bad}:dict", fmt.Sprintf(`"%d"`, i), i).Err())
	}
	jc, err := syncable.NewDict[string, int](rdb, "bad", syncable.DictOptions[string, int]{LoadChunk: 5})
	require.NoError(t, err)
	require.ErrorIs(t, jc.Load(ctx), syncable.ErrDecode)
	keys, err := rdb.Keys(ctx, "*:load:*").Result()
	require.NoError(t, err)
	require.Empty(t, keys)

	c, err := syncable.NewCounter[string](rdb, "bad", syncable.CounterOptions[string]{})
	require.NoError(t, err)
	require.NoError(t, rdb.HSet(ctx, c.Key(), `"n"`, "x").Err())
	require.ErrorIs(t, c.Load(ctx), syncable.ErrWrongType)
}

func TestInvalidArguments(t *testing.T) {
	rdb := start(t)
	_, err := syncable.NewDict[string, int](nil, "x", syncable.DictOptions[string, int]{})
	require.ErrorIs(t, err, syncable.ErrInvalidArgument)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	_, err = syncable.NewDict[string, int](rdb, "", syncable.DictOptions[string, int]{})
	require.ErrorIs(t, err, syncable.ErrInvalidArgument)
	_, err = syncable.NewSet[int](rdb, "a}b", syncable.SetOptions[int]{})
	require.ErrorIs(t, err, syncable.ErrInvalidArgument)
	_, err = syncable.NewList[int](rdb, "x", syncable.ListOptions[int]{LoadChunk: -1})
	require.ErrorIs(t, err, syncable.ErrInvalidArgument)
	_, err = syncable.NewDeque[int](rdb, "x", syncable.DequeOptions[int]{DequeOptions: collections.DequeOptions[int]{MaxLen: -1}})
	require.ErrorIs(t, err, syncable.ErrInvalidArgument)
	_, err = syncable.NewLRUDict[int, int](rdb, "x", -1, syncable.DictOptions[int, int]{})
	require.ErrorIs(t, err, syncable.ErrInvalidArgument)
	_, err = syncable.NewCounter[int](rdb, "x", syncable.CounterOptions[int]{CounterOptions: collections.CounterOptions[int]{Options: collections.Options{Prefix: "a{"}}})
	require.ErrorIs(t, err, syncable.ErrInvalidArgument)
}

// TestEncodeErrors: a value the codec refuses, and two keys that encode
// alike, fail the Sync before anything is sent.
func TestEncodeErrors(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	d, err := syncable.NewDict[string, float64](rdb, "enc", syncable.DictOptions[string, float64]{})
	require.NoError(t, err)
	d.Set("nan", nanValue())
	require.ErrorIs(t, d.Sync(ctx), syncable.ErrEncode)
	require.ErrorIs(t, d.Sync(ctx), codec.ErrEncode)

	type hidden struct {
		Shown  int
		hidden int // encoding/json skips it: two keys, one field
	}
	h, err := syncable.NewSet[hidden](rdb, "enc", syncable.SetOptions[hidden]{})
	require.NoError(t, err)
	h.Add(hidden{1, 1}, hidden{1, 2})
	require.ErrorIs(t, h.Sync(ctx), syncable.ErrEncode)
	require.ErrorIs(t, h.SyncOverwrite(ctx), syncable.ErrEncode)
	require.Zero(t, rdb.Exists(ctx, h.Key(), d.Key()).Val())
}

// TestSyncKeepsTTL: a collection given a time to live keeps it through a
// delta Sync and an overwrite, and its version key gets it too.
func TestSyncKeepsTTL(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	c, err := collections.NewDict(rdb, "ttl", strOpts.DictOptions)
	require.NoError(t, err)
	require.NoError(t, c.Set(ctx, "a", "1"))
	_, err = c.Expire(ctx, time.Hour)
	require.NoError(t, err)
	d := newStrDict(t, rdb, "ttl")
	require.NoError(t, d.Load(ctx))
	d.Set("b", "2")
	require.NoError(t, d.Sync(ctx))
	require.Greater(t, rdb.PTTL(ctx, d.Key()).Val(), 59*time.Minute)
	require.Greater(t, rdb.PTTL(ctx, d.Key()+":syncver").Val(), 59*time.Minute)
	d.Set("c", "3")
	require.NoError(t, d.SyncOverwrite(ctx))
	require.Greater(t, rdb.PTTL(ctx, d.Key()).Val(), 59*time.Minute)
}

// TestLoadIsASnapshot: a chunked Load returns the dict as it was when the
// Load began, although another client rewrites it between two chunks.
func TestLoadIsASnapshot(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	other := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr})
	t.Cleanup(func() { _ = other.Close() })
	d, err := syncable.NewDict(rdb, "snap", syncable.DictOptions[string, string]{DictOptions: strOpts.DictOptions, LoadChunk: 10})
	require.NoError(t, err)
	const n = 2000 // more than a listpack holds: HSCAN honours COUNT
	for i := range n {
		d.Set(fmt.Sprint(i), "old")
	}
	require.NoError(t, d.Sync(ctx))

	evals := 0
	rdb.AddHook(hookFunc(func(ctx context.Context, cmd redis.Cmder) {
		if cmd.Name() == "eval" {
			if evals++; evals == 2 { // between the first chunk and the second
				require.NoError(t, other.Del(ctx, d.Key()).Err())
				require.NoError(t, other.HSet(ctx, d.Key(), "0", "new", "x", "new").Err())
			}
		}
	}))
	require.NoError(t, d.Load(ctx))
	require.Greater(t, evals, 2)
	require.Equal(t, n, d.Len())
	for _, v := range d.All() {
		require.Equal(t, "old", v)
	}
}

// hookFunc is a go-redis hook that calls f before each command.
type hookFunc func(ctx context.Context, cmd redis.Cmder)

func (f hookFunc) DialHook(next redis.DialHook) redis.DialHook { return next }
func (f hookFunc) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		f(ctx, cmd)
		return next(ctx, cmd)
	}
}
func (f hookFunc) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
