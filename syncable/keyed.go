package syncable

import (
	"fmt"
	"reflect"

	"github.com/tiercache/tiercache/codec"
)

// What the hash-backed types (Dict, DefaultDict, Counter) and Set share: the
// snapshot of what Redis held at the last Load or Sync, as encoded fields
// (members) and values, and the diff of the in-memory state against it.

// snapEntry is the encoded value Redis holds for one field ("" for a set
// member), and the diff generation that last visited it.
type snapEntry struct {
	raw  string
	seen uint64
}

// keyedSnap is the state a hash or set had in Redis at the last Load or
// Sync: encoded field (member) -> encoded value.
type keyedSnap struct {
	m     map[string]*snapEntry
	epoch uint64
}

func newKeyedSnap(n int) keyedSnap { return keyedSnap{m: make(map[string]*snapEntry, n)} }

// keyedDelta is the difference between the in-memory state and the
// snapshot, encoded.
type keyedDelta struct {
	addF, addV           []string
	modF, modOld, modNew []string
	delF, delOld         []string
}

// keyedSource is how keyedPlan reads the in-memory entries.
type keyedSource struct {
	// all calls visit with the encoded field and value of every entry (a
	// nil value for a set member), and returns the first error of the
	// encoding or of visit.
	all func(visit func(f, v []byte, present bool) error) error
	// changed, when not nil, calls visit only for the keys written since
	// the snapshot (present false for a key no longer held): enough to
	// find every change, because nothing else can change them.
	changed func(visit func(f, v []byte, present bool) error) error
}

// keyedPlan computes the plan of a Sync of a hash (kind "hash") or set
// (kind "set") against s. With overwrite the plan writes every entry and
// checks nothing. done runs after the plan's commit made the state sent
// the snapshot.
func keyedPlan(s *keyedSnap, key, kind string, overwrite bool, src keyedSource, done func()) (*plan, error) {
	if overwrite {
		return keyedOverwrite(s, key, kind, src, done)
	}
	s.epoch++
	epoch := s.epoch
	var d keyedDelta
	var added map[string]struct{} // to refuse two entries encoded alike
	matched := 0
	visit := func(f, v []byte, present bool) error {
		e, ok := s.m[string(f)]
		switch {
		case ok && e.seen == epoch:
			return duplicate(key, f)
		case ok && !present:
			e.seen = epoch
			d.delF = append(d.delF, string(f))
			d.delOld = append(d.delOld, e.raw)
		case ok:
			e.seen = epoch
			matched++
			if e.raw != string(v) {
				d.modF = append(d.modF, string(f))
				d.modOld = append(d.modOld, e.raw)
				d.modNew = append(d.modNew, string(v))
			}
		case present:
			fs := string(f)
			if added == nil {
				added = make(map[string]struct{})
			}
			if _, dup := added[fs]; dup {
				return duplicate(key, f)
			}
			added[fs] = struct{}{}
			d.addF = append(d.addF, fs)
			d.addV = append(d.addV, string(v))
		}
		return nil
	}
	if src.changed != nil {
		if err := src.changed(visit); err != nil {
			return nil, err
		}
	} else {
		if err := src.all(visit); err != nil {
			return nil, err
		}
		if matched < len(s.m) { // some entries of the snapshot are gone
			for f, e := range s.m {
				if e.seen != epoch {
					d.delF = append(d.delF, f)
					d.delOld = append(d.delOld, e.raw)
				}
			}
		}
	}
	hash := kind == "hash"
	args := make([]any, 0, 5+2*len(d.addF)+3*len(d.modF)+2*len(d.delF))
	args = append(args, len(s.m), kind, len(d.addF), len(d.modF), len(d.delF))
	for i, f := range d.addF {
		args = append(args, f)
		if hash {
			args = append(args, d.addV[i])
		}
	}
	for i, f := range d.modF {
		args = append(args, f, d.modOld[i], d.modNew[i])
	}
	for i, f := range d.delF {
		args = append(args, f)
		if hash {
			args = append(args, d.delOld[i])
		}
	}
	return &plan{args: args, commit: func(later bool) {
		s.apply(&d)
		if !later {
			done()
		}
	}}, nil
}

