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
)

// scriptCount is the number of luaScripts.
const scriptCount = 5

// luaScript is one of the Store's scripts.
type luaScript struct {
	*redis.Script
	id int
}

// scriptLoaded reports whether the server that runs commands on key has
// loaded sc, so that EVALSHA will do (every server of a single-server
// Store; on Cluster, the master of key's slot). Until then scripts are
// sent whole (EVAL, which loads them as it runs them): a write is one round
// trip from the first call, instead of EVALSHA, NOSCRIPT, EVAL. A server
// that forgets a script later (it restarted) costs that one extra round
// trip once.
func (s *Store) scriptLoaded(sc *luaScript, key string) (bool, func()) {
	if !s.cluster {
		return s.loaded[sc.id].Load(), func() { s.loaded[sc.id].Store(true) }
	}
	node, err := s.rdb.(*redis.ClusterClient).MasterForKey(context.Background(), key)
	if err != nil {
		return false, func() {}
	}
	k := scriptOnNode{node.Options().Addr, sc.id}
	_, ok := s.loadedOn.Load(k)
	return ok, func() { s.loadedOn.Store(k, struct{}{}) }
}

// scriptOnNode names a script loaded on a Cluster node.
type scriptOnNode struct {
	addr string
	id   int
}

// runScript runs sc on c: EVAL until it is known to be loaded, EVALSHA
// (falling back to EVAL on NOSCRIPT) after.
func (s *Store) runScript(ctx context.Context, c redis.Scripter, sc *luaScript, ks []string, args ...any) *redis.Cmd {
	loaded, mark := s.scriptLoaded(sc, ks[0])
	if loaded {
		return sc.Run(ctx, c, ks, args...)
	}
	cmd := sc.Eval(ctx, c, ks, args...)
	if replied(cmd.Err()) {
		mark() // a reply means the server compiled and kept it
	}
	return cmd
}

// queueScript adds sc to a pipeline: EVAL until it is known to be loaded
// on the keys' server, EVALSHA after. The returned function, called once
// the pipeline ran, records what the reply taught.
func (s *Store) queueScript(ctx context.Context, p redis.Pipeliner, sc *luaScript, ks []string, args ...any) (*redis.Cmd, func()) {
	loaded, mark := s.scriptLoaded(sc, ks[0])
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

// replied reports whether err is a reply from Redis (or none at all).
func replied(err error) bool {
	var re redis.Error
	return err == nil || errors.Is(err, redis.Nil) || errors.As(err, &re)
}
