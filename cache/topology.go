package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// source is one server whose writes the Store must hear of: every server
// that may answer a read whose reply the Store keeps. On a Cluster that is
// every master (those that serve no slot yet included: a slot migrating to
// one is read there through ASK), and every replica when the client routes
// reads to replicas; under Sentinel the master and every replica; on a
// Ring every shard.
type source struct {
	addr string
	// slots, for sharded pub/sub, are the hash slots whose channels the
	// server serves: its own, or its master's for a replica.
	slots []int
	// importing, for sharded pub/sub, marks a second connection to a
	// master importing slots[0] (one per slot: ASKING lets only the next
	// command in). A write sent there by ASK announces itself there.
	importing bool
	// held marks a server that may answer reads yet hears none of the
	// writes (an old master not yet demoted): its connection never comes
	// up, and the Store stays down while it is listed.
	held bool
}

func (s source) id() string {
	switch {
	case s.importing:
		return s.addr + " importing " + strconv.Itoa(s.slots[0])
	case s.held:
		return s.addr + " held"
	}
	return s.addr
}

// lister lists the sources of a topology, and returns the options to copy
// for a connection to one (Addr aside).
type lister func(ctx context.Context) ([]source, *redis.Options, error)

// topology follows the sources of the Store's client: the follower's
// current set, and the addresses it knows but covers on purpose not (the
// replicas of a Cluster whose client reads from masters only).
type topology struct {
	mu      sync.Mutex
	covered map[string]bool // addr -> covered (true) or known and left out (false)
	// kick asks the follower to list again at once: the client made a
	// connection to a server outside the known set.
	kick chan struct{}
	// pending counts the unknown servers seen since the last listing;
	// each holds the Store down (see unknownNode).
	pending int32
	// seen holds the addresses unknownNode was told of.
	seen map[string]bool
}

func newTopology() *topology { return &topology{kick: make(chan struct{}, 1)} }

// unknownNode is called when the client starts using the server at addr
// (go-redis creates a node client for it: a slot-less master reached by
// ASK, a new replica, a shard added to a Ring). If the follower does not
// know it, the Store counts as down until the follower has listed the
// topology again (and started a connection to it if it is a source):
// replies the client gets from it meanwhile are not kept.
func (c *coherence) unknownNode(addr string) {
	t := c.topo
	t.mu.Lock()
	_, known := t.covered[addr]
	if !known {
		t.pending++
	}
	if t.seen == nil {
		t.seen = map[string]bool{}
	}
	t.seen[addr] = true
	t.mu.Unlock()
	if known {
		return
	}
	c.setDown(1)
	notify(t.kick)
}

// followNodes runs one invalidation connection per source with run, and
// follows the sources as the topology changes; every change flushes (see
// setDown). A source whose slots change gets a new connection.
func (c *coherence) followNodes(ctx context.Context, list lister,
	run func(ctx context.Context, opt *redis.Options, src source, ready func())) {
	type conn struct {
		src    source
		cancel context.CancelFunc
		done   chan struct{}
	}
	conns := map[string]*conn{}
	stop := func(id string) {
		conns[id].cancel()
		<-conns[id].done
		delete(conns, id)
	}
	defer func() {
		for id := range conns {
			stop(id)
		}
	}()
	// The Store counts as down while the connections change (as it does
	// while undecided, from newCoherence): between stopping a connection
	// and subscribing its successor, some writes may have no listener.
	down := true
	goDown := func() {
		if !down {
			down = true
			c.resyncs.Add(1)
			c.setDown(1)
		}
	}
	for {
		c.topo.mu.Lock()
		pending := c.topo.pending
		c.topo.pending = 0
		c.topo.mu.Unlock()
		srcs, tmpl, err := list(ctx)
		if err == nil {
			want := make(map[string]source, len(srcs))
			for _, s := range srcs {
				want[s.id()] = s
			}
			for id, cn := range conns {
				if s, ok := want[id]; !ok || !slices.Equal(s.slots, cn.src.slots) {
					goDown()
					stop(id)
				}
			}
			for id, src := range want {
				if _, ok := conns[id]; ok {
					continue
				}
				goDown()
				o := *tmpl
				o.Addr = src.addr
				cctx, cancel := context.WithCancel(ctx)
				cn := &conn{src: src, cancel: cancel, done: make(chan struct{})}
				conns[id] = cn
				started := make(chan struct{})
				go func() {
					defer close(cn.done)
					run(cctx, &o, src, func() { close(started) })
				}()
				<-started // it counts itself down until subscribed
			}
			if down {
				down = false
				c.setDown(-1)
			}
		} else {
			c.s.opts.Logger.Debug("tiercache: listing the servers to follow", "err", err)
		}
		if pending > 0 {
			// The servers seen are covered now if they are sources (their
			// connections count down until subscribed); if the listing
			// failed, they stay uncovered: the next one decides.
			if err != nil {
				c.topo.mu.Lock()
				c.topo.pending += pending
				c.topo.mu.Unlock()
			} else {
				c.setDown(-pending)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-c.topo.kick:
		case <-time.After(topologyEvery):
		}
	}
}

// record remembers the addresses a listing returned: sources, and servers
// known but left out.
func (t *topology) record(srcs []source, left []string) {
	m := make(map[string]bool, len(srcs)+len(left))
	for _, a := range left {
		m[a] = false
	}
	for _, s := range srcs {
		m[s.addr] = true
	}
	t.mu.Lock()
	t.covered = m
	t.mu.Unlock()
}

// dialed returns the addresses unknownNode was told of.
func (t *topology) dialed() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.seen))
	for a := range t.seen {
		out = append(out, a)
	}
	return out
}

