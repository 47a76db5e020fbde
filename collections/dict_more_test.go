package collections_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/keys"
	"github.com/tiercache/tiercache/internal/redistest"
)

func TestDictMore(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("copy", func(t *testing.T) { testDictCopy(t, be) })
		t.Run("from keys", func(t *testing.T) { testDictFromKeys(t, be) })
		t.Run("set default", func(t *testing.T) { testDictSetDefault(t, be) })
		t.Run("pop item", func(t *testing.T) { testDictPopItem(t, be) })
		t.Run("errors", func(t *testing.T) { testDictMoreErrors(t, be) })
	})
}

func testDictCopy(t *testing.T, be dsBackend) {
	ctx := context.Background()
	name := dsName(t)
	d, err := collections.NewDict(be.rdb, name, collections.DictOptions[string, int]{KeyCodec: codec.String()})
	require.NoError(t, err)
	want := make(map[string]int)
	for i := range 600 { // a real hash table, not a listpack
		want[string(rune('a'+i%26))+string(rune('0'+i/26))] = i
	}
	require.NoError(t, d.SetMany(ctx, want))

	c, err := d.Copy(ctx, name+"-copy")
	require.NoError(t, err)
	require.Equal(t, name+"-copy", c.Name())
	if be.cluster {
		require.NotEqual(t, keys.Slot(d.Key()), keys.Slot(c.Key()), "the test means a copy across slots")
	}
	require.Equal(t, want, dsMust[map[string]int](t)(c.ToMap(ctx)))
	// The copy has the dict's codecs: its fields are the strings as they are.
	require.Equal(t, "0", be.rdb.HGet(ctx, c.Key(), "a0").Val())

	// The two are independent.
	require.NoError(t, c.Set(ctx, "new", 1))
	require.False(t, dsMust[bool](t)(d.Has(ctx, "new")))
	require.NoError(t, d.Set(ctx, "a0", -1))
	require.Equal(t, 0, dsMust[int](t)(c.Get(ctx, "a0")))

	// An existing destination, of any type, is ErrExists and is untouched.
	_, err = d.Copy(ctx, name+"-copy")
	require.ErrorIs(t, err, collections.ErrExists)
	require.ErrorContains(t, err, c.Key())
	require.Equal(t, 1, dsMust[int](t)(c.Get(ctx, "new")))
	taken, err := collections.NewDict(be.rdb, name+"-taken", collections.DictOptions[string, int]{})
	require.NoError(t, err)
	dsOccupy(t, be.rdb, taken.Key())
	_, err = d.Copy(ctx, name+"-taken")
	require.ErrorIs(t, err, collections.ErrExists)
	require.False(t, errors.Is(err, collections.ErrWrongType))
	dsUntouched(t, be.rdb, taken.Key())

	// The TTL goes with the copy.
	require.True(t, dsMust[bool](t)(d.Expire(ctx, time.Hour)))
	e, err := d.Copy(ctx, name+"-ttl")
	require.NoError(t, err)
	ttl := be.rdb.PTTL(ctx, e.Key()).Val()
	require.Greater(t, ttl, 59*time.Minute)
	require.LessOrEqual(t, ttl, time.Hour)
	require.Equal(t, time.Duration(-1), be.rdb.PTTL(ctx, c.Key()).Val(), "no TTL on a copy of a dict without one")

	// An empty dict copies to an empty dict and writes nothing; the
	// destination must still be free.
	empty, err := collections.NewDict(be.rdb, name+"-empty", collections.DictOptions[string, int]{})
	require.NoError(t, err)
	ec, err := empty.Copy(ctx, name+"-empty-copy")
	require.NoError(t, err)
	require.Zero(t, dsMust[int64](t)(ec.Len(ctx)))
	require.Zero(t, be.rdb.Exists(ctx, ec.Key()).Val())
	_, err = empty.Copy(ctx, name+"-copy")
	require.ErrorIs(t, err, collections.ErrExists)

	// Onto itself, or to a bad name: ErrInvalidArgument.
	_, err = d.Copy(ctx, name)
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	_, err = d.Copy(ctx, "")
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
	_, err = d.Copy(ctx, "a}b")
	require.ErrorIs(t, err, collections.ErrInvalidArgument)
}

func testDictFromKeys(t *testing.T, be dsBackend) {
	ctx := context.Background()
	d := newDict[string, []int](t, be.rdb, dsName(t))
	require.NoError(t, d.FromKeys(ctx, []int{0}))
	require.Zero(t, dsMust[int64](t)(d.Len(ctx)), "no keys, nothing written")
	require.NoError(t, d.Set(ctx, "kept", []int{9}))
	require.NoError(t, d.Set(ctx, "b", []int{9}))
	require.NoError(t, d.FromKeys(ctx, []int{1, 2}, "a", "b", "c", "a"))
	require.Equal(t, map[string][]int{"a": {1, 2}, "b": {1, 2}, "c": {1, 2}, "kept": {9}},
		dsMust[map[string][]int](t)(d.ToMap(ctx)))

	// A value the codec refuses writes nothing.
	ch := newDict[string, chan int](t, be.rdb, dsName(t)+"chan")
	err := ch.FromKeys(ctx, make(chan int), "x")
	require.ErrorIs(t, err, codec.ErrEncode)
	require.Zero(t, dsMust[int64](t)(ch.Len(ctx)))
}

