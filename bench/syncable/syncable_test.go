// Package syncablebench measures tiercache's syncable collections against
// the limits: a plain Go map for the in-memory operations, and the raw
// go-redis commands that move the same bytes for Sync and Load (the Python
// peer, redis-collections, has no Go counterpart).
//
// Groups: SyncableDictSet and SyncableDictGet (Dict.Set and Dict.Get of
// 1000 string keys of a synced 10 000-key dict vs a map[string]string), SyncableSync100k
// (Dict.SyncOverwrite of 100 000 fields, the work of a first Sync: one
// script that checks the key's type, deletes it and writes every field, vs
// DEL and HSET of the same 100 000 pairs in one MULTI/EXEC round trip),
// SyncableDelta100k (Dict.Sync after 100 of the 100 000 values changed vs
// an HSET of those 100 pairs) and SyncableLoad100k (Dict.Load of 100 000
// fields, 1000 per round trip from a snapshot copy, vs one HGETALL). Every
// dict uses String codecs; round trips per operation are reported as
// roundtrips/op. See bench/README.md for the table.
package syncablebench

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/bench/internal/redisproc"
	"github.com/tiercache/tiercache/codec"
	"github.com/tiercache/tiercache/collections"
	"github.com/tiercache/tiercache/syncable"
)

// redisAddr is the address of the redis-server TestMain started.
var redisAddr string

func TestMain(m *testing.M) { os.Exit(redisproc.Main(m, &redisAddr)) }

// opts are the dicts' options: String codecs, and a round trip timeout
// above what a 100 000-field Sync takes on a loaded machine.
var opts = syncable.DictOptions[string, string]{DictOptions: collections.DictOptions[string, string]{
	Options:  collections.Options{Timeout: time.Minute},
	KeyCodec: codec.String(), Codec: codec.String(),
}}

const value = "a value of some thirty bytes.."

func keys(n int) []string {
	ks := make([]string, n)
	for i := range ks {
		ks[i] = "key:" + strconv.Itoa(i)
	}
	return ks
}

// counter counts the commands and pipelines a client sends, each one round
// trip, leaving out the handshake of new connections.
type counter struct{ n atomic.Int64 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !handshake(cmd) {
			c.n.Add(1)
		}
		return next(ctx, cmd)
	}
}
func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if !handshake(cmd) {
				c.n.Add(1)
				break
			}
		}
		return next(ctx, cmds)
	}
}

func handshake(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return true
	}
	return false
}

// client returns a client of the server with a round trip counter, closed
// when b ends.
func client(b *testing.B) (*redis.Client, *counter) {
	c := redis.NewClient(&redis.Options{Addr: redisAddr})
	b.Cleanup(func() { _ = c.Close() })
	n := &counter{}
	c.AddHook(n)
	return c, n
}

// perOp reports the round trips made since before, per operation.
func perOp(b *testing.B, n *counter, before int64) {
	b.ReportMetric(float64(n.n.Load()-before)/float64(b.N), "roundtrips/op")
}

func BenchmarkSyncableDictSet(b *testing.B) {
	ks := keys(1000)
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		m := make(map[string]string)
		for _, k := range keys(10_000) {
			m[k] = value
		}
		for i := 0; b.Loop(); i++ {
			m[ks[i%len(ks)]] = value
		}
	})
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		rdb, _ := client(b)
		// A dict of 10 000 keys that was synced, the usual state: its Set
		// also records the key for the next Sync.
		d, _ := synced(b, rdb, "set", 10_000)
		for i := 0; b.Loop(); i++ {
			d.Set(ks[i%len(ks)], value)
		}
	})
}

func BenchmarkSyncableDictGet(b *testing.B) {
	ks := keys(1000)
	rdb, _ := client(b)
	d, _ := synced(b, rdb, "get", 10_000)
	m := make(map[string]string)
	for _, k := range keys(10_000) {
		m[k] = value
	}
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok := m[ks[i%len(ks)]]; !ok {
				b.Fatal("missing")
			}
		}
	})
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok := d.Get(ks[i%len(ks)]); !ok {
				b.Fatal("missing")
			}
		}
	})
}

// synced returns a dict of n fields, synced.
func synced(b *testing.B, rdb *redis.Client, name string, n int) (*syncable.Dict[string, string], []string) {
	d, err := syncable.NewDict(rdb, name, opts)
	if err != nil {
		b.Fatal(err)
	}
	ks := keys(n)
	for _, k := range ks {
		d.Set(k, value)
	}
	if err := d.SyncOverwrite(context.Background()); err != nil {
		b.Fatal(err)
	}
	return d, ks
}

func BenchmarkSyncableSync100k(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	rdb, rt := client(b)
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		args := make([]any, 0, 2*n)
		for _, k := range keys(n) {
			args = append(args, k, value)
		}
		before := rt.n.Load()
		for b.Loop() {
			_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Del(ctx, "limit:sync")
				p.HSet(ctx, "limit:sync", args...)
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		perOp(b, rt, before)
	})
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		d, _ := synced(b, rdb, "sync", n)
		before := rt.n.Load()
		for b.Loop() {
			if err := d.SyncOverwrite(ctx); err != nil {
				b.Fatal(err)
			}
		}
		perOp(b, rt, before)
	})
}

func BenchmarkSyncableDelta100k(b *testing.B) {
	ctx := context.Background()
	const n, changed = 100_000, 100
	rdb, rt := client(b)
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		ks := keys(n)
		args := make([]any, 2*changed)
		before := rt.n.Load()
		for i := 0; b.Loop(); i++ {
			for j := range changed {
				args[2*j], args[2*j+1] = ks[(i*changed+j)%n], "changed "+strconv.Itoa(i)
			}
			if err := rdb.HSet(ctx, "limit:delta", args...).Err(); err != nil {
				b.Fatal(err)
			}
		}
		perOp(b, rt, before)
	})
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		d, ks := synced(b, rdb, "delta", n)
		before := rt.n.Load()
		for i := 0; b.Loop(); i++ {
			for j := range changed {
				d.Set(ks[(i*changed+j)%n], "changed "+strconv.Itoa(i))
			}
			if err := d.Sync(ctx); err != nil {
				b.Fatal(err)
			}
		}
		perOp(b, rt, before)
	})
}

func BenchmarkSyncableLoad100k(b *testing.B) {
	ctx := context.Background()
	const n = 100_000
	rdb, rt := client(b)
	d, _ := synced(b, rdb, "load", n)
	b.Run("limit", func(b *testing.B) {
		b.ReportAllocs()
		before := rt.n.Load()
		for b.Loop() {
			m, err := rdb.HGetAll(ctx, d.Key()).Result()
			if err != nil || len(m) != n {
				b.Fatal(err, len(m))
			}
		}
		perOp(b, rt, before)
	})
	b.Run("tiercache", func(b *testing.B) {
		b.ReportAllocs()
		before := rt.n.Load()
		for b.Loop() {
			if err := d.Load(ctx); err != nil || d.Len() != n {
				b.Fatal(err, d.Len())
			}
		}
		perOp(b, rt, before)
	})
}
