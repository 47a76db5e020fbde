// Package codec turns typed values into the bytes tiercache stores in Redis
// and back.
//
// It has two parts. A [Codec] encodes and decodes values of one type: [JSON]
// (the default everywhere), [String], [Bytes] and [Msgpack]; any type with
// the two methods of [Codec] works too. The envelope wraps a codec's output
// with the metadata every reader of a cache entry needs before it decodes
// the value: whether the entry records "not found", whether the payload is
// compressed, and when the value goes stale and when it expires. Every
// package of tiercache reads and writes entries in this one format, so a
// value written by one package (or by another process of another build) is
// read the same way by all of them.
//
// # Envelope layout
//
// An envelope is a fixed 18-byte header ([HeaderSize]) followed by the
// payload. Multi-byte integers are big endian.
//
//	offset  size  field
//	     0     1  version: [Version] (1); any other value is rejected with ErrVersion
//	     1     1  flags: bit 0 [FlagNegative], bit 1 [FlagCompressed],
//	              bits 2-7 reserved and zero (a set reserved bit is ErrCorrupt)
//	     2     8  soft expiry: int64 unix milliseconds after which the value is
//	              stale (0: never)
//	    10     8  hard expiry: int64 unix milliseconds at which the Redis entry
//	              expires (0: never)
//	    18     n  payload, running to the end of the envelope: the codec's output,
//	              or when FlagCompressed is set that output as a raw DEFLATE
//	              stream (RFC 1951: no zlib or gzip framing, nothing after the
//	              final block)
//
// A negative entry ([FlagNegative]) has an empty payload. A reader checks
// the version byte before anything else, so a later version may change
// everything after it, the header size included.
//
// # Writing and reading
//
// [EncodeValue] and [DecodeValue] do the whole job for one value. The
// lower-level steps are [AppendHeader], then the codec's Append, then [Seal]
// (which compresses large payloads) to write, and [Open] then the codec's
// Decode to read. All of them append to or read from caller-owned slices, so
// a caller that reuses its buffers encodes without allocating.
//
// Everything in this package is safe for concurrent use.
package codec
