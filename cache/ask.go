package cache

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/keys"
)

// In sharded pub/sub a write script announces its keys with SPUBLISH on
// the node that runs it. While a slot migrates, a write whose keys have
// all moved is sent by ASK to the importing node, and announces itself
// there: the Stores subscribe to the slot's channel on that node too, but
// only once their follower has seen the migration (within a second).
// So a write that met an ASK announces its keys again, after the write,
// on the slot's owner (the node that redirected it, which serves the
// slot's channels until the move ends), where every Store listens.

// askedKey keys the flag in the context of such a write.
type askedKey struct{}

// askWatch is a hook on every node client of a Cluster in sharded pub/sub
// mode: it raises the flag of a write whose command a node answered with
// ASK.
type askWatch struct{}

func (askWatch) DialHook(next redis.DialHook) redis.DialHook { return next }

func (askWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		markAsked(ctx, cmd)
		return err
	}
}

func (askWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			markAsked(ctx, cmd)
		}
		return err
	}
}

func markAsked(ctx context.Context, cmd redis.Cmder) {
	if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "ASK") {
		if f, ok := ctx.Value(askedKey{}).(*atomic.Bool); ok {
			f.Store(true)
		}
	}
}

// watchAsks returns ctx marked so that the node clients' askWatch tells
// whether any of its commands met an ASK, when writes on this Store
// announce with SPUBLISH; else ctx and nil.
func (s *Store) watchAsks(ctx context.Context) (context.Context, *atomic.Bool) {
	if s.layout != clusterSlots || !s.coh.sharded.Load() || s.Coherence() != CoherencePubSub {
		return ctx, nil
	}
	f := new(atomic.Bool)
	return context.WithValue(ctx, askedKey{}, f), f
}

// reannounce publishes ks again on their slots' channels, each on the
// slot's owner. The keys are written already: a failure is reported as
// such, not as a failed write.
func (s *Store) reannounce(ctx context.Context, timeout time.Duration, ks []string) error {
	err := s.call(ctx, timeout, func(ctx context.Context) error {
		_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range ks {
				p.Do(ctx, "SPUBLISH", shardChannel(s.opts.Prefix, keys.Slot(k)), k)
			}
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("%w: written, but during a slot migration its announcement to other Stores failed (their copies last until LocalTTL or MaxStaleness): %w", ErrUnavailable, err)
	}
	return nil
}
