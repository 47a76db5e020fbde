// Package cachebench compares tiercache's cache package with its peers
// (go-redis/cache v9, rueidis and rueidisaside, otter, ristretto,
// golang-lru/v2 expirable) and with the limits: an RWMutex-guarded map for
// a local hit, raw go-redis GET and MGET for reads from Redis, GET and SET
// for a load, a plain map for memory.
//
// Benchmarks are named Benchmark<Group>/<impl>; the impl "limit" is the
// group's limit. See bench/README.md.
package cachebench

import (
	"os"
	"testing"

	"github.com/tiercache/tiercache/bench/internal/redisproc"
)

// redisAddr is the address of the redis-server TestMain started.
var redisAddr string

func TestMain(m *testing.M) { os.Exit(redisproc.Main(m, &redisAddr)) }
