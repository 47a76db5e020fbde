package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed queue_claim.lua
	queueClaimSrc string
	//go:embed queue_settle.lua
	queueSettleSrc string

	queueClaim  = newScript(queueClaimSrc)
	queueSettle = newScript(queueSettleSrc)
)

// ReliableQueue is a [Queue] whose consumers cannot lose items: Get moves
// the item into an in-flight set, with a deadline VisibilityTimeout ahead,
// and the consumer then settles the [Delivery]: Ack drops the item, Nack
// returns it to the front of the queue. If the consumer crashes, hangs or
// forgets, the deadline passes and the next Get of any consumer returns the
// item to the front of the queue, to be delivered again: every item is
// delivered at least once, and exactly once when consumers settle in time.
//
// Lost replies do not change that: Put and every step check a request id
// (a claim's is its delivery id, so a claim that go-redis sends again
// returns the same item; a settlement leaves a record for
// [Options.DedupeWindow]). A claim or a settlement that gets no reply even
// so (the resends ran out, ctx ended meanwhile) asks Redis once more, under
// a fresh timeout: a claim for the item it took, a settlement by running
// again. Only if that fails too is the error [ErrUncertain]; an item an
// uncertain claim took is delivered again once its timeout passes.
//
// It uses the list of the Queue of the same name, so Queue producers can
// feed ReliableQueue consumers, plus "<list>:inflight" (a sorted set of
// delivery ids by deadline), "<list>:deliveries" (a hash of the items in
// flight) and the dead-letter list "<list>:dead". Every step (take, settle,
// return expired items) is one script, timed by the server's clock. A
// ReliableQueue is safe for concurrent use.
type ReliableQueue[T any] struct {
	q          *Queue[T]
	inflight   string
	deliveries string
	vis        time.Duration
	visArg     any   // vis in milliseconds, boxed once
	keyArgs    []any // keys(), boxed once
}

// Delivery is an item taken from a [ReliableQueue], to be settled with Ack
// or Nack before the queue's visibility timeout ends.
type Delivery[T any] struct {
	// Value is the item.
	Value T

	id string
	q  *ReliableQueue[T]
}

// NewReliableQueue returns the ReliableQueue called name on rdb. It does not
// talk to Redis. It returns ErrInvalidArgument for a nil client, an empty
// name or a name or prefix that would break the key's hash tag, or a
// VisibilityTimeout under a millisecond.
func NewReliableQueue[T any](rdb redis.UniversalClient, name string, opts QueueOptions[T]) (*ReliableQueue[T], error) {
	q, err := NewQueue(rdb, name, opts)
	if err != nil {
		return nil, err
	}
	vis := opts.VisibilityTimeout
	if vis == 0 {
		vis = DefaultVisibilityTimeout
	}
	if vis < time.Millisecond {
		return nil, fmt.Errorf("%w: queue %q: visibility timeout %v is under a millisecond", ErrInvalidArgument, name, vis)
	}
	r := &ReliableQueue[T]{
		q:          q,
		inflight:   q.b.key + ":inflight",
		deliveries: q.b.key + ":deliveries",
		vis:        vis,
		visArg:     vis.Milliseconds(),
	}
	for _, k := range r.keys() {
		r.keyArgs = append(r.keyArgs, k)
	}
	return r, nil
}

// Name returns the queue's name.
func (r *ReliableQueue[T]) Name() string { return r.q.b.name }

// Key returns the Redis key of the queue's list.
func (r *ReliableQueue[T]) Key() string { return r.q.b.key }

// DeadLetterKey returns the key of the list that receives the items that
// could not be decoded.
func (r *ReliableQueue[T]) DeadLetterKey() string { return r.q.dead }

// Put adds items at the end of the queue, in order, in one script that a
// resend after a lost reply does not apply twice.
func (r *ReliableQueue[T]) Put(ctx context.Context, items ...T) error {
	return r.q.Put(ctx, items...)
}

// Len returns the number of items waiting (not those in flight).
func (r *ReliableQueue[T]) Len(ctx context.Context) (int64, error) { return r.q.Len(ctx) }

// InFlight returns the number of deliveries not settled yet, expired ones
// included until a Get returns them to the queue.
func (r *ReliableQueue[T]) InFlight(ctx context.Context) (int64, error) {
	var n int64
	err := r.q.b.rt(ctx, "in flight", false, func(ctx context.Context) (err error) {
		n, err = r.q.b.rdb.ZCard(ctx, r.inflight).Result()
		return err
	})
	return n, err
}

// Get takes the item at the front of the queue, waiting until there is one
// or ctx ends, which gives an error matching both ErrEmpty and ctx.Err().
// While it waits it wakes when an item is put and when a delivery in flight
// reaches its deadline, so an abandoned item is delivered again promptly.
// An item that cannot be decoded is moved to the dead-letter list and
// reported as ErrDecode.
func (r *ReliableQueue[T]) Get(ctx context.Context) (*Delivery[T], error) {
	slice := blockSlice(r.q.b.rdb)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%w: get %q: %w", ErrEmpty, r.q.b.key, err)
		}
		d, wait, err := r.claim(ctx)
		if d != nil || err != nil {
			return d, err
		}
		if wait == 0 {
			continue // more expired deliveries to return
		}
		if wait < 0 {
			wait = r.vis // deliveries made from now on expire no sooner
		}
		if err := r.q.b.await(ctx, "get", false, blockFor(ctx, slice, wait)); err != nil {
			return nil, err
		}
	}
}

// TryGet takes the item at the front of the queue without waiting; ErrEmpty
// when there is none.
func (r *ReliableQueue[T]) TryGet(ctx context.Context) (*Delivery[T], error) {
	d, _, err := r.claim(ctx)
	if d == nil && err == nil {
		err = fmt.Errorf("%w: queue %q", ErrEmpty, r.q.b.key)
	}
	return d, err
}

