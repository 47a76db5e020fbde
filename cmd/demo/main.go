// Command demo shows tiercache's two tiers at work: a slow function served by
// GetOrLoad first from the function, then from Redis (a second Store, as
// another process would see it), then from the local tier, with the latency
// of each and the stats.
//
// It uses the Redis at REDIS_URL, or an embedded in-process Redis
// (miniredis) when REDIS_URL is unset, so that `make demo` needs nothing
// installed.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
)

type profile struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Langs []string `json:"langs"`
}

// slowLookup stands for a database query or a remote call.
func slowLookup(ctx context.Context, id int) (profile, error) {
	select {
	case <-time.After(150 * time.Millisecond):
	case <-ctx.Done():
		return profile{}, ctx.Err()
	}
	return profile{ID: id, Name: "Ada Lovelace", Langs: []string{"Go", "Analytical Engine"}}, nil
}

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	rdb, where, cleanup, err := connect()
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Printf("tiercache demo on %s\n\n", where)

	// Two Stores on one client stand for two processes sharing Redis.
	storeA, err := cache.NewStore(rdb, cache.StoreOptions{})
	if err != nil {
		return err
	}
	defer storeA.Close()
	storeB, err := cache.NewStore(rdb, cache.StoreOptions{})
	if err != nil {
		return err
	}
	defer storeB.Close()
	ns := fmt.Sprintf("demo-%d", time.Now().UnixNano())
	opts := cache.Options[profile]{TTL: time.Minute}
	a, err := cache.New(storeA, ns, opts)
	if err != nil {
		return err
	}
	b, err := cache.New(storeB, ns, opts)
	if err != nil {
		return err
	}
	defer a.Clear(ctx)

	load := func(ctx context.Context) (profile, error) { return slowLookup(ctx, 42) }
	step := func(label string, c *cache.Cache[profile]) error {
		start := time.Now()
		p, err := c.GetOrLoad(ctx, "user:42", load)
		if err != nil {
			return err
		}
		fmt.Printf("%-44s %-12v %s\n", label, time.Since(start).Round(time.Microsecond), p.Name)
		return nil
	}
	for _, s := range []struct {
		label string
		c     *cache.Cache[profile]
	}{
		{"1. process A, cold: runs the slow function", a},
		{"2. process B: served by Redis", b},
		{"3. process B again: served by its local tier", b},
		{"4. process A: served by its local tier", a},
	} {
		if err := step(s.label, s.c); err != nil {
			return err
		}
	}
	const n = 100_000
	start := time.Now()
	for range n {
		if _, err := a.Get(ctx, "user:42"); err != nil {
			return err
		}
	}
	fmt.Printf("%-44s %v per call\n", fmt.Sprintf("5. %d local hits", n), (time.Since(start) / n).Round(time.Nanosecond))

	for _, s := range []struct {
		name string
		c    *cache.Cache[profile]
	}{{"A", a}, {"B", b}} {
		st := s.c.Stats()
		fmt.Printf("\nstats %s: local hits %d, remote hits %d, misses %d, loads %d, local entries %d, breaker %v",
			s.name, st.LocalHits, st.RemoteHits, st.Misses, st.Loads, st.LocalEntries, st.Breaker)
	}
	fmt.Println()
	return nil
}

// connect returns a client for REDIS_URL or for an embedded Redis.
func connect() (redis.UniversalClient, string, func(), error) {
	if url := os.Getenv("REDIS_URL"); url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, "", nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		rdb := redis.NewClient(opt)
		return rdb, url, func() { rdb.Close() }, nil
	}
	mr, err := miniredis.Run()
	if err != nil {
		return nil, "", nil, fmt.Errorf("embedded redis: %w", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return rdb, "an embedded Redis (set REDIS_URL to use yours)", func() { rdb.Close(); mr.Close() }, nil
}
