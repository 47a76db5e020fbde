package lrutier

import (
	"fmt"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewOptions(t *testing.T) {
	defShards := 1
	for defShards < 4*runtime.GOMAXPROCS(0) {
		defShards *= 2
	}
	tests := []struct {
		name            string
		opts            Options[string, int]
		shards, entries int
		bytes           int64
	}{
		{"defaults", Options[string, int]{}, defShards,
			(DefaultMaxEntries + defShards - 1) / defShards, DefaultMaxBytes / int64(defShards)},
		{"one shard", Options[string, int]{Shards: 1, MaxEntries: 10, MaxBytes: 100}, 1, 10, 100},
		{"rounded up to power of two", Options[string, int]{Shards: 5, MaxEntries: 80, MaxBytes: 800}, 8, 10, 100},
		{"entries rounded up", Options[string, int]{Shards: 4, MaxEntries: 10, MaxBytes: 10}, 4, 3, 2},
		{"at least one byte and entry", Options[string, int]{Shards: 16, MaxEntries: 1, MaxBytes: 1}, 16, 1, 1},
		{"negative means default", Options[string, int]{Shards: 1, MaxEntries: -1, MaxBytes: -1}, 1,
			DefaultMaxEntries, DefaultMaxBytes},
		{"shards capped", Options[string, int]{Shards: 1 << 30}, maxShards,
			(DefaultMaxEntries + maxShards - 1) / maxShards, DefaultMaxBytes / maxShards},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(tt.opts)
			assert.Len(t, tr.nodes.shards, tt.shards)
			assert.Equal(t, uint64(tt.shards-1), tr.nodes.mask)
			assert.Equal(t, tt.entries, tr.nodes.maxEntries)
			assert.Equal(t, tt.bytes, tr.nodes.maxBytes)
		})
	}
}

func TestShardPadding(t *testing.T) {
	assert.Zero(t, unsafe.Sizeof(shard[string]{})%shardAlign)
	assert.Zero(t, unsafe.Sizeof(shard[[64]byte]{})%shardAlign)
}

func TestGetSetDelete(t *testing.T) {
	tr := New(Options[string, int]{})
	_, ok := tr.Get("a")
	assert.False(t, ok, "Get on an empty tier")

	assert.True(t, tr.Set("a", 1, 10, 0))
	v, ok := tr.Get("a")
	assert.True(t, ok)
	assert.Equal(t, 1, v)

	assert.True(t, tr.Set("a", 2, 20, 0), "overwrite")
	v, _ = tr.Get("a")
	assert.Equal(t, 2, v)
	assert.Equal(t, 1, tr.Len())

	assert.True(t, tr.Delete("a"))
	assert.False(t, tr.Delete("a"), "second Delete")
	_, ok = tr.Get("a")
	assert.False(t, ok)

	assert.Equal(t, Stats{Hits: 2, Misses: 2}, tr.Stats())
	checkInvariants(t, tr)
}

func TestEvictionOrder(t *testing.T) {
	type step struct {
		op   byte // 's' Set, 'g' Get, 'd' Delete
		key  string
		size int64
	}
	tests := []struct {
		name        string
		maxEntries  int
		maxBytes    int64
		steps       []step
		wantKeys    []string // least recently used first
		wantEvicted []string
	}{
		{
			name: "oldest goes first", maxEntries: 3, maxBytes: 1000,
			steps:    []step{{'s', "a", 1}, {'s', "b", 1}, {'s', "c", 1}, {'s', "d", 1}},
			wantKeys: []string{"b", "c", "d"}, wantEvicted: []string{"a:evicted"},
		},
		{
			name: "get refreshes", maxEntries: 3, maxBytes: 1000,
			steps:    []step{{'s', "a", 1}, {'s', "b", 1}, {'s', "c", 1}, {'g', "a", 0}, {'s', "d", 1}},
			wantKeys: []string{"c", "a", "d"}, wantEvicted: []string{"b:evicted"},
		},
		{
			name: "overwrite refreshes", maxEntries: 3, maxBytes: 1000,
			steps:    []step{{'s', "a", 1}, {'s', "b", 1}, {'s', "c", 1}, {'s', "a", 1}, {'s', "d", 1}},
			wantKeys: []string{"c", "a", "d"}, wantEvicted: []string{"b:evicted"},
		},
		{
			name: "miss does not evict", maxEntries: 2, maxBytes: 1000,
			steps:    []step{{'s', "a", 1}, {'s', "b", 1}, {'g', "x", 0}},
			wantKeys: []string{"a", "b"},
		},
		{
			name: "delete makes room", maxEntries: 2, maxBytes: 1000,
			steps:    []step{{'s', "a", 1}, {'s', "b", 1}, {'d', "a", 0}, {'s', "c", 1}},
			wantKeys: []string{"b", "c"},
		},
		{
			name: "byte budget evicts several", maxEntries: 10, maxBytes: 100,
			steps:    []step{{'s', "a", 30}, {'s', "b", 30}, {'s', "c", 30}, {'s', "d", 70}},
			wantKeys: []string{"c", "d"}, wantEvicted: []string{"a:evicted", "b:evicted"},
		},
		{
			name: "growing overwrite evicts others", maxEntries: 10, maxBytes: 100,
			steps:    []step{{'s', "a", 40}, {'s', "b", 40}, {'s', "a", 61}},
			wantKeys: []string{"a"}, wantEvicted: []string{"b:evicted"},
		},
		{
			name: "entry of exactly the budget fits", maxEntries: 10, maxBytes: 100,
			steps:    []step{{'s', "a", 1}, {'s', "b", 100}},
			wantKeys: []string{"b"}, wantEvicted: []string{"a:evicted"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log evictLog
			tr := New(Options[string, int]{Shards: 1, MaxEntries: tt.maxEntries, MaxBytes: tt.maxBytes, OnEvict: log.OnEvict})
			for _, s := range tt.steps {
				switch s.op {
				case 's':
					require.True(t, tr.Set(s.key, 0, s.size, 0))
				case 'g':
					tr.Get(s.key)
				case 'd':
					tr.Delete(s.key)
				}
			}
			assert.Equal(t, tt.wantKeys, keysOf(tr))
			assert.Equal(t, tt.wantEvicted, log.Calls())
			assert.Equal(t, uint64(len(tt.wantEvicted)), tr.Stats().Evictions)
			checkInvariants(t, tr)
		})
	}
}

