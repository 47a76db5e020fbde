package collections

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

// TestUnlockStopsWatchdog checks that Unlock stops the renewals: the timer
// is stopped and a tick that fires late does nothing.
func TestUnlockStopsWatchdog(t *testing.T) {
	ctx := context.Background()
	c := redistest.Start(t).Client(t)
	l, err := NewLock([]redis.UniversalClient{c}, "wd", LockOptions{TTL: 300 * time.Millisecond, Watchdog: true})
	require.NoError(t, err)
	_, err = l.TryLock(ctx)
	require.NoError(t, err)
	ls := l.cur
	require.NoError(t, l.Unlock(ctx))
	ls.tickMu.Lock()
	stopped := ls.stopped
	ls.tickMu.Unlock()
	assert.True(t, stopped)
	assert.False(t, ls.timer.Stop(), "the timer was still armed after Unlock")
	l.tick(ls) // a tick that fired just before Unlock
	select {
	case <-ls.lost:
	default:
		t.Fatal("Lost() is not closed after Unlock")
	}
	n, err := c.Exists(ctx, l.lockKey).Result()
	require.NoError(t, err)
	assert.Zero(t, n)
}

// TestLockKeeperEndsWhenLost checks that without Unlock the lease is marked
// lost once the validity has run out, and the timer is not re-armed.
func TestLockKeeperEndsWhenLost(t *testing.T) {
	ctx := context.Background()
	c := redistest.Start(t).Client(t)
	l, err := NewLock([]redis.UniversalClient{c}, "keeper", LockOptions{TTL: 200 * time.Millisecond})
	require.NoError(t, err)
	_, err = l.TryLock(ctx)
	require.NoError(t, err)
	ls := l.cur
	<-ls.lost
	assert.Zero(t, l.Validity())
	ls.tickMu.Lock()
	defer ls.tickMu.Unlock()
	assert.False(t, ls.timer.Stop(), "the timer was re-armed after the validity ran out")
}

// TestLockAcquireIsRetrySafe: go-redis may send a script again after a lost
// reply; the second run must report the lock as taken, with the same token.
func TestLockAcquireIsRetrySafe(t *testing.T) {
	ctx := context.Background()
	c := redistest.Start(t).Client(t)
	keys := []string{"tc:{r}:lock", "tc:{r}:fence"}
	first, err := lockAcquire.Run(ctx, c, keys, "tok", 10000).Int64()
	require.NoError(t, err)
	again, err := lockAcquire.Run(ctx, c, keys, "tok", 10000).Int64()
	require.NoError(t, err)
	assert.Equal(t, first, again)
	other, err := lockAcquire.Run(ctx, c, keys, "other", 10000).Int64()
	require.NoError(t, err)
	assert.Zero(t, other)
}
