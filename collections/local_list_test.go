package collections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/collections"
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
