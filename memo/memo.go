package memo

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tiercache/tiercache/cache"
)

// Keyer is implemented by argument types that name their own key. When A
// implements it (A's type itself, not only some values of an interface
// type A), MemoKey replaces the canonical encoding, and a Call that hits
// the local tier allocates nothing. MemoKey must be deterministic, the same
// in every process, and give different keys to arguments whose results
// differ; see MaxRawKeyLen for how long keys are shortened.
type Keyer interface {
	MemoKey() string
}

var keyerType = reflect.TypeFor[Keyer]()

// Func is a memoized function: fn's results live in a cache namespace of a
// Store, shared by every process that memoizes a function under the same
// name and version on the same Redis. A Func is safe for concurrent use.
//
// As with the cache, a result read from the local tier is shared by every
// caller that reads it: callers that mutate results set
// Options.Cache.CopyOnRead.
type Func[A, R any] struct {
	c    *cache.Cache[R]
	name string
	fn   func(context.Context, A) (R, error)

	// How keys are made: the first field set wins.
	method func(A) string          // A's MemoKey, called without boxing A
	keyer  *keyer                  // the canonical encoding
	custom func(A) (string, error) // NewKeyed's key function
	iface  bool                    // A is an interface type with MemoKey
	// nilPanics: A is a pointer whose MemoKey has a value receiver, which
	// Go cannot call on nil.
	nilPanics bool
	fixed     string // a function of no arguments

	calls sync.Pool // *call[A, R]

	loads, errs, bypasses atomic.Uint64
}

// call is the state of one key computation, pooled so that making a key
// reuses its encoder's buffers: the argument and the encoder.
type call[A, R any] struct {
	a A
	e encoder
}

// New memoizes fn under name: Call(ctx, a) returns fn's result for a from
// the cache when it holds one (computed by this process or any other), and
// otherwise runs fn once, however many callers ask concurrently, and caches
// its result. Functions of several arguments take them as a struct A.
//
// The results live in the cache namespace "memo.<name>.v<Options.Version>"
// of s, under keys made from A: MemoKey when A implements Keyer, else the
// hash of A's canonical encoding (see the package doc). New returns
// ErrInvalidName for a bad name, ErrNilFunc for a nil fn, an error wrapping
// ErrUnhashableArgument when A's type cannot be encoded (it holds a func or
// a channel, say) and the cache's errors for bad options.
func New[A, R any](s *cache.Store, name string, fn func(context.Context, A) (R, error), opts Options[R]) (*Func[A, R], error) {
	return newFunc(s, name, fn, nil, opts)
}

// NewKeyed is New with a key function of the caller's own: key(a) names
// a's result instead of A's canonical encoding, and may fail (its error is
// returned, wrapped, by Call). Like MemoKey it must be deterministic and
// the same in every process; see MaxRawKeyLen.
func NewKeyed[A, R any](s *cache.Store, name string, fn func(context.Context, A) (R, error), key func(A) (string, error), opts Options[R]) (*Func[A, R], error) {
	if key == nil {
		return nil, fmt.Errorf("%w: key function of %q", ErrNilFunc, name)
	}
	return newFunc(s, name, fn, key, opts)
}

func newFunc[A, R any](s *cache.Store, name string, fn func(context.Context, A) (R, error), key func(A) (string, error), opts Options[R]) (*Func[A, R], error) {
	if !validName(name) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	if fn == nil {
		return nil, fmt.Errorf("%w: %q", ErrNilFunc, name)
	}
	f := &Func[A, R]{
		name: name,
		fn:   fn,
	}
	t := reflect.TypeFor[A]()
	switch {
	case key != nil:
		f.custom = key
	case t.Kind() == reflect.Interface && t.Implements(keyerType):
		f.iface = true
	case t.Implements(keyerType):
		m, _ := t.MethodByName("MemoKey")
		f.method = m.Func.Interface().(func(A) string)
		f.nilPanics = t.Kind() == reflect.Pointer && t.Elem().Implements(keyerType)
	default:
		k, err := newKeyer(t)
		if err != nil {
			return nil, fmt.Errorf("memo %q: %w", name, err)
		}
		f.keyer = k
	}
	c, err := cache.New(s, namespace(name, opts.Version), opts.Cache)
	if err != nil {
		return nil, fmt.Errorf("memo %q: %w", name, err)
	}
	f.c = c
	f.calls.New = func() any { return new(call[A, R]) }
	return f, nil
}

