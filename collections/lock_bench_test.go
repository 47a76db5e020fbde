package collections_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// BenchmarkLockUnlock takes and releases an uncontended lock on 1 and 3
// local masters.
func BenchmarkLockUnlock(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprint(n, "masters"), func(b *testing.B) {
			ctx := context.Background()
			lock, err := collections.NewLock(clientsFor(b, redistest.StartMasters(b, n)), "bench", collections.LockOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := lock.TryLock(ctx); err != nil {
					b.Fatal(err)
				}
				if err := lock.Unlock(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNextID hands out ids on 1 and 3 local masters, one caller.
func BenchmarkNextID(b *testing.B) {
	for _, n := range []int{1, 3} {
		b.Run(fmt.Sprint(n, "masters"), func(b *testing.B) {
			ctx := context.Background()
			ids, err := collections.NewNextID(clientsFor(b, redistest.StartMasters(b, n)), "bench", collections.NextIDOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ids.Next(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
