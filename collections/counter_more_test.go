package collections_test

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/faultproxy"
	"github.com/tiercache/tiercache/internal/redistest"
)

// counterOf returns a fresh counter called name holding counts.
func counterOf(t *testing.T, rdb redis.UniversalClient, name string, counts map[string]int64) *collections.Counter[string] {
	t.Helper()
	c := newCounter(t, rdb, name)
	require.NoError(t, c.Clear(context.Background()))
	require.NoError(t, c.SetMany(context.Background(), counts))
	return c
}

func TestCounterSetContains(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		c := newCounter(t, be.rdb, dsName(t))
		require.False(t, dsMust[bool](t)(c.Contains(ctx, "a")), "empty counter")

		require.NoError(t, c.Set(ctx, "a", 5))
		require.NoError(t, c.Set(ctx, "a", 7), "overwrites")
		require.NoError(t, c.Set(ctx, "zero", 0))
		require.NoError(t, c.Set(ctx, "neg", -3))
		require.NoError(t, c.Set(ctx, "min", math.MinInt64))
		require.Equal(t, map[string]int64{"a": 7, "zero": 0, "neg": -3, "min": math.MinInt64},
			dsMust[map[string]int64](t)(c.ToMap(ctx)))
		for k, want := range map[string]bool{"a": true, "zero": true, "neg": true, "min": true, "b": false} {
			require.Equal(t, want, dsMust[bool](t)(c.Contains(ctx, k)), k)
		}
		require.Equal(t, int64(4), dsMust[int64](t)(c.Len(ctx)), "a zero count is kept, as in Python")

		require.NoError(t, c.SetMany(ctx, nil), "nothing to set")
		require.NoError(t, c.SetMany(ctx, map[string]int64{"a": 1, "b": 0, "c": math.MaxInt64}))
		require.Equal(t, map[string]int64{"a": 1, "b": 0, "c": math.MaxInt64, "zero": 0, "neg": -3, "min": math.MinInt64},
			dsMust[map[string]int64](t)(c.ToMap(ctx)), "keys SetMany does not name keep their counts")
		require.Equal(t, int64(2), dsMust[int64](t)(c.Incr(ctx, "a")), "a set count is a count")
		require.Equal(t, int64(1), dsMust[int64](t)(c.Delete(ctx, "zero")))
		require.False(t, dsMust[bool](t)(c.Contains(ctx, "zero")))

		w := newCounter(t, be.rdb, dsName(t)+"w")
		dsOccupy(t, be.rdb, w.Key())
		for name, op := range map[string]func() error{
			"Set":      func() error { return w.Set(ctx, "a", 1) },
			"SetMany":  func() error { return w.SetMany(ctx, map[string]int64{"a": 1}) },
			"Contains": func() error { _, err := w.Contains(ctx, "a"); return err },
		} {
			require.ErrorIs(t, op(), collections.ErrWrongType, name)
		}
		dsUntouched(t, be.rdb, w.Key())
	})
}

// TestCounterSetLocal: with Options.Local, Set, SetMany and the in-place
// arithmetic drop the local copies Get keeps.
func TestCounterSetLocal(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		store, err := cache.NewStore(be.client(t), cache.StoreOptions{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = store.Close() })
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		require.NoError(t, store.WaitCoherent(wctx))
		c, err := collections.NewCounter(be.client(t), dsName(t), collections.CounterOptions[string]{
			Codec: codec.String(), Options: collections.Options{Local: store}})
		require.NoError(t, err)
		for i, write := range []func() error{
			func() error { return c.Set(ctx, "a", 1) },
			func() error { return c.SetMany(ctx, map[string]int64{"a": 2}) },
			func() error { return c.SumUpdate(ctx, collections.Counts[string]{"a": 1}) },
			func() error { return c.DifferenceUpdate(ctx, collections.Counts[string]{"a": 1}) },
			func() error { return c.UnionUpdate(ctx, collections.Counts[string]{"a": 5}) },
			func() error { return c.IntersectionUpdate(ctx, collections.Counts[string]{"a": 4}) },
			func() error { return c.KeepPositive(ctx) },
		} {
			want := []int64{1, 2, 3, 2, 5, 4, 4}[i]
			require.NoError(t, write())
			require.Equal(t, want, dsMust[int64](t)(c.Get(ctx, "a")), "write %d", i)
			require.Equal(t, want, dsMust[int64](t)(c.Get(ctx, "a")), "write %d, read again", i)
		}
	})
}

