package memo

import "errors"

var (
	// ErrUnhashableArgument is returned when an argument cannot be encoded
	// as a key: by New when the argument type holds a func, a channel, an
	// unsafe.Pointer or a uintptr outside an interface (so that no value of
	// it could be), and by Call, Bypass, Forget and Key when a value cannot
	// be: an interface holding such a value, a cycle of pointers, slices or
	// maps, or nesting deeper than 10 000 pointers, slices, maps and
	// interfaces. The error names the offending type.
	ErrUnhashableArgument = errors.New("tiercache/memo: argument cannot be encoded as a key")

	// ErrInvalidName is returned by New for an empty name or one with
	// characters other than letters, digits, '_', '-' and '.'.
	ErrInvalidName = errors.New("tiercache/memo: invalid name")

	// ErrNilFunc is returned by New when the function to memoize, or the
	// key function given to NewKeyed, is nil.
	ErrNilFunc = errors.New("tiercache/memo: nil function")
)
