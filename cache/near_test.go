package cache

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestNear: values of a hash kept in the local tier through Near become
// misses when any client writes the hash, and are not kept while the fill
// raced a write.
func TestNear(t *testing.T) {
	for _, d := range deployments(t) {
		t.Run(d.name, func(t *testing.T) {
			ctx := context.Background()
			s := coherentStore(t, d.client(t), CoherenceAuto)
			n, err := NewNear[string](s, time.Hour)
			require.NoError(t, err)
			foreign := d.client(t)
			rkey := "tc:{" + uniqueNS(t) + "}:dict"
			require.NoError(t, foreign.HSet(ctx, rkey, "f", "v1", "g", "w1").Err())

			read := func(field string) string {
				if v, ok := n.Get(rkey, field); ok {
					return "local:" + v
				}
				tok := n.Token()
				v, err := foreign.HGet(ctx, rkey, field).Result()
				require.NoError(t, err)
				n.Keep(rkey, field, v, len(v), tok)
				return "remote:" + v
			}
			// The HSET's own invalidation may land after a first read: read
			// until the value is kept.
			eventually(t, func() bool { return read("f") == "local:v1" }, "f never kept")
			eventually(t, func() bool { return read("g") == "local:w1" }, "g never kept")

			// A write to any field of the hash drops every field kept.
			require.NoError(t, foreign.HSet(ctx, rkey, "g", "w2").Err())
			eventually(t, func() bool { _, ok := n.Get(rkey, "f"); return !ok }, "the write was not seen")
			_, ok := n.Get(rkey, "g")
			require.False(t, ok)
			require.Equal(t, "remote:w2", read("g"))

			// A fill whose read started before an invalidation is not kept.
			tok := n.Token()
			require.NoError(t, foreign.HSet(ctx, rkey, "f", "v3").Err())
			eventually(t, func() bool { return !s.coh.keepable(rkey, tok) }, "the write was not seen")
			n.Keep(rkey, "f", "v1-stale", 8, tok)
			_, ok = n.Get(rkey, "f")
			require.False(t, ok, "kept a value read before a write")

			// Invalidate is immediate in this process.
			require.Equal(t, "remote:v3", read("f"))
			n.Invalidate(rkey)
			_, ok = n.Get(rkey, "f")
			require.False(t, ok)
		})
	}
}
