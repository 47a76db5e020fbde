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
	require.Contains(t, out.String(), "function runs: 1, hits: 2")
}