// pyCounterOp is Python's Counter arithmetic, written as CPython's
// collections/__init__.py does it (a missing key counts 0).
func pyCounterOp(op string, self, other map[string]int64) map[string]int64 {
	out := make(map[string]int64)
	switch op {
	case "+", "-", "|":
		for k, n := range self {
			var v int64
			switch op {
			case "+":
				v = n + other[k]
			case "-":
				v = n - other[k]
			default:
				v = max(n, other[k])
			}
			if v > 0 {
				out[k] = v
			}
		}
		for k, n := range other {
			if _, ok := self[k]; ok {
				continue
			}
			if op == "-" && n < 0 {
				out[k] = -n
			} else if op != "-" && n > 0 {
				out[k] = n
			}
		}
	case "&":
		for k, n := range self {
			if v := min(n, other[k]); v > 0 {
				out[k] = v
			}
		}
	case "pos", "neg":
		for k, n := range self {
			if op == "neg" {
				n = -n
			}
			if n > 0 {
				out[k] = n
			}
		}
	}
	return out
}

// counterOps are the arithmetic under test, by Python operator: the new
// result, and the in-place form.
var counterOps = map[string]struct {
	read  func(c *collections.Counter[string], ctx context.Context, o collections.CounterOperand[string]) (map[string]int64, error)
	store func(c *collections.Counter[string], ctx context.Context, o collections.CounterOperand[string]) error
}{
	"+": {(*collections.Counter[string]).Sum, (*collections.Counter[string]).SumUpdate},
	"-": {(*collections.Counter[string]).Difference, (*collections.Counter[string]).DifferenceUpdate},
	"|": {(*collections.Counter[string]).Union, (*collections.Counter[string]).UnionUpdate},
	"&": {(*collections.Counter[string]).Intersection, (*collections.Counter[string]).IntersectionUpdate},
	"pos": {
		func(c *collections.Counter[string], ctx context.Context, _ collections.CounterOperand[string]) (map[string]int64, error) {
			return c.Positive(ctx)
		},
		func(c *collections.Counter[string], ctx context.Context, _ collections.CounterOperand[string]) error {
			return c.KeepPositive(ctx)
		},
	},
	"neg": {
		func(c *collections.Counter[string], ctx context.Context, _ collections.CounterOperand[string]) (map[string]int64, error) {
			return c.Negative(ctx)
		},
		nil, // no in-place form
	},
}

// operandKinds make an operand holding counts, for a receiver called name:
// a map, a counter on another slot (on a Cluster), a counter in the
// receiver's slot (same name, another prefix), a counter through another
// client.
func operandKinds(be dsBackend) map[string]func(t *testing.T, name string, counts map[string]int64) collections.CounterOperand[string] {
	return map[string]func(t *testing.T, name string, counts map[string]int64) collections.CounterOperand[string]{
		"map": func(t *testing.T, name string, counts map[string]int64) collections.CounterOperand[string] {
			return collections.Counts[string](counts)
		},
		"counter": func(t *testing.T, name string, counts map[string]int64) collections.CounterOperand[string] {
			return counterOf(t, be.rdb, name+"-other", counts)
		},
		"same slot": func(t *testing.T, name string, counts map[string]int64) collections.CounterOperand[string] {
			o, err := collections.NewCounter(be.rdb, name, collections.CounterOptions[string]{
				Codec: codec.String(), Options: collections.Options{Prefix: "other:"}})
			require.NoError(t, err)
			require.NoError(t, o.Clear(context.Background()))
			require.NoError(t, o.SetMany(context.Background(), counts))
			return o
		},
		"other client": func(t *testing.T, name string, counts map[string]int64) collections.CounterOperand[string] {
			return counterOf(t, be.client(t), name+"-client", counts)
		},
	}
}

