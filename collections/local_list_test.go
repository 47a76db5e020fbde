package collections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// TestLocalList: with Options.Local, List and Deque reads (Index, Range,
// Len, All, Peek) are answered by one local copy of the whole list, with
// Redis' answers for every index, negative and out of range included; a
// foreign write is seen once its invalidation arrives, an own write at
// once.
func TestLocalList(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		cmds := &dsCommands{}
		rdb := countedClient(t, be, cmds)
		store := localStore(t, be, cache.StoreOptions{})
		local := collections.Options{Local: store}
		l, err := collections.NewList(rdb, dsName(t), collections.ListOptions[int]{Options: local})
		require.NoError(t, err)
		remote, err := collections.NewList(be.client(t), l.Name(), collections.ListOptions[int]{})
		require.NoError(t, err)
		d, err := collections.NewDeque(rdb, dsName(t)+"-d", collections.DequeOptions[int]{Options: local})
		require.NoError(t, err)
		remoteD, err := collections.NewDeque(be.client(t), d.Name(), collections.DequeOptions[int]{})
		require.NoError(t, err)
		_, err = remote.Extend(ctx, 10, 11, 12, 13, 14)
		require.NoError(t, err)
		_, err = remoteD.Extend(ctx, 1, 2, 3)
		require.NoError(t, err)

		require.Eventually(t, func() bool {
			before := cmds.n.Load()
			_, err1 := l.Index(ctx, 0)
			_, err2 := d.Peek(ctx)
			return err1 == nil && err2 == nil && cmds.n.Load() == before
		}, 10*time.Second, time.Millisecond, "never served locally")
		before := cmds.n.Load()
		for i := int64(-7); i <= 7; i++ {
			want, werr := remote.Index(ctx, i)
			got, gerr := l.Index(ctx, i)
			require.Equal(t, want, got, "Index(%d)", i)
			require.Equal(t, werr == nil, gerr == nil, "Index(%d): %v, Redis: %v", i, gerr, werr)
			if werr != nil {
				require.ErrorIs(t, gerr, collections.ErrIndexOutOfRange)
			}
			for j := int64(-7); j <= 7; j++ {
				want, err := remote.Range(ctx, i, j)
				require.NoError(t, err)
				got, err := l.Range(ctx, i, j)
				require.NoError(t, err)
				require.Equal(t, want, got, "Range(%d, %d)", i, j)
			}
		}
		n, err := l.Len(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(5), n)
		var all []int
		seq, errf := l.All(ctx)
		for i, v := range seq {
			require.Equal(t, len(all), int(i))
			all = append(all, v)
		}
		require.NoError(t, errf())
		require.Equal(t, []int{10, 11, 12, 13, 14}, all)
		left, err := d.PeekLeft(ctx)
		require.NoError(t, err)
		right, err := d.Peek(ctx)
		require.NoError(t, err)
		require.Equal(t, [2]int{1, 3}, [2]int{left, right})
		dr, err := d.Range(ctx, 0, -1)
		require.NoError(t, err)
		require.Equal(t, []int{1, 2, 3}, dr)
		require.Equal(t, before, cmds.n.Load(), "a local read went to Redis")

		// Range hands out a slice of the caller's own.
		dr[0] = 99
		v, err := d.PeekLeft(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, v)

		// Own writes: seen at once; foreign ones once invalidated.
		_, err = l.Append(ctx, 15)
		require.NoError(t, err)
		v, err = l.Index(ctx, -1)
		require.NoError(t, err)
		require.Equal(t, 15, v)
		_, err = d.PopLeft(ctx)
		require.NoError(t, err)
		v, err = d.PeekLeft(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, v)
		_, err = remoteD.AppendLeft(ctx, 0)
		require.NoError(t, err)
		require.Eventually(t, func() bool { v, err := d.PeekLeft(ctx); return err == nil && v == 0 },
			10*time.Second, time.Millisecond, "the foreign write was never seen")
		// An empty deque: Peek is ErrEmpty from the copy too.
		require.NoError(t, d.Clear(ctx))
		_, err = d.Peek(ctx)
		require.ErrorIs(t, err, collections.ErrEmpty)
		require.Positive(t, l.Local().Kept)
	})
}

// listSearches are the searches List and Deque share.
type listSearches interface {
	Count(ctx context.Context, v int) (int64, error)
	Contains(ctx context.Context, v int) (bool, error)
	IndexOf(ctx context.Context, v int) (int64, error)
	IndexOfBetween(ctx context.Context, v int, start, stop int64) (int64, error)
}

