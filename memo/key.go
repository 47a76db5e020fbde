package memo

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"slices"
	"unsafe"
)

const (
	// keyDomain starts every hashed encoding. It names the format: a
	// future format hashes under another domain, so that its keys never
	// meet entries written by this one.
	keyDomain = "tiercache/memo key v1\x00"
	// customDomain starts the hashed form of a long custom key.
	customDomain = "tiercache/memo custom key v1\x00"
	// hashedKeyLen is how many base64url characters of the SHA-256 are
	// kept: 32 characters, 192 bits.
	hashedKeyLen = 32
	// maxKeptBuffer is the largest encoding buffer kept for reuse.
	maxKeptBuffer = 64 << 10
)

// MaxRawKeyLen is the longest custom key (from Keyer or NewKeyed's key
// function) used as it is; longer ones, and those starting with '#', are
// replaced by '#' and their hash, so that keys stay short.
const MaxRawKeyLen = 64

// encoder holds the state of one encoding: the buffer, which it reuses,
// and the path from the root, for cycle detection. It is not safe for
// concurrent use.
type encoder struct {
	k     *keyer
	buf   []byte
	depth int
	path  map[visit]struct{}
}

// visit is a pointer, slice or map on the path being encoded. Meeting the
// same one again below itself means the encoding would never end.
type visit struct {
	p unsafe.Pointer
	n int
	t reflect.Type
}

// hashKey encodes the value at p (of the keyer's root type) and returns
// its hashed key.
func (e *encoder) hashKey(k *keyer, p unsafe.Pointer) (string, error) {
	e.k, e.depth = k, 0
	if len(e.path) > 0 { // left over by an error
		clear(e.path)
	}
	e.buf = append(e.buf[:0], keyDomain...)
	err := k.root(e, p)
	key := ""
	if err == nil {
		key = hashed(e.buf)
	}
	if cap(e.buf) > maxKeptBuffer {
		e.buf = nil
	}
	return key, err
}

// hashed returns the first hashedKeyLen base64url characters of the
// SHA-256 of b.
func hashed(b []byte) string {
	sum := sha256.Sum256(b)
	var out [43]byte // base64 of 32 bytes, unpadded
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:hashedKeyLen])
}

// customKey returns the cache key for a key chosen by the caller: the key
// itself when it is short and does not start with '#', else '#' and its
// hash.
func customKey(k string) string {
	if len(k) > 0 && len(k) <= MaxRawKeyLen && k[0] != '#' {
		return k
	}
	return "#" + hashed(append([]byte(customDomain), k...))
}

// push enters a pointer, slice, map or interface. With t nil it only
// counts the depth.
func (e *encoder) push(p unsafe.Pointer, n int, t reflect.Type) error {
	e.depth++
	if e.depth > maxDepth {
		return fmt.Errorf("%w: nested deeper than %d", ErrUnhashableArgument, maxDepth)
	}
	if e.depth <= cycleCheckDepth || t == nil {
		return nil
	}
	v := visit{p, n, t}
	if _, seen := e.path[v]; seen {
		return fmt.Errorf("%w: a %s contains itself", ErrUnhashableArgument, t)
	}
	if e.path == nil {
		e.path = make(map[visit]struct{})
	}
	e.path[v] = struct{}{}
	return nil
}

// pop leaves what push entered.
func (e *encoder) pop(p unsafe.Pointer, n int, t reflect.Type) {
	if e.depth > cycleCheckDepth && t != nil {
		delete(e.path, visit{p, n, t})
	}
	e.depth--
}

func (e *encoder) str(s string) {
	e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// float appends f's bits, with -0 as +0 and every NaN as one NaN.
func (e *encoder) float(f float64) {
	bits := math.Float64bits(f)
	switch {
	case f == 0:
		bits = 0
	case f != f:
		bits = canonicalNaN
	}
	e.buf = binary.BigEndian.AppendUint64(e.buf, bits)
}

// entry is the span of one encoded map entry in the buffer.
type entry struct{ start, mid, end int }

// mapping encodes a map's entries sorted by their encoded keys (then by
// their encoded values, for keys that encode alike such as NaNs). A nil
// map encodes as an empty one.
func (pl *planner) mapping(t reflect.Type) (encFn, error) {
	kfn, err := pl.plan(t.Key())
	if err != nil {
		return nil, err
	}
	vfn, err := pl.plan(t.Elem())
	if err != nil {
		return nil, err
	}
	return func(e *encoder, p unsafe.Pointer) error {
		m := reflect.NewAt(t, p).Elem()
		n := m.Len()
		e.buf = append(e.buf, tagMap)
		e.buf = binary.AppendUvarint(e.buf, uint64(n))
		if n == 0 {
			return nil
		}
		mp := m.UnsafePointer()
		if err := e.push(mp, 0, t); err != nil {
			return err
		}
		defer e.pop(mp, 0, t)
		// Addressable copies of each key and value, to encode from memory.
		kc, vc := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		kp, vp := kc.Addr().UnsafePointer(), vc.Addr().UnsafePointer()
		start := len(e.buf)
		entries := make([]entry, 0, n)
		for it := m.MapRange(); it.Next(); {
			kc.SetIterKey(it)
			vc.SetIterValue(it)
			en := entry{start: len(e.buf)}
			if err := kfn(e, kp); err != nil {
				return err
			}
			en.mid = len(e.buf)
			if err := vfn(e, vp); err != nil {
				return err
			}
			en.end = len(e.buf)
			entries = append(entries, en)
		}
		b := e.buf
		slices.SortFunc(entries, func(x, y entry) int {
			if c := bytes.Compare(b[x.start:x.mid], b[y.start:y.mid]); c != 0 {
				return c
			}
			return bytes.Compare(b[x.mid:x.end], b[y.mid:y.end])
		})
		sorted := make([]byte, 0, len(b)-start)
		for _, en := range entries {
			sorted = append(sorted, b[en.start:en.end]...)
		}
		e.buf = append(b[:start], sorted...)
		return nil
	}, nil
}
