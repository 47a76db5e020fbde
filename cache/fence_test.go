package cache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
)

// TestFillNeverGoesBackInTime: a load reads v1 from the database; the row
// changes to v2 and a writer calls Set (or Delete, or creates a row the
// load found absent) before the load returns. Its late write of v1 must be
// refused: afterwards Redis and every Store hold v2 (or nothing), for each
// point at which the writer's step lands between the load's miss and its
// fill, with the fleet lease and without, on a server and on a cluster.
func TestFillNeverGoesBackInTime(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			for _, lease := range []time.Duration{0, -1} {
				for _, op := range []string{"set", "delete", "create"} {
					for _, at := range []string{"before-db-read", "after-db-read"} {
						name := fmt.Sprintf("lease=%v/%s/%s", lease >= 0, op, at)
						t.Run(name, func(t *testing.T) { testFenced(t, d, lease, op, at) })
					}
				}
			}
		})
	}
}

func testFenced(t *testing.T, d deployment, lease time.Duration, op, at string) {
	ctx := context.Background()
	ns := uniqueNS(t)
	opts := Options[string]{Lease: lease, NegativeTTL: time.Minute}
	loader, err := New(coherentStore(t, d.client(t), CoherenceAuto), ns, opts)
	require.NoError(t, err)
	writer, err := New(coherentStore(t, d.client(t), CoherenceAuto), ns, opts)
	require.NoError(t, err)

	var db atomic.Pointer[string] // the row; nil: absent
	v1 := "v1"
	if op != "create" {
		db.Store(&v1)
	}
	leased, proceed := make(chan struct{}), make(chan struct{})
	load := func(context.Context) (string, error) {
		var row *string
		if at == "after-db-read" {
			row = db.Load()
		}
		close(leased)
		<-proceed
		if at == "before-db-read" {
			row = db.Load()
		}
		if row == nil {
			return "", ErrNotFound
		}
		return *row, nil
	}
	type res struct {
		v   string
		err error
	}
	done := make(chan res, 1)
	go func() {
		v, err := loader.GetOrLoad(ctx, "42", load)
		done <- res{v, err}
	}()
	<-leased
	v2 := "v2"
	switch op {
	case "set", "create":
		db.Store(&v2)
		require.NoError(t, writer.Set(ctx, "42", v2))
	case "delete":
		db.Store(nil)
		require.NoError(t, writer.Delete(ctx, "42"))
	}
	close(proceed)
	r := <-done

	want, wantErr := "v2", error(nil)
	if op == "delete" {
		want, wantErr = "", ErrNotFound
	}
	// The loader's callers get what it loaded; Redis keeps the newer state.
	raw, err := d.client(t).Get(ctx, loader.RedisKey("42")).Result()
	if op == "delete" {
		require.Error(t, err, "Redis holds %q after a delete", raw)
	} else {
		require.NoError(t, err)
		_, got, err := codec.DecodeValueString(raw, codec.JSON[string](), 0)
		require.NoError(t, err)
		require.Equal(t, want, got, "Redis went back in time")
	}
	stale := r.v == "v1" || errors.Is(r.err, ErrNotFound) && op != "delete"
	if stale {
		require.Equal(t, uint64(1), loader.Stats().FillsRefused, "the late fill was not refused")
	}
	for _, c := range []*Cache[string]{loader, writer} {
		eventually(t, func() bool {
			got, err := c.Get(ctx, "42")
			return got == want && errors.Is(err, wantErr)
		}, "a Store serves something other than %q", want)
	}
}

