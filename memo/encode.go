package memo

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// The canonical encoding of an argument (the format the package doc
// specifies). Each value starts with a tag byte naming how it is encoded.
const (
	tagNil     = 'n' // nil pointer or nil interface
	tagBool    = 'b' // 1 byte: 0 or 1
	tagInt     = 'i' // 8 bytes big-endian: the value as int64
	tagUint    = 'u' // 8 bytes big-endian: the value as uint64
	tagFloat   = 'f' // 8 bytes big-endian: float64 bits, canonicalised
	tagComplex = 'c' // two floats: real, imaginary
	tagString  = 's' // uvarint length, bytes
	tagBytes   = 'y' // slice or array of a uint8 kind: uvarint length, bytes
	tagList    = 'l' // other slice or array: uvarint length, elements
	tagMap     = 'm' // uvarint length, entries sorted by encoded key
	tagPointer = 'p' // the pointee
	tagStruct  = 'r' // uvarint field count, (name, value) sorted by name
	tagIface   = 'e' // dynamic type name (uvarint length, bytes), value
	tagTime    = 't' // 8 bytes unix seconds, 4 bytes nanoseconds, big-endian
	tagZone    = 'z' // time.Location: its name (uvarint length, bytes)
)

const (
	// maxDepth bounds how many pointers, slices, maps and interfaces an
	// argument may nest, so that a long linked list is an error rather
	// than a stack too deep.
	maxDepth = 10_000
	// cycleCheckDepth is the depth from which the encoder records what it
	// visits to detect cycles: shallow arguments never pay for the map.
	cycleCheckDepth = 64
	// canonicalNaN is the bit pattern every NaN is encoded as.
	canonicalNaN = 0x7ff8_0000_0000_0000
)

var (
	timeType     = reflect.TypeFor[time.Time]()
	locationType = reflect.TypeFor[time.Location]()
)

// encFn appends the encoding of the value of its plan's type at p.
type encFn func(e *encoder, p unsafe.Pointer) error

// keyer encodes values of one root type. Plans of the dynamic types met in
// interfaces are built on first use and kept. A keyer is safe for
// concurrent use; encoders are not.
type keyer struct {
	root  encFn
	plans sync.Map // reflect.Type -> *dynPlan
}

// dynPlan is the plan of a dynamic type met in an interface.
type dynPlan struct {
	fn   encFn
	name string
}

// newKeyer returns a keyer for values of type t, or an error wrapping
// ErrUnhashableArgument if t holds a kind that cannot be encoded.
func newKeyer(t reflect.Type) (*keyer, error) {
	k := &keyer{}
	fn, err := k.build(t)
	if err != nil {
		return nil, err
	}
	k.root = fn
	return k, nil
}

// dynamic returns the plan for a type met in an interface.
func (k *keyer) dynamic(t reflect.Type) (*dynPlan, error) {
	if p, ok := k.plans.Load(t); ok {
		return p.(*dynPlan), nil
	}
	fn, err := k.build(t)
	if err != nil {
		return nil, err
	}
	p, _ := k.plans.LoadOrStore(t, &dynPlan{fn: fn, name: typeName(t)})
	return p.(*dynPlan), nil
}

// build compiles the plan of t.
func (k *keyer) build(t reflect.Type) (encFn, error) {
	pl := planner{k: k, pending: make(map[reflect.Type]*encFn)}
	return pl.plan(t)
}

// planner compiles plans, following recursive types through forwarding
// functions.
type planner struct {
	k       *keyer
	pending map[reflect.Type]*encFn // plans being built, for recursive types
}

func (pl *planner) plan(t reflect.Type) (encFn, error) {
	if slot, ok := pl.pending[t]; ok {
		// A recursive type: call the plan once it is complete.
		return func(e *encoder, p unsafe.Pointer) error { return (*slot)(e, p) }, nil
	}
	slot := new(encFn)
	pl.pending[t] = slot
	fn, err := pl.make(t)
	if err != nil {
		return nil, err
	}
	*slot = fn
	return fn, nil
}

