package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/bits"
)

var (
	//go:embed counter_algebra.lua
	counterAlgebraSrc string

	counterAlgebra = newScript(counterAlgebraSrc)
)

// ErrOverflow is returned when a count a Counter computes does not fit an
// int64: an IncrBy, Update or Subtract that would overflow a stored count,
// a positive result of the arithmetic ([Counter.Sum], ...) beyond
// math.MaxInt64, or a [Counter.Total] out of range. Nothing is written.
var ErrOverflow = errors.New("tiercache/collections: count overflows int64")

// prefixOverflow starts the error HINCRBY and counter_algebra.lua raise on
// an overflow (failKey maps it to ErrOverflow).
const prefixOverflow = "increment or decrement would overflow"

// The arithmetic of Python's Counter. Each operation is one script on the
// receiver's node, which reads the receiver and the operand, computes the
// result exactly on 64-bit integers and returns it, or stores it in place
// of the receiver: atomic with respect to the receiver. The operand is a
// [Counts] map, sent with the script, or another *Counter: read by the
// script too when it is on the receiver's slot through the same client (a
// single server, or the same name under another prefix), else read first
// with HSCAN, in chunks, and sent with the script, so that such an operand
// is read as its scan saw it rather than at one instant. Fields are
// compared by their encodings: counters combined must use the same codec.
//
// As in Python, a key missing from either side counts 0 and every result
// keeps only the keys whose count is positive; the in-place forms drop the
// receiver's other keys (zero and negative counts) too. Update and
// Subtract are the forms that keep every count.

// CounterOperand is the right-hand side of a [Counter]'s arithmetic:
// another *Counter[K] or a [Counts][K] map. It is implemented by those two
// types only.
type CounterOperand[K comparable] interface {
	// counterOperand returns how the script on c's node reads the
	// operand: a key in c's slot, or its fields and counts as pairs.
	counterOperand(ctx context.Context, c *Counter[K]) (key string, pairs []any, err error)
}

// Counts is a plain map of counts used as the operand of a [Counter]'s
// arithmetic: c.Sum(ctx, collections.Counts[string](m)) for a map
// m map[string]int64. Keys missing from it count 0.
type Counts[K comparable] map[K]int64

var (
	_ CounterOperand[string] = Counts[string](nil)
	_ CounterOperand[string] = (*Counter[string])(nil)
)

func (m Counts[K]) counterOperand(_ context.Context, c *Counter[K]) (string, []any, error) {
	pairs := make([]any, 0, 2*len(m))
	for k, n := range m {
		f, err := encode(c.kc, c.b.key, k)
		if err != nil {
			return "", nil, err
		}
		pairs = append(pairs, f, n)
	}
	return "", pairs, nil
}

func (o *Counter[K]) counterOperand(ctx context.Context, c *Counter[K]) (string, []any, error) {
	if o == nil {
		return "", nil, fmt.Errorf("%w: counter %q: nil operand", ErrInvalidArgument, c.b.key)
	}
	if o.b.rdb == c.b.rdb && sameNode(c.b.rdb, c.b.key, o.b.key) {
		return o.b.key, nil, nil
	}
	var pairs []any
	err := o.b.scan(ctx, "read operand", 2, func(rc context.Context, cursor uint64) ([]string, uint64, error) {
		return o.b.rdb.HScan(rc, o.b.key, cursor, "", scanCount).Result()
	}, func(g []string) (bool, error) {
		pairs = append(pairs, g[0], g[1])
		return true, nil
	})
	return "", pairs, err
}

// Sum returns c + other, as Python's Counter.__add__: the counts added,
// keeping the positive ones. (The sum of c's counts is [Counter.Total].)
// A positive count beyond math.MaxInt64 is ErrOverflow.
func (c *Counter[K]) Sum(ctx context.Context, other CounterOperand[K]) (map[K]int64, error) {
	return c.compute(ctx, "add", other)
}

// Difference returns c - other, as Python's Counter.__sub__: other's
// counts subtracted from c's, keeping the positive results.
func (c *Counter[K]) Difference(ctx context.Context, other CounterOperand[K]) (map[K]int64, error) {
	return c.compute(ctx, "sub", other)
}

// Union returns c | other, as Python's Counter.__or__: the larger of the
// two counts of each key, keeping the positive ones.
func (c *Counter[K]) Union(ctx context.Context, other CounterOperand[K]) (map[K]int64, error) {
	return c.compute(ctx, "or", other)
}

// Intersection returns c & other, as Python's Counter.__and__: the smaller
// of the two counts of each key, keeping the positive ones.
func (c *Counter[K]) Intersection(ctx context.Context, other CounterOperand[K]) (map[K]int64, error) {
	return c.compute(ctx, "and", other)
}

// Positive returns +c, as Python's Counter.__pos__: the keys whose count is
// positive, with their counts.
func (c *Counter[K]) Positive(ctx context.Context) (map[K]int64, error) {
	return c.compute(ctx, "pos", nil)
}

// Negative returns -c, as Python's Counter.__neg__: the keys whose count is
// negative, with their counts negated (so positive). A count of
// math.MinInt64 has no negation: ErrOverflow.
func (c *Counter[K]) Negative(ctx context.Context) (map[K]int64, error) {
	return c.compute(ctx, "neg", nil)
}

