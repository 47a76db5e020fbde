package orderedcache_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/internal/redistest"
)

// backend is a Redis deployment a test runs on.
type backend struct {
	name string
	// client returns a new client, closed in t.Cleanup, whose round trips
	// are recorded in the returned trips.
	client func(t *testing.T) (redis.UniversalClient, *trips)
}

// backends starts a single server and a 3-master cluster.
func backends(t *testing.T) []backend {
	single := redistest.Start(t)
	cluster := redistest.StartCluster(t)
	return []backend{
		{"single", func(t *testing.T) (redis.UniversalClient, *trips) {
			tr := newTrips()
			c := single.Client(t)
			c.AddHook(tr.hook(single.Addr))
			return c, tr
		}},
		{"cluster", func(t *testing.T) (redis.UniversalClient, *trips) {
			tr := newTrips()
			c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cluster.Addrs()})
			c.OnNewNode(func(n *redis.Client) { n.AddHook(tr.hook(n.Options().Addr)) })
			t.Cleanup(func() { _ = c.Close() })
			return c, tr
		}},
	}
}

// trips records round trips by node: one entry per command or pipeline
// sent, naming the commands in it ("mget", "evalsha+evalsha"). Connection
// handshakes (HELLO, CLIENT SETINFO) and cluster topology refreshes (CLUSTER
// SLOTS, which go-redis sends in the background) belong to no operation and
// are not recorded.
type trips struct {
	mu  sync.Mutex
	log map[string][]string
}

func newTrips() *trips { return &trips{log: map[string][]string{}} }

func (r *trips) hook(addr string) redis.Hook { return nodeHook{r, addr} }

func (r *trips) record(addr string, cmds []redis.Cmder) {
	names := make([]string, 0, len(cmds))
	for _, c := range cmds {
		switch n := c.Name(); n {
		case "hello", "client", "cluster":
		case "eval", "evalsha": // a script is sent whole until the server has it
			names = append(names, "script")
		default:
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log[addr] = append(r.log[addr], strings.Join(slices.Compact(names), "+"))
}

// during runs fn and returns the round trips it made, by node address.
func (r *trips) during(fn func()) map[string][]string {
	r.mu.Lock()
	r.log = map[string][]string{}
	r.mu.Unlock()
	fn()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.log
	r.log = map[string][]string{}
	return out
}

type nodeHook struct {
	r    *trips
	addr string
}

func (h nodeHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h nodeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.r.record(h.addr, []redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}
func (h nodeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.r.record(h.addr, cmds)
		return next(ctx, cmds)
	}
}

// doc is the value type of the tests: a search result.
type doc struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
}

func docFor(id int) doc { return doc{ID: id, Title: "doc " + strconv.Itoa(id)} }

// docs returns the documents of ids, in order.
func docs(ids []int) []doc {
	out := make([]doc, len(ids))
	for i, id := range ids {
		out[i] = docFor(id)
	}
	return out
}

// source is a loader over the documents whose id satisfies has. It records
// every call.
type source struct {
	has   func(id int) bool
	mu    sync.Mutex
	calls [][]int
}

func (s *source) load(_ context.Context, missing []int) (map[int]doc, error) {
	s.mu.Lock()
	s.calls = append(s.calls, slices.Clone(missing))
	s.mu.Unlock()
	out := make(map[int]doc, len(missing))
	for _, id := range missing {
		if s.has == nil || s.has(id) {
			out[id] = docFor(id)
		}
	}
	return out, nil
}

func (s *source) Calls() [][]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// newStore returns a Store without coherence: these tests count what the
// local tier holds, and with coherence it holds nothing until the
// invalidation stream is up, and refuses fills that raced the seed writes'
// invalidations (the cache package tests that on its own).
func newStore(t testing.TB, rdb redis.UniversalClient) *cache.Store {
	s, err := cache.NewStore(rdb, cache.StoreOptions{Coherence: cache.CoherenceNone})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newCache[V any](t testing.TB, s *cache.Store, ns string, opts cache.Options[V]) *cache.Cache[V] {
	c, err := cache.New(s, ns, opts)
	require.NoError(t, err)
	return c
}

var nsSeq atomic.Int64

// uniqueNS names a namespace no other test uses.
func uniqueNS() string {
	return fmt.Sprintf("oc%d-%d", time.Now().UnixNano()%1e9, nsSeq.Add(1))
}

// seed writes the documents of ids to namespace ns through a Store of its
// own, so that they are in Redis and in no other Store's local tier.
func seed(t *testing.T, rdb redis.UniversalClient, ns string, ids []int) {
	t.Helper()
	w := newCache[doc](t, newStore(t, rdb), ns, cache.Options[doc]{})
	items := make(map[string]doc, len(ids))
	for _, id := range ids {
		items[strconv.Itoa(id)] = docFor(id)
	}
	require.NoError(t, w.SetMany(context.Background(), items))
}

// warmUp makes c's client open a connection to every node and load the
// write script on it, so that the round trips counted afterwards are the
// operation's own.
func warmUp(t *testing.T, c *cache.Cache[doc]) {
	t.Helper()
	ctx := context.Background()
	items := make(map[string]doc, 64)
	ks := make([]string, 0, 64)
	for i := range 64 {
		k := "warm-" + strconv.Itoa(i)
		items[k] = doc{}
		ks = append(ks, k)
	}
	require.NoError(t, c.SetMany(ctx, items))
	require.NoError(t, c.Delete(ctx, ks...))
	_, err := c.LookupMany(ctx, ks)
	require.NoError(t, err)
}

// seq returns the ints from lo to hi.
func seq(lo, hi int) []int {
	out := make([]int, 0, hi-lo+1)
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

// exampleRedis starts a redis-server for the examples, which cannot use
// redistest (it needs a testing.TB), and returns its address and a function
// that stops it.
func exampleRedis() (addr string, stop func(), err error) {
	srv, err := redistest.Launch()
	if err != nil {
		return "", nil, err
	}
	return srv.Addr, srv.Close, nil
}
