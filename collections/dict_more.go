package collections

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// More of Dict: Python's dict.copy, dict.fromkeys, dict.popitem and
// dict.setdefault.

var (
	//go:embed dict_copy.lua
	dictCopySrc string
	//go:embed dict_dump.lua
	dictDumpSrc string
	//go:embed dict_restore.lua
	dictRestoreSrc string
	//go:embed dict_popitem.lua
	dictPopItemSrc string

	dictCopy    = newScript(dictCopySrc)
	dictDump    = newScript(dictDumpSrc)
	dictRestore = newScript(dictRestoreSrc)
	dictPopItem = newScript(dictPopItemSrc)
)

// Copy copies the dict, on the server, to a new Dict called newName with
// the same options (codecs, prefix, timeouts, local tier), and returns it
// (Python's dict.copy, into Redis). The copy keeps the dict's TTL, if any;
// a copy of an empty dict is an empty Dict, and writes no hash (only the
// request's dedupe record), though newName must be free all the same. It returns
// an error matching ErrExists, writing nothing, when newName's key exists
// (of any type; Clear it first to replace it), ErrWrongType when the dict's
// key holds another type, and ErrInvalidArgument for newName equal to the
// dict's name or one NewDict refuses.
//
// When both keys are on one node (a single server, a Sentinel failover
// client, or a Cluster whose slots of the two names happen to match), Copy
// is one script around COPY (Redis 6.2 or later): atomic, and the data
// never leaves the server. On a Cluster the two names' hash tags are in
// different slots, which no command or script may join, so Copy takes two
// round trips: DUMP (with the TTL) on the dict's node, then RESTORE on
// newName's. The payload goes through the client, and the copy is a
// snapshot of the dict at the DUMP: writes to the dict after it are not in
// the copy. Either way a resend after a lost reply does not report
// ErrExists for the copy it made itself (a request id).
func (d *Dict[K, V]) Copy(ctx context.Context, newName string) (*Dict[K, V], error) {
	if newName == d.b.name {
		return nil, fmt.Errorf("%w: copy of dict %q onto itself", ErrInvalidArgument, d.b.key)
	}
	dst, err := NewDict(d.b.rdb, newName, DictOptions[K, V]{Options: d.b.opts, KeyCodec: d.kc, Codec: d.vc})
	if err != nil {
		return nil, err
	}
	var made int64
	if sameNode(d.b.rdb, d.b.key, dst.b.key) {
		a := append(dictCopy.args(3, 4), d.b.keyArg, dst.b.keyArg, dst.b.req.next(), dst.b.window)
		err = dst.b.rtIdem(ctx, "copy", func(ctx context.Context) (err error) {
			made, err = dictCopy.run(ctx, d.b.rdb, false, a).Int64()
			return err
		})
	} else {
		made, err = d.copyAcross(ctx, dst)
	}
	if err != nil {
		return nil, err
	}
	if made != 1 {
		return nil, fmt.Errorf("%w: copy of dict %q: key %q", ErrExists, d.b.key, dst.b.key)
	}
	return dst, nil
}

// copyAcross copies the dict to dst in another slot: DUMP on the dict's
// node, RESTORE on dst's. It returns dict_restore.lua's reply.
func (d *Dict[K, V]) copyAcross(ctx context.Context, dst *Dict[K, V]) (int64, error) {
	var dump []any
	err := d.b.rt(ctx, "copy", false, func(ctx context.Context) (err error) {
		dump, err = dictDump.run(ctx, d.b.rdb, false, append(dictDump.args(1, 1), d.b.keyArg)).Slice()
		return err
	})
	if err != nil {
		return 0, err
	}
	payload, ttl := "", int64(0)
	if len(dump) == 2 {
		payload, _ = dump[0].(string)
		ttl, _ = dump[1].(int64)
	}
	if len(dump) != 0 && (len(dump) != 2 || payload == "") {
		return 0, d.b.fail("copy", fmt.Errorf("unexpected DUMP reply %v", dump))
	}
	a := append(dictRestore.args(2, 5), dst.b.keyArg, dst.b.req.next(), payload, ttl, dst.b.window)
	var made int64
	err = dst.b.rtIdem(ctx, "copy", func(ctx context.Context) (err error) {
		made, err = dictRestore.run(ctx, dst.b.rdb, false, a).Int64()
		return err
	})
	return made, err
}