func TestBytesAccounting(t *testing.T) {
	var clock fakeClock
	tests := []struct {
		name        string
		run         func(tr *Tier[string, int])
		wantEntries int
		wantBytes   int64
	}{
		{"set", func(tr *Tier[string, int]) { tr.Set("a", 1, 10, 0); tr.Set("b", 1, 5, 0) }, 2, 15},
		{"overwrite larger", func(tr *Tier[string, int]) { tr.Set("a", 1, 10, 0); tr.Set("a", 2, 25, 0) }, 1, 25},
		{"overwrite smaller", func(tr *Tier[string, int]) { tr.Set("a", 1, 25, 0); tr.Set("a", 2, 10, 0) }, 1, 10},
		{"negative size counts as zero", func(tr *Tier[string, int]) { tr.Set("a", 1, -5, 0) }, 1, 0},
		{"delete", func(tr *Tier[string, int]) { tr.Set("a", 1, 10, 0); tr.Set("b", 1, 5, 0); tr.Delete("a") }, 1, 5},
		{"delete absent", func(tr *Tier[string, int]) { tr.Set("a", 1, 10, 0); tr.Delete("x") }, 1, 10},
		{"expired on get", func(tr *Tier[string, int]) {
			tr.Set("a", 1, 10, clock.Now()+1)
			tr.Set("b", 1, 5, 0)
			clock.Advance(1)
			tr.Get("a")
		}, 1, 5},
		{"sweep", func(tr *Tier[string, int]) {
			tr.Set("a", 1, 10, clock.Now()+1)
			tr.Set("b", 1, 5, clock.Now()+100)
			clock.Advance(1)
			tr.Sweep()
		}, 1, 5},
		{"evicted by bytes", func(tr *Tier[string, int]) {
			tr.Set("a", 1, 60, 0)
			tr.Set("b", 1, 30, 0)
			tr.Set("c", 1, 50, 0)
		}, 2, 80},
		{"evicted by entries", func(tr *Tier[string, int]) {
			for i := range 6 {
				tr.Set(fmt.Sprint(i), i, int64(i+1), 0)
			}
		}, 4, 3 + 4 + 5 + 6},
		{"oversize overwrite removes old", func(tr *Tier[string, int]) { tr.Set("a", 1, 10, 0); tr.Set("a", 2, 101, 0) }, 0, 0},
		{"delete func", func(tr *Tier[string, int]) {
			tr.Set("a", 1, 10, 0)
			tr.Set("b", 2, 5, 0)
			tr.DeleteFunc(func(_ string, v int) bool { return v == 1 })
		}, 1, 5},
		{"purge", func(tr *Tier[string, int]) { tr.Set("a", 1, 10, 0); tr.Purge() }, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := New(Options[string, int]{Shards: 1, MaxEntries: 4, MaxBytes: 100, Now: clock.Now})
			tt.run(tr)
			st := tr.Stats()
			assert.Equal(t, tt.wantEntries, st.Entries, "entries")
			assert.Equal(t, tt.wantBytes, st.Bytes, "bytes")
			assert.Equal(t, tt.wantEntries, tr.Len())
			checkInvariants(t, tr)
		})
	}
}