// randomCounts returns up to 5 keys with counts in [-2, 2].
func randomCounts(r *rand.Rand) map[string]int64 {
	m := make(map[string]int64)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		if r.IntN(5) < 3 {
			m[k] = r.Int64N(5) - 2
		}
	}
	return m
}

func TestCounterAlgebra(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		t.Run("python examples", func(t *testing.T) { testCounterPythonExamples(t, be) })
		t.Run("against python", func(t *testing.T) { testCounterAgainstPython(t, be) })
		t.Run("self operand", func(t *testing.T) { testCounterSelfOperand(t, be) })
		t.Run("exact int64", func(t *testing.T) { testCounterExact(t, be) })
		t.Run("overflow", func(t *testing.T) { testCounterOverflow(t, be) })
		t.Run("keeps ttl", func(t *testing.T) { testCounterAlgebraTTL(t, be) })
		t.Run("concurrent", func(t *testing.T) { testCounterAlgebraConcurrent(t, be) })
		t.Run("errors", func(t *testing.T) { testCounterAlgebraErrors(t, be) })
	})
}

// The examples of Python's documentation of Counter.
func testCounterPythonExamples(t *testing.T, be dsBackend) {
	ctx := context.Background()
	c := counterOf(t, be.rdb, dsName(t), map[string]int64{"a": 3, "b": 1})
	d := counterOf(t, be.rdb, dsName(t)+"d", map[string]int64{"a": 1, "b": 2})
	require.Equal(t, map[string]int64{"a": 4, "b": 3}, dsMust[map[string]int64](t)(c.Sum(ctx, d)))
	require.Equal(t, map[string]int64{"a": 2}, dsMust[map[string]int64](t)(c.Difference(ctx, d)))
	require.Equal(t, map[string]int64{"a": 1, "b": 1}, dsMust[map[string]int64](t)(c.Intersection(ctx, d)))
	require.Equal(t, map[string]int64{"a": 3, "b": 2}, dsMust[map[string]int64](t)(c.Union(ctx, d)))
	require.Equal(t, map[string]int64{"a": 3, "b": 1}, dsMust[map[string]int64](t)(c.ToMap(ctx)), "reads change nothing")

	e := counterOf(t, be.rdb, dsName(t)+"e", map[string]int64{"a": 2, "b": -4})
	require.Equal(t, map[string]int64{"a": 2}, dsMust[map[string]int64](t)(e.Positive(ctx)))
	require.Equal(t, map[string]int64{"b": 4}, dsMust[map[string]int64](t)(e.Negative(ctx)))
	require.NoError(t, e.KeepPositive(ctx))
	require.Equal(t, map[string]int64{"a": 2}, dsMust[map[string]int64](t)(e.ToMap(ctx)))

	empty := newCounter(t, be.rdb, dsName(t)+"empty")
	require.Empty(t, dsMust[map[string]int64](t)(empty.Sum(ctx, collections.Counts[string](nil))))
	require.Empty(t, dsMust[map[string]int64](t)(empty.Positive(ctx)))
	require.NoError(t, empty.SumUpdate(ctx, collections.Counts[string]{"a": -1, "b": 0}))
	require.Zero(t, dsMust[int64](t)(empty.Len(ctx)), "c += {a: -1} keeps nothing")
	require.Zero(t, be.rdb.Exists(ctx, empty.Key()).Val())
	require.NoError(t, empty.SumUpdate(ctx, collections.Counts[string]{"a": 2}))
	require.Equal(t, map[string]int64{"a": 2}, dsMust[map[string]int64](t)(empty.ToMap(ctx)))
}

