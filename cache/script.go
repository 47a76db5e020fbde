package cache

import (
	"context"
	_ "embed"
	"errors"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed set.lua
	setLua string
	//go:embed fence_read.lua
	fenceReadLua string
	//go:embed fence_tickets.lua
	fenceTicketsLua string
	//go:embed fence_fill.lua
	fenceFillLua string
	//go:embed lease.lua
	leaseReleaseLua string
	//go:embed renew.lua
	renewLua string
)

// The Store's Lua scripts, each with its index in Store.loaded.
var (
	// setScript writes entries (last writer wins) and ends their fences.
	setScript = &luaScript{redis.NewScript(setLua), 0}
	// fenceReadScript reads an entry and takes its fence when a load follows.
	fenceReadScript = &luaScript{redis.NewScript(fenceReadLua), 1}
	// fenceTicketsScript takes tickets on a batch of fences.
	fenceTicketsScript = &luaScript{redis.NewScript(fenceTicketsLua), 2}
	// fenceFillScript writes loaded values that their fences still allow.
	fenceFillScript = &luaScript{redis.NewScript(fenceFillLua), 3}
	// leaseReleaseScript gives a lease or ticket back.
	leaseReleaseScript = &luaScript{redis.NewScript(leaseReleaseLua), 4}
	// renewScript renews a sliding entry that still holds what was read.
	renewScript = &luaScript{redis.NewScript(renewLua), 5}
)

// scriptCount is the number of luaScripts.
const scriptCount = 6

// luaScript is one of the Store's scripts.
type luaScript struct {
	*redis.Script
	id int
}

// scriptLoaded reports whether the server that runs commands on key (at
// n) has loaded sc, so that EVALSHA will do (every server of a
// single-server Store; on Cluster, the master of key's slot; on a Ring,
// n's shard). Until then scripts are sent whole (EVAL, which loads them as
// it runs them): a write is one round trip from the first call, instead of
// EVALSHA, NOSCRIPT, EVAL. A server that forgets a script later (it
// restarted) costs that one extra round trip once.
func (s *Store) scriptLoaded(sc *luaScript, n node, key string) (bool, func()) {
	addr := n.addr
	switch s.layout {
	case oneServer:
		return s.loaded[sc.id].Load(), func() { s.loaded[sc.id].Store(true) }
	case clusterSlots:
		master, err := s.rdb.(*redis.ClusterClient).MasterForKey(context.Background(), key)
		if err != nil {
			return false, func() {}
		}
		addr = master.Options().Addr
	}
	k := scriptOnNode{addr, sc.id}
	_, ok := s.loadedOn.Load(k)
	return ok, func() { s.loadedOn.Store(k, struct{}{}) }
}

// scriptOnNode names a script loaded on a Cluster node or a Ring shard.
type scriptOnNode struct {
	addr string
	id   int
}

// runScript runs sc at n: EVAL until it is known to be loaded, EVALSHA
// (falling back to EVAL on NOSCRIPT) after.
func (s *Store) runScript(ctx context.Context, n node, sc *luaScript, ks []string, args ...any) *redis.Cmd {
	loaded, mark := s.scriptLoaded(sc, n, ks[0])
	if loaded {
		return sc.Run(ctx, n.c, ks, args...)
	}
	cmd := sc.Eval(ctx, n.c, ks, args...)
	if replied(cmd.Err()) {
		mark() // a reply means the server compiled and kept it
	}
	return cmd
}

// queueScript adds sc to p, a pipeline of n: EVAL until it is known to be
// loaded on the keys' server, EVALSHA after. The returned function, called
// once the pipeline ran, records what the reply taught.
func (s *Store) queueScript(ctx context.Context, n node, p redis.Pipeliner, sc *luaScript, ks []string, args ...any) (*redis.Cmd, func()) {
	loaded, mark := s.scriptLoaded(sc, n, ks[0])
	if loaded {
		return sc.EvalSha(ctx, p, ks, args...), func() {}
	}
	cmd := sc.Eval(ctx, p, ks, args...)
	return cmd, func() {
		if replied(cmd.Err()) {
			mark()
		}
	}
}

// evalBatch runs sc once for every group of b, with the keys and arguments
// callArgs gives for the group, into cmds (one per group): one call when
// b is alone, else one pipeline, after which the calls a server did not
// know the script for are sent again whole (EVAL). It returns the first
// call's error.
func (s *Store) evalBatch(ctx context.Context, b batch, sc *luaScript, cmds []*redis.Cmd, callArgs func(g []int) ([]string, []any)) error {
	if b.alone {
		k, a := callArgs(b.groups[0])
		cmds[0] = s.runScript(ctx, b.node, sc, k, a...)
		return cmds[0].Err()
	}
	send := func(which []int, eval bool) error {
		marks := make([]func(), len(which))
		_, err := b.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j, gi := range which {
				k, a := callArgs(b.groups[gi])
				if eval {
					cmds[gi], marks[j] = sc.Eval(ctx, p, k, a...), func() {}
				} else {
					cmds[gi], marks[j] = s.queueScript(ctx, b.node, p, sc, k, a...)
				}
			}
			return nil
		})
		for _, m := range marks {
			m()
		}
		return err
	}
	all := make([]int, len(b.groups))
	for i := range all {
		all[i] = i
	}
	err := send(all, false)
	var again []int // a node that restarted or never saw the script
	for gi, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			again = append(again, gi)
		}
	}
	if len(again) > 0 {
		// Only those: the others ran, and a fill run twice would refuse
		// itself (its first run ended the fence).
		err = send(again, true)
	}
	return firstErr(cmds, err)
}

// replied reports whether err is a reply from Redis (or none at all).
func replied(err error) bool {
	var re redis.Error
	return err == nil || errors.Is(err, redis.Nil) || errors.As(err, &re)
}
