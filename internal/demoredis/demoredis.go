// Package demoredis connects the demo and the examples to Redis: the one
// at REDIS_URL, or an embedded in-process Redis (miniredis) when REDIS_URL
// is unset, so that they run with nothing installed. Tests do not use it
// for behaviour: they start real redis-server processes.
package demoredis

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Conn is a connection to Redis.
type Conn struct {
	// Client is a client of the Redis.
	Client *redis.Client
	// Where says what the Redis is, for the reader: REDIS_URL (its password
	// hidden) or the embedded one.
	Where string
	// Embedded is true for the embedded Redis, which lacks CLIENT TRACKING:
	// Stores on it are coherent through pub/sub.
	Embedded bool

	close func()
}

// Close closes the client, and stops the embedded Redis.
func (c *Conn) Close() { c.close() }

// Connect returns a connection to the Redis at REDIS_URL, or to a new
// embedded one, once it answers PING (within 3s for REDIS_URL; a TLS
// rediss:// URL is dialled in plain TCP first, to see that it listens). The error
// says which Redis could not be reached and why, in one line.
func Connect(ctx context.Context) (*Conn, error) {
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		mr, err := miniredis.Run()
		if err != nil {
			return nil, fmt.Errorf("cannot start the embedded Redis: %w", err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		return &Conn{Client: rdb, Where: "an embedded Redis (miniredis; set REDIS_URL to use yours)", Embedded: true,
			close: func() { _ = rdb.Close(); mr.Close() }}, nil
	}
	where := raw
	if u, err := url.Parse(raw); err == nil {
		where = u.Redacted()
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL %q: %w", where, err)
	}
	// A dial first: go-redis would log each failed attempt before giving up.
	var dialer net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	nc, err := dialer.DialContext(dctx, opt.Network, opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Redis at %s (REDIS_URL): %w", where, err)
	}
	_ = nc.Close()
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(dctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, fmt.Errorf("cannot use Redis at %s (REDIS_URL): %w", where, err)
	}
	return &Conn{Client: rdb, Where: "the Redis at " + where + " (REDIS_URL)", close: func() { _ = rdb.Close() }}, nil
}
