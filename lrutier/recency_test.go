package lrutier

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGetMovesOnlyOutsideWindow follows the promotion rule step by step in
// one shard of 8 entries, whose window is 4: a Get moves its entry to the
// front only when the shard has made at least 4 moves since the entry's
// last one.
func TestGetMovesOnlyOutsideWindow(t *testing.T) {
	tr := New(Options[string, int]{Shards: 1, MaxEntries: 8, MaxBytes: 1000})
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		tr.Set(k, 0, 1, 0) // moves 0 to 7
	}
	require.Equal(t, uint64(4), tr.nodes.shards[0].window.Load())

	steps := []struct {
		op       byte // 'g' Get, 's' Set
		key      string
		wantKeys []string // oldest first
	}{
		{'g', "h", []string{"a", "b", "c", "d", "e", "f", "g", "h"}}, // 0 moves since h's
		{'g', "e", []string{"a", "b", "c", "d", "e", "f", "g", "h"}}, // 3 moves since e's
		{'g', "d", []string{"a", "b", "c", "e", "f", "g", "h", "d"}}, // 4: moves
		{'g', "e", []string{"a", "b", "c", "f", "g", "h", "d", "e"}}, // now 4 too
		{'g', "d", []string{"a", "b", "c", "f", "g", "h", "d", "e"}}, // 1
		{'s', "i", []string{"b", "c", "f", "g", "h", "d", "e", "i"}}, // evicts a
		{'g', "h", []string{"b", "c", "f", "g", "h", "d", "e", "i"}}, // 3
		{'g', "b", []string{"c", "f", "g", "h", "d", "e", "i", "b"}}, // 9
		{'s', "j", []string{"f", "g", "h", "d", "e", "i", "b", "j"}}, // evicts c
		{'g', "d", []string{"f", "g", "h", "e", "i", "b", "j", "d"}}, // 4
		{'g', "i", []string{"f", "g", "h", "e", "i", "b", "j", "d"}}, // 3
		{'g', "h", []string{"f", "g", "e", "i", "b", "j", "d", "h"}}, // 6
	}
	for i, st := range steps {
		if st.op == 's' {
			tr.Set(st.key, 0, 1, 0)
		} else {
			_, ok := tr.Get(st.key)
			require.True(t, ok, "step %d: Get(%q)", i, st.key)
		}
		assert.Equal(t, st.wantKeys, keysOf(tr), "after step %d (%c %s)", i, st.op, st.key)
	}
	checkInvariants(t, tr)
}

// TestHotEntrySurvives reads a few entries often while a stream of entries
// that are never read passes through the shard: the hot ones stay, and the
// cold ones leave in the order they were set.
func TestHotEntrySurvives(t *testing.T) {
	const size, readEvery = 100, 40 // window 50: a read every 40 Sets is enough
	var log evictLog
	tr := New(Options[string, int]{Shards: 1, MaxEntries: size, MaxBytes: 1 << 20, OnEvict: log.OnEvict})
	hot := []string{"hot-1", "hot-2", "hot-3"}
	for _, k := range hot {
		tr.Set(k, 0, 1, 0)
	}
	const colds = 20 * size
	for i := range colds {
		tr.Set(fmt.Sprint("cold-", i), i, 1, 0)
		if i%readEvery == 0 {
			for _, k := range hot {
				_, ok := tr.Get(k)
				require.True(t, ok, "%s evicted after %d cold Sets", k, i)
			}
		}
	}
	var want []string
	for i := range colds - (size - len(hot)) {
		want = append(want, fmt.Sprint("cold-", i, ":evicted"))
	}
	assert.Equal(t, want, log.Calls(), "the cold entries leave oldest first, and only they do")
	for _, k := range hot {
		_, ok := tr.Get(k)
		assert.True(t, ok, k)
	}
	checkInvariants(t, tr)
}