// claim runs the claim script once. It returns the delivery, or nil and the
// time until the earliest deadline in flight (-1: none). The delivery id is
// the request id: a resend after a lost reply returns the same delivery.
func (r *ReliableQueue[T]) claim(ctx context.Context) (*Delivery[T], time.Duration, error) {
	id := token()
	a := append(queueClaim.args(3, 6), r.keyArgs[:3]...)
	a = append(a, r.visArg, id)
	var res []any
	var sent error // the round trip's own error
	err := r.q.b.rtIdem(ctx, "get", func(ctx context.Context) error {
		res, sent = queueClaim.run(ctx, r.q.b.rdb, false, a).Slice()
		return sent
	})
	if errors.Is(err, ErrUncertain) {
		// The claim may have taken an item: ask for it once more, under a
		// context that does not end with ctx, rather than leave it in
		// flight until its timeout. Without an answer the item, if any,
		// comes back after the timeout.
		a = append(a, "check")
		if cerr := r.q.b.rt(context.WithoutCancel(ctx), "get", false, func(c context.Context) (err error) {
			res, err = queueClaim.run(c, r.q.b.rdb, false, a).Slice()
			return err
		}); cerr == nil {
			switch {
			case len(res) == 2 && res[0] == int64(1):
				err = nil // taken: the delivery is the caller's
			case ctx.Err() != nil:
				return nil, -1, nil // nothing taken: Get reports ctx's end
			default:
				err = fmt.Errorf("tiercache/collections: get %q: nothing taken: %w", r.q.b.key, sent)
			}
		}
	}
	if err != nil {
		return nil, 0, err
	}
	if len(res) != 2 {
		return nil, 0, r.q.b.fail("get", fmt.Errorf("unexpected reply %v", res))
	}
	if res[0] != int64(1) {
		wait, _ := res[1].(int64)
		if wait < 0 {
			return nil, -1, nil
		}
		return nil, time.Duration(wait) * time.Millisecond, nil
	}
	raw, _ := res[1].(string)
	d := &Delivery[T]{id: id, q: r}
	if d.Value, err = decode(r.q.c, r.q.b.key, raw); err != nil {
		// The item is out of the queue: bury it even if ctx has ended.
		if serr := d.settle(context.WithoutCancel(ctx), "bury"); serr != nil {
			return nil, 0, fmt.Errorf("%w (and it could not be moved to %q: %w)", err, r.q.dead, serr)
		}
		return nil, 0, fmt.Errorf("%w (moved to %q)", err, r.q.dead)
	}
	return d, 0, nil
}

// keys returns the keys the scripts take.
func (r *ReliableQueue[T]) keys() []string {
	return []string{r.q.b.key, r.inflight, r.deliveries, r.q.dead}
}

// Clear deletes the queue's items, waiting and in flight (not its dead
// letters). It returns ErrWrongType, deleting nothing, when a key holds
// another Redis type.
func (r *ReliableQueue[T]) Clear(ctx context.Context) error {
	_, err := r.q.b.clearKeys(ctx, r.keys()[:3], "list", "zset", "hash")
	return err
}

// ID returns the delivery's id, unique to this delivery of the item.
func (d *Delivery[T]) ID() string { return d.id }

// Ack settles the delivery: the item is done and leaves the queue. It
// returns ErrDeliveryExpired when the visibility timeout ended and a Get
// already returned the item to the queue; an Ack after the deadline but
// before that still succeeds.
func (d *Delivery[T]) Ack(ctx context.Context) error {
	return d.settle(ctx, "ack")
}

// Nack returns the item to the front of the queue, to be delivered again
// at once. It returns ErrDeliveryExpired as [Delivery.Ack] does.
func (d *Delivery[T]) Nack(ctx context.Context) error {
	return d.settle(ctx, "nack")
}

// Extend moves the delivery's deadline to timeout from now (the server's
// clock), for a consumer that needs longer than the visibility timeout. It
// returns ErrDeliveryExpired as [Delivery.Ack] does. Setting a deadline is
// idempotent: a resend after a lost reply only sets it again.
func (d *Delivery[T]) Extend(ctx context.Context, timeout time.Duration) error {
	if timeout < time.Millisecond {
		return fmt.Errorf("%w: extend delivery %s: timeout %v is under a millisecond", ErrInvalidArgument, d.id, timeout)
	}
	return d.settle(ctx, "extend", timeout.Milliseconds())
}

// settle runs the settle script: how is "ack", "nack", "bury" or
// "extend". Settling is idempotent under resend: the script keeps a dedupe
// record of the delivery's settlement.
func (d *Delivery[T]) settle(ctx context.Context, how string, extend ...any) error {
	b := &d.q.q.b
	a := append(queueSettle.args(5, 9), d.q.keyArgs...)
	a = append(a, b.key+":settled:"+d.id, d.id, how, b.window)
	a = append(a, extend...)
	var n int
	err := b.rt(ctx, how, true, func(ctx context.Context) (err error) {
		n, err = queueSettle.run(ctx, b.rdb, false, a).Int()
		return err
	})
	if errors.Is(err, ErrUncertain) {
		// Settling is idempotent: send it once more, under a context that
		// does not end with ctx, for a certain answer.
		if rerr := b.rt(context.WithoutCancel(ctx), how, true, func(c context.Context) (err error) {
			n, err = queueSettle.run(c, b.rdb, false, a).Int()
			return err
		}); rerr == nil {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: delivery %s of queue %q", ErrDeliveryExpired, d.id, b.key)
	}
	return nil
}
