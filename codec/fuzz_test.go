package codec_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tiercache/tiercache/codec"
)

// FuzzOpen feeds arbitrary bytes to Open and DecodeValue. Neither may panic;
// a failure must be one of the package's errors; whatever they accept must
// survive being written again and read back.
func FuzzOpen(f *testing.F) {
	seed := func(h codec.Header, v any, compressAbove int) []byte {
		b, err := codec.EncodeValue(nil, h, codec.JSON[any](), v, compressAbove)
		require.NoError(f, err)
		return b
	}
	for _, b := range [][]byte{
		nil,
		{codec.Version},
		{2, 0, 0},
		seed(codec.Header{}, "plain", 0),
		seed(codec.Header{SoftExpiry: 1, HardExpiry: 2}, map[string]any{"a": []any{1.5, true, nil}}, 0),
		seed(codec.Header{}, bytes.Repeat([]byte("compressible "), 50), 1),
		seed(codec.Header{Flags: codec.FlagNegative}, nil, 0),
		append(codec.AppendHeader(nil, codec.Header{}), `{"unterminated`...),
	} {
		f.Add(b, uint16(0))
		f.Add(b, uint16(16))
	}

	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		maxSize := int(limit)
		if maxSize == 0 && len(data) > 4<<10 {
			maxSize = 1 << 20 // keep "no limit" runs from inflating a large input for seconds
		}

		h, payload, err := codec.Open(data, maxSize)
		if err != nil {
			requireOwnError(t, err, codec.ErrVersion, codec.ErrCorrupt, codec.ErrTooLarge)
		} else {
			require.Zero(t, h.Flags&codec.FlagCompressed, "Open must clear FlagCompressed")
			for _, compressAbove := range []int{0, 1} {
				again := codec.Seal(append(codec.AppendHeader(nil, h), payload...), 0, compressAbove)
				h2, payload2, err := codec.Open(again, maxSize)
				require.NoError(t, err)
				require.Equal(t, h, h2)
				require.True(t, bytes.Equal(payload, payload2), "payload changed on the way back")
			}
		}

		h, v, err := codec.DecodeValue(data, codec.JSON[any](), maxSize)
		if err != nil {
			requireOwnError(t, err, codec.ErrVersion, codec.ErrCorrupt, codec.ErrTooLarge, codec.ErrDecode)
			return
		}
		// Re-encoding a decoded value may reformat it (key order, numbers,
		// invalid UTF-8 replaced), so compare decoded values, not bytes.
		again, err := codec.EncodeValue(nil, h, codec.JSON[any](), v, 1)
		require.NoError(t, err)
		h2, v2, err := codec.DecodeValue(again, codec.JSON[any](), 0)
		require.NoError(t, err)
		require.Equal(t, h, h2)
		require.Equal(t, v, v2)
	})
}

func requireOwnError(t *testing.T, err error, allowed ...error) {
	t.Helper()
	for _, target := range allowed {
		if errors.Is(err, target) {
			return
		}
	}
	t.Fatalf("got error %v, want one wrapping %v", err, allowed)
}
