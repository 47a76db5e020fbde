package collections

import (
	"errors"

	"github.com/tiercache/tiercache/cache"
)

// Errors of the data-structure types (Dict, Set, List, Deque, Counter,
// DefaultDict, Queue, ReliableQueue, SortedSet, MultiMapTTL). Callers test
// for them with [errors.Is]; the returned errors wrap them and name the
// Redis key involved.
var (
	// ErrNotFound is returned when what a call asks for is absent: a
	// Dict key (Get, Pop), a Set member (Remove), a List value (Remove,
	// IndexOf), a SortedSet member (Score, Rank). It is cache.ErrNotFound:
	// one "not found" for every package.
	ErrNotFound = cache.ErrNotFound

	// ErrEmpty is returned by the calls that take an element from a
	// collection (Set.Pop, Deque.Pop, Queue.TryGet, SortedSet.PopMin, ...)
	// when it has none, and by the blocking ones (Queue.Get, Deque.PopWait)
	// when their context ends first; the latter also wrap ctx.Err().
	ErrEmpty = errors.New("tiercache/collections: empty")

	// ErrIndexOutOfRange is returned by the List and Deque calls given an
	// index outside the list (Index, SetIndex, Pop).
	ErrIndexOutOfRange = errors.New("tiercache/collections: index out of range")

	// ErrDecode is returned when a member, field or value read from Redis
	// cannot be decoded by the collection's codec: it was written by another
	// program or with another codec. The error names the key and wraps the
	// codec's error (which matches codec.ErrDecode). Iterations stop at the
	// first such member; a Queue that pops one moves it to its dead-letter
	// list rather than dropping it.
	ErrDecode = errors.New("tiercache/collections: cannot decode member")

	// ErrDeliveryExpired is returned by [Delivery.Ack] and [Delivery.Nack]
	// when the delivery is no longer in flight: its visibility timeout ran
	// out and a Get has already returned the item to the queue (it will be,
	// or has been, delivered again), or it was settled already.
	ErrDeliveryExpired = errors.New("tiercache/collections: delivery expired")
)

// ErrUncertain is returned by a method that writes when Redis may or may
// not have applied the write: the command was sent, and its reply was lost
// (the connection dropped, the round trip timed out, the context ended
// while it was in flight). The error wraps the network's. Methods that are
// idempotent under resend (see the package README) return it only when
// go-redis' own resends ran out; the others are sent without resends and
// return it as soon as a reply is lost, so a write is never applied twice
// behind a success. Read the collection to find out, or design the write
// to be safe to repeat.
var ErrUncertain = errors.New("tiercache/collections: may or may not have been applied")
