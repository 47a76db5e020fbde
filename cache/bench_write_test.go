package cache

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/redistest"
)

// BenchmarkFillWrite: the write of a loaded value (Fill of one key a
// LookupMany found missing, as orderedcache and memo do) against a raw
// SET of the same bytes, timed side by side in each iteration. It reports
// both medians, their ratio (x-SET) and the fill's commands (fill-calls:
// one round trip). The lookup before each fill is not timed. It runs on a
// client with go-redis' defaults (ContextTimeoutEnabled false: the Store
// runs each call on a goroutine of its own to honour its deadline) and on
// one with ContextTimeoutEnabled (the call runs on the caller's).
func BenchmarkFillWrite(b *testing.B) {
	srv := redistest.Start(b)
	for _, ct := range []bool{false, true} {
		b.Run(fmt.Sprintf("ContextTimeoutEnabled=%v", ct), func(b *testing.B) {
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: ct})
			b.Cleanup(func() { _ = rdb.Close() })
			benchFillWrite(b, rdb)
		})
	}
}

func benchFillWrite(b *testing.B, rdb *redis.Client) {
	ctx := context.Background()
	calls := &roundTrips{}
	rdb.AddHook(calls)
	s := coherentStore(b, rdb, CoherenceAuto)
	c, err := New(s, fmt.Sprint("bench", time.Now().UnixNano()), Options[string]{Codec: codec.String()})
	require.NoError(b, err)
	value := "a value of some 32 bytes or so.."
	raw, _, _, err := c.encode(value, false, time.Now())
	require.NoError(b, err)
	require.NoError(b, c.Set(ctx, "warm", value)) // scripts loaded
	var fills, sets []time.Duration
	var fillCalls int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := fmt.Sprint("fill-", i)
		if _, err := c.LookupMany(ctx, []string{k}); err != nil {
			b.Fatal(err)
		}
		n0 := calls.n.Load()
		t0 := time.Now()
		if err := c.Fill(ctx, map[string]string{k: value}, nil); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		fillCalls += calls.n.Load() - n0
		if err := rdb.Set(ctx, "raw-"+k, raw, time.Hour).Err(); err != nil {
			b.Fatal(err)
		}
		fills, sets = append(fills, t1.Sub(t0)), append(sets, time.Since(t1))
	}
	if st := c.Stats(); st.LocalHits+st.RemoteHits != 0 {
		b.Fatalf("a lookup found a value: %+v", st)
	}
	f, r := median(fills), median(sets)
	b.ReportMetric(float64(f.Nanoseconds()), "fill-ns")
	b.ReportMetric(float64(r.Nanoseconds()), "SET-ns")
	b.ReportMetric(float64(f)/float64(r), "x-SET")
	b.ReportMetric(float64(fillCalls)/float64(len(fills)), "fill-calls")
}

// BenchmarkSetThenGet: a Set and a Get of the same key in one Store, with
// tracking coherence on. It reports the share of Gets the local tier
// answered (local-share: 1 when every Store keeps its own writes).
func BenchmarkSetThenGet(b *testing.B) {
	ctx := context.Background()
	s := coherentStore(b, redistest.Start(b).Client(b), CoherenceTracking)
	c, err := New(s, "bench", Options[string]{Codec: codec.String()})
	require.NoError(b, err)
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		k := fmt.Sprint("k", i&1023)
		if err := c.Set(ctx, k, "v"); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Get(ctx, k); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(c.Stats().LocalHits)/float64(n), "local-share")
}

func median(d []time.Duration) time.Duration {
	d = slices.Clone(d)
	slices.Sort(d)
	return d[len(d)/2]
}
