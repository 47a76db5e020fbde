package collections_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/collections"
)

// Sessions per user, each expiring on its own.
func ExampleMultiMapTTL() {
	ctx := context.Background()
	rdb := exampleClient()
	sessions, err := collections.NewMultiMapTTL(rdb, "sessions", collections.MultiMapTTLOptions[string]{})
	if err != nil {
		panic(err)
	}
	_, _ = sessions.Delete(ctx, "alice", "bob")
	_ = sessions.Add(ctx, "alice", time.Hour, "laptop")
	_ = sessions.Add(ctx, "alice", 100*time.Millisecond, "phone")
	_ = sessions.AddWithExpiry(ctx, "bob", collections.Expiring[string]{
		Value: "tablet", ExpiresAt: time.Now().Add(24 * time.Hour),
	})
	time.Sleep(200 * time.Millisecond) // the phone session expires meanwhile
	all, _ := sessions.GetMany(ctx, "alice", "bob")
	fmt.Println(all)

	// The key expires with its longest-lived value.
	ttl := rdb.PTTL(ctx, sessions.Key("alice")).Val()
	fmt.Println(ttl > 59*time.Minute && ttl <= time.Hour)
	// Output:
	// map[alice:[laptop] bob:[tablet]]
	// true
}
