package cache

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/internal/redistest"
)

type traceKey struct{}

// TestLoaderCarriesCallerValues: the loader runs under the context of the
// caller that started the load, less its cancellation, so a span (or any
// value) in that context is the parent of the loader's own work; and the
// Redis calls of GetOrLoad carry the caller's context to the client's
// hooks, where redisotel traces them.
func TestLoaderCarriesCallerValues(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	seen := make(chan any, 16)
	addHook(rdb, ctxHook(func(ctx context.Context) {
		if v := ctx.Value(traceKey{}); v != nil {
			select {
			case seen <- v:
			default:
			}
		}
	}))
	c := newCache(t, coherentStore(t, rdb, CoherenceAuto), Options[string]{})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), traceKey{}, "span-1"))
	defer cancel()
	var loadCtx context.Context
	v, err := c.GetOrLoad(ctx, "k", func(lctx context.Context) (string, error) {
		loadCtx = lctx
		return "v", nil
	})
	require.NoError(t, err)
	require.Equal(t, "v", v)
	require.Equal(t, "span-1", loadCtx.Value(traceKey{}), "the loader's context lost the caller's values")
	require.Nil(t, loadCtx.Done(), "the loader's context ends with the caller's: one caller giving up would cancel everyone's load")
	require.Equal(t, "span-1", <-seen, "no Redis call of GetOrLoad carried the caller's context")
}

// ctxHook calls fn with the context of each command.
type ctxHook func(context.Context)

func (h ctxHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h ctxHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h(ctx); return next(ctx, cmd) }
}
func (h ctxHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h(ctx); return next(ctx, cmds) }
}