// Random counters (negatives and zeros, keys on one side only) against
// pyCounterOp, for every operation and operand kind, new and in place.
func testCounterAgainstPython(t *testing.T, be dsBackend) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	for kind, mk := range operandKinds(be) {
		for op, fns := range counterOps {
			name := dsName(t) + "-" + strconv.Itoa(len(kind)) + op
			for i := range 15 {
				self, other := randomCounts(r), randomCounts(r)
				c := counterOf(t, be.rdb, name, self)
				o := mk(t, name, other)
				want := pyCounterOp(op, self, other)
				got, err := fns.read(c, ctx, o)
				require.NoError(t, err, "%s %s %d", kind, op, i)
				require.Equal(t, want, got, "%v %s %v (%s)", self, op, other, kind)
				require.Equal(t, self, dsMust[map[string]int64](t)(c.ToMap(ctx)), "a read changes nothing")
				if fns.store == nil {
					continue
				}
				require.NoError(t, fns.store(c, ctx, o), "%s %s= %d", kind, op, i)
				require.Equal(t, want, dsMust[map[string]int64](t)(c.ToMap(ctx)), "%v %s= %v (%s)", self, op, other, kind)
			}
		}
	}
}

// A counter is its own operand: c - c is empty, c + c doubles.
func testCounterSelfOperand(t *testing.T, be dsBackend) {
	ctx := context.Background()
	c := counterOf(t, be.rdb, dsName(t), map[string]int64{"a": 3, "b": -1, "z": 0})
	require.Equal(t, map[string]int64{"a": 6}, dsMust[map[string]int64](t)(c.Sum(ctx, c)))
	require.NoError(t, c.SumUpdate(ctx, c))
	require.Equal(t, map[string]int64{"a": 6}, dsMust[map[string]int64](t)(c.ToMap(ctx)))
	require.NoError(t, c.DifferenceUpdate(ctx, c))
	require.Zero(t, dsMust[int64](t)(c.Len(ctx)))
}

// Counts over the whole int64 range, where doubles would round: the
// results match math/big.
func testCounterExact(t *testing.T, be dsBackend) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	pick := func() int64 {
		switch r.IntN(4) {
		case 0: // near a multiple of 1e9, where the script splits counts
			return (r.Int64N(9_000_000_000)-4_500_000_000)*1_000_000_000 + r.Int64N(5) - 2
		case 1:
			return r.Int64N(4_000_000_000) - 2_000_000_000
		case 2: // just over 2^53
			return 1<<53 + r.Int64N(8) - 4
		}
		return r.Int64N(math.MaxInt64/2) - math.MaxInt64/4 // +/-2^61: no sum overflows
	}
	self, other := make(map[string]int64), make(map[string]int64)
	for i := range 300 {
		k := "k" + strconv.Itoa(i)
		self[k], other[k] = pick(), pick()
		if i%10 == 0 {
			other[k] = self[k] + int64(r.IntN(3)) - 1 // neighbours for | and &
		}
	}
	self["min"], other["min"] = -1, math.MinInt64 // -1 - MinInt64 = MaxInt64
	self["max"], other["max"] = math.MaxInt64-1, 1
	self["lo"], other["lo"] = math.MinInt64, -1 // a negative overflow is dropped
	c := counterOf(t, be.rdb, dsName(t), self)
	want := func(op string) map[string]int64 {
		out := make(map[string]int64)
		for k, a := range self {
			x, y := big.NewInt(a), big.NewInt(other[k])
			var v big.Int
			switch op {
			case "+":
				v.Add(x, y)
			case "-":
				v.Sub(x, y)
			case "|":
				v.Set(x)
				if x.Cmp(y) < 0 {
					v.Set(y)
				}
			case "&":
				v.Set(x)
				if x.Cmp(y) > 0 {
					v.Set(y)
				}
			}
			if v.Sign() > 0 && v.IsInt64() {
				out[k] = v.Int64()
			}
		}
		return out
	}
	for op, fns := range counterOps {
		if op == "pos" || op == "neg" {
			continue
		}
		got, err := fns.read(c, ctx, collections.Counts[string](other))
		require.NoError(t, err, op)
		w := want(op)
		require.Len(t, got, len(w), op)
		for k, n := range w {
			require.Equal(t, n, got[k], "%d %s %d", self[k], op, other[k])
		}
		in := counterOf(t, be.rdb, dsName(t)+"in", self)
		require.NoError(t, fns.store(in, ctx, collections.Counts[string](other)), op+"=")
		require.Equal(t, w, dsMust[map[string]int64](t)(in.ToMap(ctx)), op+"=")
	}
	require.Equal(t, int64(math.MaxInt64), dsMust[map[string]int64](t)(c.Difference(ctx, collections.Counts[string](other)))["min"])
	neg := counterOf(t, be.rdb, dsName(t)+"neg", map[string]int64{"a": math.MinInt64 + 1, "b": -1<<53 - 1})
	require.Equal(t, map[string]int64{"a": math.MaxInt64, "b": 1<<53 + 1}, dsMust[map[string]int64](t)(neg.Negative(ctx)))
}

