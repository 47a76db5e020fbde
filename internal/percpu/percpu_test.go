package percpu

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestCounterSums: adds from many goroutines at once, hot and cold, all
// reach the sum.
func TestCounterSums(t *testing.T) {
	var c Counter
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10_000 {
				c.Inc()
			}
			c.Add(5)
		})
	}
	wg.Wait()
	if got, want := c.Load(), uint64(8*(10_000+5)); got != want {
		t.Fatalf("Load = %d, want %d", got, want)
	}
}

// TestIncAllocatesNothing: Inc sits on every local hit.
func TestIncAllocatesNothing(t *testing.T) {
	var c Counter
	if n := testing.AllocsPerRun(1000, c.Inc); n != 0 {
		t.Fatalf("Inc allocates %v times", n)
	}
}

func BenchmarkInc(b *testing.B) {
	var c Counter
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

// BenchmarkShared is the baseline Inc replaces: one word for every P.
func BenchmarkShared(b *testing.B) {
	var n atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n.Add(1)
		}
	})
}
