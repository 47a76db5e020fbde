package syncable_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/syncable"
)

// redisList returns the decoded elements of a Redis list of ints.
func redisList(t *testing.T, rdb *redis.Client, key string) []int {
	t.Helper()
	raws, err := rdb.LRange(context.Background(), key, 0, -1).Result()
	require.NoError(t, err)
	out := make([]int, len(raws))
	for i, r := range raws {
		_, err := fmt.Sscan(r, &out[i])
		require.NoError(t, err)
	}
	return out
}

// TestListRandomEdits runs random edits on a List, syncing every few, and
// checks after every Sync that Redis holds exactly the in-memory list and
// that a fresh List loads it back.
func TestListRandomEdits(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		name := fmt.Sprint("rand", seed)
		l, err := syncable.NewList[int](rdb, name, syncable.ListOptions[int]{LoadChunk: 7})
		require.NoError(t, err)
		next := 0
		for step := range 300 {
			switch op := r.IntN(20); {
			case op < 6:
				l.Append(next)
				next++
			case op < 8:
				l.Insert(0, next)
				next++
			case op < 10:
				l.Insert(r.IntN(l.Len()+3)-1, next)
				next++
			case op < 13:
				l.Pop(-1)
			case op < 15:
				l.Pop(0)
			case op < 16:
				l.Pop(r.IntN(l.Len() + 1))
			case op < 18:
				l.SetIndex(r.IntN(l.Len()+1), next)
				next++
			case op < 19:
				if r.IntN(4) == 0 {
					l.Sort(func(a, b int) int { return cmp.Compare(b, a) })
				}
			default:
				if r.IntN(10) == 0 {
					l.Clear()
				}
			}
			if r.IntN(5) == 0 || step == 299 {
				require.NoError(t, l.Sync(ctx), "seed %d step %d", seed, step)
				require.Equal(t, l.Slice(), orEmpty(redisList(t, rdb, l.Key())), "seed %d step %d", seed, step)
				if r.IntN(4) == 0 {
					require.NoError(t, l.Load(ctx))
				}
			}
		}
		back, err := syncable.NewList[int](rdb, name, syncable.ListOptions[int]{LoadChunk: 7})
		require.NoError(t, err)
		require.NoError(t, back.Load(ctx))
		require.Equal(t, l.Slice(), back.Slice())
	}
}

func orEmpty(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// TestDequeRandomEdits is TestListRandomEdits for a Deque with MaxLen.
func TestDequeRandomEdits(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 2))
		name := fmt.Sprint("rand", seed)
		opts := syncable.DequeOptions[int]{DequeOptions: collections.DequeOptions[int]{MaxLen: 1 + r.IntN(40)}, LoadChunk: 5}
		d, err := syncable.NewDeque(rdb, name, opts)
		require.NoError(t, err)
		var model []int
		push := func(left bool, v int) {
			if left {
				d.AppendLeft(v)
				model = append([]int{v}, model...)
				if len(model) > opts.MaxLen {
					model = model[:opts.MaxLen]
				}
				return
			}
			d.Append(v)
			model = append(model, v)
			if len(model) > opts.MaxLen {
				model = model[1:]
			}
		}
		for step := range 300 {
			switch op := r.IntN(10); {
			case op < 3:
				push(false, step)
			case op < 5:
				push(true, step)
			case op < 6:
				if v, ok := d.Pop(); ok {
					require.Equal(t, model[len(model)-1], v)
					model = model[:len(model)-1]
				}
			case op < 7:
				if v, ok := d.PopLeft(); ok {
					require.Equal(t, model[0], v)
					model = model[1:]
				}
			case op < 8:
				n := r.IntN(11) - 5
				d.Rotate(n)
				if l := len(model); l > 0 {
					k := ((n % l) + l) % l
					model = append(model[l-k:], model[:l-k]...)
				}
			default:
				if r.IntN(3) == 0 {
					require.NoError(t, d.Load(ctx))
					model = redisList(t, rdb, d.Key())
				}
			}
			got := []int{}
			for _, v := range d.All() {
				got = append(got, v)
			}
			require.Equal(t, orEmpty(model), got, "seed %d step %d", seed, step)
			if r.IntN(4) == 0 {
				require.NoError(t, d.Sync(ctx), "seed %d step %d", seed, step)
				require.Equal(t, orEmpty(model), orEmpty(redisList(t, rdb, d.Key())), "seed %d step %d", seed, step)
			}
		}
	}
}

