package cachebench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	rediscache "github.com/go-redis/cache/v9"
	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
)

// numKeys is the size of the key set every benchmark rotates through.
const numKeys = 1024

// Item is the value every benchmark stores: a small struct with a string
// and a slice, so that decoding it allocates.
type Item struct {
	ID   int      `json:"id" msgpack:"id"`
	Name string   `json:"name" msgpack:"name"`
	Tags []string `json:"tags" msgpack:"tags"`
}

// keys are the benchmark keys, "item:0000" to "item:1023".
var keys = func() []string {
	ks := make([]string, numKeys)
	for i := range ks {
		ks[i] = fmt.Sprintf("item:%04d", i)
	}
	return ks
}()

// itemFor returns the value stored under keys[i].
func itemFor(i int) Item {
	return Item{ID: i, Name: fmt.Sprintf("item number %d", i), Tags: []string{"red", "green", "blue"}}
}

// itemJSON returns itemFor(i) as JSON: the string value of the string-codec
// benchmarks, so that they move as many bytes as the struct ones.
func itemJSON(i int) string {
	b, err := json.Marshal(itemFor(i))
	if err != nil {
		panic(err)
	}
	return string(b)
}

// newClient returns a go-redis client for the benchmark server, flushed so
// that every benchmark starts from an empty database.
func newClient(b *testing.B) *redis.Client {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	b.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.FlushDB(context.Background()).Err(); err != nil {
		b.Fatalf("FLUSHDB: %v", err)
	}
	return rdb
}

// newTiercache returns a tiercache namespace on rdb with opts.
func newTiercache[V any](b *testing.B, rdb *redis.Client, opts cache.Options[V]) *cache.Cache[V] {
	b.Helper()
	store, err := cache.NewStore(rdb, cache.StoreOptions{Logger: discardLogger})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Close() })
	c, err := cache.New(store, "bench", opts)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// discardLogger is the Logger of the benchmarks' Stores: a Store's one INFO
// line per start would clutter the benchmark output.
var discardLogger = slog.New(slog.DiscardHandler)

// newRedisCache returns a go-redis/cache on rdb, with a TinyLFU local cache
// when local is set. Its stats count Redis reads only, which lets a
// benchmark check that every local read hit.
func newRedisCache(rdb *redis.Client, local bool) *rediscache.Cache {
	opts := &rediscache.Options{Redis: rdb, StatsEnabled: true}
	if local {
		opts.LocalCache = rediscache.NewTinyLFU(4*numKeys, time.Hour)
	}
	return rediscache.New(opts)
}

// peerKeys are the Redis keys the go-redis/cache benchmarks use for keys,
// apart from tiercache's "tc:bench:" keys.
var peerKeys = func() []string {
	ks := make([]string, numKeys)
	for i := range ks {
		ks[i] = "grc:" + keys[i]
	}
	return ks
}()

// rueKeys and rueMsgpackKeys are the Redis keys the rueidis benchmarks use
// for keys: the JSON string and the msgpack struct.
var rueKeys, rueMsgpackKeys = prefixed("rue:"), prefixed("ruemp:")

// prefixed returns keys with prefix before each.
func prefixed(prefix string) []string {
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = prefix + k
	}
	return ks
}

// errMiss is what a benchmark's read returns when the key was not found.
var errMiss = errors.New("miss")

// checkID returns an error when a read returned another key's value.
func checkID(got, want int) error {
	if got != want {
		return fmt.Errorf("got the value of key %d, want key %d", got, want)
	}
	return nil
}