// TestLocalListSearches: with Options.Local, a List's stepped slices and
// searches (Slice, Count, Contains, IndexOf, IndexOfBetween) and a Deque's
// Index and searches are answered by the local copy, with Redis' answers
// for every bound and step, negative and out of range included, on a list
// with repeated elements and on an empty one.
func TestLocalListSearches(t *testing.T) {
	ctx := context.Background()
	t.Parallel()
	srv := redistest.Start(t)
	be := dsBackend{name: "single", addrs: []string{srv.Addr}, rdb: srv.Client(t)}
	cmds := &dsCommands{}
	rdb := countedClient(t, be, cmds)
	local := collections.Options{Local: localStore(t, be, cache.StoreOptions{})}
	bounds := []*int64{nil}
	for i := int64(-8); i <= 8; i++ {
		bounds = append(bounds, &i)
	}
	steps := []*int64{nil}
	for _, s := range []int64{-3, -2, -1, 1, 2, 3} {
		steps = append(steps, &s)
	}
	for k, contents := range [][]int{{10, 11, 10, 12, 11, 10}, nil} {
		name := fmt.Sprintf("%s-%d", dsName(t), k)
		l, err := collections.NewList(rdb, name, collections.ListOptions[int]{Options: local})
		require.NoError(t, err)
		remote, err := collections.NewList(be.client(t), name, collections.ListOptions[int]{})
		require.NoError(t, err)
		d, err := collections.NewDeque(rdb, name+"-d", collections.DequeOptions[int]{Options: local})
		require.NoError(t, err)
		remoteD, err := collections.NewDeque(be.client(t), d.Name(), collections.DequeOptions[int]{})
		require.NoError(t, err)
		if contents != nil {
			require.NoError(t, remote.Replace(ctx, contents...))
			require.NoError(t, remoteD.Replace(ctx, contents...))
		}
		// Load both copies, then read only from them.
		_, err = l.Len(ctx)
		require.NoError(t, err)
		_, err = d.Len(ctx)
		require.NoError(t, err)
		before := cmds.n.Load()
		same := func(what string, want, got any, werr, gerr error) {
			t.Helper()
			require.Equal(t, want, got, what)
			require.Equal(t, werr == nil, gerr == nil, "%s: %v, Redis: %v", what, gerr, werr)
			if werr != nil {
				require.ErrorIs(t, gerr, collections.ErrNotFound, what)
			}
		}
		for _, start := range bounds {
			for _, stop := range bounds {
				for _, step := range steps {
					s := collections.Slice{Start: start, Stop: stop, Step: step}
					want, werr := remote.Slice(ctx, s)
					require.NoError(t, werr)
					got, gerr := l.Slice(ctx, s)
					require.NoError(t, gerr)
					require.Equal(t, want, got, "Slice%s of %v", s, contents)
				}
			}
		}
		_, err = l.Slice(ctx, collections.Slice{Step: new(int64)})
		require.ErrorIs(t, err, collections.ErrInvalidArgument)
		for _, p := range []struct {
			name          string
			local, remote listSearches
		}{{"List", l, remote}, {"Deque", d, remoteD}} {
			for _, v := range []int{10, 11, 12, 99} {
				wn, werr := p.remote.Count(ctx, v)
				gn, gerr := p.local.Count(ctx, v)
				same(p.name+".Count", wn, gn, werr, gerr)
				wc, werr := p.remote.Contains(ctx, v)
				gc, gerr := p.local.Contains(ctx, v)
				same(p.name+".Contains", wc, gc, werr, gerr)
				wi, werr := p.remote.IndexOf(ctx, v)
				gi, gerr := p.local.IndexOf(ctx, v)
				same(p.name+".IndexOf", wi, gi, werr, gerr)
				for i := int64(-8); i <= 8; i++ {
					for j := int64(-8); j <= 8; j++ {
						wi, werr := p.remote.IndexOfBetween(ctx, v, i, j)
						gi, gerr := p.local.IndexOfBetween(ctx, v, i, j)
						same(p.name+".IndexOfBetween", wi, gi, werr, gerr)
					}
				}
			}
		}
		for i := int64(-8); i <= 8; i++ {
			want, werr := remoteD.Index(ctx, i)
			got, gerr := d.Index(ctx, i)
			require.Equal(t, want, got, "Deque.Index(%d)", i)
			require.Equal(t, werr == nil, gerr == nil, "Deque.Index(%d): %v, Redis: %v", i, gerr, werr)
		}
		require.Equal(t, before, cmds.n.Load(), "a local read went to Redis")
		require.Positive(t, l.Local().Kept)
		require.Positive(t, d.Local().Kept)
	}
}
