package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"
)

// Version is the envelope version this package writes and the only one it
// reads. It is the first byte of every envelope so that a reader can refuse
// a format it does not know before looking at anything else.
const Version = 1

// HeaderSize is the size in bytes of the fixed envelope header: version
// byte, flags byte, 8 bytes of soft expiry and 8 bytes of hard expiry. The
// payload starts at this offset.
const HeaderSize = 1 + 1 + 8 + 8

// ErrVersion is returned when an envelope starts with a version byte other
// than [Version], typically one written by a newer release during a rolling
// deploy. A cache treats the entry as a miss.
var ErrVersion = errors.New("tiercache/codec: unknown envelope version")

// ErrCorrupt is returned when an envelope is shorter than its header, has a
// reserved flag bit set, is a negative entry with a payload, or carries a
// compressed payload that is not a valid DEFLATE stream.
var ErrCorrupt = errors.New("tiercache/codec: corrupt envelope")

// ErrTooLarge is returned when the payload of an envelope, after
// decompression, is larger than the maxSize given to [Open] or
// [DecodeValue]. It stops a small compressed entry from expanding into
// gigabytes of memory (a decompression bomb).
var ErrTooLarge = errors.New("tiercache/codec: payload too large")

// Flags is the set of envelope flags, stored in the second byte of the
// header.
type Flags uint8

const (
	// FlagNegative marks an entry that records "not found", so that a miss
	// can be cached like a value. Its payload is empty.
	FlagNegative Flags = 1 << 0
	// FlagCompressed marks a payload stored as a raw DEFLATE stream. [Seal]
	// sets it and [Open] clears it (Open returns the decompressed payload),
	// so callers never see it set.
	FlagCompressed Flags = 1 << 1

	knownFlags = FlagNegative | FlagCompressed
)

// Header is the metadata of a cache entry, stored in front of its payload.
type Header struct {
	// Flags holds FlagNegative for a negative entry. FlagCompressed is
	// managed by Seal and Open.
	Flags Flags
	// SoftExpiry is the time in unix milliseconds after which the value is
	// stale: still served while it is refreshed (stale-while-revalidate).
	// 0 means never.
	SoftExpiry int64
	// HardExpiry is the time in unix milliseconds at which the Redis entry
	// expires (its TTL). 0 means never. It lets a reader bound the lifetime
	// of its local copy without a PTTL round trip.
	HardExpiry int64
}

// AppendHeader appends the envelope header for h (with [Version]) to dst and
// returns the extended slice. The caller appends the payload after it and
// then calls [Seal].
//
// Only FlagNegative is taken from h.Flags: FlagCompressed describes the
// payload, which is not written yet, so it is Seal's to set; the other bits
// are reserved and readers reject them.
func AppendHeader(dst []byte, h Header) []byte {
	dst = append(dst, Version, byte(h.Flags&FlagNegative))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.SoftExpiry))
	return binary.BigEndian.AppendUint64(dst, uint64(h.HardExpiry))
}

// Seal finishes an envelope built as [AppendHeader] then the payload in
// buf[start:]; the payload is everything from buf[start+HeaderSize:] to the
// end of buf. It returns the finished buffer and never fails.
//
// If compressAbove > 0, the payload is at least compressAbove bytes and it
// compresses to fewer bytes, Seal replaces the payload with its DEFLATE
// encoding (compress/flate at BestSpeed) and sets FlagCompressed; otherwise
// it returns buf unchanged. Compression stops as soon as its output reaches
// the size of the input, so an incompressible payload costs at most one
// pass of the compressor.
// Negative entries and already sealed compressed envelopes are left alone.
//
// Seal panics if buf[start:] is shorter than HeaderSize, which means it was
// not built with AppendHeader.
func Seal(buf []byte, start int, compressAbove int) []byte {
	if len(buf)-start < HeaderSize {
		panic(fmt.Sprintf("codec.Seal: envelope at %d in a %d-byte buffer is shorter than its header", start, len(buf)))
	}
	body := start + HeaderSize
	payload := buf[body:]
	if compressAbove <= 0 || len(payload) < compressAbove || Flags(buf[start+1])&(FlagNegative|FlagCompressed) != 0 {
		return buf
	}
	c := compressors.Get().(*compressor)
	defer c.release()
	packed, ok := c.compress(payload)
	if !ok {
		return buf
	}
	// packed is shorter than payload, so this copies in place.
	buf = append(buf[:body], packed...)
	buf[start+1] |= byte(FlagCompressed)
	return buf
}