// TestColdEntryRead is the other side of the window: an entry read once,
// and then no more, falls to the back like any other and is evicted.
func TestColdEntryRead(t *testing.T) {
	var log evictLog
	tr := New(Options[string, int]{Shards: 1, MaxEntries: 10, MaxBytes: 1 << 20, OnEvict: log.OnEvict})
	for i := range 10 {
		tr.Set(fmt.Sprint(i), i, 1, 0)
	}
	tr.Get("0") // 9 moves since its own, window 5: moves to the front
	for i := 10; i < 20; i++ {
		tr.Set(fmt.Sprint(i), i, 1, 0)
	}
	assert.Equal(t, []string{"1:evicted", "2:evicted", "3:evicted", "4:evicted", "5:evicted",
		"6:evicted", "7:evicted", "8:evicted", "9:evicted", "0:evicted"}, log.Calls())
}

// TestWindow checks the window against the two budgets: half the entries a
// shard can hold, by its entry budget or by as many entries of its mean
// size as its byte budget holds, whichever is fewer, and at least 1.
func TestWindow(t *testing.T) {
	tests := []struct {
		name       string
		maxEntries int
		maxBytes   int64
		sizes      []int64
		want       uint64
	}{
		{"entry budget", 100, 1 << 20, []int64{10, 10}, 50},
		{"byte budget, mean size 10", 100, 200, []int64{5, 15}, 10},
		{"byte budget, large entries", 100, 200, []int64{100}, 1},
		{"zero sizes", 100, 200, []int64{0, 0}, 50},
		{"one entry", 1, 100, []int64{1}, 1},
		{"three entries", 3, 100, []int64{1}, 1},
		{"four entries", 4, 100, []int64{1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(Options[int, int]{Shards: 1, MaxEntries: tt.maxEntries, MaxBytes: tt.maxBytes})
			for i, size := range tt.sizes {
				tr.Set(i, i, size, 0)
			}
			assert.Equal(t, tt.want, tr.nodes.shards[0].window.Load())
		})
	}
}

// TestWindowFollowsByteBudget: in a shard that the byte budget fills long
// before the entry budget, a read entry still moves within half of what the
// shard holds, and survives.
func TestWindowFollowsByteBudget(t *testing.T) {
	var log evictLog
	tr := New(Options[string, int]{Shards: 1, MaxEntries: 1000, MaxBytes: 100, OnEvict: log.OnEvict})
	for i := range 10 {
		tr.Set(fmt.Sprint(i), i, 10, 0) // full: 10 entries of 10 bytes, window 5
	}
	tr.Get("2")
	for i := 10; i < 13; i++ {
		tr.Set(fmt.Sprint(i), i, 10, 0)
	}
	assert.Equal(t, []string{"0:evicted", "1:evicted", "3:evicted"}, log.Calls())
}

// TestPromoteRechecks: a promotion decided without the lock is done only if
// it is still due under the lock.
func TestPromoteRechecks(t *testing.T) {
	tr := New(Options[string, int]{Shards: 1, MaxEntries: 4, MaxBytes: 100})
	for _, k := range []string{"a", "b", "c", "d"} {
		tr.Set(k, 0, 1, 0)
	}
	s := &tr.nodes.shards[0]
	h := tr.nodes.hash("a")
	tr.Set("a", 1, 1, 0) // a Set moves it meanwhile
	s.promote(h, "a")
	assert.Equal(t, []string{"b", "c", "d", "a"}, keysOf(tr))
	assert.Equal(t, uint64(5), s.moves.Load(), "no second move")
	tr.Delete("b")
	s.promote(tr.nodes.hash("b"), "b") // gone meanwhile
	assert.Equal(t, []string{"c", "d", "a"}, keysOf(tr))
	checkInvariants(t, tr)
}

