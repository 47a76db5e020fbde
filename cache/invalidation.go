package cache

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// supervise decides the mode and runs the invalidation connections until
// the Store closes.
func (c *coherence) supervise(ctx context.Context) {
	mode := c.want
	var onCluster bool
	for {
		var err error
		if mode == CoherenceAuto {
			mode, err = c.probe(ctx)
		}
		if err == nil {
			onCluster, err = c.probeCluster(ctx)
		}
		if err == nil && mode == CoherencePubSub && onCluster {
			var sharded bool
			sharded, err = c.probeSharded(ctx)
			c.sharded.Store(sharded)
		}
		if err == nil {
			break
		}
		mode = c.want
		if !sleepCtx(ctx, time.Second) {
			return
		}
	}
	if cc, ok := c.s.rdb.(*redis.ClusterClient); ok && mode == CoherencePubSub && c.sharded.Load() {
		// Before the mode is known to writes: none may miss the hook.
		cc.OnNewNode(func(cl *redis.Client) { cl.AddHook(askWatch{}) })
		_ = cc.ForEachShard(ctx, func(_ context.Context, cl *redis.Client) error {
			cl.AddHook(askWatch{})
			return nil
		})
	}
	if mode == CoherenceTrackingKeys && c.kt == nil {
		mode = CoherenceTracking // a Ring: see CoherenceTrackingKeys
	}
	c.setMode(mode)
	how := mode.String()
	if c.sharded.Load() {
		how = "sharded pubsub"
	}
	c.s.opts.Logger.Debug("tiercache: coherence", "mode", how, "prefix", c.prefix)
	onNode := func(cl *redis.Client) {
		if ctx.Err() == nil {
			c.unknownNode(cl.Options().Addr)
		}
	}
	// run is the connection of one source in the mode decided.
	run := func(ctx context.Context, opt *redis.Options, src source, ready func()) {
		switch {
		case src.held:
			c.setDown(1)
			ready()
			<-ctx.Done()
			c.setDown(-1)
		case mode == CoherenceTrackingKeys:
			c.runServer(ctx, opt, c.kt.streamSetup, invalidateChannel, c.onTrackingMessage, ready)
		case mode.tracking():
			c.runTracking(ctx, opt, ready)
		case c.sharded.Load():
			c.runSharded(ctx, opt, src, ready)
		default:
			c.runServer(ctx, opt, nil, c.prefix+"invalidate", c.onPubSubMessage, ready)
		}
	}
	switch rdb := c.s.rdb.(type) {
	case *redis.ClusterClient:
		if mode == CoherencePubSub && onCluster && readsReplicas(rdb.Options()) {
			// Pub/sub messages reach a Cluster's replicas over the cluster
			// bus, not with the replication stream: a replica can announce
			// a write before it has applied it, and a read it answers then
			// would be kept stale. The Store stays not coherent.
			c.s.opts.Logger.Error("tiercache: pub/sub coherence cannot cover reads from Cluster replicas; the local tier stays off (use tracking, or a client that reads from masters)", "prefix", c.prefix)
			<-ctx.Done() // down from newCoherence on, for good
			return
		}
		rdb.OnNewNode(onNode)
		if mode == CoherencePubSub && onCluster && !c.sharded.Load() {
			// Redis 6: a Cluster forwards PUBLISH to every node, and any
			// node will do.
			c.runConn(ctx, "", func(ctx context.Context) *redis.PubSub {
				return rdb.Subscribe(ctx, c.prefix+"invalidate")
			}, 1, c.onPubSubMessage, func() { c.down.Add(-1) })
			return
		}
		c.followNodes(ctx, c.clusterLister(rdb, c.sharded.Load()), run)
	case *redis.Ring:
		rdb.OnNewNode(onNode)
		c.followNodes(ctx, c.ringLister(rdb), run)
	case *redis.Client:
		if rdb.Options().Addr == failoverAddr {
			rdb.AddHook(dialWatch{c, ctx})
			c.followNodes(ctx, c.failoverLister(ctx, rdb), run)
			return
		}
		src := source{addr: rdb.Options().Addr}
		c.topo.record([]source{src}, nil)
		run(ctx, rdb.Options(), src, func() { c.down.Add(-1) })
	}
}

// failoverAddr is the address go-redis gives a Sentinel failover client,
// whose dialer asks the sentinels for a server.
const failoverAddr = "FailoverClient"

// dialWatch reports every server a Sentinel failover client dials (a
// replica the follower has not listed yet, say) to unknownNode.
type dialWatch struct {
	c   *coherence
	ctx context.Context
}

func (d dialWatch) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		cn, err := next(ctx, network, addr)
		if err == nil && d.ctx.Err() == nil {
			d.c.unknownNode(cn.RemoteAddr().String())
		}
		return cn, err
	}
}

