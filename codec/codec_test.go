package codec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
)

// record is a value with the shapes that trip codecs up: nested pointers,
// nil and empty slices and maps, bytes, unicode, floats.
type record struct {
	ID    int               `json:"id" msgpack:"id"`
	Name  string            `json:"name" msgpack:"name"`
	Tags  []string          `json:"tags" msgpack:"tags"`
	Attrs map[string]string `json:"attrs" msgpack:"attrs"`
	Blob  []byte            `json:"blob" msgpack:"blob"`
	Score float64           `json:"score" msgpack:"score"`
	Raw   json.RawMessage   `json:"raw,omitempty" msgpack:"-"`
	Next  *record           `json:"next" msgpack:"next"`
}

const unicodeText = "héllo, wörld: 世界 🌍 \u2028 <tag> & \"quotes\" \\ \x00"

// sampleRecords returns the records every structured codec must round-trip.
func sampleRecords() []struct {
	name string
	in   record
} {
	many := make([]string, 5000)
	for i := range many {
		many[i] = "the same tag again"
	}
	return []struct {
		name string
		in   record
	}{
		{"zero value", record{}},
		{"empty slices and map", record{Tags: []string{}, Attrs: map[string]string{}, Blob: []byte{}}},
		{"full", record{
			ID: -42, Name: "full", Tags: []string{"a", "b"}, Attrs: map[string]string{"k": "v"},
			Blob: []byte{0, 1, 2, 255}, Score: math.MaxFloat64, Next: &record{ID: 7, Name: "child"},
		}},
		{"unicode", record{Name: unicodeText, Tags: []string{unicodeText}, Attrs: map[string]string{unicodeText: unicodeText}}},
		{"large compressible", record{Name: strings.Repeat("abc", 20000), Tags: many}},
		{"large incompressible", record{Blob: randomBytes(64 << 10)}},
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// checkRoundTrip encodes in after a prefix, checks the prefix survives,
// decodes, checks the result equals want, then overwrites the encoded bytes
// and checks the decoded value did not change (Decode must not retain data).
func checkRoundTrip[V any](t *testing.T, c codec.Codec[V], in, want V) {
	t.Helper()
	prefix := []byte("prefix")
	dst := append(make([]byte, 0, 8), prefix...)
	out, err := c.Append(dst, in)
	require.NoError(t, err)
	require.Equal(t, prefix, out[:len(prefix)], "Append must keep what dst held")

	got, err := c.Decode(out[len(prefix):])
	require.NoError(t, err)
	require.Equal(t, want, got)

	for i := range out {
		out[i] = 0xA5
	}
	require.Equal(t, want, got, "decoded value changed when its input was overwritten")
}

func TestStructuredCodecsRoundTrip(t *testing.T) {
	codecs := []struct {
		name string
		c    codec.Codec[record]
	}{
		{"json", codec.JSON[record]()},
		{"msgpack", codec.Msgpack[record]()},
	}
	for _, cc := range codecs {
		for _, tt := range sampleRecords() {
			t.Run(cc.name+"/"+tt.name, func(t *testing.T) {
				checkRoundTrip(t, cc.c, tt.in, tt.in)
			})
		}
	}
}

func TestJSONRawMessageIsCopied(t *testing.T) {
	checkRoundTrip(t, codec.JSON[record](), record{Raw: json.RawMessage(`{"x":[1,2,3]}`)}, record{Raw: json.RawMessage(`{"x":[1,2,3]}`)})
}

// TestCodecsOtherTypes covers values that are not structs, where nil and
// zero values are easiest to get wrong.
func TestCodecsOtherTypes(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"json nil slice", func(t *testing.T) { checkRoundTrip(t, codec.JSON[[]int](), nil, nil) }},
		{"json empty slice", func(t *testing.T) { checkRoundTrip(t, codec.JSON[[]int](), []int{}, []int{}) }},
		{"json nil pointer", func(t *testing.T) { checkRoundTrip[*record](t, codec.JSON[*record](), nil, nil) }},
		{"json pointer", func(t *testing.T) { checkRoundTrip(t, codec.JSON[*record](), &record{ID: 1}, &record{ID: 1}) }},
		{"json zero int", func(t *testing.T) { checkRoundTrip(t, codec.JSON[int](), 0, 0) }},
		{"json unicode string", func(t *testing.T) { checkRoundTrip(t, codec.JSON[string](), unicodeText, unicodeText) }},
		{"json any", func(t *testing.T) {
			checkRoundTrip[any](t, codec.JSON[any](), map[string]any{"n": 1, "s": []any{"x"}}, map[string]any{"n": 1.0, "s": []any{"x"}})
		}},
		{"json nil any", func(t *testing.T) { checkRoundTrip[any](t, codec.JSON[any](), nil, nil) }},
		{"msgpack nil slice", func(t *testing.T) { checkRoundTrip(t, codec.Msgpack[[]int](), nil, nil) }},
		{"msgpack nil pointer", func(t *testing.T) { checkRoundTrip[*record](t, codec.Msgpack[*record](), nil, nil) }},
		{"msgpack zero int", func(t *testing.T) { checkRoundTrip(t, codec.Msgpack[int](), 0, 0) }},
		{"msgpack unicode string", func(t *testing.T) { checkRoundTrip(t, codec.Msgpack[string](), unicodeText, unicodeText) }},
		{"msgpack bytes", func(t *testing.T) { checkRoundTrip(t, codec.Msgpack[[]byte](), []byte{0, 1}, []byte{0, 1}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestStringRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"ascii", "hello"},
		{"unicode", unicodeText},
		{"invalid utf-8", "\xff\xfe\x00"},
		{"large", strings.Repeat("0123456789", 100000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRoundTrip(t, codec.String(), tt.in, tt.in)
			out, err := codec.String().Append(nil, tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.in, string(out), "String must store the raw bytes")
		})
	}
}

func TestBytesRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		in, want []byte
	}{
		{"nil decodes as empty non-nil", nil, []byte{}},
		{"empty", []byte{}, []byte{}},
		{"binary", []byte{0, 0xff, 'a', 0}, []byte{0, 0xff, 'a', 0}},
		{"large", randomBytes(1 << 20), randomBytes(1 << 20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkRoundTrip(t, codec.Bytes(), tt.in, tt.want)
			got, err := codec.Bytes().Decode(tt.in)
			require.NoError(t, err)
			assert.NotNil(t, got)
		})
	}
}

