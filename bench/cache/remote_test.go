package cachebench

import (
	"context"
	"fmt"
	"testing"

	rediscache "github.com/go-redis/cache/v9"
	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tiercache/tiercache/cache"
	"github.com/tiercache/tiercache/codec"
)

// remoteFixture holds, for one value type, a tiercache namespace without a
// local tier and a go-redis/cache without a local cache, both filled with
// the values of every key, so that every read goes to Redis, and a rueidis
// client without client-side caching, which reads tiercache's keys as the
// limit does.
type remoteFixture[V any] struct {
	rdb   *redis.Client
	tc    *cache.Cache[V]
	peer  *rediscache.Cache
	rue   rueidis.Client
	rkeys []string // tiercache's Redis keys for keys
}

func newRemoteFixture[V any](b *testing.B, c codec.Codec[V], value func(i int) V) *remoteFixture[V] {
	ctx := context.Background()
	f := &remoteFixture[V]{rdb: newClient(b)}
	f.tc = newTiercache(b, f.rdb, cache.Options[V]{LocalTTL: -1, Codec: c})
	f.peer = newRedisCache(f.rdb, false)
	f.rue = newRueidis(b, false)
	f.rkeys = make([]string, numKeys)
	for i, k := range keys {
		v := value(i)
		if err := f.tc.Set(ctx, k, v); err != nil {
			b.Fatal(err)
		}
		if err := f.peer.Set(&rediscache.Item{Ctx: ctx, Key: peerKeys[i], Value: v}); err != nil {
			b.Fatal(err)
		}
		f.rkeys[i] = f.tc.RedisKey(k)
	}
	b.Cleanup(func() {
		if st := f.tc.Stats(); st.LocalHits != 0 || st.Misses != 0 {
			b.Errorf("tiercache: %d local hits and %d misses, want only Redis hits", st.LocalHits, st.Misses)
		}
	})
	return f
}

// BenchmarkRemoteHit reads a string value from Redis: tiercache's Get with
// the local tier off (LocalTTL -1) and the String codec, go-redis/cache's
// Get without a local cache (a string is stored as is, no msgpack), a
// rueidis GET (Do, no client-side cache) and a raw go-redis GET of the
// very key tiercache reads (limit). rueidis reads that key too.
func BenchmarkRemoteHit(b *testing.B) {
	ctx := context.Background()
	f := newRemoteFixture(b, codec.String(), itemJSON)
	runGroup(b, map[string]op{
		"limit": func(i int) error {
			s, err := f.rdb.Get(ctx, f.rkeys[i]).Result()
			if err != nil {
				return err
			}
			return checkLen(len(s)-codec.HeaderSize, i)
		},
		"tiercache": func(i int) error {
			s, err := f.tc.Get(ctx, keys[i])
			if err != nil {
				return err
			}
			return checkLen(len(s), i)
		},
		"gorediscache": func(i int) error {
			var s string
			if err := f.peer.Get(ctx, peerKeys[i], &s); err != nil {
				return err
			}
			return checkLen(len(s), i)
		},
		"rueidis": func(i int) error {
			s, err := f.rue.Do(ctx, f.rue.B().Get().Key(f.rkeys[i]).Build()).ToString()
			if err != nil {
				return err
			}
			return checkLen(len(s)-codec.HeaderSize, i)
		},
	}, numKeys)
}

// BenchmarkRemoteHitStruct reads the struct value from Redis, decoding
// msgpack: tiercache's Get with the local tier off and the Msgpack codec,
// go-redis/cache's Get without a local cache (msgpack is its format), and a
// raw GET of tiercache's key followed by msgpack.Unmarshal of its payload
// (limit: the round trip plus the decode).
func BenchmarkRemoteHitStruct(b *testing.B) {
	ctx := context.Background()
	f := newRemoteFixture(b, codec.Msgpack[Item](), itemFor)
	runGroup(b, map[string]op{
		"limit": func(i int) error {
			s, err := f.rdb.Get(ctx, f.rkeys[i]).Bytes()
			if err != nil {
				return err
			}
			var v Item
			if err := msgpack.Unmarshal(s[codec.HeaderSize:], &v); err != nil {
				return err
			}
			return checkID(v.ID, i)
		},
		"tiercache": func(i int) error {
			v, err := f.tc.Get(ctx, keys[i])
			if err != nil {
				return err
			}
			return checkID(v.ID, i)
		},
		"gorediscache": func(i int) error {
			var v Item
			if err := f.peer.Get(ctx, peerKeys[i], &v); err != nil {
				return err
			}
			return checkID(v.ID, i)
		},
	}, numKeys)
}

// batchSize is the number of keys of a GetMany benchmark call.
const batchSize = 100

// BenchmarkGetMany100 reads 100 string values from Redis in one call:
// tiercache's GetMany with the local tier off and the String codec (one
// MGET), go-redis/cache's Get in a loop (it has no batch read: 100 round
// trips), a rueidis MGET (Do, no client-side cache) of the keys tiercache
// reads, and a raw go-redis MGET of those keys (limit). Each call reads the
// next of numKeys/100 disjoint batches.
func BenchmarkGetMany100(b *testing.B) {
	ctx := context.Background()
	f := newRemoteFixture(b, codec.String(), itemJSON)
	const batches = numKeys / batchSize
	batch := func(ks []string, j int) []string { return ks[j*batchSize : (j+1)*batchSize] }
	impls := map[string]op{
		"limit": func(j int) error {
			vals, err := f.rdb.MGet(ctx, batch(f.rkeys, j)...).Result()
			if err != nil {
				return err
			}
			for _, v := range vals {
				if v == nil {
					return errMiss
				}
			}
			return nil
		},
		"tiercache": func(j int) error {
			m, err := f.tc.GetMany(ctx, batch(keys, j))
			if err != nil {
				return err
			}
			if len(m) != batchSize {
				return fmt.Errorf("got %d values, want %d", len(m), batchSize)
			}
			return nil
		},
		"gorediscache": func(j int) error {
			for _, k := range batch(peerKeys, j) {
				var s string
				if err := f.peer.Get(ctx, k, &s); err != nil {
					return err
				}
			}
			return nil
		},
		"rueidis": func(j int) error {
			vals, err := f.rue.Do(ctx, f.rue.B().Mget().Key(batch(f.rkeys, j)...).Build()).ToArray()
			if err != nil {
				return err
			}
			if len(vals) != batchSize {
				return fmt.Errorf("got %d values, want %d", len(vals), batchSize)
			}
			for _, v := range vals {
				if v.IsNil() {
					return errMiss
				}
			}
			return nil
		},
	}
	runGroup(b, impls, batches)
}

// checkLen returns an error when a string value read for keys[i] does not
// have the length of itemJSON(i).
func checkLen(got, i int) error {
	if want := len(jsonValues[i]); got != want {
		return fmt.Errorf("key %d: got %d bytes, want %d", i, got, want)
	}
	return nil
}

// jsonValues[i] is itemJSON(i).
var jsonValues = func() []string {
	vs := make([]string, numKeys)
	for i := range vs {
		vs[i] = itemJSON(i)
	}
	return vs
}()