// readsReplicas reports whether a Cluster client may send reads to replicas.
func readsReplicas(o *redis.ClusterOptions) bool {
	return o.ReadOnly || o.RouteByLatency || o.RouteRandomly
}

// clusterNode is a line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master string
	isMaster         bool
	slots            []int
	importing        []int
}

// parseClusterNodes parses a CLUSTER NODES reply, leaving out the nodes
// that cannot serve (failed, in handshake, without an address).
func parseClusterNodes(reply string) []clusterNode {
	var out []clusterNode
	for line := range strings.Lines(reply) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		host, port, err := net.SplitHostPort(addr)
		flags := strings.Split(f[2], ",")
		if err != nil || host == "" || port == "0" ||
			slices.Contains(flags, "fail") || slices.Contains(flags, "handshake") || slices.Contains(flags, "noaddr") {
			continue
		}
		n := clusterNode{id: f[0], addr: addr, master: f[3], isMaster: slices.Contains(flags, "master")}
		for _, r := range f[8:] {
			if strings.HasPrefix(r, "[") { // [slot-<-id] importing, [slot->-id] migrating
				if slot, _, ok := strings.Cut(strings.TrimPrefix(r, "["), "-<-"); ok {
					if s, err := strconv.Atoi(slot); err == nil {
						n.importing = append(n.importing, s)
					}
				}
				continue
			}
			lo, hi, isRange := strings.Cut(r, "-")
			a, err1 := strconv.Atoi(lo)
			b := a
			var err2 error
			if isRange {
				b, err2 = strconv.Atoi(hi)
			}
			if err1 != nil || err2 != nil {
				continue
			}
			for s := a; s <= b; s++ {
				n.slots = append(n.slots, s)
			}
		}
		out = append(out, n)
	}
	return out
}