func (dialWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (dialWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// servers runs fn on every server that serves writes: each master of a
// Cluster, each shard of a Ring, or the one server.
func (c *coherence) servers(ctx context.Context, fn func(ctx context.Context, cl redis.UniversalClient) error) error {
	switch rdb := c.s.rdb.(type) {
	case *redis.ClusterClient:
		return rdb.ForEachMaster(ctx, func(ctx context.Context, cl *redis.Client) error { return fn(ctx, cl) })
	case *redis.Ring:
		return rdb.ForEachShard(ctx, func(ctx context.Context, cl *redis.Client) error { return fn(ctx, cl) })
	}
	return fn(ctx, c.s.rdb)
}

// probe tells whether the servers accept CLIENT TRACKING. A reply error
// means they do not; a network error is returned, to try again.
func (c *coherence) probe(ctx context.Context) (Coherence, error) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := c.servers(pctx, func(ctx context.Context, cl redis.UniversalClient) error {
		return cl.Do(ctx, "CLIENT", "TRACKING", "OFF").Err()
	})
	var re redis.Error
	switch {
	case err == nil:
		return CoherenceTracking, nil
	case errors.As(err, &re):
		return CoherencePubSub, nil
	}
	return CoherenceAuto, err
}

// probeCluster tells whether a ClusterClient's servers run as a Cluster
// (a ClusterClient made by NewFailoverClusterClient does not).
func (c *coherence) probeCluster(ctx context.Context) (bool, error) {
	if _, ok := c.s.rdb.(*redis.ClusterClient); !ok {
		return false, nil
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var on atomic.Bool
	err := c.servers(pctx, func(ctx context.Context, cl redis.UniversalClient) error {
		info, err := cl.Info(ctx, "cluster").Result()
		if strings.Contains(info, "cluster_enabled:1") {
			on.Store(true)
		}
		return err
	})
	return on.Load(), err
}

// probeSharded tells whether pub/sub coherence on a Cluster should use
// sharded channels: when every master knows SPUBLISH (Redis 7 and later).
func (c *coherence) probeSharded(ctx context.Context) (bool, error) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	sharded := true
	err := c.servers(pctx, func(ctx context.Context, cl redis.UniversalClient) error {
		info, err := cl.Do(ctx, "COMMAND", "INFO", "SPUBLISH").Slice()
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		sharded = sharded && len(info) == 1 && info[0] != nil
		return nil
	})
	return sharded, err
}

// connOptions returns the options of an invalidation connection to the
// server opt names: a client of its own (RESP2, one connection, no
// retries) that runs onConnect on every new connection after the caller's
// own OnConnect.
func (c *coherence) connOptions(opt *redis.Options, onConnect func(context.Context, *redis.Conn) error) *redis.Options {
	o := *opt
	if c.s.opts.invalidationAddr != nil {
		o.Addr = c.s.opts.invalidationAddr(o.Addr)
	}
	o.Protocol = 2
	// A config of its own: go-redis rewrites the one it is given while
	// connecting, and the caller's client owns that one. The invalidation
	// connection needs no maintenance notifications (RESP2 cannot carry them).
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	o.PoolSize = 1
	o.MinIdleConns = 0
	o.MaxRetries = -1
	o.ContextTimeoutEnabled = true
	userOnConnect := opt.OnConnect
	o.OnConnect = func(ctx context.Context, cn *redis.Conn) error {
		if userOnConnect != nil {
			if err := userOnConnect(ctx, cn); err != nil {
				return err
			}
		}
		if onConnect == nil {
			return nil
		}
		return onConnect(ctx, cn)
	}
	return &o
}

// runTracking runs the invalidation connection of one server: every new
// connection turns on broadcast tracking redirected to itself, then
// subscribes to the invalidation channel (see runServer). On a replica
// Redis tracks the writes it applies from its master, as they apply.
func (c *coherence) runTracking(ctx context.Context, opt *redis.Options, ready func()) {
	c.runServer(ctx, opt, func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		return cn.Do(ctx, c.trackingArgs(id)...).Err()
	}, invalidateChannel, c.onTrackingMessage, ready)
}

// runServer runs the invalidation connection of one server: a client of
// its own whose every new connection runs setup (when not nil), then
// subscribes to channel. ready is called once, after the connection has
// counted itself down for the first time.
func (c *coherence) runServer(ctx context.Context, opt *redis.Options,
	setup func(context.Context, *redis.Conn) error, channel string, onMsg func(*redis.Message), ready func()) {
	client := redis.NewClient(c.connOptions(opt, setup))
	defer client.Close()
	c.runConn(ctx, opt.Addr, func(ctx context.Context) *redis.PubSub {
		return client.Subscribe(ctx, channel)
	}, 1, onMsg, ready)
}

