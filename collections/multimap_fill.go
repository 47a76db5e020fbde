package collections

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

var (
	//go:embed multimap_fill.lua
	multimapFillSrc string
	multimapFill    = newScript(multimapFillSrc)
)

// Create fills the map keys of items with their values, each expiring ttl
// from now on the server's clock (as AddMany), atomically, if none of those
// keys exists, and returns an error matching ErrExists, writing nothing, if
// one does. A key exists while it holds a live value (one whose expiry has
// not passed); ErrWrongType when one holds another Redis type. A key given
// with no values is only checked: Redis holds no empty sorted set. Keys of
// the map not in items are not looked at. It is one script whatever the
// number of values, and idempotent under resend: a request id makes a
// resend after a lost reply return the first run's answer (leaving a
// dedupe record for [Options.DedupeWindow]), not ErrExists for its own
// write. No items does nothing.
func (m *MultiMapTTL[V]) Create(ctx context.Context, ttl time.Duration, items map[string][]V) error {
	return m.fillTTL(ctx, true, ttl, items)
}

// Replace makes the values of items, each expiring ttl from now, the whole
// contents of their map keys, atomically: one script deletes what those
// keys held (expired values and TTLs included) and writes items, each key
// expiring with its longest-lived value. A key given with no values is
// deleted. Keys of the map not in items are left as they are. A key of
// another Redis type is ErrWrongType, and nothing is written. A resend
// writes the same contents again (a round trip later).
func (m *MultiMapTTL[V]) Replace(ctx context.Context, ttl time.Duration, items map[string][]V) error {
	return m.fillTTL(ctx, false, ttl, items)
}

// CreateWithExpiry is [MultiMapTTL.Create] with each value expiring at its
// own ExpiresAt (millisecond resolution, as AddWithExpiry). A value whose
// time has passed is not added; a key left without values is only checked.
func (m *MultiMapTTL[V]) CreateWithExpiry(ctx context.Context, items map[string][]Expiring[V]) error {
	return m.fill(ctx, true, "at", items)
}

// ReplaceWithExpiry is [MultiMapTTL.Replace] with each value expiring at
// its own ExpiresAt. A value whose time has passed is not added; a key left
// without values is deleted.
func (m *MultiMapTTL[V]) ReplaceWithExpiry(ctx context.Context, items map[string][]Expiring[V]) error {
	return m.fill(ctx, false, "at", items)
}

// fillTTL runs fill with every value expiring ttl from now.
func (m *MultiMapTTL[V]) fillTTL(ctx context.Context, create bool, ttl time.Duration, items map[string][]V) error {
	if err := m.checkTTL(ttl); err != nil {
		return err
	}
	rel := time.UnixMilli(ttl.Milliseconds()) // read back as milliseconds from now
	es := make(map[string][]Expiring[V], len(items))
	for k, vs := range items {
		e := make([]Expiring[V], len(vs))
		for i, v := range vs {
			e[i] = Expiring[V]{v, rel}
		}
		es[k] = e
	}
	return m.fill(ctx, create, "ttl", es)
}

// fill runs the fill script on the keys of items, sorted (so that the key
// an ErrExists names does not depend on the map's order). mode says what
// the values' ExpiresAt are, in unix milliseconds: "at", the expiry, or
// "ttl", the time to live.
func (m *MultiMapTTL[V]) fill(ctx context.Context, create bool, mode string, items map[string][]Expiring[V]) error {
	if len(items) == 0 {
		return nil
	}
	names := slices.Sorted(maps.Keys(items))
	nkeys := len(names)
	if create {
		nkeys++
	}
	ks := make([]string, 0, nkeys)
	a := multimapFill.args(nkeys, nkeys+3+len(items))
	if create {
		rid := m.b.req.next()
		a = append(a, rid)
		ks = append(ks, rid)
	}
	for _, k := range names {
		if k == "" {
			return fmt.Errorf("%w: multimap %q: empty key", ErrInvalidArgument, m.b.name)
		}
		rk := m.Key(k)
		a, ks = append(a, rk), append(ks, rk)
	}
	if create {
		a = append(a, "create", mode, m.b.window)
	} else {
		a = append(a, "replace", mode, 0)
	}
	mapKeys := ks
	if create {
		mapKeys = ks[1:]
	}
	for i, k := range names {
		a = append(a, len(items[k]))
		for _, e := range items[k] {
			enc, err := encode(m.c, mapKeys[i], e.Value)
			if err != nil {
				return err
			}
			a = append(a, strconv.FormatInt(e.ExpiresAt.UnixMilli(), 10), enc)
		}
	}
	var n int64
	run := func(ctx context.Context) (err error) {
		n, err = multimapFill.run(ctx, m.b.rdb, false, a).Int64()
		return err
	}
	var err error
	if create {
		err = m.b.rtIdemOn(ctx, "create", m.failKey(mapKeys), run)
	} else {
		err = m.b.rtOn(ctx, "replace", m.failKey(mapKeys), true, run)
	}
	m.wrote(mapKeys)
	if err == nil && n > 0 {
		if int(n) > len(mapKeys) {
			return m.fail("create", mapKeys, fmt.Errorf("unexpected reply %d", n))
		}
		return fmt.Errorf("%w: key %q", ErrExists, mapKeys[n-1])
	}
	return err
}
