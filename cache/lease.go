package cache

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lease.lua
var leaseReleaseLua string

var leaseReleaseScript = redis.NewScript(leaseReleaseLua)

// leasePoll is how often a process waiting on another's lease looks at
// Redis when no invalidation wakes it: the fallback, for when the stream is
// down or the lease expired silently.
const leasePoll = 100 * time.Millisecond

// leaseKey names the lease on key's load. Namespaces never contain '!', so
// it cannot collide with an entry.
func (c *Cache[V]) leaseKey(key string) string { return c.s.opts.Prefix + "!lease:" + c.ns + ":" + key }

// leaseResult is what loadWithLease did, and what it got.
type leaseResult[V any] struct {
	how     leaseOutcome
	found   found[V] // leaseFound: the other process's value
	v       V        // leaseLoaded: the loaded value (with the error beside)
	release func()   // leaseLoaded: gives the lease back; call after storing
}

// leaseOutcome says what loadWithLease did.
type leaseOutcome uint8

const (
	leaseLoaded  leaseOutcome = iota // this process held the lease and ran the loader
	leaseFound                       // another process's value (or negative entry) arrived
	leaseSkipped                     // Redis could not be used for the lease; load without it
)

// loadWithLease makes sure that one process in the fleet loads key: it takes
// the lease and runs load, or waits for the holder's value, taking the lease
// itself if it is released without a value or expires. After leaseLoaded the
// caller stores the result and then calls release.
func (c *Cache[V]) loadWithLease(ctx context.Context, key string, load func(context.Context) (V, error)) (leaseResult[V], error) {
	skipped := leaseResult[V]{how: leaseSkipped}
	lk, ek := c.leaseKey(key), c.prefix+key
	token := newToken()
	var waited leaseWait
	defer waited.end(c.s, c.ns)
	for checked := true; ; checked = false {
		wake, stop := c.s.coh.watch(ek, lk)
		if !checked { // the first look was made by the caller
			f, err := c.remoteGet(ctx, key)
			if err != nil && !errors.Is(err, ErrWrongType) {
				stop()
				return skipped, nil
			}
			if err != nil || f.state == fresh || f.state == negative {
				stop()
				return leaseResult[V]{how: leaseFound, found: f}, err
			}
		}
		var got bool
		err := c.s.call(ctx, c.opts.Timeout, func(ctx context.Context) error {
			var err error
			got, err = c.s.rdb.SetNX(ctx, lk, token, c.opts.Lease).Result()
			return err
		})
		if err != nil {
			stop()
			return skipped, nil
		}
		if got {
			stop()
			waited.end(c.s, c.ns)
			// Another process may have loaded, stored and released between
			// our last look and our SET NX: look once more.
			if f, err := c.remoteGet(ctx, key); err == nil && (f.state == fresh || f.state == negative) {
				c.releaseLease(ctx, lk, token)
				return leaseResult[V]{how: leaseFound, found: f}, nil
			}
			returned := false
			defer func() {
				if !returned { // load panicked or called Goexit: free the lease now
					c.releaseLease(ctx, lk, token)
				}
			}()
			v, err := c.runLoader(ctx, load)
			returned = true
			return leaseResult[V]{how: leaseLoaded, v: v, release: func() { c.releaseLease(ctx, lk, token) }}, err
		}
		c.stats.leaseWaits.Add(1)
		waited.begin()
		select {
		case <-wake:
		case <-time.After(leasePoll):
		case <-ctx.Done():
			stop()
			return leaseResult[V]{how: leaseFound}, ctx.Err()
		}
		stop()
	}
}

// releaseLease gives the lease back so that waiters need not wait for its
// expiry. A failure is harmless: the lease expires.
func (c *Cache[V]) releaseLease(ctx context.Context, lk, token string) {
	_ = c.s.call(ctx, c.opts.Timeout, func(ctx context.Context) error {
		return leaseReleaseScript.Run(ctx, c.s.rdb, []string{lk}, token).Err()
	})
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
