package memo

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"
	"unsafe"
)

// fuzzStruct gives the fuzzer structs, unexported fields and named types.
type fuzzStruct struct {
	A   any
	B   string
	c   int32
	T   time.Time
	Ptr *fuzzStruct
}

// builder turns fuzz bytes into a value. Two builders reading the same
// bytes build equal values; the variant builds them differently where the
// key must not see it: maps filled in reverse order, -0 for 0, another NaN,
// times in another zone, separate allocations.
type builder struct {
	data    []byte
	variant bool
}

func (b *builder) byte() byte {
	if len(b.data) == 0 {
		return 0
	}
	c := b.data[0]
	b.data = b.data[1:]
	return c
}

func (b *builder) u64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = b.byte()
	}
	return binary.LittleEndian.Uint64(buf[:])
}

func (b *builder) str() string {
	n := int(b.byte() % 8)
	s := make([]byte, n)
	for i := range s {
		s[i] = b.byte()
	}
	return string(s)
}

func (b *builder) float() float64 {
	f := math.Float64frombits(b.u64())
	if b.variant {
		switch {
		case f == 0:
			f = math.Copysign(0, -1)
		case f != f:
			f = math.Float64frombits(0xfff0_0000_0000_0bad)
		}
	}
	return f
}

func (b *builder) time() time.Time {
	t := time.Unix(int64(b.u64()%(1<<40))-1<<39, int64(b.u64()%1e9))
	if b.variant {
		return t.In(time.FixedZone("v", 5*3600+1800))
	}
	return t.UTC()
}

func (b *builder) value(depth int) any {
	if depth > 6 {
		return int64(b.byte())
	}
	n := int(b.byte() % 4)
	switch b.byte() % 17 {
	case 0:
		return nil
	case 1:
		return int64(b.u64())
	case 2:
		return uint8(b.byte())
	case 3:
		return b.float()
	case 4:
		return b.str()
	case 5:
		s := make([]any, n)
		for i := range s {
			s[i] = b.value(depth + 1)
		}
		return s
	case 6:
		return b.mapOf(n, depth, func() string { return b.str() })
	case 7:
		return b.mapOf(n, depth, func() int64 { return int64(b.byte()) - 128 })
	case 8:
		p := new(any)
		*p = b.value(depth + 1)
		return p
	case 9:
		s := &fuzzStruct{A: b.value(depth + 1), B: b.str(), c: int32(b.u64()), T: b.time()}
		if b.byte()%2 == 0 {
			s.Ptr = &fuzzStruct{B: b.str()}
		}
		return *s
	case 10:
		return b.time()
	case 11:
		return []byte(b.str())
	case 12:
		return func() {} // unhashable
	case 13:
		return b.byte()%2 == 0
	case 14:
		return complex(b.float(), b.float())
	case 15:
		return [2]any{b.value(depth + 1), b.value(depth + 1)}
	default:
		return map[float64]bool{b.float(): true}
	}
}

// mapOf builds a map of n entries, keys drawn by key; a key drawn twice
// keeps its first value, whatever the order of insertion.
func mapOf[K comparable](b *builder, n, depth int, key func() K) map[K]any {
	type kv struct {
		k K
		v any
	}
	var entries []kv
	seen := map[K]bool{}
	for range n {
		k, v := key(), b.value(depth+1)
		if !seen[k] {
			seen[k] = true
			entries = append(entries, kv{k, v})
		}
	}
	if b.variant {
		slices.Reverse(entries)
	}
	m := make(map[K]any, len(entries))
	for _, e := range entries {
		m[e.k] = e.v
	}
	return m
}

func (b *builder) mapOf(n, depth int, key any) any {
	switch key := key.(type) {
	case func() string:
		return mapOf(b, n, depth, key)
	default:
		return mapOf(b, n, depth, key.(func() int64))
	}
}

// FuzzKey checks that encoding arbitrary values never panics, that an
// error is always ErrUnhashableArgument, and that equal values (built
// apart, differently) have equal keys.
func FuzzKey(f *testing.F) {
	for _, seed := range [][]byte{
		{}, {1, 2, 3}, {5, 4, 6, 3, 4, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0},
		{9, 9, 3, 0, 0, 0, 0, 0, 0, 0, 0x80, 2, 'a', 'b'},
		{6, 3, 2, 'k', '1', 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf8, 0x7f, 2, 'k', '2', 12},
	} {
		f.Add(seed)
	}
	k, err := newKeyer(reflect.TypeFor[any]())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v1 := (&builder{data: data}).value(0)
		v2 := (&builder{data: data, variant: true}).value(0)
		var e1, e2 encoder
		k1, err1 := e1.hashKey(k, unsafe.Pointer(&v1))
		k2, err2 := e2.hashKey(k, unsafe.Pointer(&v2))
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("one build encodes, the other fails: %v / %v", err1, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, ErrUnhashableArgument) {
				t.Fatalf("error %v is not ErrUnhashableArgument", err1)
			}
			return
		}
		if k1 != k2 {
			t.Fatalf("equal values, different keys:\n%#v\n%#v", v1, v2)
		}
		if len(k1) != hashedKeyLen {
			t.Fatalf("key %q is not %d long", k1, hashedKeyLen)
		}
	})
}