// clusterLister lists a Cluster's sources from CLUSTER NODES, asked of
// every master so that each tells the slots it is importing (a node shows
// only its own migrations). Every master is a source, slot-less ones
// included, and every replica when replicas serve reads. With sharded,
// each carries the slots whose channels it serves, and every slot being
// imported is a source of its own on the importing master.
//
// A ClusterClient over servers that are not a Cluster (one built by
// NewFailoverClusterClient, or with a ClusterSlots function) answers
// CLUSTER NODES with an error: its sources are then the nodes the client
// itself knows, masters and (when replicas serve reads) replicas.
func (c *coherence) clusterLister(cc *redis.ClusterClient, sharded bool) lister {
	replicas := readsReplicas(cc.Options())
	return func(ctx context.Context) ([]source, *redis.Options, error) {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var mu sync.Mutex
		var tmpl *redis.Options
		var replies []string
		var noCluster bool
		var errs []error
		err := cc.ForEachMaster(qctx, func(ctx context.Context, cl *redis.Client) error {
			reply, err := cl.ClusterNodes(ctx).Result()
			mu.Lock()
			defer mu.Unlock()
			if tmpl == nil {
				tmpl = cl.Options()
			}
			var re redis.Error
			switch {
			case errors.As(err, &re):
				noCluster = true
			case err != nil:
				// A master that does not answer (killed, say) does not
				// stop the listing: the others tell what became of it.
				errs = append(errs, err)
			default:
				replies = append(replies, reply)
			}
			return nil
		})
		if err == nil && tmpl == nil {
			err = errors.New("no master to copy options from")
		}
		if err == nil && !noCluster && len(replies) == 0 {
			err = errors.Join(append(errs, errors.New("no master answered CLUSTER NODES"))...)
		}
		if err != nil {
			return nil, nil, err
		}
		if noCluster {
			return c.clientNodes(qctx, cc, replicas, tmpl)
		}
		var nodes []clusterNode
		for i, r := range replies {
			ns := parseClusterNodes(r)
			if i == 0 {
				nodes = ns
				continue
			}
			// Later replies add only their own importing slots.
			for _, n := range ns {
				if len(n.importing) == 0 {
					continue
				}
				for j := range nodes {
					if nodes[j].id == n.id {
						nodes[j].importing = n.importing
					}
				}
			}
		}
		slotsOf := map[string][]int{}
		for _, n := range nodes {
			if n.isMaster {
				slotsOf[n.id] = n.slots
			}
		}
		var srcs []source
		var left []string
		for _, n := range nodes {
			if !n.isMaster && !replicas {
				left = append(left, n.addr)
				continue
			}
			if !n.isMaster && sharded {
				if _, ok := slotsOf[n.master]; !ok {
					continue // a replica of a failed master: nothing to serve yet
				}
			}
			src := source{addr: n.addr}
			if sharded {
				src.slots = slotsOf[n.id]
				if !n.isMaster {
					src.slots = slotsOf[n.master]
				}
			}
			srcs = append(srcs, src)
			if sharded && n.isMaster {
				for _, slot := range n.importing {
					srcs = append(srcs, source{addr: n.addr, slots: []int{slot}, importing: true})
				}
			}
		}
		c.topo.record(srcs, left)
		return srcs, tmpl, nil
	}
}

// clientNodes lists the nodes a ClusterClient that is not on a Cluster
// knows, as sources.
func (c *coherence) clientNodes(ctx context.Context, cc *redis.ClusterClient, replicas bool, tmpl *redis.Options) ([]source, *redis.Options, error) {
	var mu sync.Mutex
	var srcs []source
	var left []string
	add := func(to *[]string, addr string) {
		mu.Lock()
		defer mu.Unlock()
		*to = append(*to, addr)
	}
	var addrs []string
	err := cc.ForEachMaster(ctx, func(ctx context.Context, cl *redis.Client) error {
		add(&addrs, cl.Options().Addr)
		return nil
	})
	if err == nil {
		err = cc.ForEachSlave(ctx, func(ctx context.Context, cl *redis.Client) error {
			if replicas {
				add(&addrs, cl.Options().Addr)
			} else {
				add(&left, cl.Options().Addr)
			}
			return nil
		})
	}
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(addrs)
	for _, a := range slices.Compact(addrs) {
		srcs = append(srcs, source{addr: a})
	}
	c.topo.record(srcs, left)
	return srcs, tmpl, nil
}

// ringLister lists a Ring's shards.
func (c *coherence) ringLister(ring *redis.Ring) lister {
	return func(ctx context.Context) ([]source, *redis.Options, error) {
		var srcs []source
		var tmpl *redis.Options
		for _, cl := range ring.GetShardClients() {
			if tmpl == nil {
				tmpl = cl.Options()
			}
			srcs = append(srcs, source{addr: cl.Options().Addr})
		}
		if tmpl == nil {
			return nil, nil, errors.New("the ring has no shard")
		}
		c.topo.record(srcs, nil)
		return srcs, tmpl, nil
	}
}

