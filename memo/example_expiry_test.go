package memo_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
	"github.com/tiercache/tiercache/memo"
)

// exampleRedis is the redis-server of the examples that need one, started
// on first use and stopped by TestMain.
var exampleRedis redistest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	exampleRedis.Close()
	os.Exit(code)
}

// Results that never expire: no Redis TTL. Forget or Clear drop them.
func ExampleOptions_noExpiry() {
	ctx := context.Background()
	rdb := exampleRedis.Client()
	store, _ := cache.NewStore(rdb, cache.StoreOptions{})
	defer store.Close()

	settings, _ := memo.New(store, "example-settings", func(_ context.Context, name string) (string, error) {
		return "value of " + name, nil
	}, memo.Options[string]{Cache: cache.Options[string]{TTL: cache.NoExpiry}})
	v, _ := settings.Call(ctx, "theme")
	key, _ := settings.Key("theme")
	ttl := rdb.PTTL(ctx, cache.DefaultPrefix+settings.Namespace()+":"+key).Val()
	fmt.Println(v, "/ Redis TTL:", ttl == -1)
	_ = settings.Clear(ctx)
	// Output:
	// value of theme / Redis TTL: true
}

// Sliding expiry (pottery's timeout): each call that finds less than half
// of the TTL left renews the result, so a result in use outlives its TTL.
func ExampleOptions_sliding() {
	ctx := context.Background()
	store, _ := cache.NewStore(exampleRedis.Client(), cache.StoreOptions{})
	defer store.Close()

	runs := 0
	session, _ := memo.New(store, "example-session", func(_ context.Context, id string) (string, error) {
		runs++
		return "session " + id, nil
	}, memo.Options[string]{Cache: cache.Options[string]{TTL: time.Second, Sliding: true}})
	for range 20 { // called every 100ms for two TTLs
		_, _ = session.Call(ctx, "s-1")
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Println("computed", runs, "time(s) in two TTLs")
	_ = session.Clear(ctx)
	// Output:
	// computed 1 time(s) in two TTLs
}
