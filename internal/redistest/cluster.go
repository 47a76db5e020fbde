package redistest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster with every slot assigned: 3 masters unless
// configured otherwise, and optionally replicas.
type Cluster struct {
	// Servers are the masters in the order they were started; Servers[i]
	// of the first n served slots i*16384/n up to (i+1)*16384/n-1 at start
	// (a master added with AddMaster serves none). A failover does not
	// reorder them.
	Servers []*Server
	// Replicas[i] replicate Servers[i] at start.
	Replicas [][]*Server

	mu       sync.Mutex
	announce map[string]string // announced address -> the server's own
}

// ClusterConfig configures StartClusterWith.
type ClusterConfig struct {
	// Masters is the number of masters; 3 when 0.
	Masters int
	// Replicas is the number of replicas of each master.
	Replicas int
	// AnnouncePort, when set, is called for each master before it starts,
	// and returns the port it announces to the cluster instead of its own
	// (cluster-announce-port; its bus port stays its own). Its replicas
	// then replicate from that port: a faultproxy there in front of the
	// master delays or cuts the replication stream. Clients from Client,
	// or with Dialer, still reach the master itself.
	AnnouncePort func(master *Server) int
}

// Addrs returns the masters' addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		addrs[i] = s.Addr
	}
	return addrs
}

// Dialer dials a server's own address for the address it announces, so
// that clients bypass the proxies of ClusterConfig.AnnouncePort.
func (c *Cluster) Dialer(ctx context.Context, network, addr string) (net.Conn, error) {
	c.mu.Lock()
	if own, ok := c.announce[addr]; ok {
		addr = own
	}
	c.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// Options returns cluster client options for the cluster: its masters'
// addresses and Dialer.
func (c *Cluster) Options() *redis.ClusterOptions {
	return &redis.ClusterOptions{Addrs: c.Addrs(), Dialer: c.Dialer}
}

// Client returns a go-redis cluster client, closed in t.Cleanup.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(c.Options())
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// StartCluster starts a 3-master cluster and returns when every node reports
// cluster_state:ok and knows all three masters.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	return StartClusterWith(t, ClusterConfig{})
}

// StartClusterWith starts a cluster as cfg says and returns when every
// node reports cluster_state:ok and knows every other, and every replica's
// link to its master is up.
func StartClusterWith(t testing.TB, cfg ClusterConfig) *Cluster {
	t.Helper()
	n := cfg.Masters
	if n == 0 {
		n = 3
	}
	c := &Cluster{announce: map[string]string{}}
	for range n {
		c.Servers = append(c.Servers, c.startNode(t, cfg.AnnouncePort))
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for i, s := range c.Servers {
		cl := s.Client(t)
		lo, hi := i*16384/n, (i+1)*16384/n-1
		if err := cl.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			t.Fatalf("redistest: CLUSTER ADDSLOTSRANGE on %s: %v", s.Addr, err)
		}
		if i > 0 {
			c.meet(t, ctx, s)
		}
	}
	c.waitKnown(t, ctx, n)
	for _, m := range c.Servers {
		var rs []*Server
		for range cfg.Replicas {
			rs = append(rs, c.addReplica(t, ctx, m))
		}
		c.Replicas = append(c.Replicas, rs)
	}
	c.waitKnown(t, ctx, n*(1+cfg.Replicas))
	c.waitReplicas(t, ctx)
	return c
}

// waitReplicas waits until every running node's CLUSTER SLOTS, where
// clients learn of replicas, lists every running replica. A node lists a
// replica only once gossip has told it of the replica's role and of a
// replication offset above 0.
func (c *Cluster) waitReplicas(t testing.TB, ctx context.Context) {
	t.Helper()
	want := 0
	for _, rs := range c.Replicas {
		for _, r := range rs {
			if r.Running() {
				want++
			}
		}
	}
	for _, s := range c.all() {
		if !s.Running() {
			continue
		}
		cl := s.Client(t)
		for {
			//lint:ignore SA1019 CLUSTER SLOTS is what go-redis reads.
			ranges, err := cl.ClusterSlots(ctx).Result()
			got := 0
			for _, r := range ranges {
				got += max(len(r.Nodes)-1, 0)
			}
			if err == nil && got == want {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("redistest: %s never listed %d replicas: %v %v", s.Addr, want, err, ranges)
			case <-time.After(20 * time.Millisecond): // gossip has no completion signal
			}
		}
	}
}

