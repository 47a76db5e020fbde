// Package redisx holds what the packages of this module need to know about
// a go-redis client and its errors, in one place.
package redisx

import (
	"errors"
	"net"

	"github.com/redis/go-redis/v9"
)

// ContextTimeouts reports whether rdb's commands end at their context's
// deadline (go-redis's ContextTimeoutEnabled), and whether rdb is a client
// type whose options say (false for a client of another type: the caller
// picks the safe default).
func ContextTimeouts(rdb redis.UniversalClient) (enabled, known bool) {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().ContextTimeoutEnabled, true
	case *redis.ClusterClient:
		return c.Options().ContextTimeoutEnabled, true
	case *redis.Ring:
		return c.Options().ContextTimeoutEnabled, true
	}
	return false, false
}

// Uncertain reports whether err leaves unknown whether Redis ran the
// command: any error but a reply from Redis (WRONGTYPE, a script's error,
// redis.Nil) and the failures that happen before a command is written (no
// connection from the pool, a dial that failed, a closed client).
func Uncertain(err error) bool {
	var rerr redis.Error
	var operr *net.OpError
	switch {
	case errors.As(err, &rerr),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrClosed),
		errors.As(err, &operr) && operr.Op == "dial":
		return false
	}
	return true
}