// FromKeys sets every one of keys to value, in one command (HSET): all or
// none (Python's dict.fromkeys, written into this dict). Keys the dict
// holds already take value; other keys are kept. It is idempotent under
// resend; no keys is no round trip.
func (d *Dict[K, V]) FromKeys(ctx context.Context, value V, keys ...K) error {
	if len(keys) == 0 {
		return nil
	}
	return d.write(ctx, "from keys", func(yield func(K, V) bool) {
		for _, k := range keys {
			if !yield(k, value) {
				return
			}
		}
	})
}

// SetDefault returns the value of k, setting it to v first when the dict
// does not hold k (Python's dict.setdefault), in one script (HSETNX then
// HGET): of several concurrent SetDefaults of one absent key, in any
// processes, one sets its value and all of them return it. It is
// idempotent under resend. It returns ErrDecode when the value stored
// already cannot be decoded.
func (d *Dict[K, V]) SetDefault(ctx context.Context, k K, v V) (V, error) {
	var zero V
	field, err := encode(d.kc, d.b.key, k)
	if err != nil {
		return zero, err
	}
	val, err := encode(d.vc, d.b.key, v)
	if err != nil {
		return zero, err
	}
	var raw string
	err = d.b.rt(ctx, "set default", true, func(ctx context.Context) (err error) {
		raw, err = defaultDictGet.Run(ctx, d.b.rdb, []string{d.b.key}, field, val).Text()
		return err
	})
	if err != nil {
		return zero, err
	}
	return decode(d.vc, d.b.key, raw)
}

// PopItem removes an arbitrary key of the dict (a random one: HRANDFIELD,
// Redis 6.2 or later) and returns it with its value, atomically: of two
// concurrent PopItems, each gets its own pair (Python's dict.popitem,
// which takes the last one; Redis hashes keep no order). On an empty dict
// it returns an error matching ErrEmpty, as every take from an empty
// collection does, and ErrNotFound (Python's KeyError). It is idempotent
// under resend (a request id; the record keeps a copy of the pair for
// Options.DedupeWindow), and a PopItem whose reply is lost even so asks for
// that record once more: the pair is returned, not lost. A pair that
// cannot be decoded is removed even so, and returned as ErrDecode, which
// shows its start.
func (d *Dict[K, V]) PopItem(ctx context.Context) (K, V, error) {
	var zk K
	var zv V
	a := append(dictPopItem.args(2, 4), d.b.keyArg, d.b.req.next(), d.b.window)
	var pair []any
	var sent error // the round trip's own error
	err := d.b.rtIdem(ctx, "pop item", func(ctx context.Context) error {
		pair, sent = dictPopItem.run(ctx, d.b.rdb, false, a).Slice()
		return sent
	})
	if errors.Is(err, ErrUncertain) {
		// As Pop does: ask for the pair this request removed, under a
		// context that does not end with ctx.
		a = append(a, "check")
		switch cerr := d.b.rt(context.WithoutCancel(ctx), "pop item", false, func(c context.Context) (err error) {
			pair, err = dictPopItem.run(c, d.b.rdb, false, a).Slice()
			return err
		}); {
		case cerr == nil:
			err = nil
		case errors.Is(cerr, redis.Nil):
			err = fmt.Errorf("tiercache/collections: pop item %q: nothing removed: %w", d.b.key, sent)
		}
	}
	if errors.Is(err, redis.Nil) {
		return zk, zv, fmt.Errorf("%w: %w: dict %q", ErrEmpty, ErrNotFound, d.b.key)
	}
	if err != nil {
		return zk, zv, err
	}
	if len(pair) != 2 {
		return zk, zv, d.b.fail("pop item", fmt.Errorf("unexpected reply %v", pair))
	}
	f, _ := pair[0].(string)
	raw, _ := pair[1].(string)
	k, err := decode(d.kc, d.b.key, f)
	if err != nil {
		return zk, zv, err
	}
	v, err := decode(d.vc, d.b.key, raw)
	if err != nil {
		return zk, zv, err
	}
	return k, v, nil
}
