package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/demoredis"
	"github.com/tiercache/tiercache/internal/redistest"
)

// TestDemo runs the demo on a redis-server of its own (REDIS_URL) and
// checks what it measured.
func TestDemo(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	t.Setenv("REDIS_URL", srv.URL())
	conn, err := demoredis.Connect(ctx)
	require.NoError(t, err)
	defer conn.Close()
	var out bytes.Buffer
	require.NoError(t, run(ctx, &out, conn))
	t.Log("\n" + out.String())
	text := out.String()
	for _, want := range []string{
		"on the Redis at " + srv.URL() + " (REDIS_URL); coherence: tracking",
		"via the loader",
		"via Redis",
		"via local tier",
		"via the handler (1 call)",
		"rank order kept: true",
		"-> 1000 (want 1000)",
		"-> 100 (want 100); fencing tokens increasing: true",
	} {
		require.Contains(t, text, want)
	}
	// The memoized function: loaded by A, then B reads Redis, then its
	// local tier, as its counters said.
	var memo []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, `price("A-1")`) {
			memo = append(memo, l)
		}
	}
	require.Len(t, memo, 3)
	require.Contains(t, memo[0], "via the loader")
	require.Contains(t, memo[1], "via Redis")
	require.Contains(t, memo[2], "via local tier")
}

// TestUnreachableRedis: a REDIS_URL nobody listens on is one line of error.
func TestUnreachableRedis(t *testing.T) {
	t.Setenv("REDIS_URL", "redis://127.0.0.1:1")
	_, err := demoredis.Connect(context.Background())
	require.Error(t, err)
	require.NotContains(t, err.Error(), "\n")
	require.Contains(t, err.Error(), "cannot reach Redis at redis://127.0.0.1:1")
}
