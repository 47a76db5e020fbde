package codec_test

import (
	"bytes"
	"compress/flate"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
)

func TestAppendHeaderLayout(t *testing.T) {
	h := codec.Header{Flags: codec.FlagNegative, SoftExpiry: 0x0102030405060708, HardExpiry: -2}
	got := codec.AppendHeader([]byte("x"), h)
	want := []byte{
		'x',
		1,                                              // version
		0x01,                                           // flags
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, // soft expiry
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, // hard expiry
	}
	assert.Equal(t, want, got)
	assert.Len(t, got, 1+codec.HeaderSize)
}

func TestAppendHeaderKeepsOnlyNegativeFlag(t *testing.T) {
	got := codec.AppendHeader(nil, codec.Header{Flags: 0xff})
	assert.Equal(t, byte(codec.FlagNegative), got[1], "FlagCompressed and reserved bits must not be written")

	got = codec.AppendHeader(nil, codec.Header{Flags: codec.FlagCompressed})
	h, payload, err := codec.Open(got, 0)
	require.NoError(t, err)
	assert.Equal(t, codec.Header{}, h)
	assert.Empty(t, payload)
}

func TestOpenRoundTrip(t *testing.T) {
	compressible := []byte(strings.Repeat("tiercache ", 10000))
	incompressible := randomBytes(32 << 10)
	tests := []struct {
		name           string
		h              codec.Header
		payload        []byte
		compressAbove  int
		wantCompressed bool
	}{
		{"zero header, empty payload", codec.Header{}, nil, 0, false},
		{"expiries", codec.Header{SoftExpiry: 1700000000000, HardExpiry: 1700000060000}, []byte("v"), 0, false},
		{"extreme expiries", codec.Header{SoftExpiry: math.MinInt64, HardExpiry: math.MaxInt64}, []byte("v"), 0, false},
		{"negative", codec.Header{Flags: codec.FlagNegative, SoftExpiry: 5}, nil, 1, false},
		{"compression off", codec.Header{}, compressible, 0, false},
		{"below threshold", codec.Header{}, compressible, len(compressible) + 1, false},
		{"at threshold", codec.Header{}, compressible, len(compressible), true},
		{"compressible", codec.Header{HardExpiry: 9}, compressible, 64, true},
		{"incompressible", codec.Header{}, incompressible, 64, false},
		{"tiny payload does not shrink", codec.Header{}, []byte("ab"), 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("earlier envelope")
			buf := codec.AppendHeader(append([]byte(nil), prefix...), tt.h)
			buf = append(buf, tt.payload...)
			plainLen := len(buf)
			buf = codec.Seal(buf, len(prefix), tt.compressAbove)

			require.Equal(t, prefix, buf[:len(prefix)], "Seal must not touch bytes before start")
			env := buf[len(prefix):]
			assert.Equal(t, tt.wantCompressed, codec.Flags(env[1])&codec.FlagCompressed != 0, "compressed flag")
			if tt.wantCompressed {
				assert.Less(t, len(buf), plainLen, "a compressed envelope must be smaller")
			} else {
				assert.Equal(t, plainLen, len(buf))
			}

			h, payload, err := codec.Open(env, len(tt.payload))
			require.NoError(t, err)
			assert.Equal(t, tt.h, h)
			assert.True(t, bytes.Equal(tt.payload, payload), "payload differs")
		})
	}
}

func TestSealTwiceIsANoOp(t *testing.T) {
	buf := append(codec.AppendHeader(nil, codec.Header{}), strings.Repeat("a", 1000)...)
	once := codec.Seal(buf, 0, 1)
	require.Equal(t, codec.FlagCompressed, codec.Flags(once[1]))
	snapshot := bytes.Clone(once)
	assert.Equal(t, snapshot, codec.Seal(once, 0, 1))
}

func TestSealPanicsWithoutHeader(t *testing.T) {
	assert.Panics(t, func() { codec.Seal([]byte{codec.Version, 0}, 0, 1) })
	assert.Panics(t, func() { codec.Seal(codec.AppendHeader(nil, codec.Header{}), 1, 1) })
}

// envelope builds an envelope by hand, for inputs Seal never produces.
func envelope(version byte, flags codec.Flags, payload []byte) []byte {
	b := codec.AppendHeader(nil, codec.Header{SoftExpiry: 1, HardExpiry: 2})
	b[0], b[1] = version, byte(flags)
	return append(b, payload...)
}

func deflate(t testing.TB, p []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w, err := flate.NewWriter(&out, flate.BestSpeed)
	require.NoError(t, err)
	_, err = w.Write(p)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return out.Bytes()
}

