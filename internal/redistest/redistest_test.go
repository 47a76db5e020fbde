package redistest

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

func TestStartKillRestart(t *testing.T) {
	ctx := context.Background()
	s := Start(t)
	c := s.Client(t)
	require.NoError(t, c.Set(ctx, "k", "v", 0).Err())

	s.Kill()
	require.False(t, s.Running())
	require.Error(t, c.Ping(ctx).Err(), "PING to a killed server must fail")

	s.Restart()
	require.True(t, s.Running())
	require.NoError(t, c.Ping(ctx).Err())
	// No persistence: a restarted server is empty.
	n, err := c.Exists(ctx, "k").Result()
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestStartMastersAreIndependent(t *testing.T) {
	ctx := context.Background()
	ms := StartMasters(t, 3)
	require.Len(t, ms, 3)
	for i, m := range ms {
		require.NoError(t, m.Client(t).Set(ctx, "k", i, 0).Err())
	}
	for i, m := range ms {
		got, err := m.Client(t).Get(ctx, "k").Int()
		require.NoError(t, err)
		require.Equal(t, i, got)
	}
}

func TestCluster(t *testing.T) {
	ctx := context.Background()
	c := StartCluster(t)
	cc := c.Client(t)
	for i := range 100 {
		require.NoError(t, cc.Set(ctx, fmt.Sprint("key", i), i, 0).Err())
	}
	// Keys spread over all three masters.
	for _, s := range c.Servers {
		n, err := s.Client(t).DBSize(ctx).Result()
		require.NoError(t, err)
		require.Positive(t, n, "master %s holds no keys", s.Addr)
	}
	// A killed master comes back with its slots.
	c.Servers[1].Kill()
	c.Servers[1].Restart()
	require.NoError(t, waitClusterOK(ctx, c.Servers[1].Client(t), 3))
}

func TestLaunch(t *testing.T) {
	s, err := Launch()
	require.NoError(t, err)
	c := s.Client(t)
	require.NoError(t, c.Ping(context.Background()).Err())
	s.Close()
	require.False(t, s.Running())
	require.Error(t, c.Ping(context.Background()).Err())
}

func TestSentinelFailover(t *testing.T) {
	ctx := context.Background()
	master := Start(t)
	replica := StartReplica(t, master)
	// One connection: WAIT waits for the writes of its own connection.
	var acked *redis.Cmd
	_, err := master.Client(t).Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "k", "v1", 0)
		acked = p.Do(ctx, "WAIT", 1, startTimeout.Milliseconds())
		return nil
	})
	require.NoError(t, err)
	require.EqualValues(t, 1, acked.Val(), "replicas that acknowledged the write")
	rc := replica.Client(t)
	require.Equal(t, "v1", rc.Get(ctx, "k").Val())
	require.Error(t, rc.Set(ctx, "k", "v2", 0).Err(), "a replica is read-only")

	sentinel := StartSentinel(t, master, replica)
	master.Kill()
	sentinel.WaitMaster(t, replica)
	role, err := rc.Do(ctx, "ROLE").Slice()
	require.NoError(t, err)
	require.Equal(t, "master", role[0])
	require.NoError(t, rc.Set(ctx, "k", "v2", 0).Err(), "the promoted replica takes writes")
}
