package collections_test

import (
	"context"
	"testing"

	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/internal/redistest"
)

// BenchmarkDictGet reads one field of a 1000-field hash: Dict.Get (String
// codecs, so both rows move the same bytes) against the limit, a raw
// go-redis HGET of the same field.
func BenchmarkDictGet(b *testing.B) {
	ctx := context.Background()
	rdb := redistest.Start(b).Client(b)
	d, err := collections.NewDict(rdb, "bench", collections.DictOptions[string, string]{
		KeyCodec: codec.String(), Codec: codec.String(),
	})
	if err != nil {
		b.Fatal(err)
	}
	items := make(map[string]string, 1000)
	for i := range 1000 {
		items[benchKey(i)] = "value of " + benchKey(i) + ", about fifty bytes long......"
	}
	if err := d.SetMany(ctx, items); err != nil {
		b.Fatal(err)
	}
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := d.Get(ctx, benchKey(i%1000)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := rdb.HGet(ctx, d.Key(), benchKey(i%1000)).Bytes(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchKey returns the i-th key of a benchmark.
func benchKey(i int) string {
	const digits = "0123456789"
	return "k" + string([]byte{digits[i/100%10], digits[i/10%10], digits[i%10]})
}
