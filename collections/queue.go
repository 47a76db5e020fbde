package collections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
)

// QueueOptions are the settings of a [Queue] and a [ReliableQueue]. The zero
// value means the defaults.
type QueueOptions[T any] struct {
	// Options are the settings every collection takes.
	Options

	// Codec encodes the items. Default codec.JSON[T]().
	Codec codec.Codec[T]

	// VisibilityTimeout is how long a [ReliableQueue] delivery stays with
	// its consumer before an Ack or Nack: past it, the next Get of any
	// consumer returns the item to the queue. Plain Queues ignore it.
	// Default [DefaultVisibilityTimeout] (30s); at least a millisecond.
	VisibilityTimeout time.Duration
}

// DefaultVisibilityTimeout is the [QueueOptions.VisibilityTimeout] used when
// it is zero.
const DefaultVisibilityTimeout = 30 * time.Second

// Queue is a multi-producer, multi-consumer FIFO queue of T in one Redis
// list, "<prefix>{<name>}:queue": Put pushes at the head (LPUSH), Get pops
// at the tail, so each item goes to exactly one consumer, in the order the
// items were put. Put and the pop are scripts that check a request id, so
// go-redis' resend after a lost reply neither puts an item twice nor pops
// a second one (a BRPOP whose reply is lost would lose its item); Get
// waits for an item with a blocking command that changes nothing. An item
// a consumer has taken is gone from Redis: if the consumer then crashes,
// the item is lost. Use a [ReliableQueue] (same list, so the two can share
// producers) when that matters. A Queue is safe for concurrent use.
type Queue[T any] struct {
	b    base
	c    codec.Codec[T]
	dead string // where undecodable items go
}

// NewQueue returns the Queue called name on rdb. It does not talk to Redis.
// It returns ErrInvalidArgument for a nil client, an empty name or a name or
// prefix that would break the key's hash tag.
func NewQueue[T any](rdb redis.UniversalClient, name string, opts QueueOptions[T]) (*Queue[T], error) {
	b, err := newBase(rdb, name, "queue", "list", opts.Options)
	if err != nil {
		return nil, err
	}
	if opts.Codec == nil {
		opts.Codec = codec.JSON[T]()
	}
	return &Queue[T]{b: b, c: opts.Codec, dead: b.opts.key(name, "queue:dead")}, nil
}

// Name returns the queue's name.
func (q *Queue[T]) Name() string { return q.b.name }

// Key returns the Redis key of the queue's list.
func (q *Queue[T]) Key() string { return q.b.key }

// DeadLetterKey returns the key of the list that receives the items Get
// took but could not decode, so that none is silently dropped.
func (q *Queue[T]) DeadLetterKey() string { return q.dead }

// Put adds items at the end of the queue, in order, in one script that a
// resend after a lost reply does not apply twice.
func (q *Queue[T]) Put(ctx context.Context, items ...T) error {
	if len(items) == 0 {
		return nil
	}
	_, err := push(ctx, &q.b, q.c, "put", true, 0, items)
	return err
}

// Get takes the item at the front of the queue, waiting until there is one
// or ctx ends, which gives an error matching both ErrEmpty and ctx.Err().
// Bound the wait with context.WithTimeout; a cancellation without a
// deadline is noticed within a second. An item that cannot be decoded is
// moved to the dead-letter list and reported as ErrDecode.
func (q *Queue[T]) Get(ctx context.Context) (T, error) {
	raw, err := q.b.takeWait(ctx, "get", false)
	if err != nil {
		var zero T
		return zero, err
	}
	return q.decode(ctx, raw)
}

// TryGet takes the item at the front of the queue without waiting; ErrEmpty
// when there is none.
func (q *Queue[T]) TryGet(ctx context.Context) (T, error) {
	var zero T
	raw, err := q.b.take(ctx, "try get", false)
	if errors.Is(err, redis.Nil) {
		return zero, fmt.Errorf("%w: queue %q", ErrEmpty, q.b.key)
	}
	if err != nil {
		return zero, err
	}
	return q.decode(ctx, raw)
}

// decode decodes a taken item, moving it to the dead-letter list when it
// cannot be decoded.
func (q *Queue[T]) decode(ctx context.Context, raw string) (T, error) {
	v, err := decode(q.c, q.b.key, raw)
	if err == nil {
		return v, nil
	}
	// The item is out of the queue: keep it even if ctx ended. The push is
	// sent once: a lost reply is reported, never a second dead letter.
	c, cancel := q.b.opts.opContext(context.WithoutCancel(ctx))
	defer cancel()
	if derr := doOnce(c, q.b.rdb, "lpush", q.dead, raw).Err(); derr != nil {
		return v, fmt.Errorf("%w (and it could not be moved to %q: %w)", err, q.dead, derr)
	}
	return v, fmt.Errorf("%w (moved to %q)", err, q.dead)
}

// Len returns the number of items waiting.
func (q *Queue[T]) Len(ctx context.Context) (int64, error) { return q.b.llen(ctx) }

// Clear deletes the queue's items (not its dead letters). It returns
// ErrWrongType, deleting nothing, when the key holds another Redis type.
func (q *Queue[T]) Clear(ctx context.Context) error { return q.b.clear(ctx) }