func (pl *planner) make(t reflect.Type) (encFn, error) {
	switch {
	case t.Kind() == reflect.Struct && t.ConvertibleTo(timeType):
		return encTime, nil
	case t == locationType:
		// By name: its other fields include lookup caches that change.
		return encLocation, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return encBool, nil
	case reflect.Int:
		return encInt[int], nil
	case reflect.Int8:
		return encInt[int8], nil
	case reflect.Int16:
		return encInt[int16], nil
	case reflect.Int32:
		return encInt[int32], nil
	case reflect.Int64:
		return encInt[int64], nil
	case reflect.Uint:
		return encUint[uint], nil
	case reflect.Uint8:
		return encUint[uint8], nil
	case reflect.Uint16:
		return encUint[uint16], nil
	case reflect.Uint32:
		return encUint[uint32], nil
	case reflect.Uint64:
		return encUint[uint64], nil
	case reflect.Float32:
		return encFloat32, nil
	case reflect.Float64:
		return encFloat64, nil
	case reflect.Complex64:
		return encComplex64, nil
	case reflect.Complex128:
		return encComplex128, nil
	case reflect.String:
		return encString, nil
	case reflect.Pointer:
		return pl.pointer(t)
	case reflect.Slice, reflect.Array:
		return pl.list(t)
	case reflect.Map:
		return pl.mapping(t)
	case reflect.Struct:
		return pl.structure(t)
	case reflect.Interface:
		return encInterface(t), nil
	default: // Func, Chan, UnsafePointer, Uintptr
		return nil, fmt.Errorf("%w: %s is a %s", ErrUnhashableArgument, t, t.Kind())
	}
}

func (pl *planner) pointer(t reflect.Type) (encFn, error) {
	elem, err := pl.plan(t.Elem())
	if err != nil {
		return nil, err
	}
	return func(e *encoder, p unsafe.Pointer) error {
		q := *(*unsafe.Pointer)(p)
		if q == nil {
			e.buf = append(e.buf, tagNil)
			return nil
		}
		e.buf = append(e.buf, tagPointer)
		if err := e.push(q, 0, t); err != nil {
			return err
		}
		err := elem(e, q)
		e.pop(q, 0, t)
		return err
	}, nil
}

