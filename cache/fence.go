package cache

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/internal/keys"
)

// A fill never goes back in time. Every entry has a fence: a hash in the
// entry's hash slot, "<prefix>!lease:{<slot tag>}<namespace>:<key>", that
// holds the fleet-wide lease of a load (field "L", the holder's token) and
// the tickets of loads that run without the lease (one field per ticket).
// A load takes its lease or ticket before it runs (fence_read.lua,
// fence_tickets.lua); Set, SetMany, SetNotFound, Delete and every accepted
// fill delete the fence (set.lua, del, fence_fill.lua); and a loaded value
// is written only while the fence still holds the filler's field
// (fence_fill.lua), all decided inside Redis. So a value loaded before a
// write or a delete of its key, or before another load's value landed, is
// refused: it is returned to its callers, counted in Stats.FillsRefused,
// and kept nowhere.

// fenceField is the field of the fleet-wide lease in a fence.
const fenceField = "L"

// fenceKey names the fence of the entry rkey. The slot tag puts it in the
// entry's hash slot, so that one script sees both on Cluster; a prefix that
// holds a hash tag of its own already does.
func (s *Store) fenceKey(rkey string) string {
	rest := rkey[len(s.opts.Prefix):]
	if s.prefixTagged {
		return s.opts.Prefix + "!lease:" + rest
	}
	return s.opts.Prefix + "!lease:{" + keys.SlotTag(keys.Slot(rkey)) + "}" + rest
}

// prefixHashTag reports whether prefix holds a Redis Cluster hash tag (a
// '{' followed, later, by '}' with something in between), and whether it is
// valid as a Store prefix: a '{' that starts no tag would make an entry's
// slot depend on its key in a way its fence key cannot follow.
func prefixHashTag(prefix string) (tagged, valid bool) {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return false, true
	}
	j := strings.IndexByte(prefix[i+1:], '}')
	return j > 0, j > 0
}

// fence is a load's claim on an entry's fence: the field it took and the
// value that field holds for it.
type fence struct {
	field, value string
	absent       bool // the load began on an absent key: its value may only go where nothing is
}

// leaseFence is the claim of a load under the fleet-wide lease.
func leaseFence(token string) fence { return fence{field: fenceField, value: token} }

// ticketFence is the claim of a load under a ticket.
func ticketFence(token string) fence { return fence{field: token, value: "1"} }

// fenceTTL is how long a ticket stays valid: a load that takes longer has
// its value refused. It is the longest of Lease, LoadTimeout and
// DefaultLease.
func (c *Cache[V]) fenceTTL() time.Duration {
	return max(c.opts.Lease, c.opts.LoadTimeout, DefaultLease)
}

// readOrFence reads key's entry and, when a load must follow (the entry is
// absent, stale or unreadable; always with force), takes its fence with
// claim in the same script call. It returns the raw entry ("" and false
// when absent) and whether the fence was taken: not when no load is to
// follow, nor when another process holds the lease.
func (c *Cache[V]) readOrFence(ctx context.Context, key string, claim fence, ttl time.Duration, force bool) (raw string, present, taken bool, err error) {
	rkey := c.prefix + key
	forced := "0"
	if force {
		forced = "1"
	}
	var res []any
	err = c.s.call(ctx, c.opts.Timeout, func(ctx context.Context) error {
		n, err := c.s.readNodeFor(rkey)
		if err != nil {
			return err
		}
		res, err = c.s.runScript(ctx, n, fenceReadScript, []string{rkey, c.s.fenceKey(rkey)},
			claim.field, claim.value, ttl.Milliseconds(), forced, codec.Version).Slice()
		return err
	})
	if err != nil {
		return "", false, false, wrongType(err, rkey)
	}
	if len(res) != 2 {
		return "", false, false, errors.New("tiercache/cache: unexpected reply from the fence script")
	}
	raw, present = res[0].(string)
	n, _ := res[1].(int64)
	return raw, present, n == 1, nil
}