func TestOpenErrors(t *testing.T) {
	valid := deflate(t, []byte("hello, hello, hello"))
	tests := []struct {
		name    string
		b       []byte
		maxSize int
		want    error
	}{
		{"nil", nil, 0, codec.ErrCorrupt},
		{"version 0", envelope(0, 0, nil), 0, codec.ErrVersion},
		{"version 2", envelope(2, 0, []byte("v")), 0, codec.ErrVersion},
		{"version 255, short", []byte{255}, 0, codec.ErrVersion},
		{"only the version byte", []byte{codec.Version}, 0, codec.ErrCorrupt},
		{"header one byte short", envelope(codec.Version, 0, nil)[:codec.HeaderSize-1], 0, codec.ErrCorrupt},
		{"reserved flag bit 2", envelope(codec.Version, 1<<2, nil), 0, codec.ErrCorrupt},
		{"reserved flag bit 7", envelope(codec.Version, 1<<7, nil), 0, codec.ErrCorrupt},
		{"negative with payload", envelope(codec.Version, codec.FlagNegative, []byte("x")), 0, codec.ErrCorrupt},
		{"negative with compressed payload", envelope(codec.Version, codec.FlagNegative|codec.FlagCompressed, valid), 0, codec.ErrCorrupt},
		{"compressed garbage", envelope(codec.Version, codec.FlagCompressed, []byte("not deflate at all")), 0, codec.ErrCorrupt},
		{"compressed empty", envelope(codec.Version, codec.FlagCompressed, nil), 0, codec.ErrCorrupt},
		{"compressed truncated", envelope(codec.Version, codec.FlagCompressed, valid[:len(valid)-2]), 0, codec.ErrCorrupt},
		{"compressed with trailing bytes", envelope(codec.Version, codec.FlagCompressed, append(bytes.Clone(valid), 0)), 0, codec.ErrCorrupt},
		{"compressed above maxSize", envelope(codec.Version, codec.FlagCompressed, valid), 18, codec.ErrTooLarge},
		{"plain above maxSize", envelope(codec.Version, 0, []byte("12345")), 4, codec.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, payload, err := codec.Open(tt.b, tt.maxSize)
			require.ErrorIs(t, err, tt.want)
			for _, other := range []error{codec.ErrVersion, codec.ErrCorrupt, codec.ErrTooLarge} {
				if other != tt.want {
					assert.NotErrorIs(t, err, other)
				}
			}
			assert.True(t, strings.HasPrefix(err.Error(), "tiercache/codec: "), "got %q", err)
			assert.Equal(t, codec.Header{}, h)
			assert.Nil(t, payload)

			_, _, err = codec.DecodeValue(tt.b, codec.JSON[string](), tt.maxSize)
			assert.ErrorIs(t, err, tt.want, "DecodeValue must return Open's error")
		})
	}
}

func TestOpenMaxSizeBoundary(t *testing.T) {
	payload := []byte(strings.Repeat("z", 1000))
	for _, compressAbove := range []int{0, 1} {
		b := codec.Seal(append(codec.AppendHeader(nil, codec.Header{}), payload...), 0, compressAbove)
		_, got, err := codec.Open(b, len(payload))
		require.NoError(t, err, "compressAbove %d: a payload of exactly maxSize is allowed", compressAbove)
		assert.Equal(t, payload, got)
		_, _, err = codec.Open(b, len(payload)-1)
		assert.ErrorIs(t, err, codec.ErrTooLarge, "compressAbove %d", compressAbove)
	}
}

// TestOpenDecompressionBomb checks that a small entry that inflates to
// 16 MiB is refused without allocating anything near that.
func TestOpenDecompressionBomb(t *testing.T) {
	bomb := envelope(codec.Version, codec.FlagCompressed, deflate(t, make([]byte, 16<<20)))
	require.Less(t, len(bomb), 64<<10)

	const maxSize = 256 << 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := codec.Open(bomb, maxSize)
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, codec.ErrTooLarge)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8*maxSize), "bytes allocated while refusing the bomb")
}

func TestOpenAliasesPlainPayload(t *testing.T) {
	b := append(codec.AppendHeader(nil, codec.Header{}), "value"...)
	_, payload, err := codec.Open(b, 0)
	require.NoError(t, err)
	assert.Same(t, &b[codec.HeaderSize], &payload[0])
}

// failing is a codec from outside the package whose errors do not wrap
// ErrEncode or ErrDecode; it also records whether Decode was called.
type failing struct {
	err     error
	decoded *bool
}

func (f failing) Append(dst []byte, _ int) ([]byte, error) {
	return append(dst, "partial"...), f.err
}

func (f failing) Decode([]byte) (int, error) {
	*f.decoded = true
	return 0, f.err
}

