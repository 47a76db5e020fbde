package cache

import (
	"context"
	"strings"
	"time"
)

// GetMany returns the fresh values of the keys that have one, from the local
// tier and, for the rest, from Redis in one round trip (one per node on
// Cluster). Keys without a value are absent from the map. A Redis failure
// returns the local hits with an error wrapping ErrUnavailable.
func (c *Cache[V]) GetMany(ctx context.Context, ks []string) (map[string]V, error) {
	out := make(map[string]V, len(ks))
	_, err := c.lookupMany(ctx, ks, false, func(k string, f found[V]) {
		if f.state == fresh {
			out[k] = c.out(f.v)
		}
	})
	return out, err
}

// Lookup is what LookupMany found, each list in the order of the keys asked
// for, each key once.
type Lookup[V any] struct {
	Found    map[string]V // fresh values
	NotFound []string     // keys with a negative entry: known to have no value
	Missing  []string     // keys with nothing cached (or only a stale value)
}

// LookupMany looks keys up like GetMany and also reports which keys have a
// negative entry and which are missing, for callers that load the missing
// ones themselves and write them back with Fill. It takes a ticket on the
// fence of every missing key, in one more round trip when some are missing,
// so that Fill never writes a value older than a write made since (see
// Fill). On a Redis failure it returns the local hits, every other key as
// missing, and an error wrapping ErrUnavailable.
func (c *Cache[V]) LookupMany(ctx context.Context, ks []string) (Lookup[V], error) {
	l := Lookup[V]{Found: make(map[string]V, len(ks))}
	_, err := c.lookupMany(ctx, ks, true, func(k string, f found[V]) {
		switch f.state {
		case fresh:
			l.Found[k] = c.out(f.v)
		case negative:
			l.NotFound = append(l.NotFound, k)
		default:
			l.Missing = append(l.Missing, k)
		}
	})
	return l, err
}

// LocalLen returns how many live entries of the namespace the local tier
// holds. It visits every local entry of the Store: O(entries).
func (c *Cache[V]) LocalLen() int {
	return c.s.local.CountFunc(func(k localKey, _ *entry) bool { return k.ns == c.id })
}

// LookupFunc looks keys up like LookupMany, with the same semantics (each
// key once, the local tier first, the same stats, the same handling of a
// Redis failure), but reports what it finds by calling each instead of
// building a map and lists: for callers that keep results by position,
// such as a ranked list, and would otherwise walk the map back into order.
//
// each is called once for every distinct key, in no particular order, with
// i the key's first position in ks; v is the key's fresh value when ok;
// negative reports, when ok is false, that the key has a negative entry
// (known to have no value) rather than nothing cached. Missing keys get a
// ticket for Fill, as LookupMany's do. each is not called
// when LookupFunc returns ErrClosed or an error wrapping ErrEmptyKey. On a
// Redis failure every key not found in the local tier is reported missing
// and the error wraps ErrUnavailable.
func (c *Cache[V]) LookupFunc(ctx context.Context, ks []string, each func(i int, v V, ok, negative bool)) error {
	for _, k := range ks {
		if k == "" {
			return ErrEmptyKey
		}
	}
	_, err := c.lookupAt(ctx, ks, true, func(i int, f found[V]) {
		if f.state == fresh {
			each(i, c.out(f.v), true, false)
		} else {
			each(i, *new(V), false, f.state == negative)
		}
	})
	return err
}

// lookupMany is lookupAt calling each with the key rather than its
// position.
func (c *Cache[V]) lookupMany(ctx context.Context, ks []string, ticket bool, each func(string, found[V])) (int, error) {
	return c.lookupAt(ctx, ks, ticket, func(i int, f found[V]) { each(ks[i], f) })
}

