package collections_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

func newNextID(t testing.TB, masters []redis.UniversalClient, name string) *collections.NextID {
	t.Helper()
	n, err := collections.NewNextID(masters, name, collections.NextIDOptions{})
	require.NoError(t, err)
	return n
}

func TestNewNextIDValidates(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed
	defer c.Close()
	for name, tc := range map[string]struct {
		masters []redis.UniversalClient
		name    string
	}{
		"no masters":    {nil, "ids"},
		"nil master":    {[]redis.UniversalClient{nil}, "ids"},
		"empty name":    {[]redis.UniversalClient{c}, ""},
		"brace in name": {[]redis.UniversalClient{c}, "}"},
	} {
		t.Run(name, func(t *testing.T) {
			n, err := collections.NewNextID(tc.masters, tc.name, collections.NextIDOptions{})
			require.ErrorIs(t, err, collections.ErrInvalidArgument)
			require.Nil(t, n)
		})
	}
}

func TestNextIDBasics(t *testing.T) {
	for _, n := range []int{1, 3, 5} {
		t.Run(fmt.Sprint(n, "masters"), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			servers := redistest.StartMasters(t, n)
			a := newNextID(t, clientsFor(t, servers), "orders")
			b := newNextID(t, clientsFor(t, servers), "orders")
			var got []int64
			for _, ids := range []*collections.NextID{a, a, b, a, b, b} {
				id, err := ids.Next(ctx)
				require.NoError(t, err)
				got = append(got, id)
			}
			assert.Equal(t, []int64{1, 2, 3, 4, 5, 6}, got, "one sequence shared by both values")

			require.NoError(t, a.Reset(ctx))
			id, err := a.Next(ctx)
			require.NoError(t, err)
			assert.Equal(t, int64(1), id, "after Reset")
		})
	}
}

// TestNextIDConcurrent: 8 goroutines on 4 client sets, 1000 ids each, over 3
// masters: all distinct and increasing for each caller.
func TestNextIDConcurrent(t *testing.T) {
	const processes, perProcess, calls = 4, 2, 1000
	ctx := context.Background()
	servers := redistest.StartMasters(t, 3)
	results := make([][]int64, processes*perProcess)
	var wg sync.WaitGroup
	for p := range processes {
		masters := clientsFor(t, servers)
		for g := range perProcess {
			ids, err := collections.NewNextID(masters, "concurrent", collections.NextIDOptions{
				Options: collections.Options{Timeout: 10 * time.Second}, // a hang guard on a loaded machine
			})
			require.NoError(t, err)
			out := make([]int64, 0, calls)
			wg.Go(func() {
				defer func() { results[p*perProcess+g] = out }()
				for range calls {
					id, err := ids.Next(ctx)
					if !assert.NoError(t, err) {
						return
					}
					out = append(out, id)
				}
			})
		}
	}
	wg.Wait()
	seen := make(map[int64]int)
	for caller, ids := range results {
		require.Len(t, ids, calls)
		for i, id := range ids {
			if i > 0 {
				require.Greater(t, id, ids[i-1], "caller %d, call %d", caller, i)
			}
			if prev, dup := seen[id]; dup {
				t.Fatalf("id %d handed to callers %d and %d", id, prev, caller)
			}
			seen[id] = caller
		}
	}
	assert.Len(t, seen, processes*perProcess*calls)
}

func TestNextIDWithOneMasterDown(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 3)
	ids := newNextID(t, clientsFor(t, servers), "down")
	other := newNextID(t, clientsFor(t, servers), "down")
	next := func(n *collections.NextID) int64 {
		t.Helper()
		id, err := n.Next(ctx)
		require.NoError(t, err)
		return id
	}
	last := next(ids)
	servers[0].Kill()
	for _, n := range []*collections.NextID{ids, other, ids, other} {
		id := next(n)
		require.Greater(t, id, last)
		last = id
	}

	servers[1].Kill()
	_, err := ids.Next(ctx)
	require.ErrorIs(t, err, collections.ErrQuorum)
	var qe *collections.QuorumError
	require.ErrorAs(t, err, &qe)
	assert.Equal(t, 1, qe.Answered)

	// Master 1 comes back empty; master 2 remembers, so ids keep growing,
	// and the empty master is raised by the next proposal.
	servers[1].Restart()
	id := next(other)
	require.Greater(t, id, last)
	got, err := servers[1].Client(t).Get(ctx, "tc:{down}:nextid").Int64()
	require.NoError(t, err)
	assert.Equal(t, id, got)
}

// TestNextIDDivergedCounters: a fresh value whose first proposal is rejected
// everywhere proposes again above the highest counter.
func TestNextIDDivergedCounters(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 3)
	masters := clientsFor(t, servers)
	for i, v := range []int{40, 7, 3} {
		require.NoError(t, masters[i].Set(ctx, "tc:{diverged}:nextid", v, 0).Err())
	}
	id, err := newNextID(t, masters, "diverged").Next(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(41), id)
}

func TestNextIDWrongType(t *testing.T) {
	ctx := context.Background()
	servers := redistest.StartMasters(t, 3)
	masters := clientsFor(t, servers)
	require.NoError(t, masters[2].Set(ctx, "tc:{typed}:nextid", "not a number", 0).Err())
	_, err := newNextID(t, masters, "typed").Next(ctx)
	require.ErrorIs(t, err, collections.ErrWrongType)
	assert.Contains(t, err.Error(), "tc:{typed}:nextid")
	got, err := masters[2].Get(ctx, "tc:{typed}:nextid").Result()
	require.NoError(t, err)
	assert.Equal(t, "not a number", got)
}
