package cache

import (
	"context"
	"errors"
	"net"
	"slices"
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
	for {
		var err error
		if mode == CoherenceAuto {
			mode, err = c.probe(ctx)
		}
		if err == nil && mode == CoherencePubSub {
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
	c.setMode(mode)
	how := mode.String()
	if c.sharded.Load() {
		how = "sharded pubsub"
	}
	c.s.opts.Logger.Debug("tiercache: coherence", "mode", how, "prefix", c.prefix)
	cc, isCluster := c.s.rdb.(*redis.ClusterClient)
	switch {
	case mode == CoherencePubSub && c.sharded.Load():
		c.followCluster(ctx, cc, true, c.runSharded)
	case mode == CoherencePubSub:
		if cl, ok := c.s.rdb.(*redis.Client); ok {
			c.runServer(ctx, cl.Options(), failoverOf(cl), nil, c.prefix+"invalidate", c.onPubSubMessage, func() { c.down.Add(-1) })
			return
		}
		c.runConn(ctx, func(ctx context.Context) *redis.PubSub {
			return c.s.rdb.Subscribe(ctx, c.prefix+"invalidate")
		}, 1, c.onPubSubMessage, func() { c.down.Add(-1) })
	case isCluster:
		c.followCluster(ctx, cc, false, func(ctx context.Context, opt *redis.Options, _ []int, ready func()) {
			c.runTracking(ctx, opt, nil, ready)
		})
	default:
		cl := c.s.rdb.(*redis.Client) // NewStore refuses other clients
		c.runTracking(ctx, cl.Options(), failoverOf(cl), func() { c.down.Add(-1) })
	}
}

// failoverOf returns cl if it is a Sentinel failover client (whose dialer
// asks the sentinels for the master; go-redis names its address
// "FailoverClient"), else nil.
func failoverOf(cl *redis.Client) *redis.Client {
	if cl.Options().Addr == "FailoverClient" {
		return cl
	}
	return nil
}

// probe tells whether the server accepts CLIENT TRACKING. A reply error
// means it does not; a network error is returned, to try again.
func (c *coherence) probe(ctx context.Context) (Coherence, error) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	probeOne := func(ctx context.Context, cl interface {
		Do(context.Context, ...any) *redis.Cmd
	}) error {
		return cl.Do(ctx, "CLIENT", "TRACKING", "OFF").Err()
	}
	var err error
	if cc, ok := c.s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(pctx, func(ctx context.Context, cl *redis.Client) error { return probeOne(ctx, cl) })
	} else {
		err = probeOne(pctx, c.s.rdb)
	}
	var re redis.Error
	switch {
	case err == nil:
		return CoherenceTracking, nil
	case errors.As(err, &re):
		return CoherencePubSub, nil
	}
	return CoherenceAuto, err
}

