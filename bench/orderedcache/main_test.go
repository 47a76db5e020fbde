// Package orderedcachebench measures orderedcache against the limits:
// hydrating 1000 ranked ids (10% of them not cached) from Redis against one
// raw MGET of the same keys and against a per-id Get loop, and hydrating
// 1000 ids held in the local tier against a plain map lookup loop.
//
// Benchmarks are named Benchmark<Group>/<impl>; the impl "limit" is the
// group's limit. See bench/README.md.
package orderedcachebench

import (
	"os"
	"testing"

	"github.com/tiercache/tiercache/bench/internal/redisproc"
)

// redisAddr is the address of the redis-server TestMain started.
var redisAddr string

func TestMain(m *testing.M) { os.Exit(redisproc.Main(m, &redisAddr)) }