// list encodes slices and arrays. A nil slice encodes as an empty one.
func (pl *planner) list(t reflect.Type) (encFn, error) {
	isSlice := t.Kind() == reflect.Slice
	data := func(p unsafe.Pointer) (unsafe.Pointer, int) {
		if isSlice {
			s := *(*[]byte)(p) // every slice header has this layout
			return unsafe.Pointer(unsafe.SliceData(s)), len(s)
		}
		return p, t.Len()
	}
	if t.Elem().Kind() == reflect.Uint8 {
		return func(e *encoder, p unsafe.Pointer) error {
			d, n := data(p)
			e.buf = append(e.buf, tagBytes)
			e.buf = binary.AppendUvarint(e.buf, uint64(n))
			if n > 0 {
				e.buf = append(e.buf, unsafe.Slice((*byte)(d), n)...)
			}
			return nil
		}, nil
	}
	elem, err := pl.plan(t.Elem())
	if err != nil {
		return nil, err
	}
	size := t.Elem().Size()
	return func(e *encoder, p unsafe.Pointer) error {
		d, n := data(p)
		e.buf = append(e.buf, tagList)
		e.buf = binary.AppendUvarint(e.buf, uint64(n))
		if n == 0 {
			return nil
		}
		if isSlice {
			if err := e.push(d, n, t); err != nil {
				return err
			}
			defer e.pop(d, n, t)
		}
		for i := range n {
			if err := elem(e, unsafe.Add(d, uintptr(i)*size)); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

// field is one encoded field of a struct.
type field struct {
	name string
	off  uintptr
	fn   encFn
}

// structure encodes a struct's fields sorted by name, unexported ones
// included; blank fields and fields tagged `memo:"-"` are left out.
func (pl *planner) structure(t reflect.Type) (encFn, error) {
	var fields []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Name == "_" || sf.Tag.Get("memo") == "-" {
			continue
		}
		fn, err := pl.plan(sf.Type)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", t, sf.Name, err)
		}
		fields = append(fields, field{name: sf.Name, off: sf.Offset, fn: fn})
	}
	sortFields(fields)
	return func(e *encoder, p unsafe.Pointer) error {
		e.buf = append(e.buf, tagStruct)
		e.buf = binary.AppendUvarint(e.buf, uint64(len(fields)))
		for _, f := range fields {
			e.str(f.name)
			if err := f.fn(e, unsafe.Add(p, f.off)); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func sortFields(fs []field) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].name < fs[j-1].name; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// encInterface encodes a non-nil interface value as its dynamic type's
// name and its value.
func encInterface(t reflect.Type) encFn {
	return func(e *encoder, p unsafe.Pointer) error {
		v := reflect.NewAt(t, p).Elem()
		if v.IsNil() {
			e.buf = append(e.buf, tagNil)
			return nil
		}
		d := v.Elem()
		dp, err := e.k.dynamic(d.Type())
		if err != nil {
			return err
		}
		e.buf = append(e.buf, tagIface)
		e.str(dp.name)
		// An addressable copy: the value's own memory is the interface's.
		c := reflect.New(d.Type())
		c.Elem().Set(d)
		if err := e.push(nil, 0, nil); err != nil { // depth only
			return err
		}
		err = dp.fn(e, c.UnsafePointer())
		e.pop(nil, 0, nil)
		return err
	}
}

// typeName names a dynamic type: "<import path>.<name>" for a defined
// type, the predeclared name for int, string, error..., and Go syntax over
// those names for composite types.
func typeName(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name()
		}
		return t.PkgPath() + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeName(t.Elem())
	case reflect.Slice:
		return "[]" + typeName(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), typeName(t.Elem()))
	case reflect.Map:
		return "map[" + typeName(t.Key()) + "]" + typeName(t.Elem())
	case reflect.Struct:
		var b strings.Builder
		b.WriteString("struct {")
		for i := range t.NumField() {
			f := t.Field(i)
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " %s %s", f.Name, typeName(f.Type))
		}
		b.WriteString(" }")
		return b.String()
	default:
		return t.String()
	}
}

func encTime(e *encoder, p unsafe.Pointer) error {
	t := *(*time.Time)(p) // or a type with time.Time's underlying type
	e.buf = append(e.buf, tagTime)
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(t.Unix()))
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(t.Nanosecond()))
	return nil
}

func encLocation(e *encoder, p unsafe.Pointer) error {
	e.buf = append(e.buf, tagZone)
	e.str((*time.Location)(p).String())
	return nil
}

func encBool(e *encoder, p unsafe.Pointer) error {
	b := byte(0)
	if *(*bool)(p) {
		b = 1
	}
	e.buf = append(e.buf, tagBool, b)
	return nil
}

func encInt[T int | int8 | int16 | int32 | int64](e *encoder, p unsafe.Pointer) error {
	e.buf = append(e.buf, tagInt)
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(int64(*(*T)(p))))
	return nil
}

func encUint[T uint | uint8 | uint16 | uint32 | uint64](e *encoder, p unsafe.Pointer) error {
	e.buf = append(e.buf, tagUint)
	e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(*(*T)(p)))
	return nil
}

func encFloat32(e *encoder, p unsafe.Pointer) error {
	e.buf = append(e.buf, tagFloat)
	e.float(float64(*(*float32)(p)))
	return nil
}

func encFloat64(e *encoder, p unsafe.Pointer) error {
	e.buf = append(e.buf, tagFloat)
	e.float(*(*float64)(p))
	return nil
}

func encComplex64(e *encoder, p unsafe.Pointer) error {
	c := *(*complex64)(p)
	e.buf = append(e.buf, tagComplex)
	e.float(float64(real(c)))
	e.float(float64(imag(c)))
	return nil
}

func encComplex128(e *encoder, p unsafe.Pointer) error {
	c := *(*complex128)(p)
	e.buf = append(e.buf, tagComplex)
	e.float(real(c))
	e.float(imag(c))
	return nil
}

func encString(e *encoder, p unsafe.Pointer) error {
	e.buf = append(e.buf, tagString)
	e.str(*(*string)(p))
	return nil
}
