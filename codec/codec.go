package codec

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// ErrEncode is returned when a codec cannot encode a value, for example a
// channel or a NaN given to the JSON codec. The error from the underlying
// encoder is part of the message.
var ErrEncode = errors.New("tiercache/codec: cannot encode value")

// ErrDecode is returned when a codec cannot decode a payload into a value:
// malformed input, a type mismatch or trailing bytes. A cache treats it as a
// miss rather than serving a half-decoded value.
var ErrDecode = errors.New("tiercache/codec: cannot decode value")

// Codec encodes and decodes values of type V. Implementations are safe for
// concurrent use.
//
// The interface is two methods so that any serializer fits in a few lines;
// errors should wrap [ErrEncode] and [ErrDecode] ([EncodeValue] and
// [DecodeValue] add the wrapping when a codec does not).
type Codec[V any] interface {
	// Append appends the encoding of v to dst and returns the extended
	// slice. On error it returns dst unchanged (its spare capacity may have
	// been written to).
	Append(dst []byte, v V) ([]byte, error)
	// Decode decodes data. It never retains data (copies what it keeps), so
	// the caller may reuse data's memory as soon as Decode returns.
	Decode(data []byte) (V, error)
}

// Compile-time checks that the built-in codecs implement Codec.
var (
	_ Codec[struct{}] = jsonCodec[struct{}]{}
	_ Codec[string]   = stringCodec{}
	_ Codec[[]byte]   = bytesCodec{}
	_ Codec[struct{}] = msgpackCodec[struct{}]{}
)

// JSON returns the codec that encodes V with encoding/json. It is the default
// codec everywhere in tiercache because any other process, in any language,
// can read what it writes.
//
// encoding/json's rules apply: only exported fields are encoded, a nil slice
// or map becomes null (and decodes back to nil), and a V of interface type
// decodes to map[string]any, []any, float64, string, bool or nil.
func JSON[V any]() Codec[V] { return jsonCodec[V]{} }

type jsonCodec[V any] struct{}

// jsonEncoder is a json.Encoder that writes into the slice held by w, so the
// encoding lands straight in the caller's buffer instead of going through the
// copy json.Marshal makes. Pooled so Append does not allocate an Encoder.
type jsonEncoder struct {
	w   appendWriter
	enc *json.Encoder
}

var jsonEncoders = sync.Pool{New: func() any {
	e := &jsonEncoder{}
	e.enc = json.NewEncoder(&e.w)
	return e
}}

func (jsonCodec[V]) Append(dst []byte, v V) ([]byte, error) {
	e := jsonEncoders.Get().(*jsonEncoder)
	e.w.b = dst
	err := e.enc.Encode(v) // only a failing writer makes an Encoder's error sticky; ours never fails
	out := e.w.b
	e.w.b = nil
	jsonEncoders.Put(e)
	if err != nil {
		return dst, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	// Encoder.Encode terminates every value with a newline; json.Marshal
	// does not, and neither do we.
	return out[:len(out)-1], nil
}

func (jsonCodec[V]) Decode(data []byte) (V, error) {
	var v V
	if err := json.Unmarshal(data, &v); err != nil {
		var zero V
		return zero, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return v, nil
}

// String returns the codec that stores a string as its raw bytes, with no
// quoting or framing: the Redis value is readable as-is by redis-cli and by
// any client. It never fails.
func String() Codec[string] { return stringCodec{} }

type stringCodec struct{}

func (stringCodec) Append(dst []byte, v string) ([]byte, error) { return append(dst, v...), nil }

func (stringCodec) Decode(data []byte) (string, error) { return string(data), nil }

// DecodeString returns s itself: see [StringDecoder].
func (stringCodec) DecodeString(s string) (string, error) { return s, nil }

// Bytes returns the codec that stores a []byte as is. Decode returns a copy,
// never a slice of its input. An empty payload decodes to an empty, non-nil
// slice, so a nil value comes back as []byte{}: the two cannot be told apart
// in raw bytes, and a non-nil result keeps "found but empty" distinct from
// "nothing". It never fails.
func Bytes() Codec[[]byte] { return bytesCodec{} }

type bytesCodec struct{}

func (bytesCodec) Append(dst []byte, v []byte) ([]byte, error) { return append(dst, v...), nil }

func (bytesCodec) Decode(data []byte) ([]byte, error) {
	// make with length 0 returns a non-nil slice without allocating.
	return append(make([]byte, 0, len(data)), data...), nil
}

// appendWriter is an io.Writer and io.ByteWriter that appends to b. It never
// fails.
type appendWriter struct {
	b []byte
}

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *appendWriter) WriteByte(c byte) error {
	w.b = append(w.b, c)
	return nil
}
