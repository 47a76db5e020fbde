package memo

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// keyOf returns the canonical key of v, encoded as a value of type T.
func keyOf[T any](t *testing.T, v T) string {
	t.Helper()
	key, err := tryKey(v)
	require.NoError(t, err)
	return key
}

func tryKey[T any](v T) (string, error) {
	k, err := newKeyer(reflect.TypeFor[T]())
	if err != nil {
		return "", err
	}
	var e encoder
	return e.hashKey(k, unsafe.Pointer(&v))
}

func TestKeyMapOrder(t *testing.T) {
	// Go randomises map iteration, and insertion order shapes the buckets:
	// build the same maps in many orders and expect one key.
	type entry struct {
		k string
		v []int
	}
	var entries []entry
	for i := range 300 {
		entries = append(entries, entry{k: strings.Repeat("k", i%7) + string(rune('a'+i%26)) + string(rune('0'+i/26)), v: []int{i, -i}})
	}
	var want string
	for round := range 50 {
		rand.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
		m := make(map[string][]int)
		nested := map[int]map[string][]int{}
		for _, e := range entries {
			m[e.k] = e.v
			if nested[e.v[0]%5] == nil {
				nested[e.v[0]%5] = map[string][]int{}
			}
			nested[e.v[0]%5][e.k] = e.v
		}
		type arg struct {
			M      map[string][]int
			Nested map[int]map[string][]int
			Set    map[[2]int]struct{}
		}
		a := arg{M: m, Nested: nested, Set: map[[2]int]struct{}{}}
		for _, e := range entries {
			a.Set[[2]int{e.v[0], len(e.k)}] = struct{}{}
		}
		got := keyOf(t, a)
		if round == 0 {
			want = got
		}
		require.Equal(t, want, got, "round %d", round)
	}
}

func TestKeyFieldOrder(t *testing.T) {
	type AB struct {
		A int
		B string
	}
	type BA struct {
		B string
		A int
	}
	require.Equal(t, keyOf(t, AB{1, "x"}), keyOf(t, BA{"x", 1}), "fields are encoded by name, not position")
	require.NotEqual(t, keyOf(t, AB{1, "x"}), keyOf(t, AB{2, "x"}))
	type AC struct {
		A int
		C string
	}
	require.NotEqual(t, keyOf(t, AB{1, "x"}), keyOf(t, AC{1, "x"}), "field names are part of the key")
	type ABx struct {
		A int
		B string
		X bool
	}
	require.NotEqual(t, keyOf(t, AB{1, "x"}), keyOf(t, ABx{A: 1, B: "x"}), "a new field changes the key")
}

