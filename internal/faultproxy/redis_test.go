package faultproxy_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
)

// redisBehindProxy starts a redis-server, a proxy in front of it and a client
// of the proxy whose first connection is already open.
func redisBehindProxy(t *testing.T) (*faultproxy.Proxy, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	rdb := redis.NewClient(&redis.Options{
		Addr: px.Addr,
		// Bound socket reads and writes by the caller's deadline, so a
		// blackholed command returns when its context expires.
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Ping(t.Context()).Err())
	return px, rdb
}

func TestRedisPing(t *testing.T) {
	px, rdb := redisBehindProxy(t)
	ctx := t.Context()
	require.NoError(t, rdb.Set(ctx, "faultproxy:ping", "v", 0).Err())
	got, err := rdb.Get(ctx, "faultproxy:ping").Result()
	require.NoError(t, err)
	require.Equal(t, "v", got)
	require.Equal(t, 1, px.Conns())
}

func TestRedisLatency(t *testing.T) {
	const latency = 100 * time.Millisecond
	px, rdb := redisBehindProxy(t)
	px.SetLatency(latency) // applies to the client's open connection
	start := time.Now()
	require.NoError(t, rdb.Ping(t.Context()).Err())
	require.GreaterOrEqual(t, time.Since(start), latency)
}

func TestRedisCut(t *testing.T) {
	px, rdb := redisBehindProxy(t)
	ctx := t.Context()
	accepted := px.Accepted()

	px.Cut()
	require.Equal(t, 0, px.Conns())
	// The next command fails or go-redis notices the dead connection and
	// retries on a new one; either is fine. The one after must succeed.
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Logf("first command after Cut: %v", err)
	}
	require.NoError(t, rdb.Ping(ctx).Err())
	require.Greater(t, px.Accepted(), accepted, "the client must have reconnected")
}

func TestRedisBlackholeAndHeal(t *testing.T) {
	px, rdb := redisBehindProxy(t)
	px.Blackhole()

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err := rdb.Ping(ctx).Err()
	require.Error(t, err)
	var netErr net.Error
	require.True(t, errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout(),
		"got %v, want a deadline error", err)

	px.Heal()
	require.NoError(t, rdb.Ping(t.Context()).Err())
}

func TestRedisRefuseAndHeal(t *testing.T) {
	px, _ := redisBehindProxy(t)
	px.Refuse()
	fresh := redis.NewClient(&redis.Options{Addr: px.Addr})
	t.Cleanup(func() { _ = fresh.Close() })
	require.Error(t, fresh.Ping(t.Context()).Err(), "a client that must dial through a refusing proxy")

	px.Heal()
	require.NoError(t, fresh.Ping(t.Context()).Err())
}

// TestRedisDropReplies shows the lost-reply fault with go-redis' default
// options: the server runs every 5th command of a connection, the reply is
// dropped, go-redis resends the command on a new connection, and an INCR is
// applied twice while every call returned success.
func TestRedisDropReplies(t *testing.T) {
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	px.DropReplies(5)
	rdb := redis.NewClient(&redis.Options{Addr: px.Addr}) // default retries
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := t.Context()
	const calls = 50
	for range calls {
		require.NoError(t, rdb.Incr(ctx, "faultproxy:n").Err())
	}
	px.Heal()
	got, err := srv.Client(t).Get(ctx, "faultproxy:n").Int64()
	require.NoError(t, err)
	dropped := px.Dropped()
	require.Positive(t, dropped)
	// Every dropped reply was of an INCR the server ran and go-redis sent again.
	require.Equal(t, calls+dropped, got, "got %d increments for %d calls and %d dropped replies", got, calls, dropped)

	// After Heal, new connections drop nothing.
	before := px.Dropped()
	px.Cut()
	for range 20 {
		require.NoError(t, rdb.Ping(ctx).Err())
	}
	require.Equal(t, before, px.Dropped())
}