// Call returns fn's result for a: from the local tier, else from Redis,
// else by running fn, whose result is stored in both. It keeps the cache's
// GetOrLoad contract:
//
//   - Concurrent Calls with the same arguments in a process share one run
//     of fn; across processes, the cache's lease (Options.Cache.Lease, on by
//     default) lets one process run it while the others wait for its
//     result. fn runs under a context detached from any one caller (values
//     kept, cancellation dropped) and bounded by Options.Cache.LoadTimeout;
//     a caller whose context ends returns ctx.Err() at once while the run
//     goes on for the others.
//   - A panic in fn is re-raised in every waiting caller, and
//     runtime.Goexit in fn makes every waiting caller Goexit; the next Call
//     runs fn again.
//   - Errors from fn are returned and not cached, except cache.ErrNotFound,
//     which is remembered for Options.Cache.NegativeTTL when that is set.
//   - When Redis is unavailable fn's result is returned without being
//     cached.
//
// A Call whose result is in the local tier allocates nothing beyond what
// making the key costs: nothing with MemoKey (or a key function that
// allocates nothing); with the canonical encoding, the key string, plus up
// to four allocations per non-empty map and one per non-nil interface
// value the argument holds. An argument that cannot be encoded is an error
// wrapping ErrUnhashableArgument, and fn does not run.
func (f *Func[A, R]) Call(ctx context.Context, a A) (R, error) {
	key, err := f.Key(a)
	if err != nil {
		var zero R
		return zero, err
	}
	if v, ok := f.c.GetLocal(key); ok {
		return v, nil
	}
	return f.load(ctx, key, a)
}

// load is Call past the local tier. It is a function of its own so that
// the loader closure, and the escaping copy of a it holds, are allocated
// only on this path and not on a local hit.
func (f *Func[A, R]) load(ctx context.Context, key string, a A) (R, error) {
	return f.c.GetOrLoad(ctx, key, func(ctx context.Context) (R, error) { return f.run(ctx, a) })
}

func (f *Func[A, R]) release(c *call[A, R]) {
	var zero A
	c.a = zero // drop references held by the argument
	f.calls.Put(c)
}

// run runs fn for a load and counts it.
func (f *Func[A, R]) run(ctx context.Context, a A) (r R, err error) {
	f.loads.Add(1)
	returned := false
	defer func() {
		if !returned || err != nil && !errors.Is(err, cache.ErrNotFound) {
			f.errs.Add(1)
		}
	}()
	r, err = f.fn(ctx, a)
	returned = true
	return r, err
}

// Key returns the cache key of a: the key of its entry in the function's
// namespace (Redis key "<prefix>memo.<name>.v<version>:<key>"). Every
// process computes the same key for equal arguments.
func (f *Func[A, R]) Key(a A) (string, error) {
	if f.keyer == nil {
		return f.plainKey(a)
	}
	// The canonical encoding: a pooled call holds the argument and the
	// encoder's buffers.
	c := f.calls.Get().(*call[A, R])
	c.a = a
	k, err := c.e.hashKey(f.keyer, unsafe.Pointer(&c.a))
	f.release(c)
	return k, err
}

