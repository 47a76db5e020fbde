package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/demoredis"
	"github.com/tiercache/tiercache/internal/redistest"
)

func TestRun(t *testing.T) {
	t.Setenv("REDIS_URL", redistest.Start(t).URL())
	conn, err := demoredis.Connect(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out, conn))
	t.Log(out.String())
	require.Contains(t, out.String(), "database asked for [42 7 19 404]")
	require.Contains(t, out.String(), "database asked for [5]") // 404 is remembered as not found
	require.Contains(t, out.String(), "  19 \"doc 19\"\n  42 \"doc 42\"\n  5 \"doc 5\"\n  7 \"doc 7\"\n")
}
