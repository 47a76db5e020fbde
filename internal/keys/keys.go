// Package keys names Redis keys and computes Redis Cluster hash slots, so
// that batch operations can group keys by slot.
package keys

import (
	"strings"
	"sync"
)

// SlotCount is the number of Redis Cluster hash slots.
const SlotCount = 16384

// Slot returns the Redis Cluster hash slot of key: CRC16 (XMODEM) of the key,
// or of its hash tag (the part between the first '{' and the next '}', when
// that part is not empty), modulo 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return int(crc16(key) % SlotCount)
}

// crc16 is CRC-16/XMODEM (polynomial 0x1021, initial value 0), the checksum
// Redis Cluster specifies for key slots.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// SlotTag returns a short hash tag of slot (0 <= slot < SlotCount): any key
// containing "{" + SlotTag(slot) + "}" before any other '{' hashes to slot.
// The tags are alphanumeric, at most three bytes long, and the same in every
// process.
func SlotTag(slot int) string { return slotTags()[slot] }

// slotTags finds, for every slot, the first alphanumeric string (shortest
// first) that hashes to it.
var slotTags = sync.OnceValue(func() *[SlotCount]string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var tags [SlotCount]string
	left := SlotCount
	var try func(prefix []byte, n int)
	try = func(prefix []byte, n int) {
		if n == 0 {
			if s := crc16(string(prefix)) % SlotCount; tags[s] == "" {
				tags[s] = string(prefix)
				left--
			}
			return
		}
		for i := 0; i < len(alphabet) && left > 0; i++ {
			try(append(prefix, alphabet[i]), n-1)
		}
	}
	for n := 1; left > 0; n++ {
		try(make([]byte, 0, n), n)
	}
	return &tags
})

// GroupBySlot returns the indexes of keys grouped by hash slot, in the order
// each slot is first seen; the indexes within a group keep their order.
func GroupBySlot(keys []string) [][]int {
	bySlot := make(map[int]int, 4) // slot -> index in groups
	var groups [][]int
	for i, k := range keys {
		s := Slot(k)
		g, ok := bySlot[s]
		if !ok {
			g = len(groups)
			bySlot[s] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

// EscapeGlob escapes the characters that SCAN's MATCH pattern treats
// specially (* ? [ ] \) so that s matches only itself.
func EscapeGlob(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
