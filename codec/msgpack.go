package codec

import (
	"bytes"
	"fmt"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// Msgpack returns the codec that encodes V with github.com/vmihailenco/msgpack/v5
// using that package's default settings (the same bytes msgpack.Marshal
// produces). MessagePack is smaller and faster to decode than JSON and is
// still readable from other languages.
//
// Decode rejects a payload with bytes after the first value, so a corrupt
// entry is an error rather than a silently truncated read.
func Msgpack[V any]() Codec[V] { return msgpackCodec[V]{} }

type msgpackCodec[V any] struct{}

// msgpackEncoder writes into the slice held by w, so the encoding lands in
// the caller's buffer. Pooled with its Encoder: Append then allocates nothing
// of its own.
type msgpackEncoder struct {
	w   appendWriter
	enc *msgpack.Encoder
}

var msgpackEncoders = sync.Pool{New: func() any {
	e := &msgpackEncoder{}
	e.enc = msgpack.NewEncoder(&e.w)
	return e
}}

// msgpackDecoder reads from r, a bytes.Reader the Decoder uses directly (it
// is an io.ByteScanner), so r.Len() tells how much input the value left.
type msgpackDecoder struct {
	r   bytes.Reader
	dec *msgpack.Decoder
}

var msgpackDecoders = sync.Pool{New: func() any {
	d := &msgpackDecoder{}
	d.dec = msgpack.NewDecoder(&d.r)
	return d
}}

func (msgpackCodec[V]) Append(dst []byte, v V) ([]byte, error) {
	e := msgpackEncoders.Get().(*msgpackEncoder)
	e.w.b = dst
	err := e.enc.Encode(v)
	out := e.w.b
	e.w.b = nil
	msgpackEncoders.Put(e)
	if err != nil {
		return dst, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	return out, nil
}

func (msgpackCodec[V]) Decode(data []byte) (V, error) {
	d := msgpackDecoders.Get().(*msgpackDecoder)
	d.r.Reset(data)
	var v V
	err := d.dec.Decode(&v)
	if err == nil && d.r.Len() != 0 {
		err = fmt.Errorf("%d bytes after the value", d.r.Len())
	}
	d.r.Reset(nil) // do not keep data reachable from the pool
	msgpackDecoders.Put(d)
	if err != nil {
		var zero V
		return zero, fmt.Errorf("%w: %v", ErrDecode, err)
	}
	return v, nil
}