// takeTickets takes a ticket with token on the fences of keys, in one
// round trip per node (one script call per hash slot on Cluster, per shard
// on a Ring, where each fence goes to its entry's shard).
func (c *Cache[V]) takeTickets(ctx context.Context, ks []string, token string) error {
	rks := make([]string, len(ks))
	fks := make([]string, len(ks))
	for i, k := range ks {
		rks[i] = c.prefix + k
		fks[i] = c.s.fenceKey(rks[i])
	}
	ttl := c.fenceTTL().Milliseconds()
	return c.s.call(ctx, c.opts.Timeout, func(ctx context.Context) error {
		bs, err := c.s.route(rks)
		if err != nil {
			return err
		}
		return eachBatch(bs, func(_ int, b batch) error {
			return c.s.evalBatch(ctx, b, fenceTicketsScript, make([]*redis.Cmd, len(b.groups)), func(g []int) ([]string, []any) {
				return pick(fks, g), []any{token, ttl}
			})
		})
	})
}

// releaseFence gives a claim back without writing, so that waiters on the
// lease need not wait for its expiry. The fence goes to its entry's node.
// A failure is harmless: it expires.
func (c *Cache[V]) releaseFence(ctx context.Context, key string, claim fence) {
	rkey := c.prefix + key
	fk := c.s.fenceKey(rkey)
	_ = c.s.call(ctx, c.opts.Timeout, func(ctx context.Context) error {
		n, err := c.s.nodeFor(rkey)
		if err != nil {
			return err
		}
		return c.s.runScript(ctx, n, leaseReleaseScript, []string{fk}, claim.field, claim.value).Err()
	})
}

// ticketBook remembers the tickets that LookupMany and LookupFunc took for
// the keys they reported missing, for Fill to write under. A key keeps its
// oldest ticket still valid: a Fill may come from any lookup of the key, and
// the oldest one is the one whose load may predate a write.
type ticketBook struct {
	mu sync.Mutex
	m  map[string]bookedTicket
}

type bookedTicket struct {
	claim fence
	exp   int64 // unix ms after which the ticket has expired in Redis
}

// maxBooked bounds a Cache's booked tickets; past it, lookups book no more
// (and Fill refuses what they would have covered) until some expire.
const maxBooked = 1 << 16

// book records claim for each key that has no valid ticket yet, and
// returns the keys it booked (which need the ticket taken in Redis).
func (b *ticketBook) book(ks []string, absent []bool, token string, now, exp int64) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[string]bookedTicket)
	}
	if len(b.m)+len(ks) > maxBooked {
		for k, t := range b.m {
			if t.exp <= now {
				delete(b.m, k)
			}
		}
	}
	var booked []string
	for i, k := range ks {
		if t, ok := b.m[k]; ok && t.exp > now {
			continue
		}
		if len(b.m) >= maxBooked {
			break
		}
		claim := ticketFence(token)
		claim.absent = absent[i]
		b.m[k] = bookedTicket{claim: claim, exp: exp}
		booked = append(booked, k)
	}
	return booked
}

// forget drops the tickets of keys that could not be taken in Redis.
func (b *ticketBook) forget(ks []string, token string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, k := range ks {
		if t, ok := b.m[k]; ok && t.claim.field == token {
			delete(b.m, k)
		}
	}
}

// unavailable books, for keys that have no valid ticket, the mark of a
// lookup that could not take one because Redis was unavailable: Fill
// reports ErrUnavailable for them instead of refusing them silently.
func (b *ticketBook) unavailable(ks []string, exp int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[string]bookedTicket)
	}
	for _, k := range ks {
		if _, ok := b.m[k]; !ok && len(b.m) < maxBooked {
			b.m[k] = bookedTicket{exp: exp} // no claim: field ""
		}
	}
}

// take removes and returns key's valid ticket.
func (b *ticketBook) take(key string, now int64) (fence, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.m[key]
	if !ok {
		return fence{}, false
	}
	delete(b.m, key)
	return t.claim, t.exp > now
}