// A positive result beyond MaxInt64 is ErrOverflow and changes nothing.
func testCounterOverflow(t *testing.T, be dsBackend) {
	ctx := context.Background()
	start := map[string]int64{"a": math.MaxInt64 - 1, "b": 0, "m": math.MinInt64}
	c := counterOf(t, be.rdb, dsName(t), start)
	require.Equal(t, int64(math.MaxInt64), dsMust[map[string]int64](t)(c.Sum(ctx, collections.Counts[string]{"a": 1}))["a"])
	for name, op := range map[string]func() error{
		"Sum":              func() error { _, err := c.Sum(ctx, collections.Counts[string]{"a": 2}); return err },
		"SumUpdate":        func() error { return c.SumUpdate(ctx, collections.Counts[string]{"a": 2, "b": 1}) },
		"Difference":       func() error { _, err := c.Difference(ctx, collections.Counts[string]{"b": math.MinInt64}); return err },
		"DifferenceUpdate": func() error { return c.DifferenceUpdate(ctx, collections.Counts[string]{"b": math.MinInt64}) },
		"Negative":         func() error { _, err := c.Negative(ctx); return err },
	} {
		require.ErrorIs(t, op(), collections.ErrOverflow, name)
	}
	require.Equal(t, start, dsMust[map[string]int64](t)(c.ToMap(ctx)), "nothing written")
	// IncrBy's and Update's overflows are ErrOverflow too.
	_, err := c.IncrBy(ctx, "a", 2)
	require.ErrorIs(t, err, collections.ErrOverflow)
	require.ErrorIs(t, c.Update(ctx, map[string]int64{"b": 1, "a": 2}), collections.ErrOverflow)
	require.Equal(t, start, dsMust[map[string]int64](t)(c.ToMap(ctx)))
	// A negative overflow is dropped, as any negative result.
	require.NoError(t, c.SumUpdate(ctx, collections.Counts[string]{"m": -1}))
	require.Equal(t, map[string]int64{"a": math.MaxInt64 - 1}, dsMust[map[string]int64](t)(c.ToMap(ctx)))
}

// The in-place forms write only the fields that change: the key keeps its
// TTL.
func testCounterAlgebraTTL(t *testing.T, be dsBackend) {
	ctx := context.Background()
	c := counterOf(t, be.rdb, dsName(t), map[string]int64{"a": 1, "b": -1})
	require.True(t, dsMust[bool](t)(c.Expire(ctx, time.Hour)))
	require.NoError(t, c.UnionUpdate(ctx, collections.Counts[string]{"a": 3, "c": 2}))
	require.Equal(t, map[string]int64{"a": 3, "c": 2}, dsMust[map[string]int64](t)(c.ToMap(ctx)))
	require.Greater(t, be.rdb.PTTL(ctx, c.Key()).Val(), 59*time.Minute)
}

