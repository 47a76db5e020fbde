package syncable

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redisx"
)

// Errors of the package. Callers test for them with [errors.Is]; the returned
// errors wrap them and name the Redis key involved.
var (
	// ErrConflict is returned by Sync when Redis changed since the Load (or
	// the last successful Sync) the in-memory state was based on: another
	// syncable collection synced the same key, or another client wrote a
	// field, member or element this Sync changes, or changed the
	// collection's length. Nothing is written. Load again (discarding the
	// in-memory changes) or call SyncOverwrite. The package documentation
	// lists exactly which foreign writes are detected.
	ErrConflict = errors.New("tiercache/syncable: Redis changed since Load")

	// ErrInvalidArgument is returned by the constructors given arguments
	// they cannot use: a nil client, an empty name, a name or prefix that
	// would break the key's hash tag, a negative size. The errors that
	// collections reports for the same reasons match it too (and also
	// collections.ErrInvalidArgument).
	ErrInvalidArgument = errors.New("tiercache/syncable: invalid argument")

	// ErrWrongType is returned by Load and Sync when the collection's key
	// holds another Redis type, or a Counter's hash holds a count that is
	// not an integer. Nothing is written. It is cache.ErrWrongType (and
	// collections.ErrWrongType): one "wrong type" for every package.
	ErrWrongType = collections.ErrWrongType

	// ErrDecode is returned by Load when a field, member or element read
	// from Redis cannot be decoded by the collection's codec (it was written
	// by another program or with another codec). The in-memory state is left
	// as it was. The error wraps the codec's error (and codec.ErrDecode).
	ErrDecode = errors.New("tiercache/syncable: cannot decode")

	// ErrEncode is returned by Sync (and the LRUDict methods that write)
	// when a key or value cannot be encoded by the collection's codec (the
	// error then matches codec.ErrEncode too), or when two distinct keys or
	// members encode to the same bytes, so that Redis could not tell them
	// apart. Nothing is written.
	ErrEncode = errors.New("tiercache/syncable: cannot encode")
)

// invalid makes an error of a collections constructor match
// ErrInvalidArgument as well.
func invalid(err error) error {
	if errors.Is(err, collections.ErrInvalidArgument) {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return err
}

// uncertain reports whether err leaves unknown whether Redis ran the
// command (redisx.Uncertain).
func uncertain(err error) bool { return redisx.Uncertain(err) }

// failKey wraps an error of operation op on key: WRONGTYPE (from Redis or
// a script) matches ErrWrongType.
func failKey(op, key string, err error) error {
	if redis.HasErrorPrefix(err, "WRONGTYPE") {
		return fmt.Errorf("%w: %s %q: %w", ErrWrongType, op, key, err)
	}
	return fmt.Errorf("tiercache/syncable: %s %q: %w", op, key, err)
}

// encodeError is the error for a value of key that a codec refused.
func encodeError(key string, err error) error {
	if !errors.Is(err, codec.ErrEncode) {
		err = fmt.Errorf("%w: %w", codec.ErrEncode, err)
	}
	return fmt.Errorf("%w: key %q: %w", ErrEncode, key, err)
}

// decodeError is the error for raw, read from key, that a codec refused.
func decodeError(key, raw string, err error) error {
	const show = 64
	if len(raw) > show {
		raw = raw[:show] + "..."
	}
	if !errors.Is(err, codec.ErrDecode) {
		err = fmt.Errorf("%w: %w", codec.ErrDecode, err)
	}
	return fmt.Errorf("%w: key %q: %q: %w", ErrDecode, key, raw, err)
}
