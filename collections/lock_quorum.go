package collections

import (
	"context"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// This file holds what the multi-master types, Lock and NextID, share: the
// validation of the master list and the fan-out of one script to every master.

// checkMasters validates a list of independent masters.
func checkMasters(masters []redis.UniversalClient) error {
	if len(masters) == 0 {
		return fmt.Errorf("%w: no masters", ErrInvalidArgument)
	}
	for i, m := range masters {
		if m == nil {
			return fmt.Errorf("%w: master %d is nil", ErrInvalidArgument, i)
		}
	}
	return nil
}

// quorum is the number of masters out of n that make a majority.
func quorum(n int) int { return n/2 + 1 }

// reply is one master's answer to a fan-out.
type reply[R any] struct {
	val R
	err error
}

// onMasters runs fn on the masters selected by use (all when use is nil)
// concurrently, each under its own per-operation timeout, and returns when
// every one has answered or timed out. Replies are indexed like masters; an
// unselected master's reply is the zero value.
func onMasters[R any](ctx context.Context, o Options, masters []redis.UniversalClient, use []bool,
	fn func(ctx context.Context, m redis.UniversalClient) (R, error)) []reply[R] {
	out := make([]reply[R], len(masters))
	call := func(i int) {
		octx, cancel := o.opContext(ctx)
		defer cancel()
		out[i].val, out[i].err = fn(octx, masters[i])
	}
	if len(masters) == 1 {
		if use == nil || use[0] {
			call(0)
		}
		return out
	}
	var wg sync.WaitGroup
	for i := range masters {
		if use == nil || use[i] {
			wg.Go(func() { call(i) })
		}
	}
	wg.Wait()
	return out
}

// newQuorumError builds the error of an operation that too few masters
// answered.
func newQuorumError[R any](op, key string, replies []reply[R]) *QuorumError {
	e := &QuorumError{Op: op, Key: key, Total: len(replies), Need: quorum(len(replies))}
	for _, r := range replies {
		if r.err != nil {
			e.Errs = append(e.Errs, r.err)
		} else {
			e.Answered++
		}
	}
	return e
}
