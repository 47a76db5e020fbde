package collections_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// onServerAndCluster runs test, in parallel, on a standalone server and on a
// 3-master cluster.
func onServerAndCluster(t *testing.T, test func(t *testing.T, rdb redis.UniversalClient)) {
	t.Run("standalone", func(t *testing.T) {
		t.Parallel()
		test(t, redistest.Start(t).Client(t))
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		test(t, redistest.StartCluster(t).Client(t))
	})
}

// intsFrom returns n consecutive ints from first.
func intsFrom(first, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = first + i
	}
	return out
}

// eachBatch calls fn on consecutive batches of items.
func eachBatch[T any](items []T, size int, fn func(batch []T)) {
	for len(items) > 0 {
		n := min(size, len(items))
		fn(items[:n])
		items = items[n:]
	}
}

func TestNewBloomFilterValidates(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed
	defer c.Close()
	for _, tc := range []struct {
		name string
		rdb  redis.UniversalClient
		key  string
		n    int
		p    float64
	}{
		{"nil client", nil, "f", 10, 0.01},
		{"empty name", c, "", 10, 0.01},
		{"zero items", c, "f", 0, 0.01},
		{"negative items", c, "f", -5, 0.01},
		{"rate 0", c, "f", 10, 0},
		{"rate 1", c, "f", 10, 1},
		{"negative rate", c, "f", 10, -0.5},
		{"NaN rate", c, "f", 10, math.NaN()},
		{"larger than a Redis string", c, "f", 1e9, 1e-9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := collections.NewBloomFilter[string](tc.rdb, tc.key, tc.n, tc.p, collections.BloomOptions[string]{})
			require.ErrorIs(t, err, collections.ErrInvalidArgument)
			require.Nil(t, b)
		})
	}
}

func TestBloomFilterParameters(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed
	defer c.Close()
	b, err := collections.NewBloomFilter[int](c, "f", 100_000, 0.01, collections.BloomOptions[int]{})
	require.NoError(t, err)
	// m = ceil(-n ln p / ln² 2), k = round(m/n ln 2)
	assert.Equal(t, uint64(958506), b.Bits())
	assert.Equal(t, 7, b.Hashes())
}

// TestBloomFilterAccuracy: 100k added elements, none missed; the measured
// false positive rate on 50k others is within 1.5x of the configured one;
// Len is within 2%. On the cluster, the same with 20k elements (the filter
// logic is the same; the test checks that the scripts run there).
func TestBloomFilterAccuracy(t *testing.T) {
	t.Run("standalone", func(t *testing.T) {
		t.Parallel()
		checkBloomAccuracy(t, redistest.Start(t).Client(t), 100_000, 50_000)
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		checkBloomAccuracy(t, redistest.StartCluster(t).Client(t), 20_000, 20_000)
	})
}

func checkBloomAccuracy(t *testing.T, rdb redis.UniversalClient, n, others int) {
	const p, batch = 0.01, 10_000
	ctx := context.Background()
	bf, err := collections.NewBloomFilter[int](rdb, "accuracy", n, p, collections.BloomOptions[int]{
		Options: collections.Options{Timeout: time.Minute}, // batches of 10k: a hang guard only
	})
	require.NoError(t, err)

	added := intsFrom(0, n)
	var newCount int
	eachBatch(added, batch, func(b []int) {
		got, err := bf.AddMany(ctx, b)
		require.NoError(t, err)
		newCount += got
	})
	assert.InDelta(t, n, newCount, float64(n)*p, "elements reported new")

	eachBatch(added, batch, func(b []int) {
		got, err := bf.ContainsMany(ctx, b)
		require.NoError(t, err)
		for i, ok := range got {
			require.True(t, ok, "false negative for %d", b[i])
		}
	})

	var falsePositives int
	eachBatch(intsFrom(10_000_000, others), batch, func(b []int) {
		got, err := bf.ContainsMany(ctx, b)
		require.NoError(t, err)
		for _, ok := range got {
			if ok {
				falsePositives++
			}
		}
	})
	rate := float64(falsePositives) / float64(others)
	t.Logf("false positive rate %.4f on %d elements never added (configured %.4f)", rate, others, p)
	assert.LessOrEqual(t, rate, 1.5*p)
	assert.GreaterOrEqual(t, rate, p/1.5, "suspiciously few false positives: are all bits used?")

	est, err := bf.Len(ctx)
	require.NoError(t, err)
	t.Logf("Len %d for %d elements", est, n)
	assert.InEpsilon(t, n, est, 0.02)
}

