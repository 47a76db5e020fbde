package keys

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tiercache/tiercache/internal/redistest"
)

func TestSlotKnownValues(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	require.Equal(t, 12739, Slot("123456789"))
	require.Equal(t, Slot("user1000"), Slot("{user1000}.following"))
	require.Equal(t, Slot("foo{}{bar}"), Slot("foo{}{bar}"))
	require.NotEqual(t, Slot("bar"), Slot("foo{}{bar}"), "an empty tag hashes the whole key")
	require.Equal(t, Slot("{bar"), Slot("{bar"))
}

func TestSlotMatchesRedis(t *testing.T) {
	ctx := context.Background()
	c := redistest.StartCluster(t).Client(t)
	for i := range 200 {
		k := fmt.Sprintf("tc:ns:{k%d}x%d", i%7, i)
		if i%3 == 0 {
			k = fmt.Sprintf("plain-%d", i)
		}
		want, err := c.ClusterKeySlot(ctx, k).Result()
		require.NoError(t, err)
		require.Equal(t, int(want), Slot(k), "key %q", k)
	}
	for slot := 0; slot < SlotCount; slot += 97 {
		got, err := c.ClusterKeySlot(ctx, "{"+SlotTag(slot)+"}tc:invalidate").Result()
		require.NoError(t, err)
		require.Equal(t, slot, int(got), "tag %q", SlotTag(slot))
	}
}

func TestSlotTag(t *testing.T) {
	seen := map[string]bool{}
	for slot := range SlotCount {
		tag := SlotTag(slot)
		require.NotEmpty(t, tag)
		require.LessOrEqual(t, len(tag), 3)
		require.NotContains(t, tag, "{")
		require.NotContains(t, tag, "}")
		require.False(t, seen[tag], "tag %q used twice", tag)
		seen[tag] = true
		require.Equal(t, slot, Slot("{"+tag+"}p{x}:invalidate"))
	}
}

func TestGroupBySlot(t *testing.T) {
	keys := []string{"{a}1", "{b}1", "{a}2", "{b}2", "{c}"}
	require.Equal(t, [][]int{{0, 2}, {1, 3}, {4}}, GroupBySlot(keys))
}

func TestEscapeGlob(t *testing.T) {
	require.Equal(t, "plain", EscapeGlob("plain"))
	require.Equal(t, `a\*b\?c\[d\]e\\`, EscapeGlob(`a*b?c[d]e\`))
}
