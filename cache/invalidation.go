package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// supervise decides the mode and runs the invalidation connections until
// the Store closes.
func (c *coherence) supervise(ctx context.Context) {
	mode := c.want
	for mode == CoherenceAuto {
		var err error
		mode, err = c.probe(ctx)
		if err != nil {
			if !sleepCtx(ctx, time.Second) {
				return
			}
		}
	}
	c.mode.Store(int32(mode))
	c.s.opts.Logger.Info("tiercache: coherence", "mode", mode.String(), "prefix", c.prefix)
	switch {
	case mode == CoherencePubSub:
		c.runConn(ctx, func(ctx context.Context) *redis.PubSub {
			return c.s.rdb.Subscribe(ctx, c.prefix+"invalidate")
		}, c.onPubSubMessage, func() { c.down.Add(-1) })
	default:
		if cc, ok := c.s.rdb.(*redis.ClusterClient); ok {
			c.trackCluster(ctx, cc)
			return
		}
		cl, ok := c.s.rdb.(*redis.Client)
		if !ok {
			c.s.opts.Logger.Error("tiercache: CLIENT TRACKING needs a *redis.Client or *redis.ClusterClient; local tier disabled",
				"client", typeName(c.s.rdb))
			return
		}
		c.runTracking(ctx, cl.Options(), func() { c.down.Add(-1) })
	}
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

// runTracking runs the invalidation connection of one master: a client of
// its own (RESP2, one connection) whose every new connection turns on
// broadcast tracking redirected to itself, then subscribes to the
// invalidation channel. ready is called once, after the connection has
// counted itself down for the first time.
func (c *coherence) runTracking(ctx context.Context, opt *redis.Options, ready func()) {
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
		id, err := cn.ClientID(ctx).Result()
		if err != nil {
			return err
		}
		return cn.Do(ctx, "CLIENT", "TRACKING", "ON", "REDIRECT", id, "BCAST", "PREFIX", c.prefix).Err()
	}
	client := redis.NewClient(&o)
	defer client.Close()
	c.runConn(ctx, func(ctx context.Context) *redis.PubSub {
		return client.Subscribe(ctx, invalidateChannel)
	}, c.onTrackingMessage, ready)
}

// runConn keeps one invalidation subscription alive until ctx ends. While it
// is not subscribed it counts as down; every loss of it flushes the local
// tier, and so does every new subscription.
func (c *coherence) runConn(ctx context.Context, subscribe func(context.Context) *redis.PubSub, onMsg func(*redis.Message), ready func()) {
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
				break // lost, silent, closed, or a flush (nil payload)
			}
			pinged = false
			switch m := msg.(type) {
			case *redis.Subscription:
				if m.Kind == "subscribe" && !up {
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

// trackCluster runs one tracking connection per master and follows the
// masters as the topology changes; every change flushes.
func (c *coherence) trackCluster(ctx context.Context, cc *redis.ClusterClient) {
	type conn struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	conns := map[string]*conn{}
	defer func() {
		for _, cn := range conns {
			cn.cancel()
			<-cn.done
		}
	}()
	undecided := true
	for {
		masters, tmpl, err := clusterMasters(ctx, cc)
		if err == nil {
			changed := false
			for addr, cn := range conns {
				if _, ok := masters[addr]; !ok {
					cn.cancel()
					<-cn.done
					delete(conns, addr)
					changed = true
				}
			}
			for addr := range masters {
				if _, ok := conns[addr]; ok {
					continue
				}
				o := *tmpl
				o.Addr = addr
				cctx, cancel := context.WithCancel(ctx)
				cn := &conn{cancel: cancel, done: make(chan struct{})}
				conns[addr] = cn
				started := make(chan struct{})
				go func() {
					defer close(cn.done)
					c.runTracking(cctx, &o, func() { close(started) })
				}()
				<-started
				changed = true
			}
			if undecided {
				undecided = false
				c.setDown(-1)
			} else if changed {
				c.resyncs.Add(1)
				c.flush()
			}
		}
		if !sleepCtx(ctx, topologyEvery) {
			return
		}
	}
}

// clusterMasters lists the masters' addresses (from CLUSTER SLOTS) and
// returns a node's options as a template for new connections.
func clusterMasters(ctx context.Context, cc *redis.ClusterClient) (map[string]struct{}, *redis.Options, error) {
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	//lint:ignore SA1019 CLUSTER SLOTS also works on Redis 6, which has CLIENT TRACKING but not CLUSTER SHARDS.
	slots, err := cc.ClusterSlots(qctx).Result()
	if err != nil {
		return nil, nil, err
	}
	masters := make(map[string]struct{})
	for _, s := range slots {
		if len(s.Nodes) > 0 {
			masters[s.Nodes[0].Addr] = struct{}{}
		}
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

func typeName(v any) string { return fmt.Sprintf("%T", v) }
