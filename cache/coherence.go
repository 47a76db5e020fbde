package cache

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Coherence selects how a Store keeps its local tier coherent with Redis.
type Coherence int32

const (
	// CoherenceAuto uses CoherenceTracking where the server accepts CLIENT
	// TRACKING, else CoherencePubSub. The default.
	CoherenceAuto Coherence = iota
	// CoherenceTracking: one connection per Redis master runs CLIENT
	// TRACKING in broadcast mode over the Store's prefix and receives the
	// keys of every write under it, by any client (other languages,
	// redis-cli, expiry, eviction).
	CoherenceTracking
	// CoherencePubSub: every write made through tiercache publishes its keys
	// on "<prefix>invalidate", and every Store subscribes. Writes by other
	// clients are not seen: their effect on local copies is bounded only by
	// the local TTL and MaxStaleness.
	CoherencePubSub
	// CoherenceNone: local copies are bounded by the local TTL and
	// MaxStaleness only.
	CoherenceNone
)

func (c Coherence) String() string {
	switch c {
	case CoherenceAuto:
		return "auto"
	case CoherenceTracking:
		return "tracking"
	case CoherencePubSub:
		return "pubsub"
	case CoherenceNone:
		return "none"
	}
	return "unknown"
}

const (
	// markBuckets is the number of invalidation marks; keys share them by
	// hash, and a shared mark only costs a skipped local store.
	markBuckets = 1 << 12
	// healthEvery is how long an invalidation connection may stay silent
	// before it is pinged; a second silence marks it down.
	healthEvery = time.Second
	// topologyEvery is how often a Cluster's masters are listed.
	topologyEvery = time.Second
	// invalidateChannel is the channel CLIENT TRACKING redirects to.
	invalidateChannel = "__redis__:invalidate"
)

// coherence tracks what the Store has learnt about writes to Redis and
// decides whether a value read from (or written to) Redis may be kept in
// the local tier.
//
// The rule for a fill: take a token (the sequence number) before the Redis
// call; after it, keep the value only if no invalidation of its key, no
// flush, and no outage of an invalidation connection was recorded since the
// token. The value is stored first and the check made after, so that an
// invalidation that lands between the two still removes it.
type coherence struct {
	s      *Store
	want   Coherence
	prefix string
	seed   maphash.Seed

	mode    atomic.Int32  // the Coherence in force; Auto while undecided
	seq     atomic.Uint64 // bumped by every invalidation and flush
	flushed atomic.Uint64 // seq of the last flush
	marks   [markBuckets]atomic.Uint64
	down    atomic.Int32 // invalidation connections not subscribed, plus 1 while undecided

	invalidations atomic.Uint64 // keys invalidated
	resyncs       atomic.Uint64 // flushes after a lost connection or a topology change

	stateMu sync.Mutex
	changed chan struct{} // closed and replaced when down changes

	waitMu  sync.Mutex
	waiters map[string]map[chan struct{}]struct{}
	nwait   atomic.Int32

	lag lagRecorder

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newCoherence(s *Store, want Coherence) *coherence {
	c := &coherence{
		s:       s,
		want:    want,
		prefix:  s.opts.Prefix,
		seed:    maphash.MakeSeed(),
		changed: make(chan struct{}),
		waiters: make(map[string]map[chan struct{}]struct{}),
	}
	if s.rdb == nil || want == CoherenceNone {
		c.mode.Store(int32(CoherenceNone))
		return c
	}
	c.down.Store(1) // undecided
	// The Store's lifetime, ended by Close, bounds the invalidation
	// connections; no caller's context does.
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.supervise(ctx)
	}()
	return c
}

func (c *coherence) close() {
	if c.cancel != nil {
		c.cancel()
		c.wg.Wait()
	}
}

// token returns the sequence number to pass to keepable after a Redis call.
func (c *coherence) token() uint64 { return c.seq.Load() }

// keepable reports whether a value of Redis key rkey obtained by a Redis
// call that started at token t may be kept locally now.
func (c *coherence) keepable(rkey string, t uint64) bool {
	return c.down.Load() == 0 && c.flushed.Load() <= t && c.marks[c.bucket(rkey)].Load() <= t
}

func (c *coherence) bucket(rkey string) int {
	return int(maphash.String(c.seed, rkey) & (markBuckets - 1))
}

// invalidateKey records an invalidation of a Redis key and drops the local
// copies it names.
func (c *coherence) invalidateKey(rkey string) {
	c.invalidations.Add(1)
	c.lag.end(rkey)
	seq := c.seq.Add(1)
	m := &c.marks[c.bucket(rkey)]
	for old := m.Load(); old < seq && !m.CompareAndSwap(old, seq); old = m.Load() {
	}
	if ns, key, ok := c.split(rkey); ok {
		for _, id := range c.s.namespaceIDs(ns) {
			c.s.local.Delete(localKey{id, key})
		}
	}
	c.s.invalidateNear(rkey)
	c.wake(rkey)
}

// split parses "<prefix><namespace>:<key>".
func (c *coherence) split(rkey string) (ns, key string, ok bool) {
	rest, ok := strings.CutPrefix(rkey, c.prefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

// flush drops every local entry and makes fills that started before it
// unkeepable.
func (c *coherence) flush() {
	c.flushed.Store(c.seq.Add(1))
	c.s.local.Purge()
	c.lag.reset()
	c.wakeAll()
}

// setDown adds delta to the count of connections down, flushing on the way
// down (after counting, so that a racing fill is either refused or purged)
// and on the way up (before counting, so that fills from the outage are
// refused).
func (c *coherence) setDown(delta int32) {
	if delta < 0 {
		c.flush()
	}
	c.down.Add(delta)
	if delta > 0 {
		c.flush()
	}
	c.stateMu.Lock()
	close(c.changed)
	c.changed = make(chan struct{})
	c.stateMu.Unlock()
}

// waitUp blocks until every invalidation connection is subscribed.
func (c *coherence) waitUp(ctx context.Context) error {
	for {
		c.stateMu.Lock()
		ch := c.changed
		c.stateMu.Unlock()
		if c.down.Load() == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// watch returns a channel that receives when any of the Redis keys is
// invalidated (or everything is flushed), and a function to stop watching.
func (c *coherence) watch(rkeys ...string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	c.waitMu.Lock()
	for _, k := range rkeys {
		set := c.waiters[k]
		if set == nil {
			set = make(map[chan struct{}]struct{})
			c.waiters[k] = set
		}
		set[ch] = struct{}{}
	}
	c.nwait.Add(1)
	c.waitMu.Unlock()
	return ch, func() {
		c.waitMu.Lock()
		for _, k := range rkeys {
			if set := c.waiters[k]; set != nil {
				delete(set, ch)
				if len(set) == 0 {
					delete(c.waiters, k)
				}
			}
		}
		c.nwait.Add(-1)
		c.waitMu.Unlock()
	}
}

func (c *coherence) wake(rkey string) {
	if c.nwait.Load() == 0 {
		return
	}
	c.waitMu.Lock()
	for ch := range c.waiters[rkey] {
		notify(ch)
	}
	c.waitMu.Unlock()
}

func (c *coherence) wakeAll() {
	if c.nwait.Load() == 0 {
		return
	}
	c.waitMu.Lock()
	for _, set := range c.waiters {
		for ch := range set {
			notify(ch)
		}
	}
	c.waitMu.Unlock()
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

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
