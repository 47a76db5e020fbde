package codec_test

import (
	"strings"
	"testing"

	"github.com/tiercache/tiercache/codec"
)

// benchRecord is a typical small cached object.
var benchRecord = record{
	ID:    12345,
	Name:  "Ada Lovelace",
	Tags:  []string{"math", "engines", "poetry"},
	Attrs: map[string]string{"born": "1815", "city": "London"},
	Score: 99.5,
}

var benchHeader = codec.Header{SoftExpiry: 1_700_000_000_000, HardExpiry: 1_700_000_060_000}

// setup returns the envelope of v and reports throughput in bytes of the
// uncompressed envelope, so compressed and plain runs compare directly.
func setup[V any](b *testing.B, c codec.Codec[V], v V, compressAbove int) []byte {
	plain, err := codec.EncodeValue(nil, benchHeader, c, v, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	buf, err := codec.EncodeValue(nil, benchHeader, c, v, compressAbove)
	if err != nil {
		b.Fatal(err)
	}
	return buf
}

// benchEncode measures EncodeValue into a reused buffer, the way a cache
// writes: the allocations reported are the codec's own.
func benchEncode[V any](b *testing.B, c codec.Codec[V], v V, compressAbove int) {
	buf := setup(b, c, v, compressAbove)
	var err error
	for b.Loop() {
		if buf, err = codec.EncodeValue(buf[:0], benchHeader, c, v, compressAbove); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDecode[V any](b *testing.B, c codec.Codec[V], v V, compressAbove int) {
	buf := setup(b, c, v, compressAbove)
	for b.Loop() {
		if _, _, err := codec.DecodeValue(buf, c, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeValueJSON(b *testing.B) { benchEncode(b, codec.JSON[record](), benchRecord, 0) }
func BenchmarkDecodeValueJSON(b *testing.B) { benchDecode(b, codec.JSON[record](), benchRecord, 0) }

func BenchmarkEncodeValueMsgpack(b *testing.B) {
	benchEncode(b, codec.Msgpack[record](), benchRecord, 0)
}

func BenchmarkDecodeValueMsgpack(b *testing.B) {
	benchDecode(b, codec.Msgpack[record](), benchRecord, 0)
}

func BenchmarkEncodeValueString(b *testing.B) {
	benchEncode(b, codec.String(), "a cached string value", 0)
}

func BenchmarkDecodeValueString(b *testing.B) {
	benchDecode(b, codec.String(), "a cached string value", 0)
}

// largeText is a 64 KiB compressible value, to measure Seal and Open's
// compression path.
var largeText = strings.Repeat("tiercache keeps a local tier coherent with Redis. ", 64<<10/50)

func BenchmarkEncodeValueStringCompressed(b *testing.B) {
	benchEncode(b, codec.String(), largeText, 1024)
}

func BenchmarkDecodeValueStringCompressed(b *testing.B) {
	benchDecode(b, codec.String(), largeText, 1024)
}

// BenchmarkSealIncompressible measures the cost of trying to compress a
// payload that does not shrink: one pass of the compressor, no allocation.
func BenchmarkSealIncompressible(b *testing.B) {
	payload := randomBytes(64 << 10)
	buf := append(codec.AppendHeader(nil, codec.Header{}), payload...)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if out := codec.Seal(buf, 0, 1024); len(out) != len(buf) {
			b.Fatal("incompressible payload was compressed")
		}
	}
}