func TestEncodeDecodeValueWrapsCodecErrors(t *testing.T) {
	errCustom := errors.New("custom failure")
	decoded := false
	c := failing{err: errCustom, decoded: &decoded}

	dst := append(make([]byte, 0, 64), "kept"...)
	out, err := codec.EncodeValue(dst, codec.Header{}, c, 1, 0)
	require.ErrorIs(t, err, codec.ErrEncode)
	assert.ErrorIs(t, err, errCustom)
	assert.Equal(t, []byte("kept"), out, "EncodeValue must return dst unchanged on error")

	env := append(codec.AppendHeader(nil, codec.Header{}), "1"...)
	_, _, err = codec.DecodeValue(env, c, 0)
	require.ErrorIs(t, err, codec.ErrDecode)
	assert.ErrorIs(t, err, errCustom)
	assert.True(t, decoded)

	// An error that already wraps the sentinel is passed through as is.
	_, err = codec.EncodeValue(nil, codec.Header{}, codec.JSON[float64](), math.NaN(), 0)
	require.ErrorIs(t, err, codec.ErrEncode)
	assert.Equal(t, 1, strings.Count(err.Error(), codec.ErrEncode.Error()), "got %q", err)
}

func TestNegativeEntries(t *testing.T) {
	decoded := false
	c := failing{err: errors.New("must not be called"), decoded: &decoded}
	h := codec.Header{Flags: codec.FlagNegative, SoftExpiry: 10, HardExpiry: 20}

	b, err := codec.EncodeValue(nil, h, c, 123, 1)
	require.NoError(t, err, "EncodeValue must not call the codec for a negative entry")
	assert.Len(t, b, codec.HeaderSize, "a negative entry has no payload")

	gotH, v, err := codec.DecodeValue(b, c, 0)
	require.NoError(t, err)
	assert.False(t, decoded, "DecodeValue must not call the codec for a negative entry")
	assert.Equal(t, h, gotH)
	assert.Zero(t, v)

	gotH, rec, err := codec.DecodeValue(b, codec.JSON[*record](), 0)
	require.NoError(t, err)
	assert.Equal(t, h, gotH)
	assert.Nil(t, rec)
}

func TestEncodeValueRoundTrip(t *testing.T) {
	for _, tt := range sampleRecords() {
		for _, compressAbove := range []int{0, 1, 1 << 10} {
			h := codec.Header{SoftExpiry: 100, HardExpiry: 200}
			b, err := codec.EncodeValue([]byte("p"), h, codec.JSON[record](), tt.in, compressAbove)
			require.NoError(t, err)
			require.Equal(t, byte('p'), b[0])

			gotH, got, err := codec.DecodeValue(b[1:], codec.JSON[record](), 1<<30)
			require.NoError(t, err)
			assert.Equal(t, h, gotH, "%s, compressAbove %d", tt.name, compressAbove)
			assert.Equal(t, tt.in, got, "%s, compressAbove %d", tt.name, compressAbove)

			for i := range b {
				b[i] = 0
			}
			assert.Equal(t, tt.in, got, "%s: value must not alias the envelope", tt.name)
		}
	}
}

// TestDecodeValueString: decoding from a string gives what DecodeValue gives
// from the same bytes, with and without compression, for negative entries,
// over the size limit and for garbage, with a codec that decodes strings in
// place and one that does not.
func TestDecodeValueString(t *testing.T) {
	h := codec.Header{SoftExpiry: 1, HardExpiry: 2}
	long := strings.Repeat("tiercache ", 100)
	envelopes := map[string]string{"empty": "", "short": "\x01\x00", "wrong version": "\x7fxxxxxxxxxxxxxxxxxxx"}
	for name, compressAbove := range map[string]int{"plain": 0, "compressed": 64} {
		b, err := codec.EncodeValue(nil, h, codec.String(), long, compressAbove)
		require.NoError(t, err)
		envelopes[name] = string(b)
	}
	neg, err := codec.EncodeValue(nil, codec.Header{Flags: codec.FlagNegative}, codec.String(), "", 0)
	require.NoError(t, err)
	envelopes["negative"] = string(neg)
	for name, env := range envelopes {
		for _, maxSize := range []int{0, 10} {
			wantH, want, wantErr := codec.DecodeValue([]byte(env), codec.String(), maxSize)
			gotH, got, gotErr := codec.DecodeValueString(env, codec.String(), maxSize)
			assert.Equal(t, wantH, gotH, "%s, max %d", name, maxSize)
			assert.Equal(t, want, got, "%s, max %d", name, maxSize)
			assert.Equal(t, wantErr, gotErr, "%s, max %d", name, maxSize)
			_, _, jsonErr := codec.DecodeValueString(env, codec.JSON[string](), maxSize)
			_, _, wantJSONErr := codec.DecodeValue([]byte(env), codec.JSON[string](), maxSize)
			assert.Equal(t, wantJSONErr, jsonErr, "JSON: %s, max %d", name, maxSize)
		}
	}
	_, v, err := codec.DecodeValueString(envelopes["plain"], codec.String(), 0)
	require.NoError(t, err)
	require.Equal(t, long, v)
	require.Zero(t, testing.AllocsPerRun(100, func() {
		_, _, _ = codec.DecodeValueString(envelopes["plain"], codec.String(), 0)
	}), "the String codec decodes in place")
}
