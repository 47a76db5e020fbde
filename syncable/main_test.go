package syncable_test

import (
	"context"
	"math"
	"os"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestMain runs the helper process of TestTwoProcessesConflict when the
// environment asks for it, else the tests; then it stops the redis-server
// the Examples started, if they did.
func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperProcess())
	}
	code := m.Run()
	examples.Close()
	os.Exit(code)
}

// start returns a client of a fresh redis-server, both stopped when t ends.
func start(t *testing.T) *redis.Client {
	t.Helper()
	return redistest.Start(t).Client(t)
}

// roundTrips counts the commands and pipelines a client sends: each is one
// round trip (go-redis's retries would hide inside one: the tests that
// count turn them off). The handshake of a new connection (HELLO, CLIENT
// SETINFO), which passes through the hooks too, is not counted.
type roundTrips struct {
	n    atomic.Int64
	args atomic.Int64 // the number of arguments of the last command
}

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !handshake(cmd) {
			r.n.Add(1)
			r.args.Store(int64(len(cmd.Args())))
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return !handshake(c) }) {
			r.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// handshake reports whether cmd is part of go-redis's connection setup.
func handshake(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return true
	}
	return false
}

// count returns the round trips fn made.
func (r *roundTrips) count(fn func()) int64 {
	before := r.n.Load()
	fn()
	return r.n.Load() - before
}

// counted returns a new client with the options of rdb and a round trip
// counter.
func counted(t *testing.T, rdb *redis.Client) (*redis.Client, *roundTrips) {
	t.Helper()
	opts := *rdb.Options()
	if opts.MaxRetries == 0 { // normalized from -1 (no retries); 0 would mean 3 again
		opts.MaxRetries = -1
	}
	c := redis.NewClient(&opts)
	t.Cleanup(func() { _ = c.Close() })
	rt := &roundTrips{}
	c.AddHook(rt)
	return c, rt
}

// examples is the redis-server the Examples run against, started on first
// use; TestMain stops it.
var examples redistest.Shared

// exampleClient returns a client of the examples' server.
func exampleClient() *redis.Client { return examples.Client() }

// nanValue returns a NaN, which the JSON codec cannot encode.
func nanValue() float64 { return math.NaN() }