// startNode starts one cluster-enabled server.
func (c *Cluster) startNode(t testing.TB, announce func(*Server) int) *Server {
	t.Helper()
	s, err := newServer(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	// A master syncs a new replica at once, not after the default 5 s
	// that lets more replicas share a diskless sync.
	s.args = append(s.args, "--repl-diskless-sync-delay", "0")
	if announce != nil {
		port := announce(s)
		s.args = append(s.args,
			"--cluster-announce-ip", "127.0.0.1",
			"--cluster-announce-port", strconv.Itoa(port),
			"--cluster-announce-bus-port", strconv.Itoa(s.Port+10000))
		c.mu.Lock()
		c.announce[net.JoinHostPort("127.0.0.1", strconv.Itoa(port))] = s.Addr
		c.mu.Unlock()
	}
	t.Cleanup(s.Kill)
	if err := s.launch(); err != nil {
		t.Fatal(err)
	}
	return s
}

// meet introduces s to the cluster through its first master.
func (c *Cluster) meet(t testing.TB, ctx context.Context, s *Server) {
	t.Helper()
	if err := s.Client(t).Do(ctx, "CLUSTER", "MEET", "127.0.0.1", c.Servers[0].Port, c.Servers[0].Port+10000).Err(); err != nil {
		t.Fatalf("redistest: CLUSTER MEET: %v", err)
	}
}

// waitKnown waits until every running node is in cluster_state:ok and
// knows nodes nodes.
func (c *Cluster) waitKnown(t testing.TB, ctx context.Context, nodes int) {
	t.Helper()
	for _, s := range c.all() {
		if !s.Running() {
			continue
		}
		if err := waitClusterOK(ctx, s.Client(t), nodes); err != nil {
			t.Fatalf("redistest: cluster did not form: %v", err)
		}
	}
}

func (c *Cluster) all() []*Server {
	out := append([]*Server(nil), c.Servers...)
	for _, rs := range c.Replicas {
		out = append(out, rs...)
	}
	return out
}

// addReplica starts a node that replicates master and returns once its
// link is up.
func (c *Cluster) addReplica(t testing.TB, ctx context.Context, master *Server) *Server {
	t.Helper()
	r := c.startNode(t, nil)
	c.meet(t, ctx, r)
	id, err := master.Client(t).ClusterMyID(ctx).Result()
	if err != nil {
		t.Fatalf("redistest: CLUSTER MYID on %s: %v", master.Addr, err)
	}
	rc := r.Client(t)
	for {
		// The replica must have heard of the master through gossip first.
		err = rc.Do(ctx, "CLUSTER", "REPLICATE", id).Err()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: CLUSTER REPLICATE %s on %s: %v", id, r.Addr, err)
		case <-time.After(20 * time.Millisecond): // gossip has no completion signal
		}
	}
	waitLinkUp(t, ctx, rc)
	return r
}

// waitLinkUp waits until a replica's link to its master is up.
func waitLinkUp(t testing.TB, ctx context.Context, rc *redis.Client) {
	t.Helper()
	for {
		info, err := rc.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: replica %s never linked: last error %v, info %q", rc.Options().Addr, err, info)
		case <-time.After(10 * time.Millisecond): // Redis has no event for a link coming up
		}
	}
}

// AddMaster starts a master that serves no slot, joins it to the cluster
// and returns once every node knows it.
func (c *Cluster) AddMaster(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	s := c.startNode(t, nil)
	c.meet(t, ctx, s)
	c.Servers = append(c.Servers, s)
	c.Replicas = append(c.Replicas, nil)
	c.waitKnown(t, ctx, len(c.all()))
	return s
}

// Failover promotes replica with CLUSTER FAILOVER (its master agrees, no
// write is lost) and returns once the replica reports itself master and
// its old master reports itself a replica.
func (c *Cluster) Failover(t testing.TB, replica *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	rc := replica.Client(t)
	if err := rc.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
		t.Fatalf("redistest: CLUSTER FAILOVER on %s: %v", replica.Addr, err)
	}
	c.WaitPromoted(t, replica)
}

// WaitPromoted waits until replica reports itself a master and every
// running node is in cluster_state:ok (after a kill of its master, that
// takes the node timeout, 2 s, and an election).
func (c *Cluster) WaitPromoted(t testing.TB, replica *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	rc := replica.Client(t)
	for {
		role, err := rc.Do(ctx, "ROLE").Slice()
		if err == nil && len(role) > 0 && role[0] == "master" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: %s never became master: %v %v", replica.Addr, role, err)
		case <-time.After(20 * time.Millisecond): // a failover has no completion signal
		}
	}
	for _, s := range c.all() {
		if !s.Running() {
			continue
		}
		cl := s.Client(t)
		for {
			info, err := cl.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("redistest: %s not ok after the failover: %v %q", s.Addr, err, info)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func waitClusterOK(ctx context.Context, cl *redis.Client, nodes int) error {
	for {
		info, err := cl.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") &&
			strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(nodes)+"\r") &&
			strings.Contains(info, "cluster_slots_ok:16384") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: last CLUSTER INFO error %v, info %q: %w", cl.Options().Addr, err, info, ctx.Err())
		case <-time.After(20 * time.Millisecond): // gossip has no completion signal
		}
	}
}