// Open parses the envelope b and returns its header and its payload,
// decompressed if it was compressed (FlagCompressed is then cleared in the
// returned header). An uncompressed payload aliases b; a decompressed one is
// newly allocated.
//
// If maxSize > 0, a payload larger than maxSize bytes is [ErrTooLarge]; a
// compressed payload is never expanded beyond maxSize+1 bytes. maxSize <= 0
// means no limit, which is only safe for trusted input.
//
// Open returns [ErrVersion] when the first byte is not [Version], and
// [ErrCorrupt] when b is shorter than the header, a reserved flag is set, a
// negative entry has a payload, or the compressed stream is invalid.
func Open(b []byte, maxSize int) (Header, []byte, error) {
	if len(b) == 0 {
		return Header{}, nil, fmt.Errorf("%w: empty", ErrCorrupt)
	}
	if b[0] != Version {
		return Header{}, nil, fmt.Errorf("%w %d (this build reads %d)", ErrVersion, b[0], Version)
	}
	if len(b) < HeaderSize {
		return Header{}, nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrCorrupt, len(b), HeaderSize)
	}
	h := Header{
		Flags:      Flags(b[1]),
		SoftExpiry: int64(binary.BigEndian.Uint64(b[2:10])),
		HardExpiry: int64(binary.BigEndian.Uint64(b[10:18])),
	}
	if unknown := h.Flags &^ knownFlags; unknown != 0 {
		return Header{}, nil, fmt.Errorf("%w: reserved flag bits %#02x set", ErrCorrupt, uint8(unknown))
	}
	payload := b[HeaderSize:]
	if h.Flags&FlagCompressed != 0 {
		var err error
		if payload, err = inflate(payload, maxSize); err != nil {
			return Header{}, nil, err
		}
		h.Flags &^= FlagCompressed
	} else if maxSize > 0 && len(payload) > maxSize {
		return Header{}, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(payload), maxSize)
	}
	if h.Flags&FlagNegative != 0 && len(payload) != 0 {
		return Header{}, nil, fmt.Errorf("%w: negative entry with a %d-byte payload", ErrCorrupt, len(payload))
	}
	return h, payload, nil
}

// EncodeValue appends a complete envelope for v to dst: [AppendHeader], then
// c.Append (skipped for a negative entry, whose payload is empty), then
// [Seal] with compressAbove. On error it returns dst unchanged and an error
// wrapping [ErrEncode].
func EncodeValue[V any](dst []byte, h Header, c Codec[V], v V, compressAbove int) ([]byte, error) {
	start := len(dst)
	buf := AppendHeader(dst, h)
	if h.Flags&FlagNegative == 0 {
		var err error
		if buf, err = c.Append(buf, v); err != nil {
			return dst, wrapIfNot(ErrEncode, err)
		}
	}
	return Seal(buf, start, compressAbove), nil
}

// DecodeValue opens the envelope b with [Open] and decodes its payload with
// c. For a negative entry it returns the header and the zero V without
// calling c. It returns the errors of Open ([ErrVersion], [ErrCorrupt],
// [ErrTooLarge]) and, when c fails, an error wrapping [ErrDecode].
//
// The value never aliases b (codecs copy what they keep), so b may be reused
// once DecodeValue returns.
func DecodeValue[V any](b []byte, c Codec[V], maxSize int) (Header, V, error) {
	var zero V
	h, payload, err := Open(b, maxSize)
	if err != nil {
		return Header{}, zero, err
	}
	if h.Flags&FlagNegative != 0 {
		return h, zero, nil
	}
	v, err := c.Decode(payload)
	if err != nil {
		return Header{}, zero, wrapIfNot(ErrDecode, err)
	}
	return h, v, nil
}

// StringDecoder is implemented by a codec that can decode a payload held in
// a string without copying it: the value it returns may share the string's
// memory, which is safe because strings are immutable. [String]'s codec
// implements it.
type StringDecoder[V any] interface {
	DecodeString(s string) (V, error)
}

// DecodeValueString is [DecodeValue] for an envelope held in a string, such
// as a Redis client's reply. When c implements [StringDecoder] and the
// payload is not compressed, the value is decoded from s directly and may
// share its memory; otherwise it is decoded as DecodeValue does.
func DecodeValueString[V any](s string, c Codec[V], maxSize int) (Header, V, error) {
	h, v, _, err := DecodeValueStringSize(s, c, maxSize)
	return h, v, err
}

// DecodeValueStringSize is [DecodeValueString] that also returns the length
// of the payload it decoded, after decompression: a lower bound on the
// memory the decoded value takes, which the compressed length is not.
func DecodeValueStringSize[V any](s string, c Codec[V], maxSize int) (Header, V, int, error) {
	var zero V
	// Open and the codecs only read their input.
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	h, payload, err := Open(b, maxSize)
	if err != nil {
		return Header{}, zero, 0, err
	}
	if h.Flags&FlagNegative != 0 {
		return h, zero, 0, nil
	}
	var v V
	if sd, ok := c.(StringDecoder[V]); ok && Flags(s[1])&FlagCompressed == 0 {
		v, err = sd.DecodeString(s[HeaderSize:])
	} else {
		v, err = c.Decode(payload)
	}
	if err != nil {
		return Header{}, zero, 0, wrapIfNot(ErrDecode, err)
	}
	return h, v, len(payload), nil
}

// wrapIfNot makes err match sentinel with errors.Is, keeping err itself
// matchable too, for codecs written outside this package.
func wrapIfNot(sentinel, err error) error {
	if errors.Is(err, sentinel) {
		return err
	}
	return fmt.Errorf("%w: %w", sentinel, err)
}
