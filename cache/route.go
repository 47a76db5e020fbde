package cache

import (
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/keys"
)

// layout is how the Store's Redis spreads keys, and so how the keys of
// one call are split into commands.
type layout uint8

const (
	// oneServer: a standalone server or a Sentinel failover master, which
	// takes any keys in one command.
	oneServer layout = iota
	// clusterSlots: a Redis Cluster, which takes the keys of one hash slot
	// in one command; the ClusterClient sends each to its slot's master.
	clusterSlots
	// ringShards: a go-redis Ring, whose shards are standalone servers. A
	// command goes to its entry's shard on the shard's own client: the Ring
	// would route a fence by its own name (its slot tag), not its entry's.
	ringShards
)

// node is what a command goes to: the Store's client, or on a Ring the
// client of one shard.
type node struct {
	c    redis.Cmdable
	addr string // the Ring shard's address (see scriptLoaded); "" otherwise
}

// batch is the part of a call's keys that goes to one node, in groups of
// key indexes that one command each can take: every key of a single server
// or of a Ring shard in one group, one group per hash slot on Cluster.
type batch struct {
	node
	groups [][]int
	first  int // the number of groups in the batches before it
	// alone: the one group goes as a command of its own, not in a
	// pipeline. Not on Cluster, where a command sent alone would first
	// make the ClusterClient fetch COMMAND, in a round trip of its own.
	alone bool
}

// nodeFor returns the node that holds the entry rkey and its fence. On a
// Ring it asks the Ring at every call, so that a change of its shards
// (SetAddrs, a shard marked down or up) is followed from the next call.
func (s *Store) nodeFor(rkey string) (node, error) {
	if s.layout != ringShards {
		return node{c: s.rdb}, nil
	}
	c, err := s.rdb.(*redis.Ring).GetShardClientForKey(rkey)
	if err != nil {
		return node{}, err
	}
	return node{c: c, addr: c.Options().Addr}, nil
}

// readNodeFor is nodeFor for a read whose reply may be kept locally: under
// key-level tracking it goes through the tracked connections (see
// keytrack.go). The caller takes its coherence token before.
func (s *Store) readNodeFor(rkey string) (node, error) {
	if r := s.coh.kt.reader(); r != nil {
		return node{c: r}, nil
	}
	return s.nodeFor(rkey)
}

// readRoute is route for reads whose replies may be kept locally (see
// readNodeFor).
func (s *Store) readRoute(ks []string) ([]batch, error) {
	bs, err := s.route(ks)
	if r := s.coh.kt.reader(); r != nil {
		for i := range bs {
			bs[i].c = r
		}
	}
	return bs, err
}

// route splits the entries ks into batches (see batch), one per Ring shard
// that holds some of them, one in all otherwise. The fences of the entries
// go with them: callers pick a group's fences by the indexes of its entries.
func (s *Store) route(ks []string) ([]batch, error) {
	if len(ks) == 0 {
		return nil, nil
	}
	switch s.layout {
	case oneServer:
		// One allocation for the batch, its group and the group's indexes
		// while they fit: a single server's calls are the common case.
		one := new(struct {
			b [1]batch
			g [1][]int
			i [8]int
		})
		all := one.i[:0]
		if len(ks) > len(one.i) {
			all = make([]int, 0, len(ks))
		}
		for i := range ks {
			all = append(all, i)
		}
		one.g[0] = all
		one.b[0] = batch{node: node{c: s.rdb}, groups: one.g[:], alone: true}
		return one.b[:], nil
	case clusterSlots:
		return []batch{{node: node{c: s.rdb}, groups: keys.GroupBySlot(ks)}}, nil
	}
	// A Ring.
	var bs []batch
	byClient := make(map[redis.Cmdable]int, 4) // shard client -> index in bs
	for i, k := range ks {
		n, err := s.nodeFor(k)
		if err != nil {
			return nil, err
		}
		b, ok := byClient[n.c]
		if !ok {
			b = len(bs)
			byClient[n.c] = b
			bs = append(bs, batch{node: n, groups: [][]int{nil}, first: b, alone: true})
		}
		bs[b].groups[0] = append(bs[b].groups[0], i)
	}
	return bs, nil
}

// eachBatch calls fn with every batch and its index: in this goroutine when
// there is one, else in one goroutine each, so that a call costs one round
// trip however many Ring shards it spans. It returns the error of the first
// batch that failed, in their order.
func eachBatch(bs []batch, fn func(i int, b batch) error) error {
	if len(bs) == 1 {
		return fn(0, bs[0])
	}
	errs := make([]error, len(bs))
	var wg sync.WaitGroup
	for i, b := range bs {
		wg.Go(func() { errs[i] = fn(i, b) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// pick returns the keys of ks at idx, indexes in increasing order: ks
// itself when idx is all of them, as a single server's one group is.
func pick(ks []string, idx []int) []string {
	if len(idx) == len(ks) {
		return ks
	}
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = ks[i]
	}
	return out
}