// In-place arithmetic and Incr from 8 goroutines on 2 clients: no update
// lost.
func testCounterAlgebraConcurrent(t *testing.T, be dsBackend) {
	ctx := context.Background()
	name := dsName(t)
	cs := []*collections.Counter[string]{newCounter(t, be.client(t), name), newCounter(t, be.client(t), name)}
	require.NoError(t, cs[0].Set(ctx, "a", 1)) // so that a |= {a: 1} changes nothing
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			c := cs[g%2]
			for range 200 {
				var err error
				if g%4 == 0 {
					_, err = c.Incr(ctx, "a")
				} else if g%4 == 1 {
					err = c.SumUpdate(ctx, collections.Counts[string]{"a": 1})
				} else {
					err = c.UnionUpdate(ctx, collections.Counts[string]{"a": 1}) // never lowers a
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int64(801), dsMust[int64](t)(cs[0].Get(ctx, "a")))
}

func testCounterAlgebraErrors(t *testing.T, be dsBackend) {
	ctx := context.Background()
	name := dsName(t)
	counts := collections.Counts[string]{"a": 1}
	all := func(c *collections.Counter[string], o collections.CounterOperand[string]) map[string]func() error {
		m := map[string]func() error{
			"Total": func() error { _, err := c.Total(ctx); return err },
		}
		for op, fns := range counterOps {
			m[op] = func() error { _, err := fns.read(c, ctx, o); return err }
			if fns.store != nil {
				m[op+"="] = func() error { return fns.store(c, ctx, o) }
			}
		}
		return m
	}

	// A string at the receiver's key.
	w := newCounter(t, be.rdb, name+"w")
	dsOccupy(t, be.rdb, w.Key())
	for op, fn := range all(w, counts) {
		require.ErrorIs(t, fn(), collections.ErrWrongType, op)
	}
	dsUntouched(t, be.rdb, w.Key())

	// A string at the operand's key, in the receiver's slot or another.
	c := counterOf(t, be.rdb, name, map[string]int64{"a": 1, "b": -1})
	for kind, mk := range operandKinds(be) {
		if kind == "map" {
			continue
		}
		o := mk(t, name+"o", nil).(*collections.Counter[string])
		c := counterOf(t, be.rdb, name+"o", map[string]int64{"a": 1, "b": -1})
		dsOccupy(t, be.rdb, o.Key())
		for _, op := range []string{"+", "+=", "&", "&="} {
			require.ErrorIs(t, all(c, o)[op](), collections.ErrWrongType, "%s %s", kind, op)
		}
		dsUntouched(t, be.rdb, o.Key())
		require.Equal(t, map[string]int64{"a": 1, "b": -1}, dsMust[map[string]int64](t)(c.ToMap(ctx)), kind)
	}

	// A count that is not an integer as Redis reads them, on either side.
	for _, bad := range []string{"x", "", "1.5", "007", "+5", "-0", " 5", "5 ", "1e3", "9223372036854775808", "-9223372036854775809", "99999999999999999999"} {
		require.NoError(t, be.rdb.HSet(ctx, c.Key(), "bad", bad).Err())
		for op, fn := range all(c, counts) {
			if op == "Total" {
				continue // Total reads as Get does (strconv), which is laxer
			}
			require.ErrorIs(t, fn(), collections.ErrWrongType, "%q: %s", bad, op)
		}
		require.Equal(t, map[string]string{"a": "1", "b": "-1", "bad": bad}, be.rdb.HGetAll(ctx, c.Key()).Val())
		require.NoError(t, be.rdb.HDel(ctx, c.Key(), "bad").Err())
		for kind, mk := range operandKinds(be) {
			if kind == "map" {
				continue
			}
			o := mk(t, name, map[string]int64{"a": 1}).(*collections.Counter[string])
			require.NoError(t, be.rdb.HSet(ctx, o.Key(), "bad", bad).Err())
			for _, op := range []string{"+", "-=", "|", "&="} {
				require.ErrorIs(t, all(c, o)[op](), collections.ErrWrongType, "%q: %s %s", bad, kind, op)
			}
		}
		require.Equal(t, map[string]string{"a": "1", "b": "-1"}, be.rdb.HGetAll(ctx, c.Key()).Val())
	}
	require.NoError(t, be.rdb.HSet(ctx, c.Key(), "min", "-9223372036854775808").Err())
	require.Equal(t, map[string]int64{"a": 1}, dsMust[map[string]int64](t)(c.Positive(ctx)), "MinInt64 is an integer")

	// Nil operands.
	for op, fns := range counterOps {
		if op == "pos" || op == "neg" {
			continue
		}
		for _, o := range []collections.CounterOperand[string]{nil, (*collections.Counter[string])(nil)} {
			_, err := fns.read(c, ctx, o)
			require.ErrorIs(t, err, collections.ErrInvalidArgument, op)
			require.ErrorIs(t, fns.store(c, ctx, o), collections.ErrInvalidArgument, op+"=")
		}
	}

	// Undecodable keys (the default JSON codec) in a result.
	j, err := collections.NewCounter(be.rdb, name+"j", collections.CounterOptions[string]{})
	require.NoError(t, err)
	require.NoError(t, be.rdb.HSet(ctx, j.Key(), "not json", 1).Err())
	_, err = j.Positive(ctx)
	require.ErrorIs(t, err, collections.ErrDecode)
	require.ErrorContains(t, err, j.Key())
}

func TestCounterTotal(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		name := dsName(t)
		for i, tc := range []struct {
			counts map[string]int64
			want   int64
			err    error
		}{
			{nil, 0, nil},
			{map[string]int64{"z": 0}, 0, nil},
			{map[string]int64{"a": 3, "b": -5, "c": 0}, -2, nil},
			{map[string]int64{"a": math.MaxInt64, "b": math.MaxInt64, "c": math.MinInt64, "d": -1}, math.MaxInt64 - 2, nil},
			{map[string]int64{"a": math.MinInt64, "b": math.MinInt64, "c": math.MaxInt64, "d": 1}, math.MinInt64, nil},
			{map[string]int64{"a": math.MaxInt64, "b": 1}, 0, collections.ErrOverflow},
			{map[string]int64{"a": math.MinInt64, "b": -1}, 0, collections.ErrOverflow},
		} {
			c := counterOf(t, be.rdb, name+strconv.Itoa(i), tc.counts)
			got, err := c.Total(ctx)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err, "%v", tc.counts)
				continue
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "%v", tc.counts)
		}
	})
}