func testDictSetDefault(t *testing.T, be dsBackend) {
	ctx := context.Background()
	d := newDict[string, int](t, be.rdb, dsName(t))
	require.Equal(t, 1, dsMust[int](t)(d.SetDefault(ctx, "a", 1)), "an absent key takes the value")
	require.Equal(t, 1, dsMust[int](t)(d.SetDefault(ctx, "a", 2)), "a present key keeps its own")
	require.Equal(t, 1, dsMust[int](t)(d.Get(ctx, "a")))
	require.Equal(t, 0, dsMust[int](t)(d.SetDefault(ctx, "zero", 0)))
	require.True(t, dsMust[bool](t)(d.Has(ctx, "zero")))

	// Concurrent SetDefaults of one key from two clients agree on one value.
	other := newDict[string, int](t, be.client(t), dsName(t))
	var mu sync.Mutex
	got := make(map[int]int)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			dd := d
			if i%2 == 1 {
				dd = other
			}
			v, err := dd.SetDefault(ctx, "race", i)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[v]++
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Len(t, got, 1)
	for v := range got {
		require.Equal(t, v, dsMust[int](t)(d.Get(ctx, "race")))
	}
}

func testDictPopItem(t *testing.T, be dsBackend) {
	ctx := context.Background()
	d := newDict[int, int](t, be.rdb, dsName(t))
	_, _, err := d.PopItem(ctx)
	require.ErrorIs(t, err, collections.ErrEmpty)
	require.ErrorIs(t, err, collections.ErrNotFound)
	require.ErrorContains(t, err, d.Key())

	const n = 200
	want := make(map[int]int, n)
	for i := range n {
		want[i] = -i
	}
	require.NoError(t, d.SetMany(ctx, want))

	// Two clients pop concurrently: every pair comes out exactly once.
	other := newDict[int, int](t, be.client(t), dsName(t))
	var mu sync.Mutex
	got := make(map[int]int, n)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			dd := d
			if w%2 == 1 {
				dd = other
			}
			for {
				k, v, err := dd.PopItem(ctx)
				if errors.Is(err, collections.ErrEmpty) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if _, dup := got[k]; dup {
					t.Errorf("key %d popped twice", k)
				}
				got[k] = v
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, want, got)
	require.Zero(t, dsMust[int64](t)(d.Len(ctx)))
	require.Zero(t, be.rdb.Exists(ctx, d.Key()).Val(), "the last pop deletes the hash")

	// Fields and values that hold the record's separator come out whole.
	s := newDict[string, string](t, be.rdb, dsName(t)+"str")
	require.NoError(t, s.Set(ctx, "1:2:", ":x:3"))
	k, v, err := s.PopItem(ctx)
	require.NoError(t, err)
	require.Equal(t, "1:2:", k)
	require.Equal(t, ":x:3", v)
}

