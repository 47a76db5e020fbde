package cache

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// The lease tests run part of their fleet in a child process: the test
// binary started again with leaseChildEnv set, dispatched by TestMain.
const leaseChildEnv = "TIERCACHE_LEASE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(leaseChildEnv) != "" {
		os.Exit(leaseChild())
	}
	code := m.Run()
	exampleRedis.Close()
	os.Exit(code)
}

// fleetLoader is the loader every member of the fleet runs: it counts its
// runs in Redis and, in "wait" mode, returns only once all members have
// arrived (each pushes a token on "<prefix>arrived"); in "hang" mode it never returns (its process is killed).
func fleetLoader(rdb redis.UniversalClient, prefix, mode string, members int, value string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if err := rdb.Incr(ctx, prefix+"loads").Err(); err != nil {
			return "", err
		}
		switch mode {
		case "hang":
			select {}
		case "wait":
			// Every member pushes a token as it arrives; the one load takes
			// them all (a blocking pop, 20s each as a hang guard).
			for range members {
				if err := rdb.BLPop(ctx, 20*time.Second, prefix+"arrived").Err(); err != nil {
					return "", fmt.Errorf("waiting for the fleet: %w", err)
				}
			}
		}
		return value, nil
	}
}

// leaseChild is the child process: one Store calling GetOrLoad.
func leaseChild() int {
	var rdb redis.UniversalClient
	addrs := strings.Split(os.Getenv("TC_ADDRS"), ",")
	if os.Getenv("TC_CLUSTER") != "" {
		rdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	} else {
		rdb = redis.NewClient(&redis.Options{Addr: addrs[0]})
	}
	defer rdb.Close()
	ctx := context.Background()
	s, err := NewStore(rdb, StoreOptions{})
	if err == nil {
		err = s.WaitCoherent(ctx)
	}
	var c *Cache[string]
	if err == nil {
		c, err = New(s, os.Getenv("TC_NS"), Options[string]{Lease: time.Second})
	}
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	prefix := os.Getenv("TC_PREFIX")
	rdb.RPush(ctx, prefix+"arrived", 1)
	fmt.Println("READY")
	v, err := c.GetOrLoad(ctx, "cold", fleetLoader(rdb, prefix, os.Getenv("TC_MODE"), 5, "from-child"))
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	fmt.Println("VALUE", v)
	return 0
}

// startChild starts the child process and returns it with its output lines.
func startChild(t *testing.T, d deployment, ns, prefix, mode string) (*exec.Cmd, <-chan string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), leaseChildEnv+"=1", "TC_ADDRS="+strings.Join(d.addrs(), ","),
		"TC_NS="+ns, "TC_PREFIX="+prefix, "TC_MODE="+mode)
	if d.cluster {
		cmd.Env = append(cmd.Env, "TC_CLUSTER=1")
	}
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// testFleetLease: four Stores on separate pools and one in another process
// miss the same key at once; the loader runs exactly once in all.
func testFleetLease(t *testing.T, d deployment) {
	ctx := context.Background()
	ns, prefix := uniqueNS(t), uniqueNS(t)+":"
	rdb := d.client(t)
	_, lines := startChild(t, d, ns, prefix, "wait")
	var wg sync.WaitGroup
	values := make(chan string, 4)
	for i := range 4 {
		c, err := New(coherentStore(t, d.client(t), CoherenceAuto), ns, Options[string]{Lease: time.Second})
		require.NoError(t, err)
		wg.Go(func() {
			require.NoError(t, rdb.RPush(ctx, prefix+"arrived", 1).Err())
			v, err := c.GetOrLoad(ctx, "cold", fleetLoader(rdb, prefix, "wait", 5, fmt.Sprint("from-", i)))
			if err != nil {
				v = err.Error()
			}
			values <- v
		})
	}
	wg.Wait()
	close(values)
	var got []string
	for v := range values {
		got = append(got, v)
	}
	var child string
	for l := range lines {
		child = l
	}
	got = append(got, strings.TrimPrefix(child, "VALUE "))
	for _, v := range got[1:] {
		require.Equal(t, got[0], v, "everybody gets the one loaded value: %v", got)
	}
	loads, err := rdb.Get(ctx, prefix+"loads").Int()
	require.NoError(t, err)
	require.Equal(t, 1, loads, "loader runs in the fleet")
}

// testLeaseHolderKilled: the process holding the lease is killed mid-load;
// another process loads once the lease expires, and nobody waits forever.
func testLeaseHolderKilled(t *testing.T, d deployment) {
	ctx := context.Background()
	ns, prefix := uniqueNS(t), uniqueNS(t)+":"
	rdb := d.client(t)
	child, _ := startChild(t, d, ns, prefix, "hang")
	eventually(t, func() bool { n, _ := rdb.Get(ctx, prefix+"loads").Int(); return n == 1 }, "the child never started loading")

	var wg sync.WaitGroup
	caches := make([]*Cache[string], 4)
	values := make([]string, 4)
	for i := range caches {
		c, err := New(coherentStore(t, d.client(t), CoherenceAuto), ns, Options[string]{Lease: time.Second})
		require.NoError(t, err)
		caches[i] = c
		wg.Go(func() {
			v, err := c.GetOrLoad(ctx, "cold", fleetLoader(rdb, prefix, "", 0, fmt.Sprint("from-", i)))
			if err != nil {
				v = err.Error()
			}
			values[i] = v
		})
	}
	eventually(t, func() bool {
		for _, c := range caches {
			if c.Stats().LeaseWaits == 0 {
				return false
			}
		}
		return true
	}, "the Stores did not wait on the child's lease")
	require.NoError(t, child.Process.Kill())
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // hang guard
		t.Fatal("waiters never finished after the lease holder died")
	}
	for _, v := range values[1:] {
		require.Equal(t, values[0], v)
	}
	require.Contains(t, values[0], "from-")
	loads, err := rdb.Get(ctx, prefix+"loads").Int()
	require.NoError(t, err)
	require.Equal(t, 2, loads, "the child's load, then exactly one more")
}