// SumUpdate does c += other, as Python's Counter.__iadd__: it adds other's
// counts to c's and then keeps only c's positive counts (its zero and
// negative ones are deleted, even those other does not name), atomically:
// all or none. [Counter.Update] adds and keeps every count. It is
// idempotent under resend (see [Counter.IncrBy]). An overflow changes
// nothing and is ErrOverflow.
func (c *Counter[K]) SumUpdate(ctx context.Context, other CounterOperand[K]) error {
	return c.storeOp(ctx, "add", other)
}

// DifferenceUpdate does c -= other, as Python's Counter.__isub__: it
// subtracts other's counts from c's and then keeps only the positive
// counts, atomically. [Counter.Subtract] subtracts and keeps every count.
// It is idempotent under resend.
func (c *Counter[K]) DifferenceUpdate(ctx context.Context, other CounterOperand[K]) error {
	return c.storeOp(ctx, "sub", other)
}

// UnionUpdate does c |= other, as Python's Counter.__ior__: each count
// becomes the larger of c's and other's, and only the positive counts are
// kept, atomically. It is idempotent under resend.
func (c *Counter[K]) UnionUpdate(ctx context.Context, other CounterOperand[K]) error {
	return c.storeOp(ctx, "or", other)
}

// IntersectionUpdate does c &= other, as Python's Counter.__iand__: each
// count becomes the smaller of c's and other's (a key other lacks counts
// 0 there), and only the positive counts are kept, atomically. It is
// idempotent under resend.
func (c *Counter[K]) IntersectionUpdate(ctx context.Context, other CounterOperand[K]) error {
	return c.storeOp(ctx, "and", other)
}

// KeepPositive deletes the keys whose count is zero or negative, as
// Python's c = +c (or c += Counter()), atomically. It is idempotent under
// resend.
func (c *Counter[K]) KeepPositive(ctx context.Context) error {
	return c.storeOp(ctx, "pos", nil)
}

// algebraNames names the operations in errors.
var algebraNames = map[string]string{
	"add": "sum", "sub": "difference", "or": "union", "and": "intersection",
	"pos": "positive", "neg": "negative",
}

// algebraCall returns the keys and arguments of counter_algebra.lua for op
// (mode "read" or "store") on c and other (nil for "pos" and "neg").
func (c *Counter[K]) algebraCall(ctx context.Context, op, mode string, other CounterOperand[K]) ([]string, []any, error) {
	keys := []string{c.b.key}
	if mode == "store" {
		keys = append(keys, c.b.req.next())
	}
	args := []any{op, mode, c.b.window, "map"}
	if op == "pos" || op == "neg" {
		return keys, args, nil
	}
	if other == nil {
		return nil, nil, fmt.Errorf("%w: counter %q: nil operand", ErrInvalidArgument, c.b.key)
	}
	okey, pairs, err := other.counterOperand(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	if okey != "" {
		keys = append(keys, okey)
	} else if o, ok := other.(*Counter[K]); ok {
		args[3] = o.b.key
	}
	return keys, append(args, pairs...), nil
}

// compute runs op on c and other and returns the result.
func (c *Counter[K]) compute(ctx context.Context, op string, other CounterOperand[K]) (map[K]int64, error) {
	keys, args, err := c.algebraCall(ctx, op, "read", other)
	if err != nil {
		return nil, err
	}
	var raws []string
	err = c.b.rt(ctx, algebraNames[op], false, func(ctx context.Context) (err error) {
		raws, err = counterAlgebra.Run(ctx, c.b.rdb, keys, args...).StringSlice()
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make(map[K]int64, len(raws)/2)
	for i := 0; i+1 < len(raws); i += 2 {
		k, err := decode(c.kc, c.b.key, raws[i])
		if err != nil {
			return nil, err
		}
		n, err := c.parse(raws[i+1])
		if err != nil {
			return nil, err
		}
		out[k] = n
	}
	return out, nil
}

// storeOp runs op on c and other and stores the result in c, once per
// request (class 1: the script checks the request's record).
func (c *Counter[K]) storeOp(ctx context.Context, op string, other CounterOperand[K]) error {
	keys, args, err := c.algebraCall(ctx, op, "store", other)
	if err != nil {
		return err
	}
	return c.b.rtIdem(ctx, algebraNames[op]+" update", func(ctx context.Context) error {
		return counterAlgebra.Run(ctx, c.b.rdb, keys, args...).Err()
	})
}

// sum128 adds int64s exactly: a total that fits an int64 is right whatever
// the order of the terms, even when a partial sum does not fit.
type sum128 struct {
	hi int64
	lo uint64
}

func (s *sum128) add(n int64) {
	var carry uint64
	s.lo, carry = bits.Add64(s.lo, uint64(n), 0)
	s.hi += int64(carry) + n>>63
}

// int64 returns the total, or false when it does not fit an int64.
func (s *sum128) int64() (int64, bool) {
	v := int64(s.lo)
	return v, s.hi == v>>63
}

// totalError is the error of a Total that does not fit an int64.
func totalError(key string) error {
	return fmt.Errorf("%w: the total of counter %q does not fit an int64", ErrOverflow, key)
}
