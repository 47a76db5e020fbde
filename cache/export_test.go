package cache

import (
	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
)

// exampleRedis is the redis-server of the examples (package cache_test),
// started on first use; TestMain stops it.
var exampleRedis redistest.Shared

// RedisForExamples returns a client of the examples' redis-server. It
// exists only in this package's tests.
func RedisForExamples() *redis.Client { return exampleRedis.Client() }
