package collections_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
)

// dsBackend is one Redis deployment the data-structure tests run on: a single
// server or the 3-master cluster.
type dsBackend struct {
	name    string   // "single" or "cluster"
	addrs   []string // the server's address, or the cluster masters'
	cluster bool
	rdb     redis.UniversalClient
}

// client returns another client of the deployment, as another process
// would have, closed in t.Cleanup.
func (be dsBackend) client(t testing.TB) redis.UniversalClient {
	var c redis.UniversalClient
	if be.cluster {
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: be.addrs})
	} else {
		c = redis.NewClient(&redis.Options{Addr: be.addrs[0]})
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// dsOnBoth starts one single server and one 3-master cluster for the
// calling top-level test and runs fn as the subtests "single" and
// "cluster". Subtests of fn share the servers and keep apart by name (see
// dsName).
func dsOnBoth(t *testing.T, fn func(t *testing.T, be dsBackend)) {
	t.Helper()
	t.Parallel() // the servers are this test's own; most of their start-up is waiting
	s := redistest.Start(t)
	cl := redistest.StartCluster(t)
	for _, be := range []dsBackend{
		{name: "single", addrs: []string{s.Addr}, rdb: s.Client(t)},
		{name: "cluster", addrs: cl.Addrs(), cluster: true, rdb: cl.Client(t)},
	} {
		t.Run(be.name, func(t *testing.T) { fn(t, be) })
	}
}

// dsName returns a collection name unique to the running (sub)test.
func dsName(t testing.TB) string {
	return strings.NewReplacer("/", ".", " ", "_", "{", "(", "}", ")").Replace(t.Name())
}

// canceled returns a context that is already canceled.
func dsCanceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// must fails the test on err and returns v.
func dsMust[T any](t testing.TB) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		require.NoError(t, err)
		return v
	}
}

// occupy stores a string at key, so that a collection on it sees the wrong
// type.
func dsOccupy(t testing.TB, rdb redis.UniversalClient, key string) {
	t.Helper()
	require.NoError(t, rdb.Set(context.Background(), key, "not a collection", 0).Err())
}

// requireUntouched checks that key still holds what occupy wrote.
func dsUntouched(t testing.TB, rdb redis.UniversalClient, key string) {
	t.Helper()
	got, err := rdb.Get(context.Background(), key).Result()
	require.NoError(t, err)
	require.Equal(t, "not a collection", got)
}

// Every constructor refuses a nil client, an empty name and names or
// prefixes that would break the hash tag, without talking to Redis.
func TestDataStructureConstructorsValidate(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never dialed
	defer c.Close()
	constructors := map[string]func(rdb redis.UniversalClient, name string, o collections.Options) error{
		"Dict": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewDict(rdb, name, collections.DictOptions[string, int]{Options: o})
			return err
		},
		"DefaultDict": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewDefaultDict(rdb, name, collections.DefaultDictOptions[string, int]{
				DictOptions: collections.DictOptions[string, int]{Options: o}})
			return err
		},
		"Set": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewSet(rdb, name, collections.SetOptions[int]{Options: o})
			return err
		},
		"List": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewList(rdb, name, collections.ListOptions[int]{Options: o})
			return err
		},
		"Deque": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewDeque(rdb, name, collections.DequeOptions[int]{Options: o})
			return err
		},
		"Counter": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewCounter(rdb, name, collections.CounterOptions[int]{Options: o})
			return err
		},
		"Queue": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewQueue(rdb, name, collections.QueueOptions[int]{Options: o})
			return err
		},
		"ReliableQueue": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewReliableQueue(rdb, name, collections.QueueOptions[int]{Options: o})
			return err
		},
		"SortedSet": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewSortedSet(rdb, name, collections.SortedSetOptions[int]{Options: o})
			return err
		},
		"MultiMapTTL": func(rdb redis.UniversalClient, name string, o collections.Options) error {
			_, err := collections.NewMultiMapTTL(rdb, name, collections.MultiMapTTLOptions[int]{Options: o})
			return err
		},
	}
	for typ, newFn := range constructors {
		require.NoError(t, newFn(c, "ok", collections.Options{}), typ)
		require.ErrorIs(t, newFn(nil, "ok", collections.Options{}), collections.ErrInvalidArgument, "%s: nil client", typ)
		require.ErrorIs(t, newFn(c, "", collections.Options{}), collections.ErrInvalidArgument, "%s: empty name", typ)
		require.ErrorIs(t, newFn(c, "a}b", collections.Options{}), collections.ErrInvalidArgument, "%s: brace in name", typ)
		require.ErrorIs(t, newFn(c, "ok", collections.Options{Prefix: "x{"}), collections.ErrInvalidArgument, "%s: brace in prefix", typ)
	}
}

// With a client that applies context deadlines, Options.Timeout bounds each
// round trip: a blackholed Redis gives a deadline error, not a hang.
func TestDataStructureTimeoutWhenBlackholed(t *testing.T) {
	ctx := context.Background()
	s := redistest.Start(t)
	px := faultproxy.Start(t, s.Addr)
	rdb := redis.NewClient(&redis.Options{Addr: px.Addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	opts := collections.Options{Timeout: 100 * time.Millisecond}
	d, err := collections.NewDict(rdb, dsName(t), collections.DictOptions[string, int]{Options: opts})
	require.NoError(t, err)
	q, err := collections.NewQueue(rdb, dsName(t), collections.QueueOptions[int]{Options: opts})
	require.NoError(t, err)
	require.NoError(t, d.Set(ctx, "a", 1))

	px.Blackhole()
	_, err = d.Get(ctx, "a")
	var timeout net.Error
	require.ErrorAs(t, err, &timeout)
	require.True(t, timeout.Timeout(), "got %v, want a timeout", err)
	wait, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = q.Get(wait)
	require.Error(t, err)

	px.Heal()
	require.Eventually(t, func() bool { _, err := d.Get(ctx, "a"); return err == nil }, 30*time.Second, 10*time.Millisecond)
}