// keyedOverwrite is keyedPlan with overwrite: every entry, as additions.
func keyedOverwrite(s *keyedSnap, key, kind string, src keyedSource, done func()) (*plan, error) {
	next := newKeyedSnap(len(s.m))
	args := []any{0, kind, 0, 0, 0}
	err := src.all(func(f, v []byte, _ bool) error {
		if _, dup := next.m[string(f)]; dup {
			return duplicate(key, f)
		}
		e := &snapEntry{raw: string(v)}
		fs := string(f)
		next.m[fs] = e
		args = append(args, fs)
		if kind == "hash" {
			args = append(args, e.raw)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	args[2] = len(next.m)
	return &plan{args: args, commit: func(later bool) {
		*s = next
		if !later {
			done()
		}
	}}, nil
}

// apply makes the snapshot what Redis holds once d was written.
func (s *keyedSnap) apply(d *keyedDelta) {
	for i, f := range d.addF {
		s.m[f] = &snapEntry{raw: d.addV[i], seen: s.epoch}
	}
	for i, f := range d.modF {
		if e := s.m[f]; e != nil {
			e.raw = d.modNew[i]
		}
	}
	for _, f := range d.delF {
		delete(s.m, f)
	}
}

// duplicate is the error for two in-memory entries that encode to field f.
func duplicate(key string, f []byte) error {
	return fmt.Errorf("%w: key %q: two entries encode to %q", ErrEncode, key, f)
}

// tracker records the keys of a map written since its snapshot, so that a
// Sync encodes those only. It is on only for key and value types that hold
// no references (see plain): then nothing but a write through the
// collection's methods can change what an entry encodes to. Otherwise, or
// when it gave up, keys is nil and a Sync encodes every entry.
type tracker[K comparable] struct {
	on   bool
	keys map[K]struct{}
	max  int // beyond this many keys, encoding everything costs no more
}

// mark records a write of k.
func (t *tracker[K]) mark(k K) {
	if t.keys == nil {
		return
	}
	t.keys[k] = struct{}{}
	if len(t.keys) > t.max {
		t.keys = nil
	}
}

// reset starts tracking against a snapshot of n entries: an empty one
// makes every entry an addition, which a scan finds as cheaply.
func (t *tracker[K]) reset(n int) {
	t.keys = nil
	if t.on && n > 0 {
		t.keys = make(map[K]struct{})
		t.max = max(n/2, 64)
	}
}

// forget makes the next Sync encode every entry.
func (t *tracker[K]) forget() { t.keys = nil }

// mapSource is the keyedSource of m, its keys encoded with kc and its
// values with enc (nil for a set: no values), with the writes t tracked.
func mapSource[K comparable, V any](key string, m map[K]V, t *tracker[K], kc codec.Codec[K], enc func([]byte, V) ([]byte, error)) keyedSource {
	var fb, vb []byte
	one := func(k K, v V, present bool, visit func(f, v []byte, present bool) error) error {
		var err error
		if fb, err = kc.Append(fb[:0], k); err != nil {
			return encodeError(key, err)
		}
		vb = vb[:0]
		if enc != nil && present {
			if vb, err = enc(vb, v); err != nil {
				return encodeError(key, err)
			}
		}
		return visit(fb, vb, present)
	}
	src := keyedSource{all: func(visit func(f, v []byte, present bool) error) error {
		for k, v := range m {
			if err := one(k, v, true, visit); err != nil {
				return err
			}
		}
		return nil
	}}
	if t.keys != nil {
		src.changed = func(visit func(f, v []byte, present bool) error) error {
			for k := range t.keys {
				v, ok := m[k]
				if err := one(k, v, ok, visit); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return src
}

// plain reports whether a value of type t holds no references, so that a
// copy of it cannot change behind the collection's back, and whether every
// part of it is encoded (no unexported struct fields, which encoders skip,
// making distinct keys encode alike): booleans, numbers, strings, and
// arrays and structs of those.
func plain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return plain(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); !f.IsExported() || !plain(f.Type) {
				return false
			}
		}
		return true
	}
	return false
}

// plainTypes reports whether every type argument is plain.
func plainTypes(ts ...reflect.Type) bool {
	for _, t := range ts {
		if !plain(t) {
			return false
		}
	}
	return true
}
