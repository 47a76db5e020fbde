package httpcache

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// tagTimeout bounds the Redis calls that index tags; they run detached from
// the request that stored the response.
const tagTimeout = time.Second

// tagBatch is how many keys PurgeTag takes from a tag's index at a time.
const tagBatch = 512

// PurgeURL removes the stored responses for rawURL, every variant
// included, in every process sharing the Store: the key is the one Handler
// computes for a GET of that URL (Options.Key applied to such a request).
// It returns an error wrapping ErrInvalidURL when rawURL is not an absolute
// http or https URL, and the Store's error when the delete fails.
func (c *Cache) PurgeURL(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q", ErrInvalidURL, rawURL)
	}
	key := c.keyForURL(u)
	if key == "" {
		return nil // Options.Key does not cache this URL
	}
	return c.store.Delete(ctx, key)
}

// PurgeTag removes every stored response whose Surrogate-Key field listed
// tag. With Options.Redis the tag index is in Redis and the purge reaches
// responses stored by any process; without it, those this process stored.
// The index entries are taken before the responses are deleted, and put
// back if the delete fails, so a failed purge can be retried and a response
// stored during the purge stays indexed. It returns ErrEmptyTag for an
// empty tag.
func (c *Cache) PurgeTag(ctx context.Context, tag string) error {
	if tag == "" {
		return ErrEmptyTag
	}
	if c.tags != nil {
		keys := c.tags.take(tag)
		if len(keys) == 0 {
			return nil
		}
		if err := c.store.Delete(ctx, keys...); err != nil {
			c.tags.add(keys, tag)
			return err
		}
		return nil
	}
	rdb, tk := c.opts.Redis, c.tagPrefix+tag
	for {
		keys, err := rdb.SPopN(ctx, tk, tagBatch).Result()
		if err != nil {
			return fmt.Errorf("tiercache/httpcache: tag index of %q: %w", tag, err)
		}
		if len(keys) == 0 {
			return nil
		}
		if err := c.store.Delete(ctx, keys...); err != nil {
			_ = rdb.SAdd(context.WithoutCancel(ctx), tk, anySlice(keys)...).Err() // best effort: the caller sees err and may retry
			return err
		}
	}
}

// save stores e for a primary key and indexes its tags. Failures are
// counted and logged: the response was served all the same.
func (c *Cache) save(ctx context.Context, primary string, marker *entry, e *entry, newVariant bool) {
	if c.beforeSave != nil {
		c.beforeSave()
	}
	k, err := c.put(ctx, primary, marker, e, newVariant)
	if err != nil {
		c.redisError("set", k, err)
		return
	}
	c.stats.stored.Add(1)
	if len(e.tags) == 0 {
		return
	}
	if c.tags != nil {
		c.tags.add([]string{k}, e.tags...)
		if c.tags.needsPrune() {
			c.tags.prune(func(keys []string) map[string]bool { return c.present(ctx, keys) })
		}
		return
	}
	tctx, cancel := context.WithTimeout(ctx, tagTimeout)
	defer cancel()
	ttl := c.opts.MaxTTL
	_, err = c.opts.Redis.Pipelined(tctx, func(p redis.Pipeliner) error {
		for _, t := range e.tags {
			p.SAdd(tctx, c.tagPrefix+t, k)
			p.PExpire(tctx, c.tagPrefix+t, ttl)
		}
		return nil
	})
	if err != nil {
		c.redisError("tag", k, err)
	}
}

// present reports which keys still have an entry.
func (c *Cache) present(ctx context.Context, keys []string) map[string]bool {
	found, err := c.store.GetMany(ctx, keys)
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		_, ok := found[k]
		out[k] = ok || err != nil // keep everything when the answer is unknown
	}
	return out
}

// remove deletes one stored key, counting a failure.
func (c *Cache) remove(ctx context.Context, key string) {
	if err := c.store.Delete(ctx, key); err != nil {
		c.redisError("delete", key, err)
	}
}

// invalidate removes the stored responses of the target URI of r and of the
// same-origin URIs in the Location and Content-Location fields of its
// response h (RFC 9111 §4.4).
func (c *Cache) invalidate(r *http.Request, h http.Header) {
	ctx := context.WithoutCancel(r.Context())
	keys := []string{c.key(r)}
	base := requestURL(r)
	for _, field := range []string{"Location", "Content-Location"} {
		v := h.Get(field)
		if v == "" {
			continue
		}
		if u, err := base.Parse(v); err == nil && sameOrigin(base, u) {
			keys = append(keys, c.keyForURL(u))
		}
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return k == "" })
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys) == 0 {
		return
	}
	if err := c.store.Delete(ctx, keys...); err != nil {
		c.redisError("invalidate", keys[0], err)
		return
	}
	c.stats.invalidated.Add(uint64(len(keys)))
}

// requestURL is the absolute URL of a request received by a server.
func requestURL(r *http.Request) *url.URL {
	u := *r.URL
	u.Scheme = "http"
	if r.TLS != nil {
		u.Scheme = "https"
	}
	u.Host = r.Host
	return &u
}

// sameOrigin compares scheme, host and port (RFC 6454), default ports
// included.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

func anySlice(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// localTags is the in-process tag index: tag -> keys. It is pruned of keys
// whose entries are gone whenever it doubles in size, so it stays
// proportional to what is stored. Safe for concurrent use.
type localTags struct {
	mu      sync.Mutex
	m       map[string]map[string]struct{}
	size    int // (tag, key) pairs
	pruneAt int
	pruning bool
}

const minPruneAt = 4096

func newLocalTags() *localTags {
	return &localTags{m: make(map[string]map[string]struct{}), pruneAt: minPruneAt}
}

func (t *localTags) add(keys []string, tags ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tag := range tags {
		set := t.m[tag]
		if set == nil {
			set = make(map[string]struct{})
			t.m[tag] = set
		}
		for _, k := range keys {
			if _, ok := set[k]; !ok {
				set[k] = struct{}{}
				t.size++
			}
		}
	}
}

func (t *localTags) take(tag string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	set := t.m[tag]
	delete(t.m, tag)
	t.size -= len(set)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	return out
}

func (t *localTags) needsPrune() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pruning || t.size < t.pruneAt {
		return false
	}
	t.pruning = true
	return true
}

// prune drops the keys present reports gone. present runs without the
// lock held.
func (t *localTags) prune(present func(keys []string) map[string]bool) {
	t.mu.Lock()
	var keys []string
	seen := make(map[string]bool)
	for _, set := range t.m {
		for k := range set {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	t.mu.Unlock()
	alive := make(map[string]bool, len(keys))
	for chunk := range slices.Chunk(keys, tagBatch) {
		for k, ok := range present(chunk) {
			alive[k] = ok
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for tag, set := range t.m {
		for k := range set {
			if ok, known := alive[k]; known && !ok {
				delete(set, k)
				t.size--
			}
		}
		if len(set) == 0 {
			delete(t.m, tag)
		}
	}
	t.pruneAt = max(minPruneAt, 2*t.size)
	t.pruning = false
}