type unsupported struct {
	C chan int
}

func TestCodecErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"json encode channel", func() error { _, err := codec.JSON[chan int]().Append(nil, make(chan int)); return err }, codec.ErrEncode},
		{"json encode NaN", func() error { _, err := codec.JSON[float64]().Append(nil, math.NaN()); return err }, codec.ErrEncode},
		{"json encode func in any", func() error { _, err := codec.JSON[any]().Append(nil, func() {}); return err }, codec.ErrEncode},
		{"json decode empty", func() error { _, err := codec.JSON[record]().Decode(nil); return err }, codec.ErrDecode},
		{"json decode garbage", func() error { _, err := codec.JSON[record]().Decode([]byte("{nope")); return err }, codec.ErrDecode},
		{"json decode wrong type", func() error { _, err := codec.JSON[record]().Decode([]byte(`{"id":"x"}`)); return err }, codec.ErrDecode},
		{"json decode trailing bytes", func() error { _, err := codec.JSON[int]().Decode([]byte(`1 2`)); return err }, codec.ErrDecode},
		{"msgpack encode channel", func() error {
			_, err := codec.Msgpack[unsupported]().Append(nil, unsupported{C: make(chan int)})
			return err
		}, codec.ErrEncode},
		{"msgpack decode empty", func() error { _, err := codec.Msgpack[record]().Decode(nil); return err }, codec.ErrDecode},
		{"msgpack decode wrong type", func() error { _, err := codec.Msgpack[int]().Decode([]byte{0xa1, 'x'}); return err }, codec.ErrDecode},
		{"msgpack decode truncated", func() error { _, err := codec.Msgpack[string]().Decode([]byte{0xa5, 'x'}); return err }, codec.ErrDecode},
		{"msgpack decode trailing bytes", func() error { _, err := codec.Msgpack[int]().Decode([]byte{0x01, 0x02}); return err }, codec.ErrDecode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.run()
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "tiercache/codec: "), "got %q", err)
		})
	}
}

func TestAppendErrorKeepsDst(t *testing.T) {
	dst := []byte("kept")
	out, err := codec.JSON[float64]().Append(dst, math.Inf(1))
	require.ErrorIs(t, err, codec.ErrEncode)
	assert.Equal(t, []byte("kept"), out)

	out, err = codec.Msgpack[unsupported]().Append(dst, unsupported{C: make(chan int)})
	require.ErrorIs(t, err, codec.ErrEncode)
	assert.Equal(t, []byte("kept"), out)
}

// TestJSONMatchesMarshal checks that Append writes what json.Marshal does,
// so other readers of the stored JSON see ordinary JSON (no trailing newline,
// HTML escaped as usual).
func TestJSONMatchesMarshal(t *testing.T) {
	for _, tt := range sampleRecords() {
		want, err := json.Marshal(tt.in)
		require.NoError(t, err)
		got, err := codec.JSON[record]().Append(nil, tt.in)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "%s: Append differs from json.Marshal", tt.name)
	}
}

// TestCodecsConcurrent exercises the pooled encoders and decoders from many
// goroutines; run under -race it checks they share no state.
func TestCodecsConcurrent(t *testing.T) {
	records := sampleRecords()
	errs := make(chan error, 8)
	for g := range cap(errs) {
		go func() {
			errs <- func() error {
				var buf []byte
				for i := range 2 * len(records) {
					in := records[(g+i)%len(records)].in
					var err error
					for _, c := range []codec.Codec[record]{codec.JSON[record](), codec.Msgpack[record]()} {
						if buf, err = codec.EncodeValue(buf[:0], codec.Header{SoftExpiry: int64(i)}, c, in, 256); err != nil {
							return err
						}
						h, got, err := codec.DecodeValue(buf, c, 0)
						if err != nil {
							return err
						}
						if h.SoftExpiry != int64(i) || got.Name != in.Name || len(got.Tags) != len(in.Tags) || !bytes.Equal(got.Blob, in.Blob) {
							return errors.New("round trip mismatch")
						}
					}
				}
				return nil
			}()
		}()
	}
	for range cap(errs) {
		require.NoError(t, <-errs)
	}
}