// TestFillRefusedAfterLeaseLost: a lease holder whose lease expired while
// it loaded must not write its older value over the next holder's newer
// load.
func TestFillRefusedAfterLeaseLost(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			raw := d.client(t)
			ns := uniqueNS(t)
			a, err := New(newStore(t, d.client(t), StoreOptions{}), ns, Options[string]{})
			require.NoError(t, err)
			b, err := New(newStore(t, d.client(t), StoreOptions{}), ns, Options[string]{})
			require.NoError(t, err)
			leased, proceed := make(chan struct{}), make(chan struct{})
			done := make(chan string, 1)
			go func() {
				v, _ := a.GetOrLoad(ctx, "k", func(context.Context) (string, error) {
					close(leased)
					<-proceed
					return "old", nil
				})
				done <- v
			}()
			<-leased
			// The lease runs out (as if Options.Lease passed).
			require.NoError(t, raw.HDel(ctx, a.leaseKey("k"), fenceField).Err())
			v, err := b.GetOrLoad(ctx, "k", func(context.Context) (string, error) { return "new", nil })
			require.NoError(t, err)
			require.Equal(t, "new", v)
			close(proceed)
			require.Equal(t, "old", <-done, "the caller gets what its load returned")
			require.Equal(t, uint64(1), a.Stats().FillsRefused)
			got, err := New(newStore(t, d.client(t), StoreOptions{}), ns, Options[string]{})
			require.NoError(t, err)
			v, err = got.Get(ctx, "k")
			require.NoError(t, err)
			require.Equal(t, "new", v, "the expired holder overwrote the newer load")
			_, ok := a.GetLocal("k")
			require.False(t, ok, "a refused fill was kept locally")
		})
	}
}

// TestBatchFillsFenced: GetManyOrLoad and the LookupMany-then-Fill path
// are fenced the same way: a Set that lands while the batch loads wins.
func TestBatchFillsFenced(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			ns := uniqueNS(t)
			opts := Options[string]{NegativeTTL: time.Minute}
			c, err := New(newStore(t, d.client(t), StoreOptions{}), ns, opts)
			require.NoError(t, err)
			w, err := New(newStore(t, d.client(t), StoreOptions{}), ns, opts)
			require.NoError(t, err)
			other, err := New(newStore(t, d.client(t), StoreOptions{}), ns, opts)
			require.NoError(t, err)

			got, err := c.GetManyOrLoad(ctx, []string{"a", "b", "gone"}, func(ctx context.Context, missing []string) (map[string]string, error) {
				require.NoError(t, w.Set(ctx, "a", "a2")) // lands while the batch loads
				require.NoError(t, w.Set(ctx, "gone", "created"))
				return map[string]string{"a": "a1", "b": "b1"}, nil
			})
			require.NoError(t, err)
			require.Equal(t, map[string]string{"a": "a1", "b": "b1"}, got)
			for k, want := range map[string]string{"a": "a2", "b": "b1", "gone": "created"} {
				v, err := other.Get(ctx, k)
				require.NoError(t, err, k)
				require.Equal(t, want, v, k)
			}

			l, err := c.LookupMany(ctx, []string{"x", "y", "z"})
			require.NoError(t, err)
			require.ElementsMatch(t, []string{"x", "y", "z"}, l.Missing)
			require.NoError(t, w.Set(ctx, "x", "x2"))
			require.NoError(t, w.Delete(ctx, "y"))
			refused := c.Stats().FillsRefused
			require.NoError(t, c.Fill(ctx, map[string]string{"x": "x1", "y": "y1"}, []string{"z"}))
			require.Equal(t, refused+2, c.Stats().FillsRefused)
			v, err := other.Get(ctx, "x")
			require.NoError(t, err)
			require.Equal(t, "x2", v)
			_, err = other.Get(ctx, "y")
			require.ErrorIs(t, err, ErrNotFound)
			_, err = other.Get(ctx, "z")
			require.ErrorIs(t, err, ErrNotFound, "the negative fill was accepted")
			// A second Fill of the same keys has no ticket left: refused.
			require.NoError(t, c.Fill(ctx, map[string]string{"z": "late"}, nil))
			_, err = other.Get(ctx, "z")
			require.ErrorIs(t, err, ErrNotFound)
		})
	}
}