// runSharded runs a sharded pub/sub connection to one Cluster node,
// subscribed to the channels of src's slots: one SSUBSCRIBE each, since
// the channels of one command must share a slot. A connection for a slot
// being imported sends ASKING first, without which the node would redirect
// to the slot's owner.
func (c *coherence) runSharded(ctx context.Context, opt *redis.Options, src source, ready func()) {
	var setup func(context.Context, *redis.Conn) error
	if src.importing {
		setup = func(ctx context.Context, cn *redis.Conn) error { return cn.Do(ctx, "ASKING").Err() }
	}
	client := redis.NewClient(c.connOptions(opt, setup))
	defer client.Close()
	channels := make([]string, len(src.slots))
	for i, slot := range src.slots {
		channels[i] = shardChannel(c.prefix, slot)
	}
	c.runConn(ctx, opt.Addr, func(ctx context.Context) *redis.PubSub {
		ps := client.SSubscribe(ctx)
		for _, ch := range channels {
			if ps.SSubscribe(ctx, ch) != nil {
				break // the receive loop sees the failure and starts again
			}
		}
		return ps
	}, len(channels), c.onPubSubMessage, ready)
}

// runConn keeps one invalidation subscription alive until ctx ends. It is
// up once the server has confirmed want channels, and counts as down
// otherwise; every loss of it flushes the local tier, and so does every
// new subscription. The server dropping a channel (a slot that moved away
// drops its sharded channels) counts as a loss.
// addr names the server, for the heard hook of tests.
func (c *coherence) runConn(ctx context.Context, addr string, subscribe func(context.Context) *redis.PubSub, want int, onMsg func(*redis.Message), ready func()) {
	c.setDown(1)
	ready()
	defer c.setDown(-1) // no longer counted: it is gone
	backoff := 10 * time.Millisecond
	for ctx.Err() == nil {
		// One life of the subscription; a restart (see cover) ends it.
		st := c.openStream(ctx)
		ps := subscribe(st.ctx)
		stopClose := context.AfterFunc(st.ctx, func() { _ = ps.Close() }) // ends a blocked receive at once
		pinged, up := false, false
	receive:
		for st.ctx.Err() == nil { // ReceiveTimeout notices cancellation only at its timeout
			msg, err := ps.ReceiveTimeout(st.ctx, healthEvery)
			if err != nil {
				var ne net.Error
				if up && !pinged && errors.As(err, &ne) && ne.Timeout() {
					pinged = ps.Ping(st.ctx) == nil
					if pinged {
						continue
					}
				}
				break // lost, silent, closed, refused, or a flush (nil payload)
			}
			pinged = false
			switch m := msg.(type) {
			case *redis.Subscription:
				switch {
				case m.Kind == "unsubscribe" || m.Kind == "sunsubscribe":
					break receive
				case m.Count == want && !up && c.streamUp(st):
					up = true
					backoff = 10 * time.Millisecond
					c.setDown(-1)
				}
			case *redis.Message:
				onMsg(m)
				if h := c.heard.Load(); h != nil {
					(*h)(addr, m)
				}
			}
		}
		stopClose()
		_ = ps.Close()
		if c.streamDown(st) {
			c.resyncs.Add(1)
			c.setDown(1)
		}
		c.closeStream(st)
		if !sleepCtx(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (c *coherence) onTrackingMessage(m *redis.Message) {
	if m.Channel != invalidateChannel {
		return
	}
	if m.PayloadSlice == nil && m.Payload == "" {
		c.flush()
		return
	}
	if m.Payload != "" {
		c.invalidateKey(m.Payload)
	}
	for _, k := range m.PayloadSlice {
		c.invalidateKey(k)
	}
}

// onPubSubMessage handles "<key>" and "clear <namespace>" messages.
func (c *coherence) onPubSubMessage(m *redis.Message) {
	if ns, ok := strings.CutPrefix(m.Payload, clearMessage); ok {
		c.clearNamespace(ns)
		return
	}
	c.invalidateKey(m.Payload)
}

// clearMessage starts the pub/sub message that Clear sends.
const clearMessage = "\x00clear "

// clearNamespace drops a namespace's local entries and refuses its fills in
// flight.
func (c *coherence) clearNamespace(ns string) {
	c.flushed.Store(c.seq.Add(1))
	for _, id := range c.s.namespaceIDs(ns) {
		c.s.local.DeleteFunc(func(k localKey, _ *entry) bool { return k.ns == id })
	}
	c.wakeAll()
}

// sleepCtx waits d or until ctx ends, reporting whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
