package collections

import (
	"context"
)

// Set makes n the count of k, as Python's c[k] = n. A count of 0 is kept,
// as in Python: k stays in the counter ([Counter.Contains] reports it,
// [Counter.Len] counts it) until [Counter.Delete] removes it. It is one
// HSET, idempotent under resend.
func (c *Counter[K]) Set(ctx context.Context, k K, n int64) error {
	field, err := encode(c.kc, c.b.key, k)
	if err != nil {
		return err
	}
	return c.b.rt(ctx, "set", true, func(ctx context.Context) error {
		return c.b.rdb.HSet(ctx, c.b.key, field, n).Err()
	})
}

// SetMany makes each count of counts its key's count (zero counts kept, as
// in [Counter.Set]), atomically: one HSET, idempotent under resend. Keys
// counts does not name keep their counts.
func (c *Counter[K]) SetMany(ctx context.Context, counts map[K]int64) error {
	if len(counts) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(counts))
	for k, n := range counts {
		field, err := encode(c.kc, c.b.key, k)
		if err != nil {
			return err
		}
		args = append(args, field, n)
	}
	return c.b.rt(ctx, "set many", true, func(ctx context.Context) error {
		return c.b.rdb.HSet(ctx, c.b.key, args...).Err()
	})
}

// Contains reports whether the counter holds k, whatever its count (zero
// and negative counts included), as Python's k in c: HEXISTS, or the local
// copy of the whole counter with Options.Local.
func (c *Counter[K]) Contains(ctx context.Context, k K) (bool, error) {
	if m, ok := c.local(ctx); ok {
		_, in := m[k]
		return in, nil
	}
	field, err := encode(c.kc, c.b.key, k)
	if err != nil {
		return false, err
	}
	var ok bool
	err = c.b.rt(ctx, "contains", false, func(ctx context.Context) (err error) {
		ok, err = c.b.rdb.HExists(ctx, c.b.key, string(field)).Result()
		return err
	})
	return ok, err
}
