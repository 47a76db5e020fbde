package memo_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/memo"
)

// TestErrorsMatchCache: memo has no ErrNotFound or ErrWrongType of its own;
// what it returns for a missing value and a key of another Redis type
// matches cache's with errors.Is.
func TestErrorsMatchCache(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	s := newStore(t, rdb)
	f, err := memo.New(s, uniqueName(), func(_ context.Context, n int) (int, error) {
		if n == 0 {
			return 0, cache.ErrNotFound
		}
		return n, nil
	}, memo.Options[int]{})
	require.NoError(t, err)

	_, err = f.Call(ctx, 0)
	require.ErrorIs(t, err, cache.ErrNotFound)

	k, err := f.Key(1)
	require.NoError(t, err)
	require.NoError(t, rdb.HSet(ctx, cache.DefaultPrefix+f.Namespace()+":"+k, "f", "v").Err())
	_, err = f.Call(ctx, 1)
	require.ErrorIs(t, err, cache.ErrWrongType)
}
