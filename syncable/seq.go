package syncable

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"io"
	"reflect"

	"github.com/tiercache/tiercache/codec"
)

// seq is what List and Deque share: the in-memory ring, the elements Redis
// held at the last Load or Sync (encoded), and how to sync one with the
// other.
//
// A Sync encodes every element and finds the longest run of elements that
// are still those of the last Load or Sync, in order (their origins
// consecutive). Redis then needs: the elements before that run dropped
// from the left and those after it from the right (one LTRIM), the run's
// elements whose encoding changed replaced (LSET), and the elements around
// the run pushed (LPUSH, RPUSH). That covers the usual edits, pushes and
// pops at either end, with a payload of the pushed and replaced elements
// only; edits in the middle (Insert, Sort) make the run shorter and the
// pushes longer, down to a rewrite of the whole list.
type seq[T any] struct {
	b    base
	c    codec.Codec[T]
	r    ring[T]
	snap []string // the list in Redis at the last Load or Sync, encoded
	// plain is true when T holds no references (see plain): an element
	// from the snapshot that was not replaced still encodes to its
	// snapshot string, so a Sync encodes only the new and replaced ones.
	plain bool
}

func newSeq[T any](b base, c codec.Codec[T]) seq[T] {
	return seq[T]{b: b, c: c, plain: plain(reflect.TypeFor[T]())}
}

// load replaces the ring with the list's content, keeping at most keep
// elements from the right when keep > 0 (a Deque's MaxLen).
func (s *seq[T]) load(ctx context.Context, keep int) error {
	var vals []T
	var raws []string
	version, err := s.b.load(ctx, 1, func(n int) {
		vals, raws = make([]T, 0, n), make([]string, 0, n)
	}, func(g []string) error {
		v, err := s.c.Decode([]byte(g[0]))
		if err != nil {
			return decodeError(s.b.key, g[0], err)
		}
		vals = append(vals, v)
		raws = append(raws, g[0])
		return nil
	})
	if err != nil {
		return err
	}
	s.r.clear()
	from := 0
	if keep > 0 && len(vals) > keep {
		from = len(vals) - keep
	}
	for i := from; i < len(vals); i++ {
		s.r.pushBack(elem[T]{v: vals[i], origin: i})
	}
	s.snap = raws
	s.b.loaded(version)
	return nil
}

func (s *seq[T]) sync(ctx context.Context, overwrite bool) error {
	op := "sync"
	if overwrite {
		op = "sync overwrite"
	}
	return s.b.sync(ctx, op, listSyncSrc, overwrite, s.plan)
}

// plan computes the arguments of list_sync.lua from ARGV[4] on.
func (s *seq[T]) plan(overwrite bool) (*plan, error) {
	n := s.r.len()
	cur := make([]string, n)
	var buf []byte
	for i := range n {
		e := s.r.at(i)
		if s.plain && e.origin >= 0 && !e.changed {
			cur[i] = s.snap[e.origin]
			continue
		}
		var err error
		if buf, err = s.c.Append(buf[:0], e.v); err != nil {
			return nil, encodeError(s.b.key, err)
		}
		cur[i] = string(buf)
	}
	commit := func(later bool) {
		s.snap = cur
		// Right after the Sync, the ring is what was sent; later it may
		// not be, and no element is known to be in Redis's list.
		for i := range s.r.len() {
			e := s.r.at(i)
			e.origin, e.changed = i, false
			if later {
				e.origin = -1
			}
		}
	}
	if overwrite {
		args := []any{0, 0, "", 0, "", 0, 0, n}
		for _, e := range cur {
			args = append(args, e)
		}
		return &plan{args: args, commit: commit}, nil
	}

	// The longest run of consecutive origins: ring positions [at, at+size)
	// holding snap[from:from+size].
	at, size := 0, 0
	for i := 0; i < n; {
		o := s.r.at(i).origin
		if o < 0 {
			i++
			continue
		}
		j := i + 1
		for j < n && s.r.at(j).origin == o+(j-i) {
			j++
		}
		if j-i > size {
			at, size = i, j-i
		}
		i = j
	}
	from := 0
	if size > 0 {
		from = s.r.at(at).origin
	}
	dropL, dropR := from, len(s.snap)-from-size
	if size == 0 { // nothing kept: drop it all, push it all on the right
		dropL, dropR, at = len(s.snap), 0, 0
	}
	var sets []any
	for k := range size {
		if old := s.snap[from+k]; cur[at+k] != old {
			sets = append(sets, from+k, old, cur[at+k])
		}
	}
	left, right := cur[:at], cur[at+size:]
	args := make([]any, 0, 8+len(sets)+len(left)+len(right))
	args = append(args, len(s.snap),
		dropL, digest(s.snap[:dropL]), dropR, digest(s.snap[len(s.snap)-dropR:]),
		len(sets)/3, len(left), len(right))
	args = append(args, sets...)
	for i := len(left) - 1; i >= 0; i-- { // LPUSH order: the first ends up last pushed
		args = append(args, left[i])
	}
	for _, e := range right {
		args = append(args, e)
	}
	return &plan{args: args, commit: commit}, nil
}

// digest is what list_sync.lua compares dropped elements by:
// sha1hex(cmsgpack.pack(elems)), the SHA-1 in hex of the MessagePack
// array of the elements as strings; "" for none.
func digest(elems []string) string {
	if len(elems) == 0 {
		return ""
	}
	h := sha1.New()
	var hdr [5]byte
	n := len(elems)
	switch {
	case n <= 15:
		hdr[0] = 0x90 | byte(n)
		h.Write(hdr[:1])
	case n <= 0xffff:
		hdr[0] = 0xdc
		binary.BigEndian.PutUint16(hdr[1:], uint16(n))
		h.Write(hdr[:3])
	default:
		hdr[0] = 0xdd
		binary.BigEndian.PutUint32(hdr[1:], uint32(n))
		h.Write(hdr[:5])
	}
	for _, e := range elems {
		l := len(e)
		switch {
		case l < 32:
			hdr[0] = 0xa0 | byte(l)
			h.Write(hdr[:1])
		case l <= 0xff:
			hdr[0], hdr[1] = 0xd9, byte(l)
			h.Write(hdr[:2])
		case l <= 0xffff:
			hdr[0] = 0xda
			binary.BigEndian.PutUint16(hdr[1:], uint16(l))
			h.Write(hdr[:3])
		default:
			hdr[0] = 0xdb
			binary.BigEndian.PutUint32(hdr[1:], uint32(l))
			h.Write(hdr[:5])
		}
		_, _ = io.WriteString(h, e)
	}
	return hex.EncodeToString(h.Sum(nil))
}
