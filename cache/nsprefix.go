package cache

import (
	"context"
	"slices"
	"strings"
	"sync"
)

// Per-namespace broadcast (CoherenceTrackingNamespaces).
//
// The streams track one BCAST PREFIX per key family the Store may keep: a
// Cache's "<prefix><namespace>:", a Whole's or a Near's key up to its first
// ':' or '{' after the Store's prefix. A family first used after the streams
// are up restarts them, and the restart counts them down at once, before
// the family's first read can be kept: a read of a family its stream does
// not cover is never kept.

// nsPrefixes is the set of families, and the streams that track them.
type nsPrefixes struct {
	mu      sync.Mutex
	set     map[string]bool
	streams map[*stream]struct{}
}

// stream is one subscription of an invalidation connection (see runConn).
type stream struct {
	ctx    context.Context
	cancel context.CancelFunc
	up     bool // guarded by the coherence's nsPrefixes.mu
}

// openStream starts a subscription's life: a context ended by the Store's
// end, by the subscription's, or by a restart.
func (c *coherence) openStream(ctx context.Context) *stream {
	st := &stream{}
	st.ctx, st.cancel = context.WithCancel(ctx)
	p := &c.ns
	p.mu.Lock()
	if p.streams == nil {
		p.streams = map[*stream]struct{}{}
	}
	p.streams[st] = struct{}{}
	p.mu.Unlock()
	return st
}

// closeStream ends st's life.
func (c *coherence) closeStream(st *stream) {
	st.cancel()
	c.ns.mu.Lock()
	delete(c.ns.streams, st)
	c.ns.mu.Unlock()
}

// streamUp marks st up and reports whether it was not, unless a restart
// ended it.
func (c *coherence) streamUp(st *stream) bool {
	c.ns.mu.Lock()
	defer c.ns.mu.Unlock()
	if st.up || st.ctx.Err() != nil {
		return false
	}
	st.up = true
	return true
}

// streamDown marks st down and reports whether it was up (a restart may
// have marked it down already).
func (c *coherence) streamDown(st *stream) bool {
	c.ns.mu.Lock()
	defer c.ns.mu.Unlock()
	was := st.up
	st.up = false
	return was
}

// cover makes sure the streams track rkey's family under per-namespace
// broadcast; when it is new, they restart (see nsPrefixes).
func (c *coherence) cover(rkey string) {
	if c.want != CoherenceTrackingNamespaces {
		return
	}
	fam := c.family(rkey)
	p := &c.ns
	p.mu.Lock()
	if p.set[fam] {
		p.mu.Unlock()
		return
	}
	if p.set == nil {
		p.set = map[string]bool{}
	}
	p.set[fam] = true
	down := 0
	for st := range p.streams {
		st.cancel()
		if st.up {
			st.up = false
			down++
		}
	}
	p.mu.Unlock()
	for range down {
		c.resyncs.Add(1)
		c.setDown(1)
	}
}

// family returns the broadcast prefix that covers rkey (see nsPrefixes).
func (c *coherence) family(rkey string) string {
	rest, ok := strings.CutPrefix(rkey, c.prefix)
	if !ok {
		return rkey
	}
	if i := strings.IndexAny(rest, ":{"); i >= 0 {
		return c.prefix + rest[:i+1]
	}
	return rkey
}

// prefixes returns the families to track, none a prefix of another (Redis
// refuses overlapping prefixes; the shorter covers the longer). With none,
// a prefix no key of the Store's has: nothing is kept then anyway.
func (c *coherence) prefixes() []string {
	c.ns.mu.Lock()
	all := make([]string, 0, len(c.ns.set))
	for p := range c.ns.set {
		all = append(all, p)
	}
	c.ns.mu.Unlock()
	if len(all) == 0 {
		return []string{c.prefix + "\x00"}
	}
	slices.Sort(all)
	out := all[:1]
	for _, p := range all[1:] {
		if !strings.HasPrefix(p, out[len(out)-1]) {
			out = append(out, p)
		}
	}
	return out
}

// trackingArgs returns the CLIENT TRACKING command of a broadcast stream
// whose connection has id.
func (c *coherence) trackingArgs(id int64) []any {
	args := []any{"CLIENT", "TRACKING", "ON", "REDIRECT", id, "BCAST"}
	if c.want != CoherenceTrackingNamespaces {
		return append(args, "PREFIX", c.prefix)
	}
	for _, p := range c.prefixes() {
		args = append(args, "PREFIX", p)
	}
	return args
}
