package collections_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
)

func TestBloomFilterCapacityErrorRate(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed
	defer c.Close()
	f, err := collections.NewBloomFilter[int](c, "cap", 1000, 0.01, collections.BloomOptions[int]{})
	require.NoError(t, err)
	require.Equal(t, 1000, f.Capacity())
	require.Equal(t, 0.01, f.ErrorRate())
}

// TestOpenBloomFilter: a filter opened from its stored configuration
// shares the creator's bits and reports the capacity and rate it was
// created with; absent, wrong type and unreadable parameters are reported, and
// nothing is written.
func TestOpenBloomFilter(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		_, err := collections.OpenBloomFilter[int](ctx, rdb, "none", collections.BloomOptions[int]{})
		require.ErrorIs(t, err, collections.ErrNotFound)
		_, err = collections.OpenBloomFilter[int](ctx, nil, "none", collections.BloomOptions[int]{})
		require.ErrorIs(t, err, collections.ErrInvalidArgument)
		_, err = collections.OpenBloomFilter[int](ctx, rdb, "", collections.BloomOptions[int]{})
		require.ErrorIs(t, err, collections.ErrInvalidArgument)

		created, err := collections.NewBloomFilter[int](rdb, "open", 1000, 0.01, collections.BloomOptions[int]{})
		require.NoError(t, err)
		_, err = collections.OpenBloomFilter[int](ctx, rdb, "open", collections.BloomOptions[int]{})
		require.ErrorIs(t, err, collections.ErrNotFound, "nothing added yet")
		_, err = created.AddMany(ctx, intsFrom(0, 500))
		require.NoError(t, err)

		f, err := collections.OpenBloomFilter[int](ctx, rdb, "open", collections.BloomOptions[int]{})
		require.NoError(t, err)
		require.Equal(t, created.Bits(), f.Bits())
		require.Equal(t, created.Hashes(), f.Hashes())
		require.Equal(t, 1000, f.Capacity(), "stored by the creator")
		require.Equal(t, 0.01, f.ErrorRate(), "stored by the creator")
		got, err := f.ContainsMany(ctx, intsFrom(0, 500))
		require.NoError(t, err)
		for i, ok := range got {
			require.True(t, ok, "element %d", i)
		}
		added, err := f.Add(ctx, 100_000)
		require.NoError(t, err, "the opened filter writes with the stored parameters")
		require.True(t, added)
		ok, err := created.Contains(ctx, 100_000)
		require.NoError(t, err)
		require.True(t, ok)

		require.NoError(t, f.Clear(ctx))
		_, err = collections.OpenBloomFilter[int](ctx, rdb, "open", collections.BloomOptions[int]{})
		require.ErrorIs(t, err, collections.ErrNotFound, "cleared")
	})
}

func TestOpenBloomFilterBadStore(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		open := func(name string) error {
			_, err := collections.OpenBloomFilter[string](ctx, rdb, name, collections.BloomOptions[string]{})
			return err
		}
		// Wrong types keep the data.
		require.NoError(t, rdb.LPush(ctx, "tc:{wt}:bloom", "x").Err())
		require.ErrorIs(t, open("wt"), collections.ErrWrongType)
		require.Equal(t, []string{"x"}, rdb.LRange(ctx, "tc:{wt}:bloom", 0, -1).Val())
		require.NoError(t, rdb.SAdd(ctx, "tc:{wp}:bloom:params", "x").Err())
		require.ErrorIs(t, open("wp"), collections.ErrWrongType)
		require.Equal(t, []string{"x"}, rdb.SMembers(ctx, "tc:{wp}:bloom:params").Val())

		// Bits without parameters, parameters of another form.
		require.NoError(t, rdb.Set(ctx, "tc:{bits}:bloom", "\x01", 0).Err())
		require.ErrorIs(t, open("bits"), collections.ErrConfigMismatch)
		for i, bad := range []string{"v2 m=10 k=3", "v1 m=10", "v1 m=0 k=3", "v1 m=10 k=0", "v1 m=010 k=3", "v1 m=10 k=3 extra", "garbage",
			"v1 m=10 k=3 n=5", "v1 m=10 k=3 n=0 p=0.1", "v1 m=10 k=3 n=5 p=1", "v1 m=10 k=3 n=5 p=x", "v1 m=10 k=3 p=0.1 n=5"} {
			name := "bad" + string(rune('a'+i))
			require.NoError(t, rdb.Set(ctx, "tc:{"+name+"}:bloom:params", bad, 0).Err())
			err := open(name)
			require.ErrorIs(t, err, collections.ErrConfigMismatch, bad)
			require.Contains(t, err.Error(), bad)
			require.Equal(t, bad, rdb.Get(ctx, "tc:{"+name+"}:bloom:params").Val())
		}
		require.NoError(t, rdb.Set(ctx, "tc:{big}:bloom:params", "v1 m=4294967297 k=3", 0).Err())
		require.ErrorIs(t, open("big"), collections.ErrConfigMismatch)
	})
}