func TestBloomFilterBasics(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		bf, err := collections.NewBloomFilter(rdb, "basics", 1000, 0.001, collections.BloomOptions[string]{Codec: codec.String()})
		require.NoError(t, err)

		ok, err := bf.Contains(ctx, "alice")
		require.NoError(t, err)
		assert.False(t, ok, "empty filter")
		n, err := bf.Len(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
		got, err := bf.ContainsMany(ctx, nil)
		require.NoError(t, err)
		assert.Empty(t, got)

		added, err := bf.Add(ctx, "alice")
		require.NoError(t, err)
		assert.True(t, added)
		added, err = bf.Add(ctx, "alice")
		require.NoError(t, err)
		assert.False(t, added, "second Add of the same element")
		count, err := bf.AddMany(ctx, []string{"bob", "carol", "alice", "bob"})
		require.NoError(t, err)
		assert.Equal(t, 2, count, "bob and carol are new, once each")

		got, err = bf.ContainsMany(ctx, []string{"alice", "mallory", "bob", "carol", "trent"})
		require.NoError(t, err)
		assert.Equal(t, []bool{true, false, true, true, false}, got)
		n, err = bf.Len(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(3), n)

		require.NoError(t, bf.Clear(ctx))
		ok, err = bf.Contains(ctx, "alice")
		require.NoError(t, err)
		assert.False(t, ok, "after Clear")
	})
}

// TestBloomFilterConfigMismatch: a filter opened with other parameters than
// the stored ones fails every operation and writes nothing.
func TestBloomFilterConfigMismatch(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	orig, err := collections.NewBloomFilter[string](rdb, "shared", 1000, 0.01, collections.BloomOptions[string]{})
	require.NoError(t, err)
	_, err = orig.AddMany(ctx, []string{"a", "b", "c"})
	require.NoError(t, err)
	before, err := rdb.Get(ctx, "tc:{shared}:bloom").Result()
	require.NoError(t, err)

	for _, tc := range []struct {
		n int
		p float64
	}{{2000, 0.01}, {1000, 0.001}} {
		t.Run(fmt.Sprint(tc.n, tc.p), func(t *testing.T) {
			other, err := collections.NewBloomFilter[string](rdb, "shared", tc.n, tc.p, collections.BloomOptions[string]{})
			require.NoError(t, err, "the constructor does not talk to Redis")
			_, err = other.Add(ctx, "d")
			require.ErrorIs(t, err, collections.ErrConfigMismatch)
			assert.Contains(t, err.Error(), "tc:{shared}:bloom")
			assert.Contains(t, err.Error(), fmt.Sprintf("m=%d", orig.Bits()), "the message shows the stored parameters")
			_, err = other.ContainsMany(ctx, []string{"a"})
			require.ErrorIs(t, err, collections.ErrConfigMismatch)
			_, err = other.Len(ctx)
			require.ErrorIs(t, err, collections.ErrConfigMismatch)
		})
	}
	after, err := rdb.Get(ctx, "tc:{shared}:bloom").Result()
	require.NoError(t, err)
	assert.Equal(t, before, after, "the bits are untouched")
	ok, err := orig.Contains(ctx, "a")
	require.NoError(t, err)
	assert.True(t, ok)

	// Bits without parameters are someone else's: refuse them too.
	require.NoError(t, rdb.Set(ctx, "tc:{bare}:bloom", "\xff\xff", 0).Err())
	bare, err := collections.NewBloomFilter[string](rdb, "bare", 1000, 0.01, collections.BloomOptions[string]{})
	require.NoError(t, err)
	_, err = bare.Add(ctx, "x")
	require.ErrorIs(t, err, collections.ErrConfigMismatch)
	_, err = bare.Contains(ctx, "x")
	require.ErrorIs(t, err, collections.ErrConfigMismatch)
}

func TestBloomFilterWrongType(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	require.NoError(t, rdb.HSet(ctx, "tc:{typed}:bloom", "f", "v").Err())
	bf, err := collections.NewBloomFilter[string](rdb, "typed", 1000, 0.01, collections.BloomOptions[string]{})
	require.NoError(t, err)
	_, err = bf.Add(ctx, "x")
	require.ErrorIs(t, err, collections.ErrWrongType)
	assert.Contains(t, err.Error(), "tc:{typed}:bloom")
	_, err = bf.Contains(ctx, "x")
	require.ErrorIs(t, err, collections.ErrWrongType)
	_, err = bf.Len(ctx)
	require.ErrorIs(t, err, collections.ErrWrongType)
	n, err := rdb.Exists(ctx, "tc:{typed}:bloom:params").Result()
	require.NoError(t, err)
	assert.Zero(t, n, "nothing written")
}

func TestBloomFilterOptions(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	bf, err := collections.NewBloomFilter[any](rdb, "opts", 100, 0.01, collections.BloomOptions[any]{
		Options: collections.Options{Prefix: "app:"},
	})
	require.NoError(t, err)
	_, err = bf.Add(ctx, "x")
	require.NoError(t, err)
	keys, err := rdb.Keys(ctx, "*").Result()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"app:{opts}:bloom", "app:{opts}:bloom:params"}, keys)

	_, err = bf.AddMany(ctx, []any{"fine", make(chan int)})
	require.ErrorIs(t, err, codec.ErrEncode, "the codec's error")
	assert.Contains(t, err.Error(), "element 1")
}