// plainKey returns the key of a made by MemoKey, a key function, or, for a
// function of no arguments, the fixed key: nothing to pool.
func (f *Func[A, R]) plainKey(a A) (string, error) {
	switch {
	case f.method != nil:
		if f.nilPanics && *(*unsafe.Pointer)(unsafe.Pointer(&a)) == nil {
			return "", fmt.Errorf("%w: nil %s", ErrUnhashableArgument, reflect.TypeFor[A]())
		}
		return customKey(f.method(a)), nil
	case f.custom != nil:
		k, err := f.custom(a)
		if err != nil {
			return "", fmt.Errorf("tiercache/memo: key of %q: %w", f.name, err)
		}
		return customKey(k), nil
	case f.iface:
		k, ok := any(a).(Keyer)
		if !ok {
			return "", fmt.Errorf("%w: nil %s", ErrUnhashableArgument, reflect.TypeFor[A]())
		}
		return customKey(k.MemoKey()), nil
	default:
		return f.fixed, nil
	}
}

// Bypass runs fn for a under ctx, whatever the cache holds, and stores its
// result in both tiers, replacing the cached one. It is not counted as a
// hit or a miss (Info.Bypasses counts it) and does not share a run of fn
// with concurrent Calls.
//
// When fn fails, its error is returned and the cached result is left as
// it was. When fn returns cache.ErrNotFound, the cached result is replaced
// by a negative entry (with Options.Cache.NegativeTTL) or removed. When
// storing fails, Bypass returns fn's result together with the error.
func (f *Func[A, R]) Bypass(ctx context.Context, a A) (R, error) {
	key, err := f.Key(a)
	var zero R
	if err != nil {
		return zero, err
	}
	f.bypasses.Add(1)
	v, err := f.fn(ctx, a)
	switch {
	case errors.Is(err, cache.ErrNotFound):
		var werr error
		werr = f.c.SetNotFound(ctx, key) // a negative entry with NegativeTTL, else a delete
		return zero, errors.Join(err, werr)
	case err != nil:
		return zero, err
	}
	if err := f.c.Set(ctx, key, v); err != nil {
		return v, fmt.Errorf("tiercache/memo: storing the result of %q: %w", f.name, err)
	}
	return v, nil
}

// Forget removes a's result from the local tier and from Redis, so that
// the next Call runs fn. Copies in other processes' local tiers are
// dropped by the cache's coherence, or else last at most
// Options.Cache.LocalTTL.
func (f *Func[A, R]) Forget(ctx context.Context, a A) error {
	key, err := f.Key(a)
	if err != nil {
		return err
	}
	return f.c.Delete(ctx, key)
}

// Clear removes every result of the function (this name and version) from
// the local tier and from Redis (cache.Cache.Clear: a SCAN of the
// namespace, never KEYS or FLUSHALL). Copies in other processes' local
// tiers are dropped by the cache's coherence, or else last at most
// Options.Cache.LocalTTL. Results stored while Clear runs may survive it.
// It does not reset Info.
func (f *Func[A, R]) Clear(ctx context.Context) error {
	return f.c.Clear(ctx)
}

// Info returns the function's counters in this process and the number of
// its results in the local tier.
func (f *Func[A, R]) Info() Info {
	st := f.c.Stats()
	return Info{
		Hits:         st.LocalHits + st.RemoteHits,
		LocalHits:    st.LocalHits,
		RemoteHits:   st.RemoteHits,
		NegativeHits: st.NegativeHits,
		Stale:        st.StaleServed,
		Misses:       st.Misses,
		SharedLoads:  st.SharedLoads,
		LeaseWaits:   st.LeaseWaits,
		Loads:        f.loads.Load(),
		Errors:       f.errs.Load(),
		Bypasses:     f.bypasses.Load(),
		Size:         f.c.LocalLen(),
	}
}

// Unwrap returns the memoized function itself.
func (f *Func[A, R]) Unwrap() func(context.Context, A) (R, error) { return f.fn }

// Namespace returns the cache namespace holding the function's results,
// "memo.<name>.v<version>".
func (f *Func[A, R]) Namespace() string { return f.c.Namespace() }