// lookupAt looks every key up, local tier first, calling each with the
// position in ks of what it found (once per distinct key, at its first
// position; absent keys too) and counting hits and misses. It returns the
// number of Redis reads made (0 or 1 batch). With ticket, the keys it
// finds missing in Redis (absent, stale or unreadable) get a ticket for
// Fill (see ticketBook).
func (c *Cache[V]) lookupAt(ctx context.Context, ks []string, ticket bool, each func(int, found[V])) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if c.s.closed.Load() {
		return 0, ErrClosed
	}
	remote := make([]int, 0, len(ks)) // positions in ks of the keys to read from Redis
	seen := make(map[string]struct{}, len(ks))
	for i, k := range ks {
		if k == "" {
			return 0, ErrEmptyKey
		}
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		if c.opts.LocalTTL < 0 {
			remote = append(remote, i)
			continue
		}
		f, ok := c.localGet(k)
		if !ok && c.waitOwn(ctx, k) { // as Get does: a read right after an own write
			f, ok = c.localGet(k)
		}
		if ok && f.state != stale {
			c.count(f, true)
			if f.state == fresh && c.opts.Sliding {
				if e, ok := c.localEntry(k); ok && e.slide != nil {
					c.touched(ctx, k, e)
				}
			}
			each(i, f)
			continue
		}
		remote = append(remote, i)
	}
	if len(remote) == 0 {
		return 0, nil
	}
	if !c.s.hasRedis() {
		for _, i := range remote {
			c.stats.misses.Add(1)
			each(i, found[V]{})
		}
		return 0, nil
	}
	rks := prefixed(c.prefix, ks, remote)
	tok := c.s.coh.token()
	vals, err := c.s.mget(ctx, c.opts.Timeout, rks)
	if err != nil {
		c.countErr(err)
		if ticket {
			c.tickets.unavailable(pick(ks, remote), time.Now().UnixMilli()+c.fenceTTL().Milliseconds())
		}
		for _, i := range remote {
			c.stats.misses.Add(1)
			each(i, found[V]{})
		}
		return 1, err
	}
	now := time.Now().UnixMilli()
	founds := make([]found[V], len(remote))
	var missing []string
	var wasAbsent []bool
	for j, i := range remote {
		if s, ok := vals[j].(string); ok {
			founds[j] = c.decodeAndKeep(ks[i], s, tok, now)
		}
		if st := founds[j].state; ticket && (st == absent || st == stale) {
			missing = append(missing, ks[i])
			wasAbsent = append(wasAbsent, st == absent)
		}
	}
	if len(missing) > 0 {
		c.bookTickets(ctx, missing, wasAbsent, now)
	}
	for j, i := range remote {
		c.count(founds[j], false)
		each(i, founds[j])
	}
	return 1, nil
}

// bookTickets takes tickets for keys a lookup found missing, and books
// them for Fill. A failure books nothing: Fill then refuses those keys.
func (c *Cache[V]) bookTickets(ctx context.Context, ks []string, absent []bool, now int64) {
	token := newToken()
	booked := c.tickets.book(ks, absent, token, now, now+c.fenceTTL().Milliseconds())
	if len(booked) == 0 {
		return
	}
	if err := c.takeTickets(ctx, booked, token); err != nil {
		c.countErr(err)
		c.tickets.forget(booked, token)
		c.tickets.unavailable(booked, now+c.fenceTTL().Milliseconds())
	}
}

// prefixed returns prefix+ks[i] for every i of at, all in one allocation.
func prefixed(prefix string, ks []string, at []int) []string {
	n := 0
	for _, i := range at {
		n += len(prefix) + len(ks[i])
	}
	var b strings.Builder
	b.Grow(n)
	for _, i := range at {
		b.WriteString(prefix)
		b.WriteString(ks[i])
	}
	all := b.String()
	out := make([]string, len(at))
	for j, i := range at {
		n := len(prefix) + len(ks[i])
		out[j], all = all[:n], all[n:]
	}
	return out
}

// count records a lookup's outcome in the stats.
func (c *Cache[V]) count(f found[V], local bool) {
	switch {
	case f.state == fresh && local:
		c.stats.localHits.Add(1)
	case f.state == fresh:
		c.stats.remoteHits.Add(1)
	case f.state == negative:
		c.stats.negativeHits.Add(1)
	default:
		c.stats.misses.Add(1)
	}
}
