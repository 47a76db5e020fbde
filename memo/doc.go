// Package memo memoizes Go functions on the two-tier cache: a memoized
// function's results live in a cache namespace of a cache.Store, in this
// process's local tier and in Redis, shared by every process that
// memoizes a function under the same name and version.
//
//	f, err := memo.New(store, "profile", loadProfile, memo.Options[Profile]{
//		Cache: cache.Options[Profile]{TTL: 10 * time.Minute},
//	})
//	p, err := f.Call(ctx, ProfileArgs{UserID: 42, Lang: "fr"})
//
// Call, Bypass, Forget, Clear, Info and Unwrap play the parts of Python's
// functools.cache (cache_info, cache_clear, __wrapped__) and of pottery's
// redis_cache (__bypass__). Unlike pottery's, whose keys come from
// Python's per-process salted hash(), memo's keys are the same in every
// process, so processes share hits; and each result expires on its own.
//
// # Keys
//
// A result's key is, in order of precedence: the key function given to
// NewKeyed; a.MemoKey() when A implements Keyer; otherwise the canonical
// encoding of a, hashed. Custom keys are used as they are when they are at
// most MaxRawKeyLen bytes long and do not start with '#'; other custom keys
// become '#' and their hash. A function of no arguments (New0) has one key.
//
// The canonical encoding is a function of the argument's value and static
// type alone, the same in every process, on every machine and with every
// Go version (it depends on neither memory addresses nor map iteration
// order). The key is the first 32 characters of the unpadded base64url
// SHA-256 of "tiercache/memo key v1\x00" followed by the encoding, which is
// one tag byte then a payload for each value, by kind:
//
//   - bool: 'b', one byte 0 or 1.
//   - Signed integers of every size: 'i', the value as a big-endian int64.
//     Unsigned ones: 'u', the value as a big-endian uint64.
//   - Floats: 'f', the big-endian IEEE 754 bits of the value as a float64
//     (float32 widens exactly), with -0 encoded as +0 (they are ==) and
//     every NaN as the one quiet NaN 0x7ff8000000000000 (so f(NaN) is
//     memoized like any other argument). Complex numbers: 'c', the real
//     then the imaginary part as floats.
//   - Strings: 's', the length as a uvarint, the bytes.
//   - time.Time, and types whose underlying type is time.Time's: 't', the
//     Unix seconds as a big-endian int64 and the nanoseconds as a uint32.
//     The instant only: the location and the monotonic reading are left
//     out, so times that are Equal have the same key.
//   - time.Location: 'z', its name (length, bytes), such as "Europe/Paris"
//     or "Local" (the name, not the rules: its other fields are caches).
//   - Slices and arrays: 'l', the length as a uvarint, the elements; those
//     of a uint8 kind ([]byte...): 'y', the length, the bytes. A nil slice
//     encodes as an empty one.
//   - Maps: 'm', the length, then each entry (key, value) in increasing
//     order of the encoded key's bytes (then of the encoded value's, for
//     keys that encode alike, such as NaNs). A nil map encodes as an empty
//     one.
//   - Pointers: 'n' when nil, else 'p' and the value pointed to: two
//     pointers to equal values have the same key, whatever their
//     addresses.
//   - Structs: 'r', the number of fields encoded, then for each field in
//     increasing byte order of name: the name (length, bytes) and the
//     value. Sorting by name makes reordering a struct's fields keep its
//     keys; renaming, adding or removing a field changes them.
//   - Interfaces: 'n' when nil, else 'e', the dynamic type's name (length,
//     bytes: "<import path>.<Name>" for a defined type, the name of a
//     predeclared one, Go syntax over those names for a composite one),
//     then the value: int(1) and int64(1) held in an `any` differ.
//
// Unexported struct fields are encoded like exported ones. A key must never
// give one argument another's result, and leaving fields out (as
// encoding/json does) would make arguments that differ only in unexported
// fields share a key, silently. Fields named _ are left out, and so are
// fields tagged `memo:"-"`: tag fields such as a mutex or a logger, which
// are not part of the argument's meaning, or give the type a MemoKey
// method.
//
// Funcs, channels, unsafe.Pointers and uintptrs (whose values are
// addresses, different in every process) cannot be encoded: New returns
// ErrUnhashableArgument when A holds one outside an interface, and Call
// does when an interface holds one. So it does for a value that contains
// itself (a cycle of pointers, slices or maps) and for one nested deeper
// than 10 000 pointers, slices, maps and interfaces.
//
// The plan for encoding a type is built once per function (at New for A,
// on first sight for the dynamic types held in interfaces); it walks the
// argument's memory directly, with reflect only to iterate maps and to
// read interface values.
//
// # Cost
//
// A Call that finds its result in the local tier allocates nothing when A
// implements Keyer. With the canonical encoding it allocates the key
// string, plus up to four allocations per non-empty map (copies of a key
// and a value, the sorted entries) and one per non-nil interface value
// the argument holds, and spends the time of encoding and SHA-256 (see the
// README for measurements).
package memo