// failoverLister lists the servers of a Sentinel failover client's group:
// the master and its replicas. A client made with ReplicaOnly reads from
// the replicas, and the Store cannot tell one from a client that does not:
// every replica is a source either way. The servers are found through the
// client itself and through ROLE: every server the client has dialed (the
// sentinels chose it), and every server a ROLE reply names, is asked its
// ROLE on each listing. The master is the one the replicas follow.
//
// Right after a failover the old master may still act as one for seconds,
// with no replica and none of the writes, while the sentinels already list
// it as a replica of the new master, so that a ReplicaOnly client may read
// there: any master but the one the replicas follow is a held source,
// which keeps the Store down until the sentinels have turned it into a
// replica. Connections to the servers are dialed directly (a Dialer given
// in FailoverOptions is not used for them: the client's own dialer asks
// the sentinels instead of dialing the address it is given).
func (c *coherence) failoverLister(ctx context.Context, cl *redis.Client) lister {
	tmpl := *cl.Options()
	tmpl.Dialer = nil
	var mu sync.Mutex
	probes := map[string]*redis.Client{} // every server known, by address
	context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		for a, p := range probes {
			_ = p.Close()
			delete(probes, a)
		}
	})
	probe := func(addr string) *redis.Client {
		p := probes[addr]
		if p == nil && ctx.Err() == nil {
			o := c.connOptions(&tmpl, nil)
			o.Addr = addr
			p = redis.NewClient(o)
			probes[addr] = p
		}
		return p
	}
	return func(ctx context.Context) ([]source, *redis.Options, error) {
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		// An entry point: the server the client reaches now.
		var role, info *redis.Cmd
		_, err := cl.Pipelined(qctx, func(p redis.Pipeliner) error { // one connection: one server
			role = p.Do(qctx, "ROLE")
			info = p.Do(qctx, "CLIENT", "INFO")
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
		txt, _ := info.Text()
		mu.Lock()
		defer mu.Unlock()
		if a := clientField(txt, "laddr"); a != "" {
			probe(a)
		}
		if m, rs, err := parseRole(role.Val()); err == nil {
			for _, a := range append(rs, m) {
				if a != "" {
					probe(a)
				}
			}
		}
		for _, a := range c.topo.dialed() {
			probe(a)
		}
		// Every known server's ROLE, following the names they give.
		type node struct {
			master   string // of a replica
			replicas []string
			isMaster bool
		}
		nodes := map[string]node{}
		for {
			var ask []string
			for a := range probes {
				if _, ok := nodes[a]; !ok {
					ask = append(ask, a)
				}
			}
			if len(ask) == 0 {
				break
			}
			replies := make([]node, len(ask))
			var wg sync.WaitGroup
			for i, a := range ask {
				p := probes[a]
				wg.Go(func() {
					rctx, cancel := context.WithTimeout(qctx, 500*time.Millisecond)
					defer cancel()
					r, err := p.Do(rctx, "ROLE").Result()
					if m, rs, perr := parseRole(r); err == nil && perr == nil {
						replies[i] = node{master: m, replicas: rs, isMaster: m == ""}
					} // else unreachable: not a source
				})
			}
			wg.Wait()
			for i, a := range ask {
				nodes[a] = replies[i]
				for _, n := range append(replies[i].replicas, replies[i].master) {
					if n != "" {
						probe(n)
					}
				}
			}
		}
		// The master: the one most replicas follow, else the only one.
		votes := map[string]int{}
		var masters []string
		for a, n := range nodes {
			if n.isMaster {
				masters = append(masters, a)
			} else if n.master != "" {
				votes[n.master]++
			}
		}
		slices.Sort(masters)
		master := ""
		for _, a := range masters {
			if master == "" || votes[a] > votes[master] {
				master = a
			}
		}
		if master == "" {
			return nil, nil, errors.New("no server of the group acts as master")
		}
		srcs := []source{{addr: master}}
		for a, n := range nodes {
			switch {
			case a == master:
			case n.master == master:
				srcs = append(srcs, source{addr: a})
			case n.isMaster || n.master != "":
				srcs = append(srcs, source{addr: a, held: true})
			}
		}
		slices.SortFunc(srcs, func(x, y source) int { return strings.Compare(x.addr, y.addr) })
		c.topo.record(srcs, nil)
		return srcs, &tmpl, nil
	}
}

// parseRole reads a ROLE reply: on a replica, the master's address; on a
// master, "" and the addresses of its replicas.
func parseRole(v any) (master string, replicas []string, err error) {
	r, ok := v.([]any)
	if !ok || len(r) < 3 {
		return "", nil, fmt.Errorf("unexpected ROLE reply %v", v)
	}
	switch r[0] {
	case "master":
		list, _ := r[2].([]any)
		for _, e := range list {
			if f, ok := e.([]any); ok && len(f) >= 2 {
				replicas = append(replicas, net.JoinHostPort(fmt.Sprint(f[0]), fmt.Sprint(f[1])))
			}
		}
		return "", replicas, nil
	case "slave":
		if len(r) < 4 {
			break
		}
		return net.JoinHostPort(fmt.Sprint(r[1]), fmt.Sprint(r[2])), nil, nil
	}
	return "", nil, fmt.Errorf("unexpected ROLE reply %v", v)
}

// clientField returns a field of a CLIENT INFO reply.
func clientField(info, name string) string {
	for _, f := range strings.Fields(info) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}