// TestTableCollisions runs random Sets, Gets and Deletes against a map with
// hashes that collide often (several keys share each value, and nearby
// values share probe runs), so that the table's probing, growth and
// backward-shift deletion are all exercised, and checks every answer.
func TestTableCollisions(t *testing.T) {
	for _, shards := range []int{1, 4} {
		t.Run(fmt.Sprint(shards, " shards"), func(t *testing.T) {
			tr := New(Options[int, int]{
				Shards: shards, MaxEntries: 1 << 20, MaxBytes: 1 << 40,
				Hash: func(k int) uint64 { return uint64(k % 37) }, // 37 values for 500 keys
			})
			want := map[int]int{}
			rnd := rand.New(rand.NewPCG(1, 2))
			for i := range 20_000 {
				k := rnd.IntN(500)
				switch rnd.IntN(3) {
				case 0:
					tr.Set(k, i, 1, 0)
					want[k] = i
				case 1:
					_, had := want[k]
					require.Equal(t, had, tr.Delete(k), "Delete(%d)", k)
					delete(want, k)
				default:
					v, ok := tr.Get(k)
					wv, wok := want[k]
					require.Equal(t, wok, ok, "Get(%d) found", k)
					require.Equal(t, wv, v, "Get(%d)", k)
				}
				if i%1000 == 0 {
					checkInvariants(t, tr)
				}
			}
			require.Equal(t, len(want), tr.Len())
			for k, wv := range want {
				v, ok := tr.Get(k)
				require.True(t, ok, "Get(%d)", k)
				require.Equal(t, wv, v)
			}
			checkInvariants(t, tr)
			assert.Equal(t, len(want), tr.DeleteFunc(func(int, int) bool { return true }))
			assert.Zero(t, tr.Len())
			checkInvariants(t, tr)
		})
	}
}

// TestTableGrowsAndResets: the table grows as a shard fills, keeps at least
// a quarter of its slots empty, and Purge gives the memory back.
func TestTableGrowsAndResets(t *testing.T) {
	tr := New(Options[int, int]{Shards: 1, MaxEntries: 1000, MaxBytes: 1 << 20})
	s := &tr.nodes.shards[0]
	require.Len(t, s.items.arr.Load().s, minTableSlots)
	for i := range 1000 {
		tr.Set(i, i, 1, 0)
		require.LessOrEqual(t, 4*s.items.used, 3*len(s.items.arr.Load().s), "after %d Sets", i+1)
	}
	assert.Len(t, s.items.arr.Load().s, 2048)
	tr.Purge()
	assert.Len(t, s.items.arr.Load().s, minTableSlots)
	assert.Zero(t, tr.Len())
	checkInvariants(t, tr)
}

// TestTableDeleteWraps deletes from a probe run that wraps from the last
// slot of the table to the first: the nodes after the hole move back across
// the end, except those whose probe path does not cross the hole.
func TestTableDeleteWraps(t *testing.T) {
	tb := newTable[int](minTableSlots)
	last := uint64(minTableSlots - 1)
	homedAt := func(slot uint64, skip int) uint64 { // the skip+1'th hash whose probe starts at slot
		for h := uint64(1); ; h++ {
			if tb.arr.Load().home(h) == slot {
				if skip == 0 {
					return h
				}
				skip--
			}
		}
	}
	hashOf := map[*Node[int]]uint64{}
	nd := func(key int, hash uint64) *Node[int] {
		n := &Node[int]{key: key}
		hashOf[n] = hash
		return n
	}
	x, y, z := nd(1, homedAt(last, 0)), nd(2, homedAt(last, 1)), nd(3, homedAt(last, 2))
	u, w := nd(4, homedAt(2, 0)), nd(5, homedAt(0, 0))
	for _, n := range []*Node[int]{x, y, z, u, w} {
		tb.insert(n, hashOf[n])
	}
	slots := func() []*Node[int] { // slots 7, 0, 1, 2, 3
		a := tb.arr.Load().s
		return []*Node[int]{a[last].n.Load(), a[0].n.Load(), a[1].n.Load(), a[2].n.Load(), a[3].n.Load()}
	}
	require.Equal(t, []*Node[int]{x, y, z, u, w}, slots())

	tb.delete(x, hashOf[x]) // y and z move back across the end, u stays at its home, w moves
	assert.Equal(t, []*Node[int]{y, z, w, u, nil}, slots())
	for _, n := range []*Node[int]{y, z, u, w} {
		assert.Same(t, n, tb.find(hashOf[n], n.key))
	}
	assert.Nil(t, tb.find(hashOf[x], x.key))
	assert.Equal(t, 4, tb.used)
}
