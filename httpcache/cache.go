package httpcache

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/cache"
)

// Cache is an RFC 9111 shared HTTP cache on a tiercache Store: responses
// live in a namespace of the Store, so a response stored by one process is
// served by every process sharing the Store's Redis, and a purge or an
// invalidation in one process reaches all of them. A Cache is safe for
// concurrent use; create one per Store and namespace, and wrap handlers
// with Handler.
type Cache struct {
	store     *cache.Cache[*entry]
	opts      Options
	tagPrefix string     // Redis key prefix of the tag index
	tags      *localTags // tag index when Options.Redis is nil

	now     func() time.Time
	flights flightGroup
	bgMu    sync.Mutex     // orders bg.Add after a Close
	bg      sync.WaitGroup // background revalidations
	closed  atomic.Bool
	stats   counters

	// beforeSWRJoin, when set (by tests), runs between a
	// stale-while-revalidate request's lookup and its join of the key's
	// flight.
	beforeSWRJoin func()
	// beforeSave, when set (by tests), runs before a response is stored.
	beforeSave func()
}

// New returns a Cache storing responses in s, in the namespace
// Options.Namespace. It returns an error wrapping ErrInvalidOptions for a
// nil Store or invalid options.
func New(s *cache.Store, opts Options) (*Cache, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil Store", ErrInvalidOptions)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	store, err := cache.New(s, opts.Namespace, cache.Options[*entry]{
		TTL:           opts.MaxTTL,
		LocalTTL:      opts.LocalTTL,
		Codec:         newEntryCodec(opts.IntegrityKey),
		MaxValueSize:  opts.MaxBodySize + headerAllowance,
		CompressAbove: opts.CompressAbove,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	c := &Cache{
		store:     store,
		opts:      opts,
		tagPrefix: strings.TrimSuffix(store.RedisKey(""), ":") + ".tags:",
		now:       time.Now,
	}
	if opts.Redis == nil {
		c.tags = newLocalTags()
	}
	return c, nil
}

// Handler returns next wrapped in the cache: GET and HEAD requests are
// answered from stored responses when RFC 9111 allows, and forwarded to next
// (coalesced: one request per key at a time) when not; responses next gives
// are stored when allowed; unsafe methods invalidate what they change.
// Responses that are not stored stream through as next writes them
// (flushes included).
func (c *Cache) Handler(next http.Handler) http.Handler {
	return &handler{c: c, next: next}
}

// Close waits for background revalidations to finish and stops new ones;
// the handlers keep working without them. It does not close the Store.
func (c *Cache) Close() error {
	c.bgMu.Lock()
	c.closed.Store(true)
	c.bgMu.Unlock()
	c.bg.Wait()
	return nil
}

// Stats is a snapshot of a Cache's counters.
type Stats struct {
	Hits         uint64 // requests answered from a fresh stored response
	StaleHits    uint64 // requests answered from a stale stored response (max-stale, stale-while-revalidate, stale-if-error)
	Misses       uint64 // requests forwarded for want of a usable stored response
	Revalidated  uint64 // stored responses freshened by a 304
	Stored       uint64 // responses stored
	Coalesced    uint64 // requests answered by another request's fetch
	Invalidated  uint64 // keys invalidated by unsafe methods
	RedisErrors  uint64 // failed reads and writes of the Store (the request was served anyway)
	NotStoredBig uint64 // responses not stored because their body exceeded MaxBodySize
	Corrupt      uint64 // stored entries read under another key than theirs (read as misses; the Store counts undecodable ones in its DecodeErrors)
}

type counters struct {
	hits, staleHits, misses, revalidated, stored, coalesced, invalidated, redisErrors, tooBig, corrupt atomic.Uint64
}

// Stats returns the Cache's counters.
func (c *Cache) Stats() Stats {
	s := &c.stats
	return Stats{
		Hits: s.hits.Load(), StaleHits: s.staleHits.Load(), Misses: s.misses.Load(),
		Revalidated: s.revalidated.Load(), Stored: s.stored.Load(), Coalesced: s.coalesced.Load(),
		Invalidated: s.invalidated.Load(), RedisErrors: s.redisErrors.Load(), NotStoredBig: s.tooBig.Load(),
		Corrupt: s.corrupt.Load(),
	}
}

// StoreStats returns the counters of the Store namespace that holds the
// responses, with the Store-wide figures (coherence, breaker, local tier).
func (c *Cache) StoreStats() cache.Stats { return c.store.Stats() }

// redisError counts and logs a failed Store call the request survived.
func (c *Cache) redisError(op, key string, err error) {
	c.stats.redisErrors.Add(1)
	c.opts.Logger.Debug("tiercache/httpcache: store call failed", "op", op, "key", key, "error", err)
}

// key returns the cache key of r: Options.Key's, or the default, with the
// values of the routing fields present appended under RoutingKey.
func (c *Cache) key(r *http.Request) string {
	var k string
	if c.opts.Key != nil {
		k = c.opts.Key(r)
	} else {
		k = defaultKey(r)
	}
	if k == "" || c.opts.Routing != RoutingKey {
		return k
	}
	var b strings.Builder
	for _, name := range c.opts.routing {
		if vs, ok := r.Header[name]; ok {
			if b.Len() == 0 {
				b.WriteString(k)
				b.WriteString("\x00routing")
			}
			b.WriteByte('\x00')
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(normalizeField(vs))
		}
	}
	if b.Len() == 0 {
		return k
	}
	return b.String()
}

// defaultKey is scheme://host/request-uri, the host lowercased. The scheme
// is the connection's: a request in absolute form naming another scheme
// (https://... over plain HTTP, say) is not cached at all (""), since what
// the handler answers it is neither the http nor the https response of the
// URL.
func defaultKey(r *http.Request) string {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	if s := r.URL.Scheme; s != "" && (len(s)+3 != len(scheme) || !strings.EqualFold(s, scheme[:len(s)])) {
		return ""
	}
	uri := r.URL.RequestURI()
	host := strings.ToLower(r.Host)
	var b strings.Builder
	b.Grow(len(scheme) + len(host) + len(uri))
	b.WriteString(scheme)
	b.WriteString(host)
	b.WriteString(uri)
	return b.String()
}

// keyForURL returns the key of a GET request for u, as Handler would
// compute it for a request received for that URL.
func (c *Cache) keyForURL(u *url.URL) string {
	r := &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}}
	if u.Scheme == "https" {
		r.TLS = &tls.ConnectionState{}
	}
	return c.key(r)
}

// nowMs is the cache's clock in unix milliseconds.
func (c *Cache) nowMs() int64 { return c.now().UnixMilli() }