// TestOpenBloomFilterImplied: a filter stored by an earlier version, with
// its m and k only, opens with the capacity and rate they imply, near the
// ones it was made for across sizes, and shares its bits with clients of
// today's configuration.
func TestOpenBloomFilterImplied(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		for _, tc := range []struct {
			n int
			p float64
		}{{10, 0.1}, {1000, 0.001}, {100_000, 0.05}} {
			f, err := collections.NewBloomFilter[int](rdb, "impl", tc.n, tc.p, collections.BloomOptions[int]{})
			require.NoError(t, err)
			old := fmt.Sprintf("v1 m=%d k=%d", f.Bits(), f.Hashes())
			require.NoError(t, rdb.Set(ctx, "tc:{impl}:bloom:params", old, 0).Err())
			_, err = f.Add(ctx, 1)
			require.NoError(t, err, "today's configuration shares the old one's filter")
			require.Equal(t, old, rdb.Get(ctx, "tc:{impl}:bloom:params").Val(), "left as stored")
			o, err := collections.OpenBloomFilter[int](ctx, rdb, "impl", collections.BloomOptions[int]{})
			require.NoError(t, err)
			require.InEpsilon(t, float64(tc.n), float64(o.Capacity()), 0.15, "n %d", tc.n)
			require.InEpsilon(t, math.Log(tc.p), math.Log(o.ErrorRate()), 0.15, "p %v", tc.p)
			ok, err := o.Contains(ctx, 1)
			require.NoError(t, err)
			require.True(t, ok)
			require.NoError(t, f.Clear(ctx))
		}
	})
}

// TestBloomFilterSameBitsOtherRate: clients that asked for other capacities
// and rates but got the same m and k share one filter (the stored n and p
// are the creator's); other m or k is ErrConfigMismatch.
func TestBloomFilterSameBitsOtherRate(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		a, err := collections.NewBloomFilter[int](rdb, "same", 1000, 0.01, collections.BloomOptions[int]{})
		require.NoError(t, err)
		b, err := collections.NewBloomFilter[int](rdb, "same", 1000, 0.0100001, collections.BloomOptions[int]{})
		require.NoError(t, err)
		require.Equal(t, a.Bits(), b.Bits())
		require.Equal(t, a.Hashes(), b.Hashes())
		_, err = a.Add(ctx, 7)
		require.NoError(t, err)
		ok, err := b.Contains(ctx, 7)
		require.NoError(t, err)
		require.True(t, ok)
		_, err = b.Add(ctx, 8)
		require.NoError(t, err)
		o, err := collections.OpenBloomFilter[int](ctx, rdb, "same", collections.BloomOptions[int]{})
		require.NoError(t, err)
		require.Equal(t, 0.01, o.ErrorRate(), "the creator's")

		c, err := collections.NewBloomFilter[int](rdb, "same", 2000, 0.01, collections.BloomOptions[int]{})
		require.NoError(t, err)
		_, err = c.Add(ctx, 9)
		require.ErrorIs(t, err, collections.ErrConfigMismatch)
		_, err = c.Contains(ctx, 7)
		require.ErrorIs(t, err, collections.ErrConfigMismatch)
	})
}