func testDictMoreErrors(t *testing.T, be dsBackend) {
	ctx := context.Background()
	d := newDict[string, int](t, be.rdb, dsName(t))
	dsOccupy(t, be.rdb, d.Key())
	for name, op := range map[string]func() error{
		"Copy":       func() error { _, err := d.Copy(ctx, dsName(t)+"-copy"); return err },
		"FromKeys":   func() error { return d.FromKeys(ctx, 1, "a", "b") },
		"SetDefault": func() error { _, err := d.SetDefault(ctx, "a", 1); return err },
		"PopItem":    func() error { _, _, err := d.PopItem(ctx); return err },
	} {
		err := op()
		require.ErrorIs(t, err, collections.ErrWrongType, name)
		require.ErrorContains(t, err, d.Key(), name)
	}
	dsUntouched(t, be.rdb, d.Key())
	copied := newDict[string, int](t, be.rdb, dsName(t)+"-copy")
	require.Zero(t, be.rdb.Exists(ctx, copied.Key()).Val(), "a failed copy writes nothing")

	// Undecodable stored bytes: ErrDecode naming the key.
	bad := newDict[string, int](t, be.rdb, dsName(t)+"bad")
	require.NoError(t, be.rdb.HSet(ctx, bad.Key(), `"a"`, "not json").Err())
	_, err := bad.SetDefault(ctx, "a", 1)
	require.ErrorIs(t, err, collections.ErrDecode)
	require.ErrorIs(t, err, codec.ErrDecode)
	require.ErrorContains(t, err, bad.Key())
	require.Equal(t, "not json", be.rdb.HGet(ctx, bad.Key(), `"a"`).Val(), "SetDefault keeps what it cannot read")
	_, _, err = bad.PopItem(ctx)
	require.ErrorIs(t, err, collections.ErrDecode)
	require.ErrorContains(t, err, bad.Key())
	require.ErrorContains(t, err, "not json", "the error shows the removed value")
	require.NoError(t, be.rdb.HSet(ctx, bad.Key(), "no key", "1").Err())
	_, _, err = bad.PopItem(ctx)
	require.ErrorIs(t, err, collections.ErrDecode, "an undecodable key")
	// A copy moves bytes, decoding nothing.
	require.NoError(t, be.rdb.HSet(ctx, bad.Key(), "junk", "junk").Err())
	bc, err := bad.Copy(ctx, dsName(t)+"bad-copy")
	require.NoError(t, err)
	require.Equal(t, "junk", be.rdb.HGet(ctx, bc.Key(), "junk").Val())

	// A done context fails before reaching Redis.
	for name, op := range map[string]func() error{
		"Copy":       func() error { _, err := bad.Copy(dsCanceled(), dsName(t)+"-c"); return err },
		"FromKeys":   func() error { return bad.FromKeys(dsCanceled(), 1, "a") },
		"SetDefault": func() error { _, err := bad.SetDefault(dsCanceled(), "a", 1); return err },
		"PopItem":    func() error { _, _, err := bad.PopItem(dsCanceled()); return err },
	} {
		require.ErrorIs(t, op(), context.Canceled, name)
	}
}

// TestLostRepliesPopItem: PopItem through proxies that lose replies, on a
// single server and a cluster, with go-redis' resends on, and with them
// off: every pair is popped exactly once, none is lost, and no call is
// uncertain (the request's record answers a resend, and a reply lost even
// so is asked for once more).
func TestLostRepliesPopItem(t *testing.T) {
	const n = 300
	popAll := func(t *testing.T, direct, lossy redis.UniversalClient) {
		t.Helper()
		ctx := t.Context()
		dd := newDict[int, int](t, direct, dsName(t))
		want := make(map[int]int, n)
		for i := range n {
			want[i] = i * 10
		}
		require.NoError(t, dd.SetMany(ctx, want))
		d := newDict[int, int](t, lossy, dsName(t))
		got := make(map[int]int, n)
		for {
			k, v, err := d.PopItem(ctx)
			if errors.Is(err, collections.ErrEmpty) {
				break
			}
			require.NoError(t, err)
			_, dup := got[k]
			require.False(t, dup, "key %d popped twice", k)
			got[k] = v
		}
		require.Equal(t, want, got, "every pair exactly once")
		require.Zero(t, dsMust[int64](t)(dd.Len(ctx)))
	}
	t.Run("resends", func(t *testing.T) {
		lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
			popAll(t, lb.direct, lb.rdb)
			t.Logf("%d replies lost", lb.dropped())
			require.Positive(t, lb.dropped(), "no reply was lost: the test tested nothing")
		})
	})
	t.Run("no resends", func(t *testing.T) {
		t.Parallel()
		srv := redistest.Start(t)
		px := faultproxy.Start(t, srv.Addr)
		px.DropReplies(dropEvery)
		noResend := redis.NewClient(&redis.Options{Addr: px.Addr, MaxRetries: -1})
		t.Cleanup(func() { _ = noResend.Close() })
		popAll(t, srv.Client(t), noResend)
		t.Logf("%d replies lost and recovered", px.Dropped())
		require.Greater(t, px.Dropped(), int64(n/dropEvery))
	})
}

// TestLostRepliesCopy: copies through proxies that lose replies, on a
// single server (COPY) and a cluster (DUMP and RESTORE): a resend of a
// copy that was made finds its own record, not ErrExists, so every copy
// returns nil and holds the dict.
func TestLostRepliesCopy(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		ctx := t.Context()
		want := map[int]int{1: 10, 2: 20, 3: 30}
		require.NoError(t, newDict[int, int](t, lb.direct, dsName(t)).SetMany(ctx, want))
		d := newDict[int, int](t, lb.rdb, dsName(t))
		for i := range 60 {
			c, err := d.Copy(ctx, dsName(t)+"-"+strconv.Itoa(i))
			require.NoError(t, err, "copy %d", i)
			require.Equal(t, want, dsMust[map[int]int](t)(newDict[int, int](t, lb.direct, c.Name()).ToMap(ctx)))
		}
		t.Logf("%d replies lost", lb.dropped())
		require.Positive(t, lb.dropped(), "no reply was lost: the test tested nothing")
	})
}
