package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/httpcache"
	"github.com/tiercache/tiercache/memo"
	"github.com/tiercache/tiercache/orderedcache"
)

// memo: a slow function memoized in A and in B.
func (d *demo) memo(ctx context.Context) error {
	fmt.Fprintln(d.w, "\n1. memo: a function that takes 100ms, memoized fleet-wide")
	price := func(ctx context.Context, sku string) (int, error) {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		return 1999, nil
	}
	name := "demo-price-" + d.id
	pa, err := memo.New(d.a, name, price, memo.Options[int]{})
	if err != nil {
		return err
	}
	pb, err := memo.New(d.b, name, price, memo.Options[int]{})
	if err != nil {
		return err
	}
	defer pa.Clear(ctx)
	for i, step := range []struct {
		who string
		s   *cache.Store
		f   *memo.Func[string, int]
	}{{"A", d.a, pa}, {"B", d.b, pb}, {"B", d.b, pb}} {
		inv := d.b.Stats().Invalidations
		var p int
		took, via, err := measure(step.s, func() (err error) { p, err = step.f.Call(ctx, "A-1"); return err })
		if err != nil {
			return err
		}
		d.line(step.who, `price("A-1")`, took, via, fmt.Sprintf("= %d", p))
		if i == 0 {
			d.settle(ctx, d.b, inv) // B has heard of A's write
		}
	}
	return nil
}

// http: the middleware in front of a slow handler, in A and in B.
func (d *demo) http(ctx context.Context) error {
	fmt.Fprintln(d.w, "\n2. httpcache: RFC 9111 middleware in front of a handler that takes 50ms")
	var calls atomic.Int64
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		time.Sleep(50 * time.Millisecond) // the application's work
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintln(w, "product 42")
	})
	ns := "demo-http-" + d.id
	ha, err := httpcache.New(d.a, httpcache.Options{Namespace: ns, Redis: d.conn.Client})
	if err != nil {
		return err
	}
	defer ha.Close()
	hb, err := httpcache.New(d.b, httpcache.Options{Namespace: ns, Redis: d.conn.Client})
	if err != nil {
		return err
	}
	defer hb.Close()
	url := "http://shop.example/products/42"
	defer ha.PurgeURL(ctx, url)
	for i, step := range []struct {
		who string
		s   *cache.Store
		h   http.Handler
	}{{"A", d.a, ha.Handler(app)}, {"B", d.b, hb.Handler(app)}, {"B", d.b, hb.Handler(app)}} {
		inv := d.b.Stats().Invalidations
		before := calls.Load()
		rec := httptest.NewRecorder()
		took, via, _ := measure(step.s, func() error {
			step.h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, url, nil))
			return nil
		})
		if ran := calls.Load() - before; ran > 0 {
			via = fmt.Sprintf("the handler (%d call)", ran)
		}
		d.line(step.who, "GET /products/42", took, via, fmt.Sprintf("%d, Cache-Status: %s", rec.Code, rec.Header().Get("Cache-Status")))
		if i == 0 {
			d.settle(ctx, d.b, inv)
		}
	}
	return nil
}

type doc struct {
	ID    int    `json:"id"`
	Title string `json:"title"`
}

