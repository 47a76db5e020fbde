package memo

import (
	"context"
	"fmt"

	"github.com/tiercache/tiercache/cache"
)

// noArgsKey is the cache key of a function of no arguments' one result.
const noArgsKey = "()"

// Func0 is a memoized function of no arguments (a configuration, a
// computed table): one cached result. A Func0 is safe for concurrent use.
type Func0[R any] struct {
	f  *Func[struct{}, R]
	fn func(context.Context) (R, error)
}

// New0 memoizes fn, a function of no arguments, under name, as New does.
func New0[R any](s *cache.Store, name string, fn func(context.Context) (R, error), opts Options[R]) (*Func0[R], error) {
	if fn == nil {
		return nil, fmt.Errorf("%w: %q", ErrNilFunc, name)
	}
	f, err := New(s, name, func(ctx context.Context, _ struct{}) (R, error) { return fn(ctx) }, opts)
	if err != nil {
		return nil, err
	}
	f.keyer, f.fixed = nil, noArgsKey
	return &Func0[R]{f: f, fn: fn}, nil
}

// Call returns fn's result as Func.Call does.
func (f *Func0[R]) Call(ctx context.Context) (R, error) { return f.f.Call(ctx, struct{}{}) }

// Bypass runs fn and stores its result as Func.Bypass does.
func (f *Func0[R]) Bypass(ctx context.Context) (R, error) { return f.f.Bypass(ctx, struct{}{}) }

// Forget removes the result as Func.Forget does.
func (f *Func0[R]) Forget(ctx context.Context) error { return f.f.Forget(ctx, struct{}{}) }

// Clear removes the result as Func.Clear does.
func (f *Func0[R]) Clear(ctx context.Context) error { return f.f.Clear(ctx) }

// Info returns the function's counters as Func.Info does.
func (f *Func0[R]) Info() Info { return f.f.Info() }

// Unwrap returns the memoized function itself.
func (f *Func0[R]) Unwrap() func(context.Context) (R, error) { return f.fn }

// Namespace returns the cache namespace holding the result.
func (f *Func0[R]) Namespace() string { return f.f.Namespace() }