// TestLostRepliesCounterAlgebra: in-place arithmetic under lost replies
// (go-redis resends the script): every call returns nil and is applied
// exactly once, whether its operand is a map or a counter on another slot.
func TestLostRepliesCounterAlgebra(t *testing.T) {
	lossyOnBoth(t, func(t *testing.T, lb lossyBackend) {
		ctx := t.Context()
		const n = 300
		c, err := collections.NewCounter(lb.rdb, dsName(t), collections.CounterOptions[string]{Codec: codec.String()})
		require.NoError(t, err)
		o, err := collections.NewCounter(lb.rdb, dsName(t)+"o", collections.CounterOptions[string]{Codec: codec.String()})
		require.NoError(t, err)
		require.NoError(t, c.Set(ctx, "b", 10*n))
		require.NoError(t, o.Set(ctx, "c", 1))
		before := lb.dropped()
		for i := range n {
			require.NoError(t, c.SumUpdate(ctx, collections.Counts[string]{"a": 1}), "+= %d", i)
			require.NoError(t, c.DifferenceUpdate(ctx, collections.Counts[string]{"b": 1}), "-= %d", i)
			require.NoError(t, c.SumUpdate(ctx, o), "+= counter %d", i)
		}
		lb.heal()
		direct, err := collections.NewCounter(lb.direct, dsName(t), collections.CounterOptions[string]{Codec: codec.String()})
		require.NoError(t, err)
		require.Equal(t, map[string]int64{"a": n, "b": 9 * n, "c": n}, dsMust[map[string]int64](t)(direct.ToMap(ctx)))
		t.Logf("%d replies lost", lb.dropped()-before)
		require.Greater(t, lb.dropped()-before, int64(n/dropEvery), "the proxies lost too few replies: the test tested nothing")
	})
}

// TestLostRepliesCounterAlgebraSentAgain: with go-redis' resends off, an
// in-place arithmetic write that loses its reply is sent once more, and
// its record answers: every call returns nil, each is applied once.
func TestLostRepliesCounterAlgebraSentAgain(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	px := faultproxy.Start(t, srv.Addr)
	px.DropReplies(dropEvery)
	noResend := redis.NewClient(&redis.Options{Addr: px.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = noResend.Close() })
	ctx := t.Context()
	const n = 300
	c, err := collections.NewCounter(noResend, "again", collections.CounterOptions[string]{Codec: codec.String()})
	require.NoError(t, err)
	for i := range n {
		require.NoError(t, c.SumUpdate(ctx, collections.Counts[string]{"a": 2, "z": -1}), "+= %d", i)
	}
	direct, err := collections.NewCounter(srv.Client(t), "again", collections.CounterOptions[string]{Codec: codec.String()})
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"a": 2 * n}, dsMust[map[string]int64](t)(direct.ToMap(ctx)))
	t.Logf("%d replies lost, each write sent again", px.Dropped())
	require.Greater(t, px.Dropped(), int64(n/dropEvery), "the proxy lost too few replies: the test tested nothing")
}