func TestKeyTimeZones(t *testing.T) {
	base := time.Date(2024, 3, 31, 1, 30, 0, 123456789, time.UTC)
	want := keyOf(t, base)
	for name, tm := range map[string]time.Time{
		"local":     base.Local(),
		"fixed":     base.In(time.FixedZone("X", -7*3600)),
		"unix":      time.Unix(base.Unix(), int64(base.Nanosecond())),
		"from text": must(time.Parse(time.RFC3339Nano, "2024-03-31T03:30:00.123456789+02:00")),
	} {
		require.Equal(t, want, keyOf(t, tm), name)
	}
	require.NotEqual(t, want, keyOf(t, base.Add(time.Nanosecond)))

	now := time.Now() // carries a monotonic reading
	require.Equal(t, keyOf(t, now.Round(0)), keyOf(t, now), "the monotonic reading is left out")

	type MyTime time.Time
	require.Equal(t, want, keyOf(t, MyTime(base.Local())), "a type defined on time.Time")
	type inside struct {
		at   time.Time // unexported
		At   *time.Time
		Many map[string]time.Time
		Any  any
	}
	x := base.In(time.FixedZone("Y", 3600))
	require.Equal(t,
		keyOf(t, inside{at: base, At: &base, Many: map[string]time.Time{"a": base}, Any: base}),
		keyOf(t, inside{at: x, At: &x, Many: map[string]time.Time{"a": x}, Any: x}))
	require.NotEqual(t, keyOf(t, time.Time{}), keyOf(t, time.Unix(0, 0)))

	// A location is its name: its lookup caches do not count.
	type withZone struct{ Loc *time.Location }
	loc := time.FixedZone("Somewhere", 3600)
	before := keyOf(t, withZone{loc})
	_ = time.Now().In(loc).Format(time.RFC3339) // fills loc's caches
	require.Equal(t, before, keyOf(t, withZone{loc}))
	require.Equal(t, before, keyOf(t, withZone{time.FixedZone("Somewhere", 7200)}))
	require.NotEqual(t, before, keyOf(t, withZone{time.UTC}))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestKeyPointers(t *testing.T) {
	type node struct {
		V    int
		Next *node
	}
	a, b := &node{V: 1, Next: &node{V: 2}}, &node{V: 1, Next: &node{V: 2}}
	require.Equal(t, keyOf(t, a), keyOf(t, b), "pointers are encoded by what they point to")
	require.Equal(t, keyOf(t, *a), keyOf(t, *b))
	require.NotEqual(t, keyOf(t, a), keyOf(t, &node{V: 1}))
	require.NotEqual(t, keyOf[*int](t, nil), keyOf(t, new(int)), "nil differs from a pointer to zero")
	x := 5
	px := &x
	require.Equal(t, keyOf(t, &px), keyOf(t, &[]*int{&x}[0]))
	// A value reached twice (a DAG, not a cycle) is fine.
	shared := &node{V: 9}
	type two struct{ L, R *node }
	require.Equal(t, keyOf(t, two{shared, shared}), keyOf(t, two{&node{V: 9}, &node{V: 9}}))
}

func TestKeyFloats(t *testing.T) {
	negZero := math.Copysign(0, -1)
	require.Equal(t, keyOf(t, 0.0), keyOf(t, negZero), "-0 == 0")
	require.Equal(t, keyOf(t, float32(0)), keyOf(t, float32(negZero)))
	nans := []float64{math.NaN(), -math.NaN(), math.Float64frombits(0x7ff0_0000_0000_0001), math.Float64frombits(0xfff8_dead_beef_0000)}
	for _, n := range nans {
		require.Equal(t, keyOf(t, nans[0]), keyOf(t, n), "every NaN is one argument")
		require.Equal(t, keyOf(t, complex(n, 1)), keyOf(t, complex(nans[0], 1)))
	}
	require.Equal(t, keyOf(t, float32(math.NaN())), keyOf(t, math.NaN()), "float32 widens")
	require.Equal(t, keyOf(t, float32(1.5)), keyOf(t, 1.5))
	for _, pair := range [][2]float64{{0, math.NaN()}, {math.Inf(1), math.Inf(-1)}, {math.Inf(1), math.NaN()}, {1, math.Nextafter(1, 2)}} {
		require.NotEqual(t, keyOf(t, pair[0]), keyOf(t, pair[1]), "%v vs %v", pair[0], pair[1])
	}
	// NaN map keys: every entry counts, in a fixed order.
	m1 := map[float64]int{math.NaN(): 1, math.NaN(): 2, 0: 3}
	m2 := map[float64]int{0: 3, math.NaN(): 2, math.NaN(): 1}
	require.Equal(t, keyOf(t, m1), keyOf(t, m2))
}

func TestKeyNested(t *testing.T) {
	type leaf struct {
		Tags  []string
		Score float64
	}
	type mid struct {
		Leaf  leaf
		Leafs map[string]*leaf
		Arr   [2]leaf
	}
	type top struct {
		Mid  mid
		Mids []mid
		Any  any
	}
	mk := func(score float64) top {
		l := leaf{Tags: []string{"a", "b"}, Score: score}
		m := mid{Leaf: l, Leafs: map[string]*leaf{"x": &l, "y": {Tags: nil}}, Arr: [2]leaf{l, {}}}
		return top{Mid: m, Mids: []mid{m, m}, Any: []any{m, map[string]any{"k": l}}}
	}
	require.Equal(t, keyOf(t, mk(1)), keyOf(t, mk(1)))
	require.NotEqual(t, keyOf(t, mk(1)), keyOf(t, mk(2)), "a change deep inside changes the key")
}

func TestKeyUnexportedFields(t *testing.T) {
	type args struct {
		Public  int
		private string
		ignored *sync.Mutex `memo:"-"`
		_       func()      // blank: left out, or the func would be unhashable
	}
	a := args{Public: 1, private: "a", ignored: &sync.Mutex{}}
	b := args{Public: 1, private: "b"}
	require.NotEqual(t, keyOf(t, a), keyOf(t, b), "unexported fields are part of the key")
	b.private = "a"
	require.Equal(t, keyOf(t, a), keyOf(t, b), "fields tagged memo:\"-\" are not")
	// Unexported fields of other packages' types are read too.
	type wrap struct{ Re *strings.Replacer }
	require.NotPanics(t, func() { _, _ = tryKey(wrap{strings.NewReplacer("a", "b")}) })
}

func TestKeyDistinct(t *testing.T) {
	type pair struct{ A, B string }
	type node struct{ P *node }
	cases := []struct {
		name string
		a, b string
	}{
		{"string boundaries", keyOf(t, pair{"ab", "c"}), keyOf(t, pair{"a", "bc"})},
		{"int and int64 in any", keyOf[any](t, 1), keyOf[any](t, int64(1))},
		{"string and []byte in any", keyOf[any](t, "ab"), keyOf[any](t, []byte("ab"))},
		{"nil any and nil pointer in any", keyOf[any](t, nil), keyOf[any](t, (*int)(nil))},
		{"slice lengths", keyOf(t, []int{1, 2}), keyOf(t, []int{1, 2, 0})},
		{"nesting", keyOf(t, [][]int{{1}, {2}}), keyOf(t, [][]int{{1, 2}})},
		{"map keys and values", keyOf(t, map[string]string{"a": "b"}), keyOf(t, map[string]string{"b": "a"})},
		{"pointer depth", keyOf(t, &node{}), keyOf(t, &node{P: &node{}})},
		{"bool", keyOf(t, true), keyOf(t, false)},
		{"sign", keyOf(t, int64(-1)), keyOf(t, int64(1))},
		{"signed and unsigned", keyOf[any](t, int8(-1)), keyOf[any](t, uint8(255))},
		{"empty struct and empty string", keyOf[any](t, struct{}{}), keyOf[any](t, "")},
	}
	for _, c := range cases {
		require.NotEqual(t, c.a, c.b, c.name)
	}
	// nil and empty slices and maps are the same argument.
	require.Equal(t, keyOf[[]int](t, nil), keyOf(t, []int{}))
	require.Equal(t, keyOf[map[int]int](t, nil), keyOf(t, map[int]int{}))
	require.Len(t, keyOf(t, pair{strings.Repeat("x", 1<<20), ""}), hashedKeyLen, "keys are bounded")
}

func TestKeyUnhashable(t *testing.T) {
	type withFunc struct {
		Name string
		F    func()
	}
	for name, typ := range map[string]reflect.Type{
		"func":         reflect.TypeFor[func()](),
		"chan":         reflect.TypeFor[chan int](),
		"unsafe":       reflect.TypeFor[unsafe.Pointer](),
		"uintptr":      reflect.TypeFor[uintptr](),
		"struct field": reflect.TypeFor[withFunc](),
		"map value":    reflect.TypeFor[map[string]chan int](),
		"deep":         reflect.TypeFor[*[]map[int]withFunc](),
	} {
		_, err := newKeyer(typ)
		require.ErrorIs(t, err, ErrUnhashableArgument, name)
	}
	// In an interface, the error comes with the value.
	for name, v := range map[string]any{
		"func":         func() {},
		"chan":         make(chan int),
		"nested":       []any{1, map[string]any{"f": withFunc{}}},
		"unsafe":       unsafe.Pointer(new(int)),
		"pointer to f": &withFunc{},
	} {
		_, err := tryKey[any](v)
		require.ErrorIs(t, err, ErrUnhashableArgument, name)
		require.NotContains(t, err.Error(), "0x", "%s: no addresses in errors", name)
	}
}

func TestKeyCycles(t *testing.T) {
	type node struct {
		V    int
		Next *node
	}
	ring := &node{V: 1}
	ring.Next = &node{V: 2, Next: ring}
	_, err := tryKey(ring)
	require.ErrorIs(t, err, ErrUnhashableArgument)
	require.Contains(t, err.Error(), "contains itself")

	s := []any{1, nil}
	s[1] = s
	_, err = tryKey(s)
	require.ErrorIs(t, err, ErrUnhashableArgument)

	m := map[string]any{}
	m["self"] = m
	_, err = tryKey(m)
	require.ErrorIs(t, err, ErrUnhashableArgument)

	// A long list is not a cycle, up to the depth limit.
	var list *node
	for i := range 2 * cycleCheckDepth {
		list = &node{V: i, Next: list}
	}
	_, err = tryKey(list)
	require.NoError(t, err)
	for i := range maxDepth {
		list = &node{V: i, Next: list}
	}
	_, err = tryKey(list)
	require.ErrorIs(t, err, ErrUnhashableArgument)
	require.Contains(t, err.Error(), "deeper")

	// A slice that holds a shorter slice of its own array is not a cycle.
	arr := make([]any, 2)
	arr[1] = arr[:1]
	var deep any = arr
	for range cycleCheckDepth {
		deep = []any{deep}
	}
	_, err = tryKey(deep)
	require.NoError(t, err)
}

func TestCustomKey(t *testing.T) {
	require.Equal(t, "user:42", customKey("user:42"))
	long := strings.Repeat("x", MaxRawKeyLen+1)
	for _, k := range []string{"", "#user:42", long} {
		got := customKey(k)
		require.True(t, strings.HasPrefix(got, "#"), k)
		require.Len(t, got, 1+hashedKeyLen)
		require.Equal(t, got, customKey(k), "deterministic")
	}
	require.NotEqual(t, customKey(long), customKey(long+"y"))
	require.Equal(t, strings.Repeat("y", MaxRawKeyLen), customKey(strings.Repeat("y", MaxRawKeyLen)))
}

// TestKeyGolden pins the encoding: a change to any of these means every
// cached result would be orphaned, and needs a new keyDomain.
func TestKeyGolden(t *testing.T) {
	type args struct {
		ID   int64
		Lang string
	}
	k, err := newKeyer(reflect.TypeFor[args]())
	require.NoError(t, err)
	e := encoder{}
	_, err = e.hashKey(k, unsafe.Pointer(&args{ID: 42, Lang: "fr"}))
	require.NoError(t, err)
	require.Equal(t, keyDomain+"r\x02"+"\x02ID"+"i\x00\x00\x00\x00\x00\x00\x00\x2a"+"\x04Lang"+"s\x02fr", string(e.buf),
		"the encoding the package doc specifies")

	type all struct {
		ID    int64
		Lang  string
		Tags  []string
		Attrs map[string]float64
		At    time.Time
		Opt   *bool
		Any   any
		Raw   []byte
		C     complex64
	}
	yes := true
	for _, c := range []struct{ got, want string }{
		{keyOf(t, args{ID: 42, Lang: "fr"}), "qg--bl9al4OGZv7UjTRCxDu6zdxju8QG"},
		{keyOf(t, all{
			ID: 42, Lang: "fr", Tags: []string{"a", "b"},
			Attrs: map[string]float64{"x": 1.5, "y": math.NaN(), "z": math.Copysign(0, -1)},
			At:    time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC),
			Opt:   &yes, Any: uint16(7), Raw: []byte{0, 1}, C: 1 + 2i,
		}), "KGCVqgL30YqzwpPLPiKGWpW5n714pChA"},
		{keyOf(t, 0), "p9tCtbx6egOQaW9zQVaBWhs64bq7cdeR"},
		{keyOf(t, "hello"), "WPUP_h_wbNXou6Wa938H7gMIRL4BDAGC"},
		{keyOf(t, struct{}{}), "7IruPX0Lt1pu40qjfYCexjjb3kqrr4W0"},
		{keyOf[any](t, []any{nil, int32(-1), map[bool]string{true: "t"}}), "xfmqlaW33ejuZNaxDUiEdU_TEoJ4Ll25"},
	} {
		require.Equal(t, c.want, c.got)
	}
}

func TestKeyConcurrent(t *testing.T) {
	// Plans of dynamic types are built on first sight, concurrently.
	k, err := newKeyer(reflect.TypeFor[any]())
	require.NoError(t, err)
	values := []any{1, "a", []int{1}, map[string]any{"x": 1.5}, struct{ A any }{A: int8(3)}, time.Unix(1, 0)}
	want := make([]string, len(values))
	for i, v := range values {
		want[i] = keyOf(t, v)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var e encoder
			for i := range 200 {
				v := values[i%len(values)]
				got, err := e.hashKey(k, unsafe.Pointer(&v))
				if err != nil || got != want[i%len(values)] {
					t.Errorf("value %d: got %q, %v; want %q", i%len(values), got, err, want[i%len(values)])
					return
				}
			}
		})
	}
	wg.Wait()
}
