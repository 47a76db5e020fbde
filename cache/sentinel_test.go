package cache

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
)

// TestCoherenceSentinel: a Store on a Sentinel failover client tracks the
// master the sentinel names, and sees a foreign write without a TTL.
func TestCoherenceSentinel(t *testing.T) {
	ctx := context.Background()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentinel.MasterName, SentinelAddrs: []string{sentinel.Addr}})
	t.Cleanup(func() { _ = rdb.Close() })
	s := coherentStore(t, rdb, CoherenceAuto)
	require.Equal(t, CoherenceTracking, s.Coherence())
	c := newCache(t, s, Options[string]{Codec: codec.String(), LocalTTL: time.Hour})
	require.NoError(t, c.Set(ctx, "k", "v1"))
	eventually(t, func() bool { v, err := c.Get(ctx, "k"); return err == nil && v == "v1" && local(c, "k") }, "never cached")

	foreign := master.Client(t) // straight to the master, not through the sentinel
	require.NoError(t, foreign.Set(ctx, c.RedisKey("k"), envelope(t, "v2"), time.Hour).Err())
	eventually(t, func() bool { v, _ := c.Get(ctx, "k"); return v == "v2" }, "the foreign write was not seen")
}
