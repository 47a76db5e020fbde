package cache

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
)

// BenchmarkInvalidationLagTopologies measures, on each topology, the time from the
// start of a foreign SET to the arrival of its invalidation on every
// stream of a Store that may have served the key: the master's, and with
// replica reads the replicas' too (they send theirs once they have applied
// the write). It reports the median and the 99th percentile.
//
//	go test -run '^$' -bench BenchmarkInvalidationLagTopologies -benchtime 2000x ./cache/
func BenchmarkInvalidationLagTopologies(b *testing.B) {
	type topo struct {
		name    string
		store   func(b *testing.B) *Store
		foreign func(b *testing.B) redis.UniversalClient
		streams int // streams that deliver each key's invalidation
	}
	single := redistest.Start(b)
	master := redistest.Start(b)
	replica := redistest.StartReplica(b, master)
	sentinel := redistest.StartSentinel(b, master, replica)
	cl := redistest.StartClusterWith(b, redistest.ClusterConfig{Replicas: 1})
	ring := redistest.StartMasters(b, 3)
	ringAddrs := map[string]string{"a": ring[0].Addr, "b": ring[1].Addr, "c": ring[2].Addr}
	failover := func(replicaOnly bool) func(*testing.B) *Store {
		return func(b *testing.B) *Store {
			c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentinel.MasterName, SentinelAddrs: []string{sentinel.Addr}, ReplicaOnly: replicaOnly})
			b.Cleanup(func() { _ = c.Close() })
			return coherentStore(b, c, CoherenceTracking)
		}
	}
	cluster := func(readOnly bool) func(*testing.B) *Store {
		return func(b *testing.B) *Store {
			o := cl.Options()
			o.ReadOnly = readOnly
			c := redis.NewClusterClient(o)
			b.Cleanup(func() { _ = c.Close() })
			return coherentStore(b, c, CoherenceTracking)
		}
	}
	topos := []topo{
		{"Standalone", func(b *testing.B) *Store { return coherentStore(b, single.Client(b), CoherenceTracking) },
			func(b *testing.B) redis.UniversalClient { return single.Client(b) }, 1},
		{"Sentinel", failover(false), func(b *testing.B) redis.UniversalClient { return master.Client(b) }, 2},
		{"SentinelReplicaOnly", failover(true), func(b *testing.B) redis.UniversalClient { return master.Client(b) }, 2},
		{"Cluster", cluster(false), func(b *testing.B) redis.UniversalClient { return cl.Client(b) }, 1},
		{"ClusterReadOnly", cluster(true), func(b *testing.B) redis.UniversalClient { return cl.Client(b) }, 2},
		{"Ring", func(b *testing.B) *Store {
			r := redis.NewRing(&redis.RingOptions{Addrs: ringAddrs})
			b.Cleanup(func() { _ = r.Close() })
			return coherentStore(b, r, CoherenceTracking)
		}, func(b *testing.B) redis.UniversalClient {
			r := redis.NewRing(&redis.RingOptions{Addrs: ringAddrs})
			b.Cleanup(func() { _ = r.Close() })
			return r
		}, 1},
	}
	for _, tp := range topos {
		b.Run(tp.name, func(b *testing.B) {
			ctx := context.Background()
			s := tp.store(b)
			foreign := tp.foreign(b)
			var mu sync.Mutex
			got := map[string]int{}
			done := map[string]chan struct{}{}
			h := func(_ string, m *redis.Message) {
				mu.Lock()
				defer mu.Unlock()
				for _, k := range append([]string{m.Payload}, m.PayloadSlice...) {
					if got[k]++; got[k] == tp.streams && done[k] != nil {
						close(done[k])
					}
				}
			}
			s.coh.heard.Store(&h)
			lags := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				k := fmt.Sprintf("tc:lag:%d", i)
				ch := make(chan struct{})
				mu.Lock()
				done[k] = ch
				mu.Unlock()
				start := time.Now()
				if err := foreign.Set(ctx, k, "x", time.Minute).Err(); err != nil {
					b.Fatal(err)
				}
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
					b.Fatalf("%s: the invalidation of %s reached %d of %d streams", tp.name, k, got[k], tp.streams)
				}
				lags = append(lags, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lags)
			b.ReportMetric(float64(lags[len(lags)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lags[len(lags)*99/100].Microseconds()), "p99-µs")
		})
	}
}
