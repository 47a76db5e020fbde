package orderedcache_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/orderedcache"
)

// TestNoExpiryAndSliding: a Dict on a cache with cache.NoExpiry fills
// values without a Redis TTL; on a Sliding cache, ids looked up every
// TTL/8 stay hits over five TTLs (renewed), while ids not looked up
// expire.
func TestNoExpiryAndSliding(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			rdb, _ := b.client(t)
			s := newStore(t, rdb)
			src := &source{}

			forever := newCache(t, s, uniqueNS(), cache.Options[doc]{TTL: cache.NoExpiry})
			d, err := orderedcache.New(ctx, forever, seq(1, 5), orderedcache.Options[int]{})
			require.NoError(t, err)
			require.NoError(t, d.Fill(ctx, src.load))
			for _, id := range seq(1, 5) {
				require.Equal(t, time.Duration(-1), rdb.PTTL(ctx, forever.RedisKey(strconv.Itoa(id))).Val(), "PTTL of id %d", id)
			}

			const ttl = time.Second // Redis expires in real time: a renewal has TTL/2 to land
			sliding := newCache(t, s, uniqueNS(), cache.Options[doc]{TTL: ttl, Sliding: true})
			d, err = orderedcache.New(ctx, sliding, seq(1, 10), orderedcache.Options[int]{})
			require.NoError(t, err)
			require.NoError(t, d.Fill(ctx, src.load))
			start := time.Now()
			for time.Since(start) < 3*ttl {
				time.Sleep(ttl / 8) // the interval between two lookups
				d, err := orderedcache.New(ctx, sliding, seq(1, 5), orderedcache.Options[int]{})
				require.NoError(t, err)
				require.Empty(t, d.Misses(), "%v after the fill", time.Since(start))
				require.Equal(t, docs(seq(1, 5)), d.Values())
			}
			require.Positive(t, sliding.Stats().Renewals)
			d, err = orderedcache.New(ctx, sliding, seq(1, 10), orderedcache.Options[int]{})
			require.NoError(t, err)
			require.Equal(t, seq(6, 10), d.Misses(), "ids not looked up expire")
		})
	}
}