// Python's Counter arithmetic, from its documentation.
func ExampleCounter_Sum() {
	ctx := context.Background()
	rdb := exampleClient()
	c, err := collections.NewCounter(rdb, "c", collections.CounterOptions[string]{Codec: codec.String()})
	if err != nil {
		panic(err)
	}
	d, err := collections.NewCounter(rdb, "d", collections.CounterOptions[string]{Codec: codec.String()})
	if err != nil {
		panic(err)
	}
	_, _ = c.Clear(ctx), d.Clear(ctx)
	_ = c.SetMany(ctx, map[string]int64{"a": 3, "b": 1})
	_ = d.SetMany(ctx, map[string]int64{"a": 1, "b": 2})

	sum, _ := c.Sum(ctx, d) // c + d
	diff, _ := c.Difference(ctx, d)
	inter, _ := c.Intersection(ctx, d)
	union, _ := c.Union(ctx, d)
	fmt.Println(sum, diff, inter, union)

	// c -= {b: 5}: b drops to -4, and c keeps only positive counts.
	_ = c.DifferenceUpdate(ctx, collections.Counts[string]{"b": 5})
	now, _ := c.ToMap(ctx)
	fmt.Println(now)
	// Output:
	// map[a:4 b:3] map[a:2] map[a:1 b:1] map[a:3 b:2]
	// map[a:3]
}

// counterCmds records the names of the commands a client sends.
type counterCmds struct {
	mu    sync.Mutex
	names []string
}

func (h *counterCmds) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *counterCmds) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.names = append(h.names, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (h *counterCmds) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *counterCmds) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.names
	h.names = nil
	return out
}

// TestCounterOperandRoundTrips: an operand in the receiver's slot is read
// by the script (one round trip); one on another slot (on a Cluster) is
// read first with HSCAN.
func TestCounterOperandRoundTrips(t *testing.T) {
	dsOnBoth(t, func(t *testing.T, be dsBackend) {
		ctx := context.Background()
		rdb := be.client(t)
		cmds := &counterCmds{}
		if cc, ok := rdb.(*redis.ClusterClient); ok {
			cc.OnNewNode(func(n *redis.Client) { n.AddHook(cmds) })
		} else {
			rdb.(*redis.Client).AddHook(cmds)
		}
		name := dsName(t)
		c := counterOf(t, rdb, name, map[string]int64{"a": 1})
		same, err := collections.NewCounter(rdb, name, collections.CounterOptions[string]{
			Codec: codec.String(), Options: collections.Options{Prefix: "other:"}})
		require.NoError(t, err)
		require.NoError(t, same.Set(ctx, "a", 2))
		other := counterOf(t, rdb, name+"-other", map[string]int64{"a": 3})
		_ = c.KeepPositive(ctx) // loads the script
		cmds.take()

		require.Equal(t, map[string]int64{"a": 3}, dsMust[map[string]int64](t)(c.Sum(ctx, same)))
		require.Equal(t, []string{"evalsha"}, cmds.take(), "same slot: one script")
		require.NoError(t, c.SumUpdate(ctx, collections.Counts[string]{"a": 1}))
		require.Equal(t, []string{"evalsha"}, cmds.take(), "a map: one script")
		require.Equal(t, map[string]int64{"a": 5}, dsMust[map[string]int64](t)(c.Sum(ctx, other)))
		if be.cluster {
			require.Equal(t, []string{"hscan", "evalsha"}, cmds.take(), "another slot: read first")
		} else {
			require.Equal(t, []string{"evalsha"}, cmds.take(), "one server: one script")
		}
	})
}
