package collections

import (
	"context"
	_ "embed"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed hll_slices.lua
	hllSlicesSrc string

	hllSlices = redis.NewScript(hllSlicesSrc)
)

// MergeWith adds items to h and returns the estimated number of distinct
// elements h then holds, in one atomic round trip: [HyperLogLog.Merge]
// with a plain list of elements (an iter.Seq as slices.Collect(seq)...)
// as the operand. It is idempotent under resend (PFADD). With no items it
// only counts. A key that is not a HyperLogLog gives ErrWrongType and is
// left as it was.
func (h *HyperLogLog[T]) MergeWith(ctx context.Context, items ...T) (int64, error) {
	return h.runWith(ctx, "merge", items)
}

// UnionWith returns the estimated number of distinct elements in h and
// items together, changing nothing, in one round trip: [HyperLogLog.Union]
// with a plain list of elements as the operand. The union is computed in a
// scratch key of h's slot that the same script deletes.
func (h *HyperLogLog[T]) UnionWith(ctx context.Context, items ...T) (int64, error) {
	return h.runWith(ctx, "union", items)
}

func (h *HyperLogLog[T]) runWith(ctx context.Context, mode string, items []T) (int64, error) {
	enc, err := h.encode(items)
	if err != nil {
		return 0, err
	}
	ctx, cancel := h.opts.opContext(ctx)
	defer cancel()
	n, err := hllSlices.Run(ctx, h.rdb, []string{h.key, h.accKey}, append([]any{mode}, enc...)...).Int64()
	if mode == "merge" {
		wrote(h.local)
	}
	return n, writeError(mode+" with", h.key, err)
}