// probeSharded tells whether pub/sub coherence should use sharded channels:
// on a Cluster whose every master knows SPUBLISH (Redis 7 and later).
func (c *coherence) probeSharded(ctx context.Context) (bool, error) {
	cc, ok := c.s.rdb.(*redis.ClusterClient)
	if !ok {
		return false, nil
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	sharded := true
	err := cc.ForEachMaster(pctx, func(ctx context.Context, cl *redis.Client) error {
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

// runTracking runs the invalidation connection of one master: every new
// connection turns on broadcast tracking redirected to itself, then
// subscribes to the invalidation channel (see runServer).
func (c *coherence) runTracking(ctx context.Context, opt *redis.Options, follow *redis.Client, ready func()) {
	c.runServer(ctx, opt, follow, func(ctx context.Context, cn *redis.Conn) error {
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		return cn.Do(ctx, "CLIENT", "TRACKING", "ON", "REDIRECT", id, "BCAST", "PREFIX", c.prefix).Err()
	}, invalidateChannel, c.onTrackingMessage, ready)
}

// runServer runs the invalidation connection of one server: a client of
// its own whose every new connection runs setup (when not nil), then
// subscribes to channel. ready is called once, after the connection has
// counted itself down for the first time.
//
// follow, when not nil, is a Sentinel failover client. Its dialer finds
// the master anew on every reconnect, but a master that is replaced while
// it still answers (a manual failover; a master cut off from the
// sentinels) keeps the connection, and it would hear nothing of the writes
// on the new master. So every topologyEvery the connection compares the
// run_id of its server with that of follow's, and reconnects (a loss: the
// local tier is flushed) when they differ.
func (c *coherence) runServer(ctx context.Context, opt *redis.Options, follow *redis.Client,
	setup func(context.Context, *redis.Conn) error, channel string, onMsg func(*redis.Message), ready func()) {
	var on atomic.Pointer[string] // run_id of the connection's server
	client := redis.NewClient(c.connOptions(opt, func(ctx context.Context, cn *redis.Conn) error {
		if setup != nil {
			if err := setup(ctx, cn); err != nil {
				return err
			}
		}
		if follow == nil {
			return nil
		}
		info, err := cn.Info(ctx, "server").Result()
		if err != nil {
			return err
		}
		id := runID(info)
		on.Store(&id)
		return nil
	}))
	defer client.Close()
	var cur atomic.Pointer[redis.PubSub]
	if follow != nil {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() {
			defer close(done)
			for sleepCtx(ctx, topologyEvery) {
				qctx, cancel := context.WithTimeout(ctx, time.Second)
				info, err := follow.Info(qctx, "server").Result()
				cancel()
				if id := on.Load(); err == nil && id != nil && runID(info) != *id {
					if ps := cur.Load(); ps != nil {
						_ = ps.Close() // runConn counts the loss and redials through the sentinels
					}
				}
			}
		}()
	}
	c.runConn(ctx, func(ctx context.Context) *redis.PubSub {
		ps := client.Subscribe(ctx, channel)
		cur.Store(ps)
		return ps
	}, 1, onMsg, ready)
}

// runID returns the run_id field of an INFO server reply.
func runID(info string) string {
	_, rest, _ := strings.Cut(info, "run_id:")
	id, _, _ := strings.Cut(rest, "\r\n")
	return id
}

// runSharded runs the sharded pub/sub connection of one Cluster master,
// subscribed to the channels of the slots it serves: one SSUBSCRIBE each,
// since the channels of one command must share a slot.
func (c *coherence) runSharded(ctx context.Context, opt *redis.Options, slots []int, ready func()) {
	client := redis.NewClient(c.connOptions(opt, nil))
	defer client.Close()
	channels := make([]string, len(slots))
	for i, slot := range slots {
		channels[i] = shardChannel(c.prefix, slot)
	}
	c.runConn(ctx, func(ctx context.Context) *redis.PubSub {
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
func (c *coherence) runConn(ctx context.Context, subscribe func(context.Context) *redis.PubSub, want int, onMsg func(*redis.Message), ready func()) {
	c.setDown(1)
	ready()
	up := false
	defer func() {
		if !up {
			c.setDown(-1) // no longer counted: it is gone
		}
	}()
	backoff := 10 * time.Millisecond
	for ctx.Err() == nil {
		ps := subscribe(ctx)
		stopClose := context.AfterFunc(ctx, func() { _ = ps.Close() }) // ends a blocked receive at once
		pinged := false
	receive:
		for ctx.Err() == nil { // ReceiveTimeout notices cancellation only at its timeout
			msg, err := ps.ReceiveTimeout(ctx, healthEvery)
			if err != nil {
				var ne net.Error
				if up && !pinged && errors.As(err, &ne) && ne.Timeout() {
					pinged = ps.Ping(ctx) == nil
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
				case m.Count == want && !up:
					up = true
					backoff = 10 * time.Millisecond
					c.setDown(-1)
				}
			case *redis.Message:
				onMsg(m)
			}
		}
		stopClose()
		_ = ps.Close()
		if up {
			up = false
			c.resyncs.Add(1)
			c.setDown(1)
		}
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

// followCluster runs one invalidation connection per master with run, and
// follows the masters as the topology changes; every change flushes (see
// setDown). With bySlots, a master whose slots change gets a new
// connection too (run is given the slots the master serves).
func (c *coherence) followCluster(ctx context.Context, cc *redis.ClusterClient, bySlots bool,
	run func(ctx context.Context, opt *redis.Options, slots []int, ready func())) {
	type conn struct {
		slots  []int
		cancel context.CancelFunc
		done   chan struct{}
	}
	conns := map[string]*conn{}
	stop := func(addr string) {
		conns[addr].cancel()
		<-conns[addr].done
		delete(conns, addr)
	}
	defer func() {
		for addr := range conns {
			stop(addr)
		}
	}()
	// The Store counts as down while the connections change (as it does
	// while undecided, from newCoherence): between stopping a connection
	// and subscribing its successor, some slots may have no subscriber.
	down := true
	goDown := func() {
		if !down {
			down = true
			c.resyncs.Add(1)
			c.setDown(1)
		}
	}
	for {
		masters, tmpl, err := clusterMasters(ctx, cc)
		if err == nil {
			for addr, cn := range conns {
				if slots, ok := masters[addr]; !ok || bySlots && !slices.Equal(slots, cn.slots) {
					goDown()
					stop(addr)
				}
			}
			for addr, slots := range masters {
				if _, ok := conns[addr]; ok {
					continue
				}
				goDown()
				o := *tmpl
				o.Addr = addr
				cctx, cancel := context.WithCancel(ctx)
				cn := &conn{slots: slots, cancel: cancel, done: make(chan struct{})}
				conns[addr] = cn
				started := make(chan struct{})
				go func() {
					defer close(cn.done)
					run(cctx, &o, slots, func() { close(started) })
				}()
				<-started // it counts itself down until subscribed
			}
			if down {
				down = false
				c.setDown(-1)
			}
		}
		if !sleepCtx(ctx, topologyEvery) {
			return
		}
	}
}

// clusterMasters maps the masters' addresses to the slots each serves, in
// order (from CLUSTER SLOTS), and returns a node's options as a template
// for new connections.
func clusterMasters(ctx context.Context, cc *redis.ClusterClient) (map[string][]int, *redis.Options, error) {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	//lint:ignore SA1019 CLUSTER SLOTS also works on Redis 6, which has CLIENT TRACKING but not CLUSTER SHARDS.
	ranges, err := cc.ClusterSlots(qctx).Result()
	if err != nil {
		return nil, nil, err
	}
	masters := make(map[string][]int)
	for _, r := range ranges {
		if len(r.Nodes) == 0 {
			continue
		}
		addr := r.Nodes[0].Addr
		for slot := r.Start; slot <= r.End; slot++ {
			masters[addr] = append(masters[addr], int(slot))
		}
	}
	for _, slots := range masters {
		slices.Sort(slots)
	}
	var mu sync.Mutex
	var tmpl *redis.Options
	err = cc.ForEachMaster(qctx, func(ctx context.Context, cl *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		if tmpl == nil {
			tmpl = cl.Options()
		}
		return nil
	})
	if err != nil || tmpl == nil {
		return nil, nil, errors.Join(err, errors.New("no master to copy options from"))
	}
	return masters, tmpl, nil
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