// hydrate: ranked search-result ids turned into documents, in A then B.
func (d *demo) hydrate(ctx context.Context) error {
	fmt.Fprintln(d.w, "\n3. orderedcache: ranked ids hydrated into documents, in rank order")
	ns := "demo-docs-" + d.id
	da, err := cache.New(d.a, ns, cache.Options[doc]{Codec: codec.Msgpack[doc]()})
	if err != nil {
		return err
	}
	defer da.Clear(ctx)
	db, err := cache.New(d.b, ns, cache.Options[doc]{Codec: codec.Msgpack[doc]()})
	if err != nil {
		return err
	}
	var asked []int // ids the database was asked for, per call
	load := func(_ context.Context, missing []int) (map[int]doc, error) {
		asked = append(asked, len(missing))
		out := make(map[int]doc, len(missing))
		for _, id := range missing {
			out[id] = doc{ID: id, Title: "doc " + strconv.Itoa(id)}
		}
		return out, nil
	}
	first := []int{42, 7, 19, 3, 88, 5, 61, 12, 30, 9}
	second := append(slices.Clone(first[:8]), 101, 102) // 8 seen before, 2 new
	for i, step := range []struct {
		who string
		s   *cache.Store
		c   *cache.Cache[doc]
		ids []int
	}{{"A", d.a, da, first}, {"B", d.b, db, second}} {
		inv := d.b.Stats().Invalidations
		asked = asked[:0]
		var got []doc
		took, via, err := measure(step.s, func() (err error) {
			got, _, err = orderedcache.Hydrate(ctx, step.c, step.ids, load)
			return err
		})
		if err != nil {
			return err
		}
		inOrder := len(got) == len(step.ids)
		for j := range got {
			inOrder = inOrder && got[j].ID == step.ids[j]
		}
		d.line(step.who, fmt.Sprintf("Hydrate(%d ids)", len(step.ids)), took, via,
			fmt.Sprintf("database asked for %v ids; rank order kept: %v", asked, inOrder))
		if i == 0 {
			d.settle(ctx, d.b, inv)
		}
	}
	return nil
}

// collections: a Counter incremented by both processes at once, and a
// read-modify-write of a plain Redis key made safe by a Lock.
func (d *demo) collections(ctx context.Context) error {
	fmt.Fprintln(d.w, "\n4. collections: a Counter and a Lock, used by A and B at once")
	const each = 500
	hits, err := collections.NewCounter(d.conn.Client, "demo-hits-"+d.id, collections.CounterOptions[string]{Codec: codec.String()})
	if err != nil {
		return err
	}
	defer hits.Clear(ctx)
	start := time.Now()
	if err := both(func() error {
		for range each {
			if _, err := hits.Incr(ctx, "/index.html"); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	took := time.Since(start)
	n, err := hits.Get(ctx, "/index.html")
	if err != nil {
		return err
	}
	fmt.Fprintf(d.w, "   Counter: 2 x %d Incr at once -> %d (want %d), %v per Incr\n", each, n, 2*each, (took / (2 * each)).Round(time.Microsecond))

	// Without the lock, two read-modify-writes of "balance" lose updates.
	const rounds = 50
	key := "demo-balance-" + d.id
	defer d.conn.Client.Del(ctx, key)
	var mu sync.Mutex
	var tokens []uint64
	start = time.Now()
	if err := both(func() error {
		// One Lock value per process; the name is fixed, since a lock
		// keeps a fencing counter in Redis per name.
		lock, err := collections.NewLock([]redis.UniversalClient{d.conn.Client}, "tiercache-demo", collections.LockOptions{})
		if err != nil {
			return err
		}
		for range rounds {
			err := collections.Synchronize(ctx, lock, func(ctx context.Context) error {
				mu.Lock()
				tokens = append(tokens, lock.Fence())
				mu.Unlock()
				v, err := d.conn.Client.Get(ctx, key).Int()
				if err != nil && !errors.Is(err, redis.Nil) {
					return err
				}
				return d.conn.Client.Set(ctx, key, v+1, time.Minute).Err()
			})
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	took = time.Since(start)
	bal, err := d.conn.Client.Get(ctx, key).Int()
	if err != nil {
		return err
	}
	fmt.Fprintf(d.w, "   Lock: 2 x %d read-modify-writes under the lock -> %d (want %d); fencing tokens increasing: %v; %v per section\n",
		rounds, bal, 2*rounds, slices.IsSorted(tokens) && len(slices.Compact(slices.Clone(tokens))) == len(tokens),
		(took / (2 * rounds)).Round(time.Microsecond))
	return nil
}

// both runs fn in two goroutines at once, standing for A and B.
func both(fn func() error) error {
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- fn() }()
	}
	return errors.Join(<-errs, <-errs)
}
