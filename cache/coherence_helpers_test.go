package cache

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/keys"
	"github.com/tiercache/tiercache/internal/redistest"
)

// deployment is a Redis deployment for the coherence tests, with access to
// its server processes.
type deployment struct {
	name    string
	servers []*redistest.Server
	cluster bool
	moved   map[int]int // slot -> index in servers, for slots moveSlot moved
	// slotted is how many of servers served slots at start (evenly, in
	// order); all of them when 0. Masters added later come after.
	slotted int
	// mode is the Coherence the tracking tests ask for (Auto: the default).
	mode Coherence
}

// trackingMode is the mode d's Stores run in: d.mode, or what Auto picks.
func (d deployment) trackingMode() Coherence {
	if d.mode == CoherenceAuto {
		return CoherenceTracking
	}
	return d.mode
}

func deployments(t *testing.T) []deployment {
	single := redistest.Start(t)
	cl := redistest.StartCluster(t)
	return []deployment{
		{name: "single", servers: []*redistest.Server{single}},
		{name: "cluster", servers: cl.Servers, cluster: true},
	}
}

// client returns a new client (its own connection pool), closed in t.Cleanup.
func (d deployment) client(t testing.TB) redis.UniversalClient {
	var c redis.UniversalClient
	if d.cluster {
		c = redis.NewClusterClient(&redis.ClusterOptions{Addrs: d.addrs()})
	} else {
		c = redis.NewClient(&redis.Options{Addr: d.servers[0].Addr})
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (d deployment) addrs() []string {
	var a []string
	for _, s := range d.servers {
		a = append(a, s.Addr)
	}
	return a
}

// serverOf returns the index of the server that holds a Redis key.
func (d deployment) serverOf(rkey string) int {
	if !d.cluster {
		return 0
	}
	slot := keys.Slot(rkey)
	if i, ok := d.moved[slot]; ok {
		return i
	}
	n := len(d.servers)
	if d.slotted > 0 {
		n = d.slotted
	}
	for i := range n {
		if slot <= (i+1)*keys.SlotCount/n-1 {
			return i
		}
	}
	return n - 1
}

// moveSlot migrates a hash slot and its keys to the next master, as
// redis-cli --cluster reshard does, and records the move for serverOf.
func (d *deployment) moveSlot(t *testing.T, slot int) {
	t.Helper()
	ctx := context.Background()
	from := d.serverOf("{" + keys.SlotTag(slot) + "}")
	to := (from + 1) % len(d.servers)
	src, dst := d.servers[from].Client(t), d.servers[to].Client(t)
	srcID, err := src.ClusterMyID(ctx).Result()
	require.NoError(t, err)
	dstID, err := dst.ClusterMyID(ctx).Result()
	require.NoError(t, err)
	require.NoError(t, dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err())
	require.NoError(t, src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err())
	for {
		ks, err := src.ClusterGetKeysInSlot(ctx, slot, 100).Result()
		require.NoError(t, err)
		if len(ks) == 0 {
			break
		}
		args := []any{"MIGRATE", "127.0.0.1", d.servers[to].Port, "", 0, 5000, "KEYS"}
		for _, k := range ks {
			args = append(args, k)
		}
		require.NoError(t, src.Do(ctx, args...).Err())
	}
	for _, srv := range d.servers {
		require.NoError(t, srv.Client(t).Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	}
	if d.moved == nil {
		d.moved = map[int]int{}
	}
	d.moved[slot] = to
}

// cli runs redis-cli, a separate process that is not tiercache, against the
// server holding rkey, with stdin as the value of -x.
func (d deployment) cli(t *testing.T, rkey string, stdin []byte, args ...string) string {
	t.Helper()
	s := d.servers[d.serverOf(rkey)]
	full := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port)}, args...)
	cmd := exec.Command(redisCLI(t), full...)
	if stdin != nil {
		cmd.Stdin = strings.NewReader(string(stdin))
	}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "redis-cli %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

func redisCLI(t *testing.T) string {
	bin, err := redistest.Binary()
	require.NoError(t, err)
	cli := strings.TrimSuffix(bin, "redis-server") + "redis-cli"
	if _, err := os.Stat(cli); err != nil {
		cli, err = exec.LookPath("redis-cli")
		require.NoError(t, err, "redis-cli is installed with redis-server (make test)")
	}
	return cli
}

// markers returns one key of namespace c per server, to drain the
// invalidation streams: a stream has delivered everything written before a
// marker's write once the marker's invalidation has arrived.
func (d deployment) markers(c *Cache[string]) []string {
	out := make([]string, len(d.servers))
	left := len(d.servers)
	for i := 0; left > 0; i++ {
		k := "marker-" + strconv.Itoa(i)
		if j := d.serverOf(c.RedisKey(k)); out[j] == "" {
			out[j] = k
			left--
		}
	}
	return out
}

// envelope encodes v as a tiercache entry, as a foreign writer that knows
// the format would.
func envelope(t testing.TB, v string) []byte {
	now := time.Now().UnixMilli()
	b, err := codec.EncodeValue(nil, codec.Header{SoftExpiry: now + 3600_000, HardExpiry: now + 3600_000}, codec.String(), v, 0)
	require.NoError(t, err)
	return b
}

// local reports whether c holds key in its local tier.
func local[V any](c *Cache[V], key string) bool {
	_, ok := c.localGet(key)
	return ok
}

// proxiedStore returns a coherent Store on d, in d.mode, whose invalidation
// connections go through a fault proxy per server, by the server's address.
func proxiedStore(t *testing.T, d deployment) (*Store, map[string]*faultproxy.Proxy) {
	t.Helper()
	proxies := map[string]*faultproxy.Proxy{}
	for _, srv := range d.servers {
		proxies[srv.Addr] = faultproxy.Start(t, srv.Addr)
	}
	s, err := NewStore(d.client(t), StoreOptions{Coherence: d.mode, invalidationAddr: func(addr string) string {
		if p, ok := proxies[addr]; ok {
			return p.Addr
		}
		return addr
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.WaitCoherent(ctx))
	return s, proxies
}