func TestExpiry(t *testing.T) {
	var clock fakeClock
	clock.ns.Store(1_000)
	var log evictLog
	tr := New(Options[string, int]{Shards: 1, MaxEntries: 10, Now: clock.Now, OnEvict: log.OnEvict})

	tr.Set("forever", 1, 1, 0)
	tr.Set("short", 2, 1, 1_010)
	tr.Set("long", 3, 1, 2_000)

	tests := []struct {
		advance int64
		key     string
		wantOK  bool
	}{
		{0, "short", true},
		{9, "short", true},   // now 1_009 < 1_010
		{1, "short", false},  // now 1_010: expiry is inclusive
		{0, "short", false},  // already removed
		{0, "long", true},    // now 1_010
		{990, "long", false}, // now 2_000
		{1e18, "forever", true},
	}
	for _, tt := range tests {
		clock.Advance(tt.advance)
		_, ok := tr.Get(tt.key)
		assert.Equal(t, tt.wantOK, ok, "Get(%q) at %d", tt.key, clock.Now())
	}
	assert.Equal(t, []string{"short:expired", "long:expired"}, log.Calls())
	assert.Equal(t, Stats{Hits: 4, Misses: 3, Expirations: 2, Entries: 1, Bytes: 1}, tr.Stats())
}

func TestExpiredEntryAtTailCountsAsExpired(t *testing.T) {
	var clock fakeClock
	var log evictLog
	tr := New(Options[string, int]{Shards: 1, MaxEntries: 2, Now: clock.Now, OnEvict: log.OnEvict})
	tr.Set("a", 1, 1, 5)
	tr.Set("b", 2, 1, 0)
	clock.Advance(5)
	tr.Set("c", 3, 1, 0) // pushes out a, which has expired
	tr.Set("d", 4, 1, 0) // pushes out b, which has not
	assert.Equal(t, []string{"a:expired", "b:evicted"}, log.Calls())
	st := tr.Stats()
	assert.Equal(t, uint64(1), st.Expirations)
	assert.Equal(t, uint64(1), st.Evictions)
}

func TestSweep(t *testing.T) {
	var clock fakeClock
	var log evictLog
	tr := New(Options[string, int]{Shards: 4, Now: clock.Now, OnEvict: log.OnEvict})
	for i := range 20 {
		exp := int64(0)
		if i%2 == 0 {
			exp = 10
		}
		tr.Set(fmt.Sprint(i), i, 1, exp)
	}
	assert.Zero(t, tr.Sweep(), "nothing has expired yet")
	clock.Advance(10)
	assert.Equal(t, 10, tr.Sweep())
	assert.Equal(t, 10, tr.Len())
	assert.Len(t, log.Calls(), 10)
	assert.Equal(t, uint64(10), tr.Stats().Expirations)
	checkInvariants(t, tr)
}

func TestOversize(t *testing.T) {
	var log evictLog
	tr := New(Options[string, int]{Shards: 2, MaxBytes: 200, OnEvict: log.OnEvict}) // 100 bytes per shard
	assert.True(t, tr.Set("a", 1, 100, 0), "exactly a shard's budget")
	assert.False(t, tr.Set("a", 2, 101, 0), "one byte over")
	_, ok := tr.Get("a")
	assert.False(t, ok, "the old value must not survive a refused overwrite")
	assert.False(t, tr.Set("b", 1, 1<<40, 0))
	assert.Zero(t, tr.Len())
	assert.Empty(t, log.Calls(), "a refused Set reports nothing")
	checkInvariants(t, tr)
}

func TestDeleteFuncAndPurge(t *testing.T) {
	tr := New(Options[string, int]{Shards: 4})
	for i := range 100 {
		tr.Set(fmt.Sprint(i), i, int64(i), 0)
	}
	assert.Equal(t, 50, tr.DeleteFunc(func(_ string, v int) bool { return v%2 == 1 }))
	assert.Equal(t, 50, tr.Len())
	checkInvariants(t, tr)
	for i := range 100 {
		_, ok := tr.Get(fmt.Sprint(i))
		assert.Equal(t, i%2 == 0, ok, "key %d", i)
	}
	tr.Purge()
	assert.Equal(t, Stats{Hits: 50, Misses: 50}, tr.Stats(), "Purge keeps the counters")
	assert.True(t, tr.Set("x", 1, 1, 0), "usable after Purge")
}

func TestReasonString(t *testing.T) {
	for r, want := range map[Reason]string{Evicted: "evicted", Expired: "expired", Removed: "removed", 0: "unknown"} {
		assert.Equal(t, want, r.String())
	}
}

func TestCountFunc(t *testing.T) {
	clock := &fakeClock{}
	tr := New(Options[string, int]{Shards: 4, Now: clock.Now})
	tr.Set("a1", 1, 1, 0)
	tr.Set("a2", 2, 1, 100)
	tr.Set("b1", 3, 1, 0)
	isA := func(k string, _ int) bool { return k[0] == 'a' }
	require.Equal(t, 2, tr.CountFunc(isA))
	clock.Advance(100)
	require.Equal(t, 1, tr.CountFunc(isA), "expired entries are not counted")
	require.Equal(t, 3, tr.Len(), "counting removes nothing")
}
