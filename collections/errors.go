package collections

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/cache"
)

// Errors shared by every collection. Callers test for them with [errors.Is];
// the returned errors wrap them with the key or the counts involved.
var (
	// ErrInvalidArgument is returned by constructors and methods given an
	// argument they cannot use: an empty name, a nil client, a count or a
	// rate out of range.
	ErrInvalidArgument = errors.New("tiercache/collections: invalid argument")

	// ErrWrongType is returned when a collection's key holds a value of
	// another kind: another Redis type (Redis answered WRONGTYPE), or a value
	// this collection did not write (a counter that is not an integer, a
	// HyperLogLog string that is not one). Nothing is overwritten. The
	// message names the key. It is cache.ErrWrongType: one "wrong type"
	// for every package.
	ErrWrongType = cache.ErrWrongType

	// ErrConfigMismatch is returned when the configuration stored in Redis
	// with a collection differs from the one it was opened with, for example
	// a BloomFilter created elsewhere with another size or hash count. Nothing
	// is written.
	ErrConfigMismatch = errors.New("tiercache/collections: stored configuration differs")

	// ErrQuorum is returned when fewer than a quorum (N/2+1) of a
	// multi-master type's N masters answered: they were down, unreachable or
	// too slow. The error is a [*QuorumError] with the counts.
	ErrQuorum = errors.New("tiercache/collections: no quorum of masters answered")

	// ErrNotObtained is returned by [Lock.TryLock] when the lock is held by
	// someone else (or by this Lock value), and by [Lock.Lock] when its
	// context ends before the lock could be taken.
	ErrNotObtained = errors.New("tiercache/collections: lock not obtained")

	// ErrNotHeld is returned by [Lock.Unlock] and [Lock.Extend] when the Lock
	// value does not hold the lock: it was never taken, was released, or its
	// validity ran out and fewer than a quorum of masters still hold its
	// token. A critical section that sees it may have overlapped another.
	ErrNotHeld = errors.New("tiercache/collections: lock not held")

	// ErrStaleFence is returned by [FenceChecker.Admit] when a fencing token
	// is lower than one already admitted: the holder's lease ran out and a
	// newer holder has written since.
	ErrStaleFence = errors.New("tiercache/collections: stale fencing token")
)

// QuorumError reports an operation of a multi-master type ([Lock], [NextID])
// that fewer than a quorum of masters answered. It matches [ErrQuorum] with
// [errors.Is], and each master's error too.
type QuorumError struct {
	Op       string  // the operation: "lock", "extend", "unlock", "next", ...
	Key      string  // the key it was run on
	Answered int     // masters that answered
	Need     int     // the quorum, N/2+1
	Total    int     // N
	Errs     []error // the errors of the masters that did not answer
}

func (e *QuorumError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q: %d of %d masters answered, %d needed", e.Op, e.Key, e.Answered, e.Total, e.Need)
	if len(e.Errs) > 0 {
		fmt.Fprintf(&b, " (first error: %v)", e.Errs[0])
	}
	return ErrQuorum.Error() + ": " + b.String()
}

// Unwrap returns ErrQuorum followed by the masters' errors.
func (e *QuorumError) Unwrap() []error {
	return append([]error{ErrQuorum}, e.Errs...)
}

// Redis error prefixes this package's scripts and Redis use.
const (
	prefixWrongType = "WRONGTYPE"
	prefixConfig    = "TCCONFIG" // raised by scripts that check a stored configuration
)

// redisError maps an error from Redis for key to this package's errors:
// WRONGTYPE to ErrWrongType, a script's TCCONFIG to ErrConfigMismatch. Other
// errors (redis.Nil included) are returned unchanged.
func redisError(key string, err error) error {
	switch {
	case err == nil:
		return nil
	case redis.HasErrorPrefix(err, prefixWrongType):
		return fmt.Errorf("%w: key %q: %w", ErrWrongType, key, err)
	case redis.HasErrorPrefix(err, prefixConfig):
		msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(err.Error(), "ERR "), prefixConfig))
		return fmt.Errorf("%w: key %q: %s", ErrConfigMismatch, key, msg)
	}
	return err
}

// ErrExists is returned by the Create methods (Dict.Create, Set.Create,
// BloomFilter.Create, ...) when the collection already exists: its key
// holds a value of its type (pottery's KeyExistsError); and by Dict.Copy
// when the destination's key exists, whatever its type. Nothing is
// written.
var ErrExists = errors.New("tiercache/collections: already exists")
