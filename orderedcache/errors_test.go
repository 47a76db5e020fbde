package orderedcache_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/orderedcache"
)

// TestWrongTypeMatchesCache: orderedcache has no ErrWrongType of its own;
// an id whose Redis key holds another type fails the hydration with an
// error that matches cache.ErrWrongType, and the key is left as it was.
func TestWrongTypeMatchesCache(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	s, err := cache.NewStore(rdb, cache.StoreOptions{Coherence: cache.CoherenceNone, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	c, err := cache.New(s, "docs", cache.Options[string]{Codec: codec.String()})
	require.NoError(t, err)
	require.NoError(t, rdb.HSet(ctx, c.RedisKey("2"), "f", "v").Err())

	_, _, err = orderedcache.Hydrate(ctx, c, []int{1, 2}, func(_ context.Context, missing []int) (map[int]string, error) {
		out := map[int]string{}
		for _, id := range missing {
			out[id] = "doc"
		}
		return out, nil
	})
	require.ErrorIs(t, err, cache.ErrWrongType)
	typ, err := rdb.Type(ctx, c.RedisKey("2")).Result()
	require.NoError(t, err)
	require.Equal(t, "hash", typ)
}
