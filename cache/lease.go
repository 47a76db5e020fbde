package cache

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// leasePoll is how often a process waiting on another's lease looks at
// Redis when no invalidation wakes it: the fallback, for when the stream is
// down or the lease expired silently.
const leasePoll = 100 * time.Millisecond

// leaseKey names the fence that holds the lease on key's load (see
// fenceKey).
func (c *Cache[V]) leaseKey(key string) string { return c.s.fenceKey(c.prefix + key) }

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