// TestListSyncSendsOnlyEnds: after a pop at each end and a push at each end
// of a 10 000-element list, Sync sends the two pushed elements and the two
// digests, not the list.
func TestListSyncSendsOnlyEnds(t *testing.T) {
	ctx := context.Background()
	rdb, rt := counted(t, start(t))
	l, err := syncable.NewList[int](rdb, "ends", syncable.ListOptions[int]{})
	require.NoError(t, err)
	for i := range 10_000 {
		l.Append(i)
	}
	require.NoError(t, l.Sync(ctx))
	l.Pop(0)
	l.Pop(-1)
	l.Append(-1)
	l.Insert(0, -2)
	l.SetIndex(5000, -3)
	require.NoError(t, l.Sync(ctx))
	// EVAL, script, numkeys, 2 keys, 11 header arguments, a replacement
	// (index, old, new) and the two pushes.
	require.Equal(t, int64(3+2+11+3+2), rt.args.Load())
	got := redisList(t, rdb, l.Key())
	require.Len(t, got, 10_000)
	require.Equal(t, []int{-2, 1, 2}, got[:3])
	require.Equal(t, -3, got[5000])
	require.Equal(t, []int{9997, 9998, -1}, got[len(got)-3:])
}

func TestListConflicts(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	c, err := collections.NewList[int](rdb, "lc", collections.ListOptions[int]{})
	require.NoError(t, err)
	_, err = c.Extend(ctx, 1, 2, 3, 4)
	require.NoError(t, err)
	load := func() *syncable.List[int] {
		l, err := syncable.NewList[int](rdb, "lc", syncable.ListOptions[int]{})
		require.NoError(t, err)
		require.NoError(t, l.Load(ctx))
		return l
	}

	// A foreign pop and push keep the length; dropping that end conflicts.
	l := load()
	_, err = c.Pop(ctx, 0)
	require.NoError(t, err)
	_, err = c.Append(ctx, 5)
	require.NoError(t, err)
	l.Pop(0)
	l.Append(6)
	require.ErrorIs(t, l.Sync(ctx), syncable.ErrConflict)
	require.Equal(t, []int{2, 3, 4, 5}, redisList(t, rdb, c.Key()))

	// A foreign replacement of an element this Sync replaces.
	l = load()
	require.NoError(t, c.SetIndex(ctx, 1, 30))
	l.SetIndex(1, 300)
	require.ErrorIs(t, l.Sync(ctx), syncable.ErrConflict)

	// A foreign push changes the length.
	l = load()
	_, err = c.Append(ctx, 7)
	require.NoError(t, err)
	l.Append(8)
	require.ErrorIs(t, l.Sync(ctx), syncable.ErrConflict)
	require.NoError(t, l.SyncOverwrite(ctx))
	require.Equal(t, []int{2, 30, 4, 5, 8}, redisList(t, rdb, c.Key()))
}

// TestDequeLoadKeepsMaxLen: a Redis list longer than MaxLen loads as its
// MaxLen rightmost elements, and the next Sync trims Redis to them.
func TestDequeLoadKeepsMaxLen(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	c, err := collections.NewDeque[int](rdb, "ml", collections.DequeOptions[int]{})
	require.NoError(t, err)
	_, err = c.Extend(ctx, 1, 2, 3, 4, 5)
	require.NoError(t, err)
	d, err := syncable.NewDeque(rdb, "ml", syncable.DequeOptions[int]{DequeOptions: collections.DequeOptions[int]{MaxLen: 3}})
	require.NoError(t, err)
	require.NoError(t, d.Load(ctx))
	require.Equal(t, 3, d.Len())
	v, _ := d.PeekLeft()
	require.Equal(t, 3, v)
	require.NoError(t, d.Sync(ctx))
	require.Equal(t, []int{3, 4, 5}, redisList(t, rdb, c.Key()))
}

// TestListInPlaceChange: elements that hold references (here slices) are
// encoded again at every Sync, so a change made through one is synced like
// a SetIndex.
func TestListInPlaceChange(t *testing.T) {
	ctx := context.Background()
	rdb := start(t)
	l, err := syncable.NewList[[]int](rdb, "inplace", syncable.ListOptions[[]int]{})
	require.NoError(t, err)
	l.Append([]int{1}, []int{2}, []int{3})
	require.NoError(t, l.Sync(ctx))
	v, _ := l.Index(1)
	v[0] = 20
	require.NoError(t, l.Sync(ctx))
	require.Equal(t, []string{"[1]", "[20]", "[3]"}, rdb.LRange(ctx, l.Key(), 0, -1).Val())
}
